import type { AccessUnit, StreamInfo } from "../rtp/stream-info";

export interface ClipTrackSummary {
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
}

export interface ClipSummary {
  readonly bytes: number;
  readonly durationS: number;
  readonly start: Date;
  readonly end: Date;
  readonly video?: ClipTrackSummary;
  readonly audio?: ClipTrackSummary;
}

/** Where the bytes go: append-only (fragmented MP4 never seeks back). A rejected write fails the clip. */
export interface ClipOutput {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface ClipWriterOptions {
  readonly output: ClipOutput;
  readonly stream: StreamInfo;
  /** Record audio too when the stream has a codec MP4 takes (AAC, Opus, PCMA, PCMU). Default true. */
  readonly audio?: boolean;
}

export interface ClipWriter {
  /** Adds one access unit (arrival time in ms since epoch, Date.now() by default). Units before the first
   * video keyframe are dropped (returns false); so are units of another stream session (the caller starts
   * a new clip on a camera restart). Never throws on malformed RTP: such units are dropped and counted. */
  add(unit: AccessUnit, arrivalMs?: number): boolean;
  /** A keyframe has been written. */
  readonly started: boolean;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Video timeline so far. */
  readonly durationS: number;
  readonly dropped: number;
  /** Flushes the last fragment and closes the output; always completes (rejects only with the output's error). */
  finish(): Promise<ClipSummary>;
  /** Stops at once without flushing (disk full, redeploy); closes the output; never rejects. */
  abort(): Promise<void>;
}

export function createClipWriter(_options: ClipWriterOptions): ClipWriter {
  throw new Error("not implemented");
}
