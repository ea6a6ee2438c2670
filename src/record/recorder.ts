import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { statfs, unlink } from "node:fs/promises";
import nodePath from "node:path";
import type { ClipOutput, ClipSummary, ClipWriter, ClipWriterOptions } from "../mp4/clip-writer";
import type { AccessUnit, StreamInfo } from "../rtp/stream-info";
import { type FileNamePattern, resolveInside, unique } from "./file-names";
import { GuardedOutput } from "./guarded-output";
import { applyRetention, type RetentionRule } from "./retention";
import { trimToLastFragment } from "./trim-fragments";

/**
 * activity: armed at deploy, a clip per burst of input (closed `idleS` after the input stops: the
 * partner of an rtp-fanout gate); command: armed by "start", disarmed by "stop"; segments: armed at
 * deploy, a new file every `segmentS` at a keyframe.
 */
export type RecordMode = "activity" | "command" | "segments";

export interface RecorderSettings {
  readonly mode: RecordMode;
  /** A clip closes this long after its input stops (in every mode: a camera that disappears). */
  readonly idleS: number;
  readonly segmentS: number;
  /** 0: no limit. A longer clip is split at the first keyframe past it. */
  readonly maxClipS: number;
  readonly directory: string;
  readonly pattern: FileNamePattern;
  readonly output: "file" | "buffer";
  readonly maxBufferBytes: number;
  readonly retention: RetentionRule;
  /** 0: no floor. */
  readonly minFreeBytes: number;
  readonly audio: boolean;
}

/** The part of a ClipWriter the policy uses. */
export type RecordWriter = Pick<ClipWriter, "add" | "started" | "bytes" | "durationS" | "finish" | "abort">;

export interface RecorderPorts {
  createWriter(options: ClipWriterOptions): RecordWriter;
  fileOutput(path: string): ClipOutput;
  bufferOutput(maxBytes: number): ClipOutput & { buffer(): Buffer };
  /** Wall clock, ms since the epoch. */
  now(): number;
  /** Bytes free for this process on the file system of `directory`. */
  freeBytes(directory: string): Promise<number>;
}

export type CloseReason =
  | "idle"
  | "stop"
  | "segment"
  | "max-length"
  | "session"
  | "low-space"
  | "write-error";

export type RecordProblem =
  | {
      readonly code: "low-space";
      readonly freeBytes: number;
      readonly floorBytes: number;
      readonly during: boolean;
    }
  | {
      readonly code: "write";
      readonly errno?: string;
      readonly detail: string;
      readonly path?: string;
      readonly kept: boolean;
    }
  | { readonly code: "directory"; readonly errno?: string; readonly detail: string }
  | { readonly code: "retention"; readonly detail: string };

export interface FinishedClip {
  readonly path?: string;
  readonly buffer?: Buffer;
  readonly summary: ClipSummary;
  readonly reason: CloseReason;
  /** Set when the clip ended on a write error but what was written plays. */
  readonly problem?: RecordProblem;
}

export interface RecorderState {
  readonly armed: boolean;
  readonly recording: boolean;
  readonly elapsedS: number;
  readonly bytes: number;
  /** This node's clips on disk (file output) or clips sent (buffer output), and their bytes. */
  readonly clips: number;
  readonly totalBytes: number;
  readonly lowSpace: boolean;
}

interface Clip {
  readonly writer: RecordWriter;
  readonly output: GuardedOutput;
  readonly buffer?: ClipOutput & { buffer(): Buffer };
  readonly path?: string;
  readonly session: number;
  readonly streamId: string;
  readonly startedMs: number;
  firstVideo?: { timestamp: number; clockRate: number };
}

/** After a write error, no new clip for this long: a full disk would fail every frame. */
const RETRY_AFTER_WRITE_ERROR_MS = 10_000;
/** How often tick() measures the free space. */
const SPACE_CHECK_MS = 5_000;

export function statfsFreeBytes(directory: string): Promise<number> {
  return statfs(directory).then((s) => s.bavail * s.bsize);
}

/**
 * mp4-record's policy, with no Node-RED in it: when a clip opens and closes, its name, retention and
 * the free-space floor. Events: "clip" (FinishedClip), "problem" (RecordProblem), "change" ().
 */
export class Recorder extends EventEmitter {
  private armed: boolean;
  private clip: Clip | undefined;
  private nextPath: string | undefined;
  private lastInputMs = Number.NEGATIVE_INFINITY;
  private blockedUntilMs = Number.NEGATIVE_INFINITY;
  private freeBytes: number | undefined;
  private lowSpaceReported = false;
  private lastSpaceCheckMs = Number.NEGATIVE_INFINITY;
  private checkingSpace = false;
  private clips = 0;
  private totalBytes = 0;
  private disposed = false;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    readonly settings: RecorderSettings,
    private readonly ports: RecorderPorts,
  ) {
    super();
    this.armed = settings.mode !== "command";
  }

  /** Creates the directory, measures the free space and applies retention once. */
  async init(): Promise<void> {
    if (this.settings.output === "file") {
      try {
        mkdirSync(this.settings.directory, { recursive: true });
      } catch (err) {
        this.problem({ code: "directory", errno: errnoOf(err), detail: (err as Error).message });
        return;
      }
      await this.retain();
    }
    await this.checkSpace();
  }

  state(): RecorderState {
    const clip = this.clip;
    return {
      armed: this.armed,
      recording: clip?.writer.started === true,
      elapsedS: clip ? clip.writer.durationS : 0,
      bytes: clip ? clip.writer.bytes : 0,
      clips: this.clips,
      totalBytes: this.totalBytes,
      lowSpace: this.isLowSpace(),
    };
  }

  /** "start": arms the recorder; `fileName` (relative to the directory) names the next clip. Throws FileNameError. */
  async start(fileName?: string): Promise<void> {
    if (this.disposed) return;
    let path: string | undefined;
    if (fileName !== undefined && this.settings.output === "file") {
      path = resolveInside(this.settings.directory, fileName);
      mkdirSync(nodePath.dirname(path), { recursive: true });
    }
    await this.checkSpace(true);
    if (this.isLowSpace()) {
      this.reportLowSpace(false);
      return;
    }
    this.armed = true;
    if (path !== undefined) {
      this.nextPath = path;
      // A named start begins a new clip: the current one is closed, the next opens at a keyframe.
      if (this.clip) this.close("stop");
    }
    this.emit("change");
  }

  /** "stop": closes the clip and disarms until "start". */
  stop(): void {
    this.armed = false;
    if (this.clip) this.close("stop");
    this.emit("change");
  }

  /** One access unit of the stream. */
  push(unit: AccessUnit, stream: StreamInfo): void {
    if (this.disposed) return;
    const now = this.ports.now();
    this.lastInputMs = now;
    if (!this.armed) return;
    let clip = this.clip;
    if (clip && (clip.session !== stream.session || clip.streamId !== stream.id)) {
      this.close("session");
      clip = undefined;
    }
    if (clip && unit.kind === "video" && unit.keyframe && clip.firstVideo) {
      const limit = this.settings.mode === "segments" ? this.settings.segmentS : this.settings.maxClipS;
      if (limit > 0 && mediaSeconds(clip.firstVideo, unit.timestamp) >= limit) {
        this.close(this.settings.mode === "segments" ? "segment" : "max-length");
        clip = undefined;
      }
    }
    if (!clip) {
      clip = this.open(stream, now);
      if (!clip) return;
    }
    const added = clip.writer.add(unit, now);
    if (added && unit.kind === "video" && !clip.firstVideo) {
      const media = stream.media.find((m) => m.mid === unit.mid);
      clip.firstVideo = { timestamp: unit.timestamp, clockRate: media?.clockRate || 90000 };
      this.emit("change");
    }
  }

  /** Called about once a second: closes an idle clip, measures the free space. */
  tick(): void {
    if (this.disposed) return;
    const now = this.ports.now();
    if (this.clip && now - this.lastInputMs >= this.settings.idleS * 1000) this.close("idle");
    if (now - this.lastSpaceCheckMs >= SPACE_CHECK_MS) void this.track(this.checkSpace());
  }

  /** Finishes the open clip (without emitting it) and waits for work under way. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const clip = this.clip;
    this.clip = undefined;
    if (clip) await clip.writer.finish().catch(() => clip.writer.abort());
    await this.settle();
  }

  /** Waits until clips being closed have been emitted (tests, close). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private open(stream: StreamInfo, now: number): Clip | undefined {
    if (now < this.blockedUntilMs) return undefined;
    if (this.isLowSpace()) {
      this.reportLowSpace(false);
      return undefined;
    }
    const { settings, ports } = this;
    let path: string | undefined;
    let inner: ClipOutput;
    let buffer: (ClipOutput & { buffer(): Buffer }) | undefined;
    // The output is built before the clip, and its failure callback can only run after a write.
    let clip: Clip | undefined;
    let output: GuardedOutput;
    let writer: RecordWriter;
    try {
      if (settings.output === "file") {
        path = this.nextPath ?? unique(settings.directory, settings.pattern.format(new Date(now)));
        this.nextPath = undefined;
        inner = ports.fileOutput(path);
      } else {
        buffer = ports.bufferOutput(settings.maxBufferBytes);
        inner = buffer;
      }
      output = new GuardedOutput(inner, () => {
        if (clip && this.clip === clip) this.close("write-error");
      });
      writer = ports.createWriter({ output, stream, audio: settings.audio });
    } catch (err) {
      // A stream the writer cannot take (no video, a codec MP4 has no place for): said once, retried later.
      this.blockedUntilMs = now + RETRY_AFTER_WRITE_ERROR_MS;
      this.problem({ code: "write", errno: errnoOf(err), detail: (err as Error).message, path, kept: false });
      return undefined;
    }
    clip = { writer, output, buffer, path, session: stream.session, streamId: stream.id, startedMs: now };
    this.clip = clip;
    return clip;
  }

  private close(reason: CloseReason): void {
    const clip = this.clip;
    if (!clip) return;
    this.clip = undefined;
    if (reason === "write-error" || reason === "low-space") {
      this.blockedUntilMs = this.ports.now() + (reason === "write-error" ? RETRY_AFTER_WRITE_ERROR_MS : 0);
      if (reason === "write-error" && this.settings.mode === "command") this.armed = false;
    }
    void this.track(this.finish(clip, reason));
    this.emit("change");
  }

  private async finish(clip: Clip, reason: CloseReason): Promise<void> {
    let summary: ClipSummary | undefined;
    if (!clip.output.failure) {
      summary = await clip.writer.finish().catch((err: Error) => {
        // A writer error that is not the output's: still a write error to report.
        clip.output.failure ??= err;
        return undefined;
      });
    }
    const failure = clip.output.failure;
    if (failure) {
      await clip.writer.abort();
      await this.failed(clip, failure);
    } else if (summary && clip.writer.started && !this.disposed) {
      this.emitClip(clip, summary, reason);
    } else if (clip.path) {
      // Nothing reached a keyframe: no clip, and no empty file left behind.
      await unlink(clip.path).catch(() => undefined);
    }
    // The clip just sent on is kept even when it alone is over the total: its message names it.
    if (this.settings.output === "file") await this.retain(this.clip?.path, clip.path);
    this.emit("change");
  }

  private async failed(clip: Clip, failure: Error): Promise<void> {
    const start = new Date(clip.startedMs);
    let bytes = clip.output.written;
    let kept = false;
    if (clip.path) {
      // The last fragment may be cut short: back to the last whole one, which plays.
      const trimmed = await trimToLastFragment(clip.path).catch(() => ({ bytes: 0, fragments: 0 }));
      bytes = trimmed.bytes;
      kept = trimmed.fragments > 0;
    }
    const problem: RecordProblem = {
      code: "write",
      errno: errnoOf(failure),
      detail: failure.message,
      path: clip.path,
      kept,
    };
    if (kept && !this.disposed) {
      const summary: ClipSummary = {
        bytes,
        durationS: clip.writer.durationS,
        start,
        end: new Date(clip.startedMs + clip.writer.durationS * 1000),
      };
      this.emitClip(clip, summary, "write-error", problem);
    } else if (clip.path) {
      await unlink(clip.path).catch(() => undefined);
    }
    this.problem(problem);
  }

  private emitClip(clip: Clip, summary: ClipSummary, reason: CloseReason, problem?: RecordProblem): void {
    if (this.settings.output === "buffer") {
      this.clips++;
      this.totalBytes += summary.bytes;
    }
    const finished: FinishedClip = clip.buffer
      ? { buffer: clip.buffer.buffer(), summary, reason, problem }
      : { path: clip.path, summary, reason, problem };
    this.emit("clip", finished);
  }

  private async retain(...keep: (string | undefined)[]): Promise<void> {
    try {
      const result = await applyRetention(
        this.settings.directory,
        this.settings.pattern,
        this.settings.retention,
        this.ports.now(),
        keep,
      );
      this.clips = result.clips;
      this.totalBytes = result.bytes;
      const failed = result.failed[0];
      if (failed) this.problem({ code: "retention", detail: `${failed.path}: ${failed.error.message}` });
    } catch (err) {
      this.problem({ code: "retention", detail: (err as Error).message });
    }
  }

  private async checkSpace(force = false): Promise<void> {
    if (this.settings.minFreeBytes <= 0 || this.settings.output !== "file") return;
    if (this.checkingSpace && !force) return;
    this.checkingSpace = true;
    this.lastSpaceCheckMs = this.ports.now();
    try {
      this.freeBytes = await this.ports.freeBytes(this.settings.directory);
    } catch {
      this.freeBytes = undefined;
    } finally {
      this.checkingSpace = false;
    }
    if (!this.isLowSpace()) {
      this.lowSpaceReported = false;
      return;
    }
    if (this.clip) {
      this.close("low-space");
      this.reportLowSpace(true);
    }
  }

  private isLowSpace(): boolean {
    return this.freeBytes !== undefined && this.freeBytes < this.settings.minFreeBytes;
  }

  /** Once per spell of low space: a refusal on every frame would flood the debug sidebar. */
  private reportLowSpace(during: boolean): void {
    if (this.lowSpaceReported && !during) return;
    this.lowSpaceReported = true;
    this.problem({
      code: "low-space",
      freeBytes: this.freeBytes ?? 0,
      floorBytes: this.settings.minFreeBytes,
      during,
    });
  }

  private problem(problem: RecordProblem): void {
    if (!this.disposed) this.emit("problem", problem);
  }

  private track(work: Promise<void>): Promise<void> {
    const done = work.finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }
}

/** Seconds of media from `first` to `timestamp`, across a 32-bit wrap. */
function mediaSeconds(first: { timestamp: number; clockRate: number }, timestamp: number): number {
  return ((timestamp - first.timestamp) >>> 0) / first.clockRate;
}

function errnoOf(err: unknown): string | undefined {
  if ((err as Error | undefined)?.name === "ClipTooLargeError") return "TOO_LARGE";
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
