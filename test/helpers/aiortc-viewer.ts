import "./loopback-namespace";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { MissingToolError } from "./tools";

/** Debian's interpreter, for which python3-aiortc and python3-av are installed. */
const PYTHON = "/usr/bin/python3";

/** What test/peers/aiortc-viewer.py prints. */
export interface AiortcResult {
  readonly mode: "whep" | "offer";
  readonly audioOffered: boolean;
  readonly status: number | null;
  readonly videoFrames: number;
  readonly width: number | null;
  readonly height: number | null;
  readonly audioFrames: number;
  readonly audioSampleRate: number | null;
  /** The answer's audio m-line port (0: rejected); null when the answer has none. */
  readonly answerAudioPort: number | null;
  readonly localCandidates: readonly string[];
  readonly connectionState: string | null;
  readonly deleteStatus: number | null;
  readonly error: string | null;
}

export interface AiortcRun {
  /** P/whep or P/offer. */
  readonly url: string;
  readonly mode: "whep" | "offer";
  readonly audio: boolean;
  /** Decoded video frames to wait for. */
  readonly frames: number;
  readonly timeoutS?: number;
}

let checked = false;

/** /usr/bin/python3 with aiortc and av importable; MissingToolError otherwise (a failure in CI). */
export function requireAiortc(): string {
  if (checked) return PYTHON;
  const check = spawnSync(PYTHON, ["-c", "import aiortc, av, aioice"], { stdio: "ignore", timeout: 30_000 });
  if (check.status !== 0) throw new MissingToolError("python3-aiortc and python3-av (for /usr/bin/python3)");
  checked = true;
  return PYTHON;
}

function script(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "test", "peers", "aiortc-viewer.py");
    if (existsSync(file)) return file;
  }
  throw new Error(`test/peers/aiortc-viewer.py not found above ${__dirname}`);
}

/** Runs one aiortc viewer to its end; rejects with its stderr when it prints no result. */
export function runAiortcViewer(run: AiortcRun): Promise<AiortcResult> {
  const python = requireAiortc();
  const timeoutS = run.timeoutS ?? 30;
  const args = [
    script(),
    "--url",
    run.url,
    "--mode",
    run.mode,
    "--frames",
    String(run.frames),
    "--timeout",
    String(timeoutS),
    ...(run.audio ? ["--audio"] : []),
  ];
  const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  // Its own timeout covers the frames; this one covers a hang anywhere else.
  const killer = setTimeout(() => child.kill("SIGKILL"), (timeoutS + 30) * 1000);
  return new Promise((resolve, reject) => {
    child.once("error", (err) => {
      clearTimeout(killer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      const line = stdout.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(line) as AiortcResult);
      } catch {
        reject(
          new Error(
            `aiortc viewer exited (code ${code}, signal ${signal}) without a result\n${stdout}\n${stderr}`,
          ),
        );
      }
    });
  });
}
