import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { DemoCamera } from "../../src/demo/demo-camera";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { waitFor } from "../helpers/wait";
import { CAMERA_720P, ensureClip } from "./clips";
import type { HostCommand, HostReply, HostStats, ViewerKind } from "./protocol";

// Checks the bench's light receiver against full werift receivers: the same relay (rtsp-in →
// webrtc-out in a real Node-RED, fed by the demo camera) serves 10 of each, each kind in its own
// viewer host; over the same window both must count the same packets per viewer (within 1 %),
// and the light host must spend far less CPU per viewer (over what it spends with none). Run it
// inside a loopback-only network namespace, with --720p for the bench's 2 Mbit/s camera clip
// (made with ffmpeg on first use) instead of the shipped demo clip:
//   unshare --net -- bash -c 'ip link set lo up; node dist/test/bench/validate-light.js [--720p]'

const VIEWERS = 10;
const WINDOW_MS = 10_000;
/** Joined viewers start at the next keyframe: let every one of them be well into the stream. */
const SETTLE_MS = 3000;
/** How long each host's CPU is measured with no viewer, to take its own idle cost out. */
const IDLE_MS = 3000;
const MAX_COUNT_DIFFERENCE = 0.01;
/** "Far lower": a light viewer must cost at most this share of a full one's CPU. */
const MAX_LIGHT_CPU_SHARE = 0.5;

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  httpAdminRoot: false,
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;

function flows(cameraUrl: string): object[] {
  return [
    { id: "t1", type: "tab", label: "bench" },
    {
      id: "cam",
      z: "t1",
      type: "rtsp-in",
      name: "demo",
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
      name: "bench",
      path: "bench",
      hostAddresses: "127.0.0.1",
      maxViewers: 4 * VIEWERS,
      // Every viewer comes from 127.0.0.1.
      maxPerAddress: 4 * VIEWERS,
      statsInterval: 0,
      wires: [[]],
    },
  ];
}

/** A command as sent, before it is numbered (Omit distributed over the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, "id"> : never;

/** A forked viewer host and the request/reply pairing of protocol.ts. */
class HostClient {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: HostReply) => void>();
  private readonly child: ChildProcess;

  constructor(readonly label: string) {
    this.child = fork(join(__dirname, "viewer-host.js"), [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (reply: HostReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  /** @throws Error with the host's own message when it answers ok: false */
  async ask(command: Unnumbered<HostCommand>): Promise<HostReply & { ok: true }> {
    const id = this.nextId++;
    const reply = await new Promise<HostReply>((resolve, reject) => {
      this.pending.set(id, resolve);
      this.child.send({ ...command, id }, (error) => {
        if (error) reject(error);
      });
    });
    if (!reply.ok) throw new Error(`${this.label}: ${command.cmd}: ${reply.error}`);
    return reply;
  }

  async stats(): Promise<HostStats> {
    const { stats } = await this.ask({ cmd: "stats" });
    if (stats === undefined) throw new Error(`${this.label}: stats: no stats in the reply`);
    return stats;
  }

  async exit(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    if (this.child.exitCode === null && this.child.connected) await this.ask({ cmd: "exit" }).catch(() => {});
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

interface KindResult {
  readonly kind: ViewerKind;
  readonly stats: HostStats;
  readonly packetsPerViewer: number;
  readonly minPackets: number;
  readonly maxPackets: number;
  readonly bytesPerViewer: number;
  /** Cores the whole host used over the window. */
  readonly cores: number;
  /** Cores the host used with no viewer at all. */
  readonly idleCores: number;
  /** What one viewer adds: (cores − idle) / viewers. */
  readonly coresPerViewer: number;
  /** The same per received packet, µs of CPU. */
  readonly usPerPacket: number;
}

function coresOf(stats: HostStats): number {
  return (stats.cpuUserUs + stats.cpuSystemUs) / stats.elapsedUs;
}

function summarize(kind: ViewerKind, stats: HostStats, idle: HostStats): KindResult {
  const packets = stats.perViewer.map((c) => c.packets);
  const n = Math.max(1, stats.perViewer.length);
  const cores = coresOf(stats);
  const idleCores = coresOf(idle);
  const packetsPerSecond = stats.total.packets / (stats.elapsedUs / 1e6);
  return {
    kind,
    stats,
    packetsPerViewer: stats.total.packets / n,
    minPackets: Math.min(...packets),
    maxPackets: Math.max(...packets),
    bytesPerViewer: stats.total.bytes / n,
    cores,
    idleCores,
    coresPerViewer: (cores - idleCores) / n,
    usPerPacket: ((cores - idleCores) * 1e6) / Math.max(1, packetsPerSecond),
  };
}

function line(r: KindResult): string {
  const s = r.stats;
  return [
    r.kind.padEnd(7),
    `${s.connected}/${s.viewers} connected`,
    `packets/viewer ${r.packetsPerViewer.toFixed(1)} (min ${r.minPackets}, max ${r.maxPackets})`,
    `bytes/viewer ${Math.round(r.bytesPerViewer)}`,
    `lost ${s.total.lost}`,
    `host ${(r.cores * 100).toFixed(2)} % of a core (idle ${(r.idleCores * 100).toFixed(2)} %)`,
    `${r.coresPerViewer.toFixed(5)} cores/viewer`,
    `${r.usPerPacket.toFixed(1)} µs/packet`,
    `RSS ${Math.round(s.rssBytes / 2 ** 20)} MiB`,
  ].join(" · ");
}

/** The camera: the shipped demo clip, or with --720p the bench's 1280x720 30 fps 2 Mbit/s clip. */
async function startCamera(): Promise<{ camera: DemoCamera; url: string; clip: string }> {
  if (!process.argv.includes("--720p")) {
    const camera = new DemoCamera({ port: 0 });
    return { camera, url: (await camera.start()).url, clip: "the demo clip" };
  }
  const clipPath = await ensureClip(CAMERA_720P);
  const camera = new DemoCamera({ port: 0, clipPath, fps: CAMERA_720P.fps });
  return { camera, url: (await camera.start()).url, clip: `${clipPath} (720p30, 2 Mbit/s)` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<number> {
  const { camera, url, clip } = await startCamera();
  console.log(`camera: ${clip}`);
  let nodeRed: NodeRedProcess | undefined;
  const hosts: HostClient[] = [];
  try {
    nodeRed = await startNodeRed({ runtime: "node-red", settings: SETTINGS, flows: flows(url) });
    const base = `http://127.0.0.1:${nodeRed.port}/bench`;
    const red = nodeRed;
    await waitFor(
      async () => {
        const res = await fetch(`${base}/stats`);
        // 404 until the flow is deployed
        if (!res.ok) return false;
        const body = (await res.json()) as { stream?: { sourceState?: string } };
        return body.stream?.sourceState === "receiving";
      },
      20_000,
      "the camera's stream to reach webrtc-out",
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${red.output()}`);
    });

    const light = new HostClient("light host");
    const werift = new HostClient("werift host");
    hosts.push(light, werift);
    await Promise.all([light.ask({ cmd: "reset" }), werift.ask({ cmd: "reset" })]);
    await sleep(IDLE_MS);
    const [lightIdle, weriftIdle] = await Promise.all([light.stats(), werift.stats()]);

    const offerUrl = `${base}/offer`;
    const joinStarted = performance.now();
    const [lightJoin, weriftJoin] = await Promise.all([
      light.ask({ cmd: "join", count: VIEWERS, kind: "light", offerUrl }),
      werift.ask({ cmd: "join", count: VIEWERS, kind: "werift", offerUrl }),
    ]);
    console.log(
      `joined ${lightJoin.joined} light and ${weriftJoin.joined} werift viewers in ${Math.round(performance.now() - joinStarted)} ms`,
    );
    await sleep(SETTLE_MS);

    await Promise.all([light.ask({ cmd: "reset" }), werift.ask({ cmd: "reset" })]);
    await sleep(WINDOW_MS);
    const [lightStats, weriftStats] = await Promise.all([light.stats(), werift.stats()]);

    const l = summarize("light", lightStats, lightIdle);
    const w = summarize("werift", weriftStats, weriftIdle);
    console.log(`window ${(lightStats.elapsedUs / 1e6).toFixed(2)} s, ${VIEWERS} viewers of each kind`);
    console.log(line(l));
    console.log(line(w));

    const problems: string[] = [];
    for (const r of [l, w]) {
      if (r.stats.connected !== VIEWERS)
        problems.push(`${r.kind}: ${r.stats.connected} of ${VIEWERS} connected`);
      if (r.minPackets === 0) problems.push(`${r.kind}: a viewer received nothing`);
    }
    const difference = Math.abs(l.packetsPerViewer - w.packetsPerViewer) / Math.max(1, w.packetsPerViewer);
    console.log(`packets/viewer differ by ${(difference * 100).toFixed(2)} %`);
    if (difference > MAX_COUNT_DIFFERENCE)
      problems.push(`packet counts differ by more than ${MAX_COUNT_DIFFERENCE * 100} %`);
    const spread = (r: KindResult) => (r.maxPackets - r.minPackets) / Math.max(1, r.maxPackets);
    for (const r of [l, w]) {
      if (spread(r) > MAX_COUNT_DIFFERENCE)
        problems.push(`${r.kind}: viewers' counts spread over more than 1 %`);
    }
    const share = l.coresPerViewer / w.coresPerViewer;
    console.log(
      `light CPU per viewer is ${(share * 100).toFixed(1)} % of werift's (${(1 / share).toFixed(1)}x less)`,
    );
    if (!(share <= MAX_LIGHT_CPU_SHARE))
      problems.push(`light CPU is not far lower (${(share * 100).toFixed(1)} % of werift's)`);

    if (problems.length > 0) {
      console.log(`FAILED:\n  ${problems.join("\n  ")}`);
      return 1;
    }
    console.log("OK: the light receiver counts what a full werift receiver does, for a fraction of the CPU");
    return 0;
  } finally {
    await Promise.all(hosts.map((host) => host.exit()));
    await nodeRed?.stop();
    await camera.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
