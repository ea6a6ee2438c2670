import { type ChildProcess, fork } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { SRTP_AEAD_AES_128_GCM, srtpProtector } from "../../src/webrtc/srtp-protect";
import { sendIpLiteralsNow } from "../../src/webrtc/udp-send-now";
import { delaySummary, round, type ViewerDelays } from "./stats";

// The floor under the relay's CPU per packet and its delay: webrtc-out's own SRTP (AES-128-GCM) and
// datagram send, alone, in a process of their own, to plain UDP sockets in another process, sending
// the stream's frames at its frame rate. No WebRTC stack (no RTCP, consent checks, DTLS), no Node-RED,
// no RTSP. What the relay costs per packet above this is everything else; the floor itself is Node's
// cipher and dgram APIs and the kernel, and it moves with this machine's speed as the other rows do.
// Its delay is how long handing one frame to every receiver takes when nothing else runs: no relay
// built on these calls serves its last viewer sooner.

export interface FloorOptions {
  readonly receivers: number;
  readonly windowMs: number;
  /** Packets of each frame, as the camera sent them (keyframes and all); sent in a loop. */
  readonly framePackets: readonly number[];
  readonly fps: number;
  /** RTP payload bytes of each datagram. */
  readonly payloadBytes: number;
  /** Options for node (the same young generation as Node-RED's). */
  readonly nodeFlags: readonly string[];
}

export interface FloorRow {
  readonly receivers: number;
  readonly packetsPerSecond: number;
  readonly cpuUsPerPacket: number;
  readonly cpuSystemUsPerPacket: number;
  /** Datagrams the receivers counted / sent. */
  readonly delivery: number;
  /**
   * The frame's arrival (when it fell due, or when the sender woke for it if that was later and the
   * previous frame was done) → send() returning for each of its packets, for the first and the last
   * receiver.
   */
  readonly relayDelayMs: ViewerDelays;
}

type ChildMessage =
  | { readonly type: "ports"; readonly ports: number[] }
  | { readonly type: "count"; readonly received: number }
  /** The sender's warm-up is over: its measured window starts now. */
  | { readonly type: "window" }
  | {
      readonly type: "done";
      readonly sent: number;
      readonly userUs: number;
      readonly systemUs: number;
      /** Per packet, ms from its frame's arrival to send() returning: first receiver, last receiver. */
      readonly delaysMs: readonly [readonly number[], readonly number[]];
    };

const WARMUP_MS = 2000;

function reply(message: ChildMessage): void {
  process.send?.(message);
}

async function receivers(count: number): Promise<void> {
  let received = 0;
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = createSocket("udp4");
    socket.on("message", () => {
      received++;
    });
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    sockets.push(socket);
  }
  process.on("message", (message: string) => {
    if (message === "reset") received = 0;
    if (message === "count") reply({ type: "count", received });
    if (message === "exit") process.exit(0);
  });
  reply({ type: "ports", ports: sockets.map((socket) => socket.address().port) });
}

/** Sends the stream's frames at its frame rate, each frame to every port in turn, as webrtc-out does. */
async function sender(options: FloorOptions & { readonly ports: number[] }): Promise<void> {
  const protector = srtpProtector({
    profile: SRTP_AEAD_AES_128_GCM,
    key: Buffer.alloc(16, 1),
    salt: Buffer.alloc(12, 2),
  });
  if (protector === undefined) throw new Error("no AES-GCM protector");
  const payload = Buffer.alloc(options.payloadBytes, 0x5a);
  const targets = await Promise.all(
    options.ports.map(async (port) => {
      const socket = createSocket("udp4");
      socket.bind(0, "127.0.0.1");
      await once(socket, "listening");
      sendIpLiteralsNow(socket);
      return { socket, port, header: { marker: false, sequence: 0, timestamp: 0 } };
    }),
  );
  const track = { payloadType: 96, ssrc: 0x1234_5678 };
  const start = performance.now();
  let frame = 0;
  let sent = 0;
  let measuring: { cpu: NodeJS.CpuUsage; sent: number } | undefined;
  const delays: [number[], number[]] = [[], []];
  const frameMs = 1000 / options.fps;
  const lastTarget = targets.length - 1;
  const until = start + WARMUP_MS + options.windowMs;
  let previousDone = start;
  while (performance.now() < until) {
    if (measuring === undefined && performance.now() >= start + WARMUP_MS) {
      reply({ type: "window" });
      measuring = { cpu: process.cpuUsage(), sent };
    }
    const due = start + frame * frameMs;
    // A frame that waited for the previous one's fan-out arrived when due; otherwise the timer's own
    // lateness is not the relay's, and it arrives when the sender wakes.
    const arrival = previousDone > due ? due : performance.now();
    const packets = options.framePackets[frame % options.framePackets.length] as number;
    for (let t = 0; t < targets.length; t++) {
      const target = targets[t] as (typeof targets)[number];
      const traced =
        measuring !== undefined && (t === 0 || t === lastTarget) ? delays[t === 0 ? 0 : 1] : undefined;
      for (let i = 0; i < packets; i++) {
        const header = target.header;
        header.marker = i === packets - 1;
        header.sequence = (header.sequence + 1) & 0xffff;
        header.timestamp = (frame * (90_000 / options.fps)) >>> 0;
        target.socket.send(protector.protect(header, track, payload, 0), target.port, "127.0.0.1");
        traced?.push(performance.now() - arrival);
        sent++;
      }
    }
    previousDone = performance.now();
    frame++;
    const next = start + frame * frameMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  const cpu = process.cpuUsage(measuring?.cpu);
  reply({
    type: "done",
    sent: sent - (measuring?.sent ?? 0),
    userUs: cpu.user,
    systemUs: cpu.system,
    delaysMs: delays,
  });
  for (const target of targets) target.socket.close();
}

function nextMessage<T extends ChildMessage["type"]>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type !== type) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`send floor child exited with ${code}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** One floor row: `receivers` plain UDP sockets fed at the stream's rate; CPU of the sender only. */
export async function measureSendFloor(options: FloorOptions): Promise<FloorRow> {
  const receiving = fork(__filename, ["receivers", String(options.receivers)], { stdio: "inherit" });
  let sending: ChildProcess | undefined;
  try {
    const { ports } = await nextMessage(receiving, "ports");
    sending = fork(__filename, ["sender", JSON.stringify({ ...options, ports })], {
      execArgv: [...options.nodeFlags],
      stdio: "inherit",
    });
    await nextMessage(sending, "window");
    receiving.send("reset");
    const done = await nextMessage(sending, "done");
    // The last datagrams are on their way: a moment for the receivers to read them.
    await new Promise((resolve) => setTimeout(resolve, 200));
    receiving.send("count");
    const { received } = await nextMessage(receiving, "count");
    const seconds = options.windowMs / 1000;
    return {
      receivers: options.receivers,
      packetsPerSecond: Math.round(done.sent / seconds),
      cpuUsPerPacket: round((done.userUs + done.systemUs) / done.sent),
      cpuSystemUsPerPacket: round(done.systemUs / done.sent),
      delivery: done.sent > 0 ? round(received / done.sent, 4) : 0,
      relayDelayMs: { first: delaySummary(done.delaysMs[0]), last: delaySummary(done.delaysMs[1]) },
    };
  } finally {
    sending?.kill();
    receiving.send("exit");
  }
}

if (require.main === module) {
  const [role, arg] = process.argv.slice(2);
  const run = role === "receivers" ? receivers(Number(arg)) : sender(JSON.parse(String(arg)));
  run.catch((error: unknown) => {
    console.error(`send floor ${role}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
