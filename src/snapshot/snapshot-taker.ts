import { depacketizeNals, toAnnexB } from "../rtp/nal-depacketizer";
import { SnapshotError } from "./errors";
import { decodeLastPicture } from "./ffmpeg-jpeg";
import { jpegSize } from "./jpeg-size";
import type { SnapshotCodec } from "./snapshot-codec";

/** One cached video access unit. */
export interface SnapshotFrame {
  /** Its RTP packets, in order. */
  readonly packets: readonly Buffer[];
  /** performance.now() when it arrived. */
  readonly receivedAt: number;
}

/** What a snapshot is decoded from: a stream's video since its last keyframe. */
export interface SnapshotInput {
  readonly codec: SnapshotCodec;
  /** From the SDP (msg.stream.media[].parameterSets): put first, for cameras that send none in-band. */
  readonly parameterSets: readonly Buffer[];
  /** Keyframe first, newest last; never empty. */
  readonly frames: readonly SnapshotFrame[];
  /** msg.stream.id, for the caller to tell which stream it was. */
  readonly stream?: string | undefined;
}

export interface SnapshotSettings {
  /** The ffmpeg executable: a name looked up in PATH, or a path. */
  readonly ffmpegPath: string;
  /** JPEG quality 1..100; default 80. */
  readonly quality?: number;
  /** Scale down to this width (keeping the aspect); default: as decoded. */
  readonly maxWidth?: number | undefined;
  /** ffmpeg is killed after this long; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Requests waiting for the next decode; past it a request fails with "busy". Default 32. */
  readonly maxWaiting?: number;
}

export interface Snapshot {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** From the pictured frame's arrival to the JPEG being ready. */
  readonly frameAgeMs: number;
  /** ffmpeg's time, from its start to the JPEG. */
  readonly decodeMs: number;
  /** Access units decoded to reach the picture: 1 when it is the keyframe itself. */
  readonly frames: number;
  readonly stream?: string | undefined;
}

export const DEFAULT_QUALITY = 80;
export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_WAITING = 32;

interface Waiter {
  readonly resolve: (snapshot: Snapshot) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Makes JPEGs of one stream's newest picture with ffmpeg, one process at a time. A request that comes
 * while ffmpeg runs waits for the next run, which starts when this one ends, with the frames cached by
 * then; everyone waiting shares it. So under load there is at most one ffmpeg per stream, and every
 * answer shows a picture newer than its request.
 */
export class SnapshotTaker {
  private readonly settings: Required<Omit<SnapshotSettings, "maxWidth">> & { maxWidth: number | undefined };
  private running: Promise<void> | undefined;
  private next: Waiter[] = [];
  private readonly abort = new AbortController();
  private spawnCount = 0;
  private closed = false;
  private starting = false;

  constructor(
    private readonly source: () => SnapshotInput | undefined,
    settings: SnapshotSettings,
  ) {
    this.settings = {
      ffmpegPath: settings.ffmpegPath,
      quality: settings.quality ?? DEFAULT_QUALITY,
      maxWidth: settings.maxWidth,
      timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxWaiting: settings.maxWaiting ?? DEFAULT_MAX_WAITING,
    };
  }

  /** ffmpeg processes started so far. */
  get spawned(): number {
    return this.spawnCount;
  }

  /** An ffmpeg is running now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * A JPEG of the newest picture cached when the decode starts.
   * @throws SnapshotError ("no-keyframe", "busy", "closed", and those of decodeLastPicture)
   */
  take(): Promise<Snapshot> {
    if (this.closed) return Promise.reject(new SnapshotError("closed", "the snapshot taker is closed"));
    if (this.next.length >= this.settings.maxWaiting) {
      return Promise.reject(
        new SnapshotError(
          "busy",
          `${this.next.length} snapshot requests are waiting already; ask again later`,
        ),
      );
    }
    return new Promise<Snapshot>((resolve, reject) => {
      this.next.push({ resolve, reject });
      if (this.running === undefined && !this.starting) {
        // On the next turn: requests of this same turn (an HTTP burst, a loop in a flow) share the run.
        this.starting = true;
        setImmediate(() => {
          this.starting = false;
          if (this.running === undefined && !this.closed) this.startNext();
        });
      }
    });
  }

  /** Kills a running ffmpeg and fails every request; resolves once that ffmpeg has ended. */
  close(): Promise<void> {
    if (this.closed) return this.running ?? Promise.resolve();
    this.closed = true;
    this.abort.abort();
    const waiting = this.next;
    this.next = [];
    for (const waiter of waiting) waiter.reject(new SnapshotError("closed", "the snapshot taker is closed"));
    return this.running ?? Promise.resolve();
  }

  private startNext(): void {
    const batch = this.next;
    this.next = [];
    if (batch.length === 0) return;
    this.running = this.decode().then(
      (snapshot) => {
        for (const waiter of batch) waiter.resolve(snapshot);
      },
      (err: unknown) => {
        for (const waiter of batch) waiter.reject(err);
      },
    );
    void this.running.then(() => {
      this.running = undefined;
      if (!this.closed) this.startNext();
    });
  }

  private async decode(): Promise<Snapshot> {
    const input = this.source();
    if (input === undefined || input.frames.length === 0) {
      throw new SnapshotError("no-keyframe", "no keyframe received yet: the stream has no picture to decode");
    }
    const chunks = [toAnnexB(input.parameterSets)];
    let pictures = 0;
    for (const frame of input.frames) {
      // A frame that cannot be rebuilt whole is left out: the decoder conceals a missing picture, but a
      // slice with a hole in it can derail it.
      const result = depacketizeNals(input.codec, frame.packets);
      if (!result.ok || result.nals.length === 0) continue;
      pictures++;
      chunks.push(toAnnexB(result.nals));
    }
    const newest = input.frames.at(-1)!;
    const started = performance.now();
    const jpeg = await decodeLastPicture({
      ffmpegPath: this.settings.ffmpegPath,
      codec: input.codec,
      annexB: chunks,
      frameCount: pictures,
      quality: this.settings.quality,
      maxWidth: this.settings.maxWidth,
      timeoutMs: this.settings.timeoutMs,
      signal: this.abort.signal,
      onSpawn: () => {
        this.spawnCount++;
      },
    });
    const done = performance.now();
    const size = jpegSize(jpeg);
    if (size === undefined) throw new SnapshotError("decode-failed", "ffmpeg wrote no JPEG");
    return {
      jpeg,
      ...size,
      frameAgeMs: Math.max(0, done - newest.receivedAt),
      decodeMs: done - started,
      frames: input.frames.length,
      stream: input.stream,
    };
  }
}
