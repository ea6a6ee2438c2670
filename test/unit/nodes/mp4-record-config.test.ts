import assert from "node:assert/strict";
import os from "node:os";
import path from "node:path";
import { DEFAULTS, parseMp4RecordConfig } from "../../../src/nodes/mp4-record-config";
import { describeBytes, describeDuration, describeProblem } from "../../../src/nodes/mp4-record-text";
import { translator } from "../../helpers/node-catalog";

const def = (fields: Record<string, unknown> = {}) => ({ id: "r", type: "mp4-record", ...fields });

describe("mp4-record: configuration", () => {
  it("a flow that leaves everything out gets the editor's defaults", () => {
    const s = parseMp4RecordConfig(def(), "/data/nr");
    assert.deepEqual(s.problems, []);
    assert.equal(s.topic, "mp4-record");
    const r = s.recorder;
    assert.equal(r.mode, DEFAULTS.mode);
    assert.equal(r.idleS, 5);
    assert.equal(r.segmentS, 600);
    assert.equal(r.maxClipS, 600);
    assert.equal(r.directory, "/data/nr/recordings");
    assert.equal(r.output, "file");
    assert.equal(r.maxBufferBytes, 20 * 1024 * 1024);
    assert.deepEqual(r.retention, { maxBytes: 2048 * 1024 * 1024, maxAgeMs: 7 * 86_400_000 });
    assert.equal(r.minFreeBytes, 500 * 1024 * 1024);
    assert.equal(r.audio, true);
    assert.equal(r.pattern.pattern, "{name}-{date}-{time}.mp4");
  });

  it("takes what the editor writes; a relative directory is the user directory's, an absolute one is kept", () => {
    const s = parseMp4RecordConfig(
      def({
        name: " door ",
        mode: "segments",
        idle: "2",
        segment: 0.5,
        maxClip: 0,
        directory: "/var/clips",
        pattern: "{name}_{time}",
        output: "buffer",
        maxBuffer: "1",
        retainSize: 0,
        retainDays: "0",
        minFree: 0,
        audio: false,
      }),
    );
    assert.deepEqual(s.problems, []);
    assert.equal(s.topic, "door");
    assert.equal(s.recorder.mode, "segments");
    assert.equal(s.recorder.segmentS, 30);
    assert.equal(s.recorder.directory, "/var/clips");
    assert.equal(s.recorder.output, "buffer");
    assert.equal(s.recorder.maxBufferBytes, 1024 * 1024);
    assert.equal(s.recorder.audio, false);
    assert.equal(
      parseMp4RecordConfig(def({ directory: "clips" })).recorder.directory,
      path.join(os.homedir(), "clips"),
    );
  });

  it("a bad value is replaced by the default, with a warning naming it", async () => {
    const s = parseMp4RecordConfig(
      def({
        mode: "always",
        idle: 0,
        segment: "x",
        maxClip: -1,
        maxBuffer: 0,
        retainSize: -5,
        retainDays: "soon",
        minFree: -1,
      }),
    );
    const text = await translator("mp4-record");
    const words = s.problems.map((p) => text(p.key, p.values));
    assert.deepEqual(words, [
      'record mode "always" unknown; recording while messages arrive',
      "close after must be more than 0 seconds, not 0; using 5",
      "segments must be more than 0 minutes, not x; using 10",
      "max clip must be 0 or more seconds, not -1; using 600",
      "the buffer cap must be more than 0 MB, not 0; using 20",
      "keep at most must be 0 or more MB, not -5; using 2048",
      "keep for must be 0 or more days, not soon; using 7",
      "the free-space floor must be 0 or more MB, not -1; using 500",
    ]);
    assert.equal(s.recorder.mode, "activity");
  });
});

describe("mp4-record: texts", () => {
  it("sizes and durations as the status shows them", () => {
    assert.equal(describeBytes(640_000), "640 kB");
    assert.equal(describeBytes(3_100_000), "3.1 MB");
    assert.equal(describeBytes(412_000_000), "412 MB");
    assert.equal(describeBytes(1_200_000_000), "1.2 GB");
    assert.equal(describeBytes(10.5e12), "10.5 TB");
    assert.equal(describeDuration(12.7), "00:12");
    assert.equal(describeDuration(3723), "01:02:03");
    assert.equal(describeDuration(-1), "00:00");
  });

  it("every problem in words, in English and Chinese", async () => {
    const en = await translator("mp4-record");
    const zh = await translator("mp4-record", "zh-CN");
    const dir = "/rec";
    assert.equal(
      describeProblem({ code: "low-space", freeBytes: 10e6, floorBytes: 500e6, during: false }, en, dir),
      "only 10 MB free in /rec, under the floor of 500 MB: no clip is recorded until there is more",
    );
    assert.equal(
      describeProblem({ code: "low-space", freeBytes: 10e6, floorBytes: 500e6, during: true }, en, dir),
      "free space in /rec fell to 10 MB, under the floor of 500 MB: the clip was closed",
    );
    assert.equal(
      describeProblem(
        { code: "write", errno: "EROFS", detail: "x", path: "/rec/a.mp4", kept: false },
        en,
        dir,
      ),
      "writing /rec/a.mp4 failed: the file system is read-only. The clip was ended and nothing of it kept",
    );
    assert.equal(
      describeProblem({ code: "write", errno: "TOO_LARGE", detail: "x", kept: false }, en, dir),
      "writing the buffer failed: the clip is larger than the buffer cap (raise it, or record to a file). The clip was ended and nothing of it kept",
    );
    assert.equal(
      describeProblem(
        { code: "write", errno: "EIO", detail: "EIO: i/o error", path: "/rec/a.mp4", kept: true },
        en,
        dir,
      ),
      "writing /rec/a.mp4 failed: EIO: i/o error. The clip was ended; what was written plays and was sent on",
    );
    assert.equal(
      describeProblem({ code: "directory", errno: "EACCES", detail: "x" }, en, dir),
      "cannot record into /rec: permission denied (Node-RED's user may not write there)",
    );
    assert.equal(
      describeProblem({ code: "directory", detail: "odd" }, en, dir),
      "cannot record into /rec: odd",
    );
    assert.equal(
      describeProblem({ code: "retention", detail: "/rec/a.mp4: EPERM" }, en, dir),
      "could not delete old clips: /rec/a.mp4: EPERM",
    );
    assert.equal(
      describeProblem(
        { code: "write", errno: "ENOSPC", detail: "x", path: "/rec/a.mp4", kept: false },
        zh,
        dir,
      ),
      "写入 /rec/a.mp4 失败：磁盘已满。片段已结束，未保留任何内容",
    );
  });
});
