import { once } from "node:events";
import type { AccessUnit, StreamInfo } from "../../src/rtp/stream-info";
import { RtspSource, type SourceOptions, type StateEvent } from "../../src/rtsp/source";

export const TEST_TIMEOUTS = { connectTimeoutMs: 5000, replyTimeoutMs: 5000, noMediaTimeoutMs: 10_000 };

/** An RtspSource with everything it emits recorded, for assertions. */
export class SourceHarness {
  readonly source: RtspSource;
  readonly states: StateEvent[] = [];
  readonly units: { unit: AccessUnit; stream: StreamInfo }[] = [];

  constructor(options: Partial<SourceOptions> & Pick<SourceOptions, "url">) {
    this.source = new RtspSource({
      transport: "tcp",
      media: "both",
      userAgent: "node-red-rtsp-webrtc-test",
      ...TEST_TIMEOUTS,
      ...options,
    });
    this.source.on("state", (event) => this.states.push(event));
    this.source.on("frame", (unit, stream) => this.units.push({ unit, stream }));
  }

  video(): { unit: AccessUnit; stream: StreamInfo }[] {
    return this.units.filter((u) => u.unit.kind === "video");
  }

  /** Resolves when `predicate` holds, checked on every event; rejects after `ms`. */
  until(predicate: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        const last = this.states.at(-1);
        reject(new Error(`timed out waiting for ${what}; last state ${JSON.stringify(last)}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.source.off("frame", check);
        this.source.off("state", check);
      };
      this.source.on("frame", check);
      this.source.on("state", check);
      check();
    });
  }

  /** Waits for `count` video access units from the first keyframe on. */
  async videoFromKeyframe(count: number, ms = 20_000): Promise<AccessUnit[]> {
    await this.until(
      () => fromFirstKeyframe(this.video().map((v) => v.unit)).length >= count,
      ms,
      `${count} frames`,
    );
    return fromFirstKeyframe(this.video().map((v) => v.unit)).slice(0, count);
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

export function fromFirstKeyframe(units: AccessUnit[]): AccessUnit[] {
  const first = units.findIndex((u) => u.keyframe);
  return first < 0 ? [] : units.slice(first);
}

export async function nextState(source: RtspSource, state: StateEvent["state"]): Promise<StateEvent> {
  for (;;) {
    const [event] = (await once(source, "state")) as [StateEvent];
    if (event.state === state) return event;
  }
}
