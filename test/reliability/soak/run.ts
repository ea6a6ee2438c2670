// `npm run soak`: the long reliability scenarios, one summary table (scenario | duration | result |
// figures), .test-artifacts/soak.json, exit code 1 when any failed. Run inside a loopback-only network
// namespace (the npm script does). Each scenario runs in a child process of its own (this file again,
// with --worker), so that one scenario's busy loop never stalls another's cameras or timers.
//
// The scenarios marked `alongsideSoak` run at the same time as the long steady-viewers one (they
// neither load the machine much nor measure timing); the others run one after the other before it.
//
// Flags: --quick (every scenario at about 1/10 of its length, to check the runner), --only a,b.
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { renderTable } from "../../bench/stats";
import { cameraUnreachableScenario, KEEPALIVE_CASES, keepaliveScenarios } from "../camera-faults";
import { rtspFuzzScenario } from "../fuzz-rtsp";
import { sdpFuzzScenario } from "../sdp-fuzz";
import { steadyViewersScenario } from "./fifty-viewers";
import type { ScenarioOptions, ScenarioResult } from "./harness";
import { redeployScenario } from "./redeploy";
import { slowViewerScenario } from "./slow-viewer";
import { viewerCyclesScenario } from "./viewer-cycles";

interface RunContext extends ScenarioOptions {
  /** 1 for the real soak, 0.1 with --quick: for scenarios that count instead of timing. */
  readonly scale: number;
}

interface Entry {
  /** For --only, and the log prefix. */
  readonly name: string;
  /** Full length; --quick takes a tenth. */
  readonly durationMs: number;
  /** Runs during the steady-viewers soak instead of before it. */
  readonly alongsideSoak: boolean;
  /** Some scenarios are several rows (one per case). */
  readonly run: (ctx: RunContext) => Promise<ScenarioResult | readonly ScenarioResult[]>;
}

const MIN = 60_000;

/** The soak itself: the entry the `alongsideSoak` ones run beside. */
const SOAK = "steady-viewers";

const REGISTRY: readonly Entry[] = [
  {
    name: "viewer-cycles",
    durationMs: 4 * MIN,
    alongsideSoak: false,
    run: (ctx) => viewerCyclesScenario({ ...ctx, cycles: Math.round(1000 * ctx.scale) }),
  },
  {
    name: "slow-viewer",
    durationMs: 2 * MIN,
    alongsideSoak: false,
    run: (ctx) => slowViewerScenario(ctx),
  },
  { name: "rtsp-fuzz", durationMs: MIN, alongsideSoak: false, run: (ctx) => rtspFuzzScenario(ctx) },
  { name: "sdp-fuzz", durationMs: MIN, alongsideSoak: false, run: (ctx) => sdpFuzzScenario(ctx) },
  {
    name: SOAK,
    durationMs: 30 * MIN,
    alongsideSoak: false,
    run: (ctx) => steadyViewersScenario({ ...ctx, viewers: 50 }),
  },
  {
    name: "redeploy",
    durationMs: 3 * MIN,
    alongsideSoak: true,
    run: (ctx) => redeployScenario({ ...ctx, redeploys: Math.round(100 * ctx.scale) }),
  },
  {
    name: "camera-unreachable",
    durationMs: 10 * MIN,
    alongsideSoak: true,
    run: (ctx) => cameraUnreachableScenario(ctx),
  },
  {
    name: "keepalive",
    durationMs: 5 * MIN,
    alongsideSoak: true,
    run: (ctx) => keepaliveScenarios({ ...ctx, cases: KEEPALIVE_CASES }),
  },
];

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: "" },
    worker: { type: "string" },
  },
});
const QUICK = args.quick === true;
const SCALE = QUICK ? 0.1 : 1;
const OUT = path.join(__dirname, "../../../../.test-artifacts");

function entry(name: string): Entry {
  const found = REGISTRY.find((e) => e.name === name);
  if (found === undefined) {
    throw new Error(`no scenario "${name}"; there are: ${REGISTRY.map((e) => e.name).join(", ")}`);
  }
  return found;
}

interface Row extends ScenarioResult {
  readonly scenario: string;
  readonly durationS: number;
}

/** The worker's side: runs one entry and sends its rows to the parent. */
async function work(name: string): Promise<void> {
  const e = entry(name);
  const log = (line: string): void => console.log(`[${name}] ${line}`);
  let rows: ScenarioResult[];
  try {
    const result = await e.run({ durationMs: Math.round(e.durationMs * SCALE), log, scale: SCALE });
    rows = Array.isArray(result) ? [...(result as readonly ScenarioResult[])] : [result as ScenarioResult];
  } catch (error) {
    rows = [
      { name, result: "fail", figures: { error: error instanceof Error ? error.message : String(error) } },
    ];
  }
  await new Promise<void>((resolve) => process.send?.(rows, () => resolve()));
  process.exit(0);
}

/** Runs one entry in a child process; its rows (a failed row when the child dies without any). */
function runInChild(name: string): Promise<Row[]> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = fork(__filename, ["--worker", name, ...(QUICK ? ["--quick"] : [])], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let rows: ScenarioResult[] | undefined;
    child.on("message", (message: ScenarioResult[]) => {
      rows = message;
    });
    child.once("exit", (code, signal) => {
      const durationS = Math.round((performance.now() - started) / 1000);
      const got = rows ?? [
        { name, result: "fail" as const, figures: { error: `worker exited (${code ?? signal})` } },
      ];
      resolve(got.map((row) => ({ ...row, scenario: name, durationS })));
    });
  });
}

function figuresText(figures: Record<string, string | number>): string {
  return Object.entries(figures)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
}

async function main(): Promise<void> {
  if (args.worker !== undefined) {
    await work(args.worker);
    return;
  }
  const only = new Set(String(args.only).split(",").filter(Boolean));
  for (const name of only) entry(name);
  const chosen = REGISTRY.filter((e) => only.size === 0 || only.has(e.name));
  const started = performance.now();
  console.log(
    `[soak] ${QUICK ? "quick run (1/10 lengths)" : "full run"}: ${chosen.map((e) => e.name).join(", ")}`,
  );
  const rows: Row[] = [];
  const soak = chosen.find((e) => e.name === SOAK);
  const before = chosen.filter((e) => e !== soak && !(soak !== undefined && e.alongsideSoak));
  const beside = soak === undefined ? [] : chosen.filter((e) => e.alongsideSoak);
  for (const e of before) rows.push(...(await runInChild(e.name)));
  if (soak !== undefined) {
    const results = await Promise.all([soak, ...beside].map((e) => runInChild(e.name)));
    rows.push(...results.flat());
  }

  const failed = rows.filter((row) => row.result !== "pass");
  const report = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    quick: QUICK,
    minutes: Math.round((performance.now() - started) / 6000) / 10,
    rows,
  };
  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, "soak.json");
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    `\n${renderTable(
      ["scenario", "duration", "result", "figures"],
      rows.map((row) => [row.name, `${row.durationS} s`, row.result, figuresText(row.figures)]),
    )}\n`,
  );
  console.log(
    `[soak] ${rows.length - failed.length} of ${rows.length} passed in ${report.minutes} min; written ${file}`,
  );
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
