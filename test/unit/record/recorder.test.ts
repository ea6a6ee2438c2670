import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClipOutput, ClipSummary, ClipWriterOptions } from "../../../src/mp4/clip-writer";
import {
  FileNameError,
  FileNamePattern,
  resolveInside,
  sanitize,
  unique,
} from "../../../src/record/file-names";
import { GuardedOutput } from "../../../src/record/guarded-output";
import {
  type FinishedClip,
  Recorder,
  type RecorderPorts,
  type RecorderSettings,
  type RecordProblem,
  type RecordWriter,
  statfsFreeBytes,
} from "../../../src/record/recorder";
import { applyRetention, listClips } from "../../../src/record/retention";
import { trimToLastFragment } from "../../../src/record/trim-fragments";
import type { AccessUnit, StreamInfo } from "../../../src/rtp/stream-info";

/** An MP4 box: size, type, `body` zero bytes. */
function box(type: string, body: number): Buffer {
  const b = Buffer.alloc(8 + body);
  b.writeUInt32BE(8 + body, 0);
  b.write(type, 4, "latin1");
  return b;
}

/** A writer that keeps what it was given: a unit of the policy, not of MP4. */
class FakeWriter implements RecordWriter {
  units: AccessUnit[] = [];
  started = false;
  bytes = 0;
  durationS = 0;
  dropped = 0;
  finished = false;
  aborted = false;
  private first?: number;
  constructor(readonly options: ClipWriterOptions) {}
  add(unit: AccessUnit, arrivalMs = 0): boolean {
    if (!this.started && !(unit.kind === "video" && unit.keyframe)) {
      this.dropped++;
      return false;
    }
    if (!this.started) {
      this.started = true;
      this.first = arrivalMs;
      void this.options.output.write(box("ftyp", 2));
    }
    this.units.push(unit);
    this.bytes += 100;
    if (unit.kind === "video") this.durationS = (arrivalMs - (this.first ?? 0)) / 1000;
    // One fragment per unit, in one write: a moof of 8 bytes and an mdat of 92.
    void this.options.output.write(Buffer.concat([box("moof", 0), box("mdat", 84)]));
    return true;
  }
  async finish(): Promise<ClipSummary> {
    this.finished = true;
    await this.options.output.close();
    return {
      bytes: this.bytes,
      durationS: this.durationS,
      start: new Date(0),
      end: new Date(this.durationS * 1000),
      video: { codec: "H264", width: 640, height: 360 },
    };
  }
  async abort(): Promise<void> {
    this.aborted = true;
    await this.options.output.close();
  }
}

/** A file output that really writes (retention and names are about real files) and can be told to fail. */
class FakeFileOutput implements ClipOutput {
  failWith: Error | undefined;
  constructor(readonly file: string) {
    writeFileSync(file, "");
  }
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failWith) throw this.failWith;
    writeFileSync(this.file, chunk, { flag: "a" });
  }
  async close(): Promise<void> {}
}

const STREAM = (session = 1): StreamInfo => ({
  id: "cam",
  session,
  media: [
    { mid: "0", kind: "video", codec: "H264", payloadType: 96, clockRate: 90000, fmtp: {}, relayable: true },
  ],
});

function video(ts: number, keyframe: boolean): AccessUnit {
  return { kind: "video", mid: "0", timestamp: ts >>> 0, keyframe, packets: [Buffer.from([0x80, 96])] };
}

describe("record: the recorder's policy (fake writer, fake clock)", () => {
  let dir: string;
  let now: number;
  let free: number;
  let writers: FakeWriter[];
  let outputs: FakeFileOutput[];
  let clips: FinishedClip[];
  let problems: RecordProblem[];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "record-"));
    now = new Date(2026, 0, 2, 3, 4, 5).getTime();
    free = 1e12;
    writers = [];
    outputs = [];
    clips = [];
    problems = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function recorder(over: Partial<RecorderSettings> = {}): Recorder {
    const settings: RecorderSettings = {
      mode: "activity",
      idleS: 3,
      segmentS: 60,
      maxClipS: 0,
      directory: dir,
      pattern: new FileNamePattern("{name}-{date}-{time}.mp4", "front door"),
      output: "file",
      maxBufferBytes: 1_000_000,
      retention: { maxBytes: 0, maxAgeMs: 0 },
      minFreeBytes: 0,
      audio: true,
      ...over,
    };
    const ports: RecorderPorts = {
      createWriter: (options) => {
        const w = new FakeWriter(options);
        writers.push(w);
        return w;
      },
      fileOutput: (file) => {
        const o = new FakeFileOutput(file);
        outputs.push(o);
        return o;
      },
      bufferOutput: (max) => {
        const chunks: Buffer[] = [];
        return {
          write: async (c: Uint8Array) => {
            if (chunks.reduce((n, b) => n + b.length, 0) + c.byteLength > max)
              throw new Error("over the cap");
            chunks.push(Buffer.from(c));
          },
          close: async () => {},
          buffer: () => Buffer.concat(chunks),
        };
      },
      now: () => now,
      freeBytes: async () => free,
    };
    const r = new Recorder(settings, ports);
    r.on("clip", (c: FinishedClip) => clips.push(c));
    r.on("problem", (p: RecordProblem) => problems.push(p));
    return r;
  }

  /** `seconds` of 10 fps video from `ts0`, a keyframe every `gop` frames, the clock moving with it. */
  function play(
    r: Recorder,
    seconds: number,
    opts: { ts0?: number; gop?: number; session?: number; firstKey?: boolean } = {},
  ) {
    const gop = opts.gop ?? 10;
    const ts0 = opts.ts0 ?? 0;
    for (let i = 0; i < seconds * 10; i++) {
      const key = opts.firstKey === false ? i % gop === gop - 1 : i % gop === 0;
      r.push(video(ts0 + i * 9000, key), STREAM(opts.session ?? 1));
      now += 100;
      r.tick();
    }
  }

  it("activity: a clip opens at the first keyframe of a burst and closes idleS after the input stops", async () => {
    const r = recorder();
    await r.init();
    play(r, 2, { firstKey: false, gop: 5 });
    assert.equal(writers.length, 1);
    assert.equal(writers[0]!.dropped, 4, "frames before the first keyframe dropped by the writer");
    assert.equal(r.state().recording, true);
    now += 2900;
    r.tick();
    assert.equal(clips.length, 0, "not yet idle");
    now += 200;
    r.tick();
    await r.settle();
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.reason, "idle");
    assert.match(path.basename(clips[0]!.path!), /^front_door-2026-01-02-03-04-05\.mp4$/);
    assert.ok(existsSync(clips[0]!.path!));
    assert.equal(r.state().clips, 1);
    assert.ok(r.state().totalBytes > 0);
    // The next burst is another clip, in a file of its own.
    play(r, 1);
    now += 5000;
    r.tick();
    await r.settle();
    assert.equal(clips.length, 2);
    assert.notEqual(clips[1]!.path, clips[0]!.path);
    await r.dispose();
  });

  it("command: nothing until start, a clip until stop; start with msg.filename names it", async () => {
    const r = recorder({ mode: "command", idleS: 100 });
    await r.init();
    play(r, 1);
    assert.equal(writers.length, 0, "not armed at deploy");
    await r.start("alarm/kitchen");
    play(r, 2);
    r.stop();
    await r.settle();
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.reason, "stop");
    assert.equal(clips[0]!.path, path.join(dir, "alarm/kitchen.mp4"));
    play(r, 1);
    assert.equal(writers.length, 1, "stopped: no new clip");
    await r.start();
    play(r, 1);
    await r.start("second.mp4");
    await r.settle();
    assert.equal(clips.length, 2, "a named start closes the clip under way");
    play(r, 1);
    await r.dispose();
    assert.equal(clips.length, 2, "dispose finishes the file but emits nothing");
    assert.equal(writers[2]!.finished, true);
    assert.ok(existsSync(path.join(dir, "second.mp4")));
  });

  it("segments: a new file at the keyframe that crosses each boundary, starting with that keyframe", async () => {
    const r = recorder({ mode: "segments", segmentS: 2, idleS: 100 });
    await r.init();
    play(r, 7, { gop: 15 });
    await r.settle();
    // Keyframes at 0, 1.5, 3.0, 4.5, 6.0 s: boundaries crossed at 3.0 and 6.0.
    assert.deepEqual(
      clips.map((c) => c.reason),
      ["segment", "segment"],
    );
    for (const w of writers.slice(1))
      assert.equal(w.units[0]!.keyframe, true, "each segment starts with its keyframe");
    assert.equal(writers[0]!.units.length, 30);
    assert.equal(writers.length, 3);
    await r.dispose();
  });

  it("max clip length splits a long clip at a keyframe; RTP timestamps may wrap", async () => {
    const r = recorder({ maxClipS: 1.5, idleS: 100 });
    await r.init();
    play(r, 5, { ts0: 0xffff_0000, gop: 10 });
    await r.settle();
    assert.deepEqual(
      clips.map((c) => c.reason),
      ["max-length", "max-length"],
    );
    await r.dispose();
  });

  it("a camera restart (new msg.stream.session) closes the clip, emits it, and records on in a new one", async () => {
    const r = recorder({ idleS: 100 });
    await r.init();
    play(r, 1, { session: 1 });
    play(r, 1, { session: 2 });
    await r.settle();
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.reason, "session");
    assert.equal(writers.length, 2);
    assert.equal(writers[1]!.options.stream.session, 2);
    await r.dispose();
  });

  it("retention deletes this node's oldest clips first, by total size and by age, and nothing else", async () => {
    const pattern = new FileNamePattern("{name}-{date}-{time}.mp4", "cam");
    const mk = (name: string, bytes: number, ageS: number) => {
      const file = path.join(dir, name);
      writeFileSync(file, Buffer.alloc(bytes));
      const t = (now - ageS * 1000) / 1000;
      utimesSync(file, t, t);
    };
    mk("cam-2026-01-01-00-00-01.mp4", 100, 50);
    mk("cam-2026-01-01-00-00-02.mp4", 100, 40);
    mk("cam-2026-01-01-00-00-02-2.mp4", 100, 30);
    mk("cam-2026-01-01-00-00-03.mp4", 100, 20);
    mk("other-2026-01-01-00-00-00.mp4", 1000, 100);
    mk("notes.txt", 1000, 100);
    assert.equal((await listClips(dir, pattern)).length, 4);
    const bySize = await applyRetention(dir, pattern, { maxBytes: 250, maxAgeMs: 0 }, now);
    assert.deepEqual(
      bySize.deleted.map((f) => path.basename(f)),
      ["cam-2026-01-01-00-00-01.mp4", "cam-2026-01-01-00-00-02.mp4"],
    );
    assert.deepEqual([bySize.clips, bySize.bytes], [2, 200]);
    const byAge = await applyRetention(dir, pattern, { maxBytes: 0, maxAgeMs: 25_000 }, now);
    assert.deepEqual(
      byAge.deleted.map((f) => path.basename(f)),
      ["cam-2026-01-01-00-00-02-2.mp4"],
    );
    assert.deepEqual(readdirSync(dir).sort(), [
      "cam-2026-01-01-00-00-03.mp4",
      "notes.txt",
      "other-2026-01-01-00-00-00.mp4",
    ]);
    const kept = await applyRetention(dir, pattern, { maxBytes: 1, maxAgeMs: 0 }, now, [
      path.join(dir, "cam-2026-01-01-00-00-03.mp4"),
    ]);
    assert.deepEqual(kept.deleted, [], "the clip being written is never deleted");
    assert.deepEqual(await listClips(path.join(dir, "missing"), pattern), []);
  });

  it("the recorder applies retention after each clip", async () => {
    const r = recorder({ idleS: 1, retention: { maxBytes: 1500, maxAgeMs: 0 } });
    await r.init();
    for (let i = 0; i < 4; i++) {
      play(r, 1);
      now += 2000;
      r.tick();
      await r.settle();
    }
    assert.equal(clips.length, 4);
    const left = readdirSync(dir);
    assert.equal(left.length, 1, `clips of 1010 bytes, 1500 at most: the newest is left, ${left}`);
    assert.equal(path.basename(clips[3]!.path!), left[0]);
    await r.dispose();
  });

  it("free-space floor: refuses to start, stops a clip under way, says so once per spell", async () => {
    free = 10;
    const r = recorder({ minFreeBytes: 100, mode: "command", idleS: 100 });
    await r.init();
    await r.start();
    assert.equal(r.state().armed, false);
    assert.deepEqual(problems, [{ code: "low-space", freeBytes: 10, floorBytes: 100, during: false }]);
    free = 1000;
    await r.start();
    play(r, 1);
    assert.equal(r.state().recording, true);
    free = 10;
    now += 6000;
    r.tick();
    await r.settle();
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.reason, "low-space");
    assert.equal(problems.at(-1)!.code, "low-space");
    assert.equal((problems.at(-1) as { during: boolean }).during, true);
    const count = problems.length;
    play(r, 1);
    assert.equal(writers.length, 1, "no new clip while under the floor");
    assert.equal(problems.length, count, "not reported on every frame");
    assert.equal(r.state().lowSpace, true);
    await r.dispose();
  });

  it("a write error (ENOSPC) ends the clip: emitted with what was written when it plays, else an error and no file", async () => {
    const r = recorder({ idleS: 100 });
    await r.init();
    play(r, 1);
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    outputs[0]!.failWith = full;
    play(r, 1);
    await r.settle();
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.reason, "write-error");
    assert.equal(clips[0]!.problem?.code, "write");
    assert.equal(writers[0]!.aborted, true);
    const problem = problems[0] as Extract<RecordProblem, { code: "write" }>;
    assert.equal(problem.errno, "ENOSPC");
    assert.equal(problem.kept, true);
    assert.equal(writers.length, 1, "no new clip right after a write error");
    // Later, a clip that fails on its first write leaves no file and is only an error.
    now += 11_000;
    const denied = Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    const next = recorder({ idleS: 100 });
    await next.init();
    outputs.length = 0;
    next.push(video(0, true), STREAM());
    outputs[0]!.failWith = denied;
    // The write of the first unit already ran; fail the next.
    next.push(video(9000, false), STREAM());
    // The output's failure arrives a turn later.
    await new Promise(setImmediate);
    await next.settle();
    const last = problems.at(-1) as Extract<RecordProblem, { code: "write" }>;
    assert.equal(last.errno, "EACCES");
    await r.dispose();
    await next.dispose();
  });

  it("a clip whose first write fails leaves no file and is only an error", async () => {
    const r = recorder({ idleS: 100 });
    const ports = (r as unknown as { ports: RecorderPorts }).ports;
    const make = ports.fileOutput;
    ports.fileOutput = (file) => {
      const o = make(file) as FakeFileOutput;
      o.failWith = Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" });
      return o;
    };
    await r.init();
    play(r, 0.3);
    await new Promise(setImmediate);
    await r.settle();
    assert.equal(clips.length, 0);
    assert.deepEqual(readdirSync(dir), []);
    const problem = problems[0] as Extract<RecordProblem, { code: "write" }>;
    assert.deepEqual([problem.errno, problem.kept], ["EROFS", false]);
    await r.dispose();
  });

  it("buffer output: the clip as a Buffer, counted; past the cap it is a write error", async () => {
    const r = recorder({ output: "buffer", idleS: 1, maxBufferBytes: 1000 });
    await r.init();
    play(r, 0.5);
    now += 2000;
    r.tick();
    await r.settle();
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.buffer!.length, 510);
    assert.equal(clips[0]!.path, undefined);
    assert.deepEqual([r.state().clips, r.state().totalBytes], [1, 500]);
    play(r, 2);
    await r.settle();
    assert.equal(problems.at(-1)!.code, "write");
    await r.dispose();
  });

  it("a clip that never reached a keyframe leaves no file", async () => {
    const r = recorder({ idleS: 1 });
    await r.init();
    play(r, 0.5, { firstKey: false, gop: 100 });
    now += 2000;
    r.tick();
    await r.settle();
    assert.equal(clips.length, 0);
    assert.deepEqual(readdirSync(dir), []);
    await r.dispose();
  });

  it("an unusable directory is a problem, not a throw", async () => {
    const file = path.join(dir, "a-file");
    writeFileSync(file, "");
    const r = recorder({ directory: path.join(file, "clips") });
    await r.init();
    assert.equal(problems[0]!.code, "directory");
    await r.dispose();
  });

  it("a writer that cannot be made, or that fails to finish, is a write problem, not a throw", async () => {
    const r = recorder({ idleS: 1 });
    await r.init();
    const ports = (r as unknown as { ports: RecorderPorts }).ports;
    const make = ports.createWriter;
    ports.createWriter = () => {
      throw new Error("no video in this stream");
    };
    play(r, 0.5);
    assert.deepEqual(problems, [
      {
        code: "write",
        errno: undefined,
        detail: "no video in this stream",
        path: problems[0] && (problems[0] as { path?: string }).path,
        kept: false,
      },
    ]);
    assert.equal(writers.length, 0);
    ports.createWriter = (options) => {
      const w = make(options) as FakeWriter;
      w.finish = () => Promise.reject(new Error("mediabunny gave up"));
      return w;
    };
    now += 11_000;
    play(r, 0.5);
    now += 2000;
    r.tick();
    await r.settle();
    // The file holds whole fragments: sent on, with the problem.
    assert.equal(clips.length, 1);
    assert.equal(clips[0]!.reason, "write-error");
    assert.equal((problems.at(-1) as { detail: string }).detail, "mediabunny gave up");
    await r.dispose();
  });

  it("a free-space measurement that fails is no floor; a directory that cannot be listed is an error", async () => {
    const r = recorder({ minFreeBytes: 100 });
    const ports = (r as unknown as { ports: RecorderPorts }).ports;
    ports.freeBytes = () => Promise.reject(new Error("ENOSYS"));
    await r.init();
    play(r, 0.5);
    assert.equal(r.state().lowSpace, false);
    assert.equal(writers.length, 1);
    await r.dispose();
    const file = path.join(dir, "not-a-dir");
    writeFileSync(file, "");
    await assert.rejects(
      applyRetention(file, new FileNamePattern("", "x"), { maxBytes: 1, maxAgeMs: 0 }, now),
      /ENOTDIR/,
    );
  });

  it("statfsFreeBytes measures a real file system", async () => {
    assert.ok((await statfsFreeBytes(dir)) > 0);
  });
});

describe("record: file names", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a pattern's tokens, sanitized, always one name ending in .mp4", () => {
    const at = new Date(2026, 11, 7, 9, 8, 7);
    assert.equal(
      new FileNamePattern("{name}-{date}-{time}.mp4", "Front door/../x").format(at),
      "Front_door_.._x-2026-12-07-09-08-07.mp4",
    );
    assert.equal(new FileNamePattern("../{name}/{time}", "cam").format(at), "__cam_09-08-07.mp4");
    assert.equal(new FileNamePattern("", "").format(at), "mp4-record-2026-12-07-09-08-07.mp4");
    assert.equal(new FileNamePattern("门口 {date}", "摄像头").format(at), "门口_2026-12-07.mp4");
    const p = new FileNamePattern("clip-{time}", "cam");
    assert.equal(p.matches("clip-09-08-07.mp4"), true);
    assert.equal(p.matches("clip-09-08-07-3.mp4"), true);
    assert.equal(p.matches("clip-09-08.mp4"), false);
    assert.equal(sanitize(""), "_");
    assert.equal(new FileNamePattern(".{name}", "x").format(at), "_x.mp4");
    assert.equal(new FileNamePattern("{name}", "..").format(at), "_.mp4");
  });

  it("unique adds -2, -3… to a name taken", () => {
    writeFileSync(path.join(dir, "a.mp4"), "");
    writeFileSync(path.join(dir, "a-2.mp4"), "");
    assert.equal(unique(dir, "a.mp4"), path.join(dir, "a-3.mp4"));
    assert.equal(unique(dir, "b.mp4"), path.join(dir, "b.mp4"));
  });

  it("msg.filename that tries to leave the directory is refused, each way with its reason", () => {
    mkdirSync(path.join(dir, "sub"));
    symlinkSync(os.tmpdir(), path.join(dir, "out"));
    symlinkSync("/nonexistent/target.mp4", path.join(dir, "dangling.mp4"));
    const refused = (name: string, problem: string) =>
      assert.throws(
        () => resolveInside(dir, name),
        (err: unknown) => err instanceof FileNameError && err.problem === problem && err.fileName === name,
        name,
      );
    refused("../escape.mp4", "parent");
    refused("sub/../../escape", "parent");
    refused("..\\escape", "parent");
    refused("/etc/passwd", "absolute");
    refused("C:\\x.mp4", "absolute");
    refused("a\0b.mp4", "nul");
    refused("  ", "empty");
    refused("out/escape.mp4", "outside");
    refused("dangling.mp4", "outside");
    assert.equal(resolveInside(dir, "sub/clip"), path.join(dir, "sub/clip.mp4"));
    assert.equal(resolveInside(dir, "new/deeper/clip.MP4"), path.join(dir, "new/deeper/clip.MP4"));
  });
});

describe("record: the guarded output", () => {
  it("keeps the first failure, of a write or of the close, and reports it once", async () => {
    const failures: Error[] = [];
    const inner = { write: async () => {}, close: () => Promise.reject(new Error("EIO on close")) };
    const out = new GuardedOutput(inner, (e) => failures.push(e));
    await out.write(Buffer.alloc(3));
    await out.close();
    assert.deepEqual([out.written, out.writes, failures.map((e) => e.message)], [3, 1, ["EIO on close"]]);
    inner.write = () => Promise.reject(new Error("later"));
    await out.write(Buffer.alloc(3));
    assert.equal(failures.length, 1);
  });
});

describe("record: trimming a clip cut short to its last whole fragment", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "trim-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const header = (type: string, size: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(size, 0);
    b.write(type, 4, "latin1");
    return b;
  };
  const trim = async (...parts: Buffer[]) => {
    const file = path.join(dir, "clip.mp4");
    writeFileSync(file, Buffer.concat(parts));
    const result = await trimToLastFragment(file);
    assert.equal(statSync(file).size, result.bytes);
    return result;
  };
  const whole = Buffer.concat([header("ftyp", 16), Buffer.alloc(8), header("moov", 24), Buffer.alloc(16)]);
  const fragment = Buffer.concat([header("moof", 16), Buffer.alloc(8), header("mdat", 12), Buffer.alloc(4)]);

  it("keeps whole fragments and drops a half-written one", async () => {
    assert.deepEqual(await trim(whole, fragment, fragment), { bytes: 96, fragments: 2 });
    assert.deepEqual(
      await trim(whole, fragment, header("moof", 16), Buffer.alloc(8), header("mdat", 100), Buffer.alloc(10)),
      {
        bytes: 68,
        fragments: 1,
      },
    );
    assert.deepEqual(await trim(whole, fragment, header("moof", 16), Buffer.alloc(3)), {
      bytes: 68,
      fragments: 1,
    });
    assert.deepEqual(await trim(whole, fragment, Buffer.alloc(5)), { bytes: 68, fragments: 1 });
  });

  it("a moof whose mdat is missing goes; 64-bit and to-the-end sizes are read", async () => {
    assert.deepEqual(await trim(whole, fragment, header("moof", 16), Buffer.alloc(8), header("free", 8)), {
      bytes: 68,
      fragments: 1,
    });
    const large = Buffer.alloc(16);
    large.writeUInt32BE(1, 0);
    large.write("mdat", 4, "latin1");
    large.writeBigUInt64BE(20n, 8);
    assert.deepEqual(await trim(whole, header("moof", 8), large, Buffer.alloc(4)), {
      bytes: 40 + 8 + 20,
      fragments: 1,
    });
    assert.deepEqual(await trim(whole, header("moof", 8), large.subarray(0, 12)), {
      bytes: 40,
      fragments: 0,
    });
    assert.deepEqual(await trim(whole, header("moof", 8), header("mdat", 0), Buffer.alloc(7)), {
      bytes: 40 + 8 + 15,
      fragments: 1,
    });
    assert.deepEqual(await trim(whole, header("junk", 3)), { bytes: 40, fragments: 0 });
  });
});
