import type { RTCPeerConnection } from "werift";

/**
 * The candidates werift gathers for one offer, in order, and whether gathering is over; waits for a
 * condition on them. werift announces each candidate as it comes and an undefined one at the end.
 */
export class Gathering {
  readonly candidates: string[] = [];
  complete = false;
  private failure: unknown;
  private settled = false;
  private wake: (() => void) | undefined;
  private onCandidate: ((candidate: string) => void) | undefined;
  private onEnd: (() => void) | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly pc: RTCPeerConnection) {
    const { unSubscribe } = pc.onIceCandidate.subscribe((candidate) => {
      if (candidate?.candidate) {
        this.candidates.push(candidate.candidate);
        this.onCandidate?.(candidate.candidate);
      } else this.finish();
      this.wake?.();
    });
    this.unsubscribe = unSubscribe;
  }

  /** setLocalDescription is done (gathering with it), or failed. */
  applied(error?: unknown): void {
    this.settled = true;
    if (error !== undefined) this.failure = error;
    else this.finish();
    this.wake?.();
  }

  private finish(): void {
    if (this.complete) return;
    this.complete = true;
    this.onEnd?.();
  }

  /** An offer can go out: gathering is over, or there is a candidate and a local description. */
  get offerable(): boolean {
    return this.settled || (this.candidates.length > 0 && this.pc.localDescription !== null);
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** After at least `minMs`, until `condition` holds or gathering settles; at most `maxMs`. */
  async until(condition: () => boolean, minMs: number, maxMs: number): Promise<void> {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, minMs);
      this.wake = () => {
        if (!this.settled) return;
        clearTimeout(timer);
        resolve();
      };
    });
    while (!this.settled && !condition()) {
      const left = maxMs - (performance.now() - started);
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.wake = undefined;
  }

  /** Candidates from the `from`-th on (those the offer did not carry), now and as they come; then the end. */
  follow(from: number, onCandidate: (candidate: string) => void, onEnd: () => void): void {
    for (const candidate of this.candidates.slice(from)) onCandidate(candidate);
    this.onCandidate = onCandidate;
    this.onEnd = onEnd;
    if (this.complete) onEnd();
  }

  dispose(): void {
    this.unsubscribe();
    this.wake = undefined;
  }
}
