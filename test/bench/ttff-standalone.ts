// Time to first frame, on its own: a demo camera, then Node-RED twice (webrtc-out fast start on, then
// off), measured from headless Chromium. Run inside a loopback-only network namespace:
//
//   unshare --net -- bash -c 'ip link set lo up; node_modules/.bin/node dist/test/bench/ttff-standalone.js \
//     [--joins 20] [--steady 60] [--clip file.h264 --fps 30] [--gop-ms 2000]'
import { parseArgs } from "node:util";
import { DemoCamera } from "../../src/demo/demo-camera";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { waitFor } from "../helpers/wait";
import { quantile } from "./stats";
import { measureTimeToFirstFrame, type TimeToFirstFrameResult } from "./ttff";

const PATH = "/cam1";

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  httpAdminRoot: false,
  httpNodeRoot: "/",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  // info: startNodeRed waits for its "Server now running" line.
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;

function flows(cameraUrl: string, fastStart: boolean): object[] {
  return [
    { id: "t1", type: "tab", label: "ttff" },
    {
      id: "cam",
      z: "t1",
      type: "rtsp-in",
      name: "camera",
      url: cameraUrl,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      wires: [["out1"], []],
    },
    {
      id: "out1",
      z: "t1",
      type: "webrtc-out",
      name: "camera",
      path: PATH.slice(1),
      hostAddresses: "127.0.0.1",
      statsInterval: 0,
      fastStart,
      wires: [[]],
    },
  ];
}

async function streamReceiving(base: string, nodeRed: NodeRedProcess): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${base}${PATH}/stats`).catch(() => undefined);
      if (res?.status !== 200) return false;
      const body = (await res.json()) as { stream?: { sourceState?: string } };
      return body.stream?.sourceState === "receiving";
    },
    20_000,
    "the stream to reach webrtc-out",
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${nodeRed.output()}`);
  });
}

async function measureWith(
  cameraUrl: string,
  fastStart: boolean,
  joins: number,
  steadySeconds: number,
  gopMs: number,
): Promise<TimeToFirstFrameResult> {
  const nodeRed = await startNodeRed({
    runtime: "node-red",
    settings: SETTINGS,
    flows: flows(cameraUrl, fastStart),
  });
  try {
    const base = `http://127.0.0.1:${nodeRed.port}`;
    await streamReceiving(base, nodeRed);
    return await measureTimeToFirstFrame({
      baseUrl: base,
      path: PATH,
      joins,
      steadySeconds,
      fastStart,
      gopMs,
      log: (line) => console.log(`  [fastStart ${fastStart}] ${line}`),
    });
  } finally {
    await nodeRed.stop();
  }
}

function summary(result: TimeToFirstFrameResult): string {
  const s = result.steady;
  return [
    `fastStart ${result.fastStart}: time to first frame p50 ${result.p50.toFixed(0)} ms, p95 ${result.p95.toFixed(0)} ms`,
    `  (${result.ttffMs.map((ms) => ms.toFixed(0)).join(", ")})`,
    `  of which answer p50 ${quantile(result.answerMs, 0.5).toFixed(0)} ms, connected p50 ${quantile(result.connectedMs, 0.5).toFixed(0)} ms`,
    `  steady ${s.seconds} s: jitterBufferDelay ${s.jitterBufferDelayMsPerFrame.toFixed(1)} ms/frame ` +
      `(second half ${s.jitterBufferDelayMsPerFrameSecondHalf.toFixed(1)}), framesDecoded ${s.framesDecoded}, ` +
      `freezeCount ${s.freezeCount}, totalFreezesDuration ${s.totalFreezesDurationS.toFixed(2)} s`,
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      joins: { type: "string", default: "20" },
      steady: { type: "string", default: "60" },
      clip: { type: "string" },
      fps: { type: "string" },
      "gop-ms": { type: "string", default: "2000" },
    },
  });
  const joins = Number(values.joins);
  const steadySeconds = Number(values.steady);
  const gopMs = Number(values["gop-ms"]);
  const camera = new DemoCamera({
    port: 0,
    ...(values.clip !== undefined ? { clipPath: values.clip } : {}),
    ...(values.fps !== undefined ? { fps: Number(values.fps) } : {}),
  });
  const { url } = await camera.start();
  try {
    const results: TimeToFirstFrameResult[] = [];
    for (const fastStart of [true, false]) {
      results.push(await measureWith(url, fastStart, joins, steadySeconds, gopMs));
    }
    console.log(results.map(summary).join("\n"));
    console.log(JSON.stringify(results));
  } finally {
    await camera.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
