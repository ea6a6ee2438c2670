import { createClipWriter } from "../mp4/clip-writer";
import { bufferOutput, fileOutput } from "../mp4/outputs";
import { FileNameError } from "../record/file-names";
import {
  type FinishedClip,
  Recorder,
  type RecorderState,
  type RecordProblem,
  statfsFreeBytes,
} from "../record/recorder";
import { accessUnitFrom, notMediaError, reportLimiter } from "./media-message";
import { type Mp4RecordDef, parseMp4RecordConfig } from "./mp4-record-config";
import { describeBytes, describeDuration, describeProblem, FILE_NAME_PROBLEMS } from "./mp4-record-text";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus, TextValues } from "./red";

const TICK_MS = 1000;
const BAD_INPUT_REPORT_INTERVAL_MS = 10_000;

type Translate = (key: string, values?: TextValues) => string;

function statusOf(state: RecorderState, text: Translate, buffer: boolean): NodeStatus {
  const total = text(buffer ? "mp4-record.status.sent" : "mp4-record.status.clips", {
    clips: state.clips,
    size: describeBytes(state.totalBytes),
  });
  if (state.recording) {
    return {
      fill: "red",
      shape: "dot",
      text: text("mp4-record.status.recording", {
        time: describeDuration(state.elapsedS),
        size: describeBytes(state.bytes),
      }),
    };
  }
  if (state.lowSpace)
    return { fill: "yellow", shape: "ring", text: `${text("mp4-record.status.low-space")} · ${total}` };
  const idle = text(state.armed ? "mp4-record.status.idle" : "mp4-record.status.stopped");
  return { fill: "grey", shape: state.armed ? "dot" : "ring", text: `${idle} · ${total}` };
}

function register(RED: NodeAPI): void {
  function Mp4RecordNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const userDir = typeof RED.settings?.userDir === "string" ? RED.settings.userDir : undefined;
    const settings = parseMp4RecordConfig(def as Mp4RecordDef, userDir);
    const text: Translate = (key, values) => RED._(key, values);
    for (const problem of settings.problems) this.warn(text(problem.key, problem.values));
    const { topic } = settings;
    const directory = settings.recorder.directory;
    const buffer = settings.recorder.output === "buffer";
    const recorder = new Recorder(settings.recorder, {
      createWriter: createClipWriter,
      fileOutput,
      bufferOutput,
      now: Date.now,
      freeBytes: statfsFreeBytes,
    });
    const shouldReport = reportLimiter(BAD_INPUT_REPORT_INTERVAL_MS);

    // A problem stays in the status until the next clip is under way.
    let trouble: string | undefined;
    let shown = "";
    const showStatus = () => {
      const state = recorder.state();
      if (state.recording) trouble = undefined;
      const status: NodeStatus = trouble
        ? { fill: "red", shape: "ring", text: trouble }
        : statusOf(state, text, buffer);
      const key = `${status.fill}|${status.shape}|${status.text}`;
      if (key === shown) return;
      shown = key;
      this.status(status);
    };

    recorder.on("clip", (clip: FinishedClip) => {
      const { summary } = clip;
      const msg: NodeMessage = {
        topic,
        payload: clip.buffer ?? clip.path,
        file: {
          path: clip.path,
          bytes: summary.bytes,
          durationS: summary.durationS,
          start: summary.start,
          end: summary.end,
          video: summary.video,
          audio: summary.audio,
          reason: clip.reason,
        },
      };
      this.send(msg);
    });
    recorder.on("problem", (problem: RecordProblem) => {
      trouble = describeProblem(problem, text, directory);
      this.error(trouble, { topic, error: { code: problem.code, message: trouble } });
      showStatus();
    });
    recorder.on("change", showStatus);

    const ticker = setInterval(() => {
      recorder.tick();
      showStatus();
    }, TICK_MS);

    this.on("input", (msg, _send, done) => {
      const media = accessUnitFrom(msg);
      if (media) {
        recorder.push(media.unit, media.stream);
        done();
        return;
      }
      const command = typeof msg.payload === "string" ? msg.payload.trim().toLowerCase() : "";
      if (command === "stop") {
        recorder.stop();
        done();
        return;
      }
      if (command === "start") {
        const fileName = msg.filename;
        if (fileName !== undefined && typeof fileName !== "string") {
          done(new Error(text("mp4-record.errors.filename-type", { type: typeof fileName })));
          return;
        }
        recorder.start(fileName).then(
          () => done(),
          (err: unknown) => {
            if (err instanceof FileNameError) {
              done(
                new Error(
                  text("mp4-record.errors.filename", {
                    name: JSON.stringify(err.fileName),
                    why: text(FILE_NAME_PROBLEMS[err.problem]),
                  }),
                ),
              );
            } else {
              done(
                new Error(text("mp4-record.errors.directory", { directory, why: (err as Error).message })),
              );
            }
          },
        );
        return;
      }
      if (!shouldReport()) {
        done();
        return;
      }
      done(
        notMediaError(
          msg,
          {
            notMedia: "mp4-record.errors.not-media",
            array: "mp4-record.errors.payload-array",
            missing: "mp4-record.errors.payload-missing",
            type: "mp4-record.errors.payload-type",
          },
          text,
        ),
      );
    });

    this.on("close", (_removed, done) => {
      clearInterval(ticker);
      recorder.dispose().then(done, done);
    });

    void recorder.init().then(showStatus);
    showStatus();
  }

  RED.nodes.registerType("mp4-record", Mp4RecordNode as (this: Node<never>, def: NodeDef) => void);
}

export = register;
