import { DemoCamera, type KeepaliveBehaviour } from "../../src/demo/demo-camera";
import { DEFAULT_BACKOFF } from "../../src/rtsp/backoff";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264, parseRtp } from "../helpers/depacketize";
import { GstRtspServer } from "../helpers/gst-server";
import { TcpProxy } from "../helpers/tcp-proxy";
import { freePort } from "../helpers/tools";
import { waitFor } from "../helpers/wait";
import type { WeriftViewer } from "../helpers/werift-viewer";
import {
  heapAfterGc,
  inSequenceOrder,
  NodeRedRig,
  resourceCounts,
  sequenceBreaks,
  sleep,
  startsKeyframe,
  timestampsBackward,
} from "./camera-rig";
import type { ScenarioOptions, ScenarioResult } from "./soak/harness";

// Cameras that fail, against rtsp-in (and webrtc-out with werift viewers) in Node-RED: each scenario
// resolves to a summary row; the suite runs them short (test/reliability/camera-*.test.ts), `npm run
// soak` long.

/** A viewer must show moving video again this soon after the camera is back. */
export const RECOVERY_LIMIT_MS = 3000;
/** A silent camera must be noticed this soon. */
export const SILENCE_LIMIT_MS = 10_000;
const BACKOFF_CAP_MS = Math.max(...DEFAULT_BACKOFF.delaysMs) * (1 + DEFAULT_BACKOFF.jitter);
/** Frames a viewer must get after each return, from its first keyframe on ("moving video"). */
const FRAMES_AFTER_RETURN = 8;

const round = (n: number): number => Math.round(n);
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
};
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function frameCount(packets: readonly Buffer[], from = 0): number {
  let frames = 0;
  for (let i = from; i < packets.length; i++) if (parseRtp(packets[i]!).marker) frames++;
  return frames;
}

// ---------------------------------------------------------------------------------------------------
// A camera that restarts

export interface CameraRestartsOptions extends ScenarioOptions {
  /** Restarts at least; the soak goes on until durationMs. Default 20. */
  readonly restarts?: number;
  /** Viewers watching through it all. Default 3. */
  readonly viewers?: number;
  /** How long the camera stays down, one per restart in turn. Default [0, 200, 600]. */
  readonly downtimesMs?: readonly number[];
}

/**
 * gst-rtsp-server killed and started again on its port (new SSRC, sequence and timestamp bases, a
 * random GOP phase), over and over, with werift viewers of rtsp-in → webrtc-out: every viewer keeps its
 * peer connection, gets a keyframe within RECOVERY_LIMIT_MS of each return and moving video after it,
 * sequence numbers without a gap, timestamps always forward, and the whole capture decodes cleanly.
 */
export async function cameraRestartsScenario(opts: CameraRestartsOptions): Promise<ScenarioResult> {
  const minRestarts = opts.restarts ?? 20;
  const downtimes = opts.downtimesMs ?? [0, 200, 600];
  const name = `camera restarts (${opts.viewers ?? 3} viewers)`;
  const failures: string[] = [];
  const recoveries: number[] = [];
  const figures: Record<string, string | number> = {};
  // quickDescribe: DESCRIBE is answered at once, as by a camera whose encoder runs; the session still
  // joins mid-GOP (the first keyframe comes a GOP, 1 s, after PLAY, or at once).
  const camera = await GstRtspServer.start({
    codec: "h264",
    keyint: 25,
    fps: 25,
    width: 640,
    height: 360,
    quickDescribe: true,
  });
  let rig: NodeRedRig | undefined;
  const viewers: WeriftViewer[] = [];
  const started = performance.now();
  let restarts = 0;
  try {
    rig = await NodeRedRig.start({ cameras: [{ url: camera.url }], webrtc: true });
    for (let i = 0; i < (opts.viewers ?? 3); i++) viewers.push(await rig.viewer());
    await waitFor(
      () =>
        viewers.every((v) => v.packets.some(startsKeyframe) && frameCount(v.packets) >= FRAMES_AFTER_RETURN),
      15_000,
      "video at every viewer",
    );
    while (restarts < minRestarts || performance.now() - started < opts.durationMs) {
      const downtime = downtimes[restarts % downtimes.length] ?? 0;
      await camera.stop();
      await sleep(downtime);
      await camera.restart();
      const returnedAt = performance.now();
      restarts++;
      const from = viewers.map((v) => v.packets.length);
      // Moving video at every viewer: a keyframe, then frames after it.
      const firstKeyframe = viewers.map(() => -1);
      try {
        await waitFor(
          () =>
            viewers.every((v, i) => {
              if (firstKeyframe[i]! < 0) {
                for (let p = from[i]!; p < v.packets.length; p++) {
                  if (startsKeyframe(v.packets[p]!)) {
                    firstKeyframe[i] = p;
                    break;
                  }
                }
              }
              return firstKeyframe[i]! >= 0 && frameCount(v.packets, firstKeyframe[i]) >= FRAMES_AFTER_RETURN;
            }),
          15_000,
          `moving video at every viewer after restart ${restarts}`,
        );
      } catch (error) {
        failures.push(errorText(error));
        break;
      }
      const worst = Math.max(...viewers.map((v, i) => v.arrivals[firstKeyframe[i]!]! - returnedAt));
      recoveries.push(worst);
      const cam = rig.cameras[0]!;
      const playing = cam.events.find((e) => e.at > returnedAt && e.state === "playing");
      const connecting = cam.events.filter((e) => e.at < returnedAt && e.state === "connecting").at(-1);
      const nodeKeyframe = cam.frames.find((f) => f.at > returnedAt && f.keyframe);
      const nodeFirst = cam.frames.find((f) => f.at > returnedAt);
      opts.log(
        `restart ${restarts} (down ${downtime} ms): keyframe at every viewer after ${round(worst)} ms ` +
          `(node: last attempt before ${connecting ? round(returnedAt - connecting.at) : "?"} ms, playing +${playing ? round(playing.at - returnedAt) : "?"}, ` +
          `first frame +${nodeFirst ? round(nodeFirst.at - returnedAt) : "?"}, keyframe +${nodeKeyframe ? round(nodeKeyframe.at - returnedAt) : "?"})`,
      );
      if (process.env.CAMERA_FAULTS_DEBUG) {
        for (const e of cam.events.filter((e) => e.at > returnedAt - 4000))
          opts.log(`   ${round(e.at - returnedAt)} ${e.state} ${e.reason ?? ""} ${e.retryInMs ?? ""}`);
      }
      if (worst > RECOVERY_LIMIT_MS)
        failures.push(`restart ${restarts}: video back after ${round(worst)} ms`);
      const dropped = viewers.filter((v) => v.pc.connectionState !== "connected").length;
      if (dropped > 0) failures.push(`restart ${restarts}: ${dropped} viewer(s) not connected`);
    }
    let gaps = 0;
    let backward = 0;
    let decodeErrors = 0;
    let decoded = 0;
    for (const [i, viewer] of viewers.entries()) {
      const breaks = sequenceBreaks(inSequenceOrder(viewer.packets));
      gaps += breaks.length;
      if (breaks.length > 0) failures.push(`viewer ${i}: sequence breaks ${breaks.slice(0, 3).join(", ")}`);
      backward += timestampsBackward(inSequenceOrder(viewer.packets));
      const result = await decodeVideo(depacketizeH264(inSequenceOrder(viewer.packets)), "h264");
      decodeErrors += result.decodeErrors.length;
      decoded += result.frames;
      if (result.decodeErrors.length > 0) failures.push(`viewer ${i}: ${result.decodeErrors[0]}`);
      const minFrames = restarts * FRAMES_AFTER_RETURN;
      if (result.frames < minFrames)
        failures.push(`viewer ${i}: ${result.frames} frames decoded (< ${minFrames})`);
      if (result.width !== 640 || result.height !== 360) {
        failures.push(`viewer ${i}: decoded ${result.width}x${result.height}`);
      }
    }
    if (backward > 0) failures.push(`${backward} frame timestamps went backward`);
    Object.assign(figures, {
      restarts,
      viewers: viewers.length,
      recoveryMedianMs: round(median(recoveries)),
      recoveryMaxMs: round(Math.max(0, ...recoveries)),
      sequenceGaps: gaps,
      timestampsBackward: backward,
      framesDecoded: decoded,
      decodeErrors,
      connected: `${viewers.filter((v) => v.pc.connectionState === "connected").length}/${viewers.length}`,
    });
  } catch (error) {
    failures.push(errorText(error));
  } finally {
    await Promise.all(viewers.map((v) => v.close()));
    await rig?.close();
    await camera.stop();
  }
  if (failures.length > 0) figures.failures = failures.slice(0, 5).join("; ");
  return { name, result: failures.length === 0 ? "pass" : "fail", figures };
}

// ---------------------------------------------------------------------------------------------------
// A camera unreachable at deploy

/**
 * rtsp-in deployed while nothing listens at the camera's address for `durationMs`, then the camera
 * comes up there: the retries follow the capped backoff (never faster than announced, never above the
 * cap), this process's heap and sockets and timers do not grow, and video plays within the announced
 * retry delay of the camera's return.
 */
export async function cameraUnreachableScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const name = `camera unreachable for ${round(opts.durationMs / 1000)} s`;
  const failures: string[] = [];
  const figures: Record<string, string | number> = {};
  const port = await freePort();
  const url = `rtsp://127.0.0.1:${port}/demo`;
  let rig: NodeRedRig | undefined;
  let camera: DemoCamera | undefined;
  try {
    rig = await NodeRedRig.start({ cameras: [{ url }] });
    const log = rig.cameras[0]!;
    const deployedAt = performance.now();
    // The baseline once the retries have settled into their rhythm (the first few come fast).
    await sleep(Math.min(8000, opts.durationMs / 4));
    const baseHeap = heapAfterGc();
    const baseResources = resourceCounts();
    const heapSamples: number[] = [];
    while (performance.now() - deployedAt < opts.durationMs) {
      await sleep(Math.min(30_000, Math.max(0, opts.durationMs - (performance.now() - deployedAt))));
      heapSamples.push(heapAfterGc());
    }
    const endHeap = heapAfterGc();
    const endResources = resourceCounts();
    const retries = log.retries();
    const connecting = log.events.filter((e) => e.state === "connecting");
    // Every attempt waited at least the delay its "retrying" event announced.
    let early = 0;
    for (const retry of retries) {
      const next = connecting.find((c) => c.at > retry.at);
      if (next && next.at - retry.at < (retry.retryInMs ?? 0) - 50) early++;
    }
    const longest = Math.max(0, ...retries.map((r) => r.retryInMs ?? 0));
    if (early > 0) failures.push(`${early} attempts came before their announced delay`);
    if (longest > BACKOFF_CAP_MS) failures.push(`a retry delay of ${longest} ms, above the cap`);
    if (retries.some((r) => !/ECONNREFUSED|refused/i.test(r.reason ?? ""))) {
      failures.push(
        `a retry reason that is not the refused connection: ${retries.find((r) => !/refused/i.test(r.reason ?? ""))?.reason}`,
      );
    }
    const heapGrowth = endHeap - baseHeap;
    if (heapGrowth > Math.max(2 * 1024 * 1024, baseHeap * 0.1)) {
      failures.push(`heap grew ${(heapGrowth / 1024 / 1024).toFixed(1)} MB`);
    }
    for (const kind of ["TCPSocketWrap", "Timeout"]) {
      const before = baseResources[kind] ?? 0;
      const after = endResources[kind] ?? 0;
      if (after > before + 1) failures.push(`${kind} ${before} → ${after}`);
      figures[kind] = `${before} → ${after}`;
    }

    // The camera comes back: the next try, already scheduled, finds it.
    const pending = retries.at(-1);
    camera = new DemoCamera({ port, fps: 25 });
    await camera.start();
    const returnedAt = performance.now();
    const dueIn = pending ? Math.max(0, pending.at + (pending.retryInMs ?? 0) - returnedAt) : 0;
    const frame = await log.nextSession(0, BACKOFF_CAP_MS + 10_000);
    const playsAfter = frame.at - returnedAt;
    if (playsAfter > dueIn + RECOVERY_LIMIT_MS) {
      failures.push(
        `played ${round(playsAfter)} ms after the return, the retry was due in ${round(dueIn)} ms`,
      );
    }
    Object.assign(figures, {
      attempts: connecting.length,
      longestRetryMs: longest,
      heapMB: `${(baseHeap / 1048576).toFixed(1)} → ${(endHeap / 1048576).toFixed(1)}`,
      heapSamples: heapSamples.length,
      retryDueInMs: round(dueIn),
      playsAfterReturnMs: round(playsAfter),
    });
  } catch (error) {
    failures.push(errorText(error));
  } finally {
    await rig?.close();
    await camera?.close();
  }
  if (failures.length > 0) figures.failures = failures.slice(0, 5).join("; ");
  return { name, result: failures.length === 0 ? "pass" : "fail", figures };
}

// ---------------------------------------------------------------------------------------------------
// A camera that goes silent with its connection open

export interface SilenceCase {
  readonly transport: "tcp" | "udp";
}

/**
 * Over TCP, gst-rtsp-server behind a proxy that stops forwarding (the connection stays open, nothing
 * more comes, not even replies); over UDP, the demo camera stops sending media while its RTSP
 * connection stays open and answers. Both at once: each must be noticed within SILENCE_LIMIT_MS and
 * play again in a new session.
 */
export async function cameraSilenceScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const name = "camera goes silent, connection open (TCP and UDP)";
  const failures: string[] = [];
  const figures: Record<string, string | number> = {};
  const gst = await GstRtspServer.start({ codec: "h264", keyint: 25 });
  const proxy = new TcpProxy(gst.port);
  const demo = new DemoCamera({ port: 0 });
  let rig: NodeRedRig | undefined;
  try {
    const proxyPort = await proxy.start();
    const { url: demoUrl } = await demo.start();
    rig = await NodeRedRig.start({
      cameras: [
        { url: gst.url.replace(`:${gst.port}/`, `:${proxyPort}/`) },
        { url: demoUrl, transport: "udp" },
      ],
    });
    const tcp = rig.cameras[0]!;
    const udp = rig.cameras[1]!;
    await Promise.all([tcp.nextSession(0, 20_000), udp.nextSession(0, 20_000)]);
    await sleep(1000);
    opts.log("both cameras play; now they go silent");
    proxy.freezeOpenConnections();
    const tcpSilentAt = performance.now();
    if (demo.silenceSessions() !== 1) failures.push("the demo camera had no session to silence");
    const udpSilentAt = performance.now();
    for (const [label, log, silentAt] of [
      ["tcp", tcp, tcpSilentAt],
      ["udp", udp, udpSilentAt],
    ] as const) {
      try {
        await waitFor(
          () => log.retries().some((r) => r.at > silentAt),
          SILENCE_LIMIT_MS + 5000,
          `${label}: retrying`,
        );
        const retry = log.retries().find((r) => r.at > silentAt)!;
        const detected = retry.at - silentAt;
        figures[`${label}DetectedMs`] = round(detected);
        figures[`${label}Reason`] = retry.reason ?? "";
        if (detected > SILENCE_LIMIT_MS)
          failures.push(`${label}: silence noticed after ${round(detected)} ms`);
        const frame = await log.nextSession(1, 15_000);
        figures[`${label}PlaysAgainMs`] = round(frame.at - silentAt);
      } catch (error) {
        failures.push(`${label}: ${errorText(error)}`);
      }
    }
    figures.proxyConnections = proxy.connections;
  } catch (error) {
    failures.push(errorText(error));
  } finally {
    await rig?.close();
    await proxy.stop();
    await demo.close();
    await gst.stop();
  }
  if (failures.length > 0) figures.failures = failures.slice(0, 5).join("; ");
  return { name, result: failures.length === 0 ? "pass" : "fail", figures };
}

// ---------------------------------------------------------------------------------------------------
// Cameras with keepalive quirks

export type KeepaliveMode = Exclude<KeepaliveBehaviour, "any">;

export interface KeepaliveCase {
  readonly mode: KeepaliveMode;
  readonly transport: "tcp" | "udp";
}

/** Every quirk, and "errors" over both transports: what the suite runs side by side. */
export const KEEPALIVE_CASES: readonly KeepaliveCase[] = [
  { mode: "options-only", transport: "tcp" },
  { mode: "get-parameter-only", transport: "tcp" },
  { mode: "errors", transport: "tcp" },
  { mode: "errors", transport: "udp" },
  { mode: "rtcp-only", transport: "udp" },
];

export interface KeepaliveOptions extends ScenarioOptions {
  readonly mode: KeepaliveMode;
  /** Default: UDP for rtcp-only (the quirk is about UDP), TCP otherwise. */
  readonly transport?: "tcp" | "udp";
  /** The camera's session timeout. Default 10 s. */
  readonly sessionTimeoutS?: number;
}

/** One camera with a keepalive quirk (see DemoCameraOptions.keepalive) for durationMs: the session survives. */
export async function keepaliveScenario(opts: KeepaliveOptions): Promise<ScenarioResult> {
  const transport = opts.transport ?? (opts.mode === "rtcp-only" ? "udp" : "tcp");
  const [row] = await keepaliveScenarios({ ...opts, cases: [{ mode: opts.mode, transport }] });
  return row!;
}

/**
 * Demo cameras with keepalive quirks and a short session timeout, one rtsp-in each, side by side for
 * durationMs: no session is lost (the camera's first session still plays, no retry, frames never stop
 * for a second).
 */
export async function keepaliveScenarios(
  opts: ScenarioOptions & { readonly cases: readonly KeepaliveCase[]; readonly sessionTimeoutS?: number },
): Promise<ScenarioResult[]> {
  const timeoutS = opts.sessionTimeoutS ?? 10;
  const cameras = opts.cases.map(
    (c) =>
      new DemoCamera({
        port: 0,
        keepalive: c.mode,
        sessionTimeoutSeconds: timeoutS,
        // Those that need receiver reports drop a UDP session soon after they stop.
        requireReceiverReportsMs: c.mode === "rtcp-only" ? 8000 : undefined,
      }),
  );
  const rows: ScenarioResult[] = [];
  let rig: NodeRedRig | undefined;
  try {
    const urls = [];
    for (const camera of cameras) urls.push((await camera.start()).url);
    rig = await NodeRedRig.start({
      cameras: urls.map((url, i) => ({ url, transport: opts.cases[i]!.transport })),
    });
    const logs = rig.cameras;
    await Promise.all(logs.map((log) => log.nextSession(0, 20_000)));
    const started = performance.now();
    while (performance.now() - started < opts.durationMs) {
      await sleep(Math.min(5000, opts.durationMs - (performance.now() - started)));
      const lost = opts.cases
        .filter((_, i) => logs[i]!.retries().length > 0)
        .map((c) => `${c.mode}/${c.transport}`);
      opts.log(
        `${round((performance.now() - started) / 1000)} s: ${lost.length === 0 ? "all sessions alive" : `lost ${lost.join(", ")}`}`,
      );
    }
    const ended = performance.now();
    for (const [i, c] of opts.cases.entries()) {
      const log = logs[i]!;
      const camera = cameras[i]!;
      const failures: string[] = [];
      const stats = camera.sessionStats();
      const frames = log.frames.filter((f) => f.at >= started);
      let longestGap = 0;
      for (let f = 1; f < frames.length; f++)
        longestGap = Math.max(longestGap, frames[f]!.at - frames[f - 1]!.at);
      longestGap = Math.max(longestGap, ended - (frames.at(-1)?.at ?? started));
      const retries = log.retries();
      if (retries.length > 0) failures.push(`retried: ${retries[0]!.reason}`);
      if (stats.length !== 1) failures.push(`${stats.length} sessions at the camera`);
      if (stats[0]?.state !== "playing")
        failures.push(`the first session is ${stats[0]?.state} (${stats[0]?.ended ?? ""})`);
      if (longestGap > 1000) failures.push(`no frame for ${round(longestGap)} ms`);
      const requests = stats[0]?.requests ?? {};
      const figures: Record<string, string | number> = {
        transport: c.transport,
        sessionTimeoutS: timeoutS,
        survivedS: round((ended - started) / 1000),
        sessions: stats.length,
        options: requests.OPTIONS ?? 0,
        getParameter: requests.GET_PARAMETER ?? 0,
        receiverReports: stats[0]?.receiverReports ?? 0,
        longestFrameGapMs: round(longestGap),
        frames: frames.length,
      };
      if (failures.length > 0) figures.failures = failures.join("; ");
      rows.push({ name: `keepalive: ${c.mode}`, result: failures.length === 0 ? "pass" : "fail", figures });
    }
  } catch (error) {
    for (const c of opts.cases.slice(rows.length)) {
      rows.push({ name: `keepalive: ${c.mode}`, result: "fail", figures: { failures: errorText(error) } });
    }
  } finally {
    await rig?.close();
    await Promise.all(cameras.map((camera) => camera.close()));
  }
  return rows;
}
