import type { Socket } from "node:dgram";
import type { MediaStreamTrack, RtpPacket } from "werift";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";
import { FrameCounts, type FrameEntries } from "./frame-counts";
import { JanusWatch } from "./janus-api";
import {
  connectAnsweringLightViewer,
  connectLightViewer,
  type LightViewer,
  type PacketListener,
  SequenceTracker,
} from "./light-receiver";
import { socketDrops } from "./proc-stats";
import {
  type HostCommand,
  type HostReply,
  type HostStats,
  MAX_TRACED_PACKETS,
  type TracedPacket,
  type ViewerCounts,
  type ViewerKind,
} from "./protocol";

// The process that hosts the bench's viewers (forked with an IPC channel by the orchestrator), so
// that their CPU is measured apart from the relay's. It speaks test/bench/protocol.ts.

/** Viewers connecting at once during a join: enough to join 200 in seconds, few enough not to time out. */
const JOIN_BATCH = 10;
const CONNECT_TIMEOUT_MS = 20_000;

type HostedState = "connecting" | "connected" | "failed" | "closed";

/** One hosted viewer, whichever kind: counts as protocol.ts defines them. */
interface Hosted {
  readonly kind: ViewerKind;
  state(): HostedState;
  counts(): ViewerCounts;
  /** Video packets per RTP timestamp since the last reset. */
  frames(): FrameEntries;
  reset(): void;
  setOnPacket(listener: PacketListener | undefined): void;
  close(abrupt: boolean): Promise<void>;
  /** Its UDP sockets (for SO_RCVBUF). */
  sockets(): Socket[];
  /** The WHEP resource (Location) when it joined through WHEP. */
  resource?: string;
}

function hostedLight(viewer: LightViewer, onClose?: () => Promise<void>): Hosted {
  return {
    kind: "light",
    state: () => viewer.state(),
    counts: () => viewer.counts(),
    frames: () => viewer.frames(),
    reset: () => viewer.reset(),
    setOnPacket: (listener) => viewer.setOnPacket(listener),
    close: async (abrupt) => {
      await viewer.close({ abrupt });
      await onClose?.();
    },
    sockets: () => viewer.sockets(),
  };
}

/** A full werift receiver, counted the same way from the decrypted video RTP its track delivers. */
function hostedWerift(viewer: WeriftViewer): Hosted {
  const streams = new Map<number, SequenceTracker>();
  const frames = new FrameCounts();
  let packets = 0;
  let bytes = 0;
  let listener: PacketListener | undefined;
  let current: HostedState = "connecting";
  const counted = new WeakSet<MediaStreamTrack>();
  const count = (track: MediaStreamTrack): void => {
    if (track.kind !== "video" || counted.has(track)) return;
    counted.add(track);
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      const { header } = rtp;
      let stream = streams.get(header.ssrc);
      if (stream === undefined) {
        stream = new SequenceTracker();
        streams.set(header.ssrc, stream);
      }
      stream.add(header.sequenceNumber);
      frames.add(header.timestamp);
      packets++;
      bytes += rtp.serializeSize;
      listener?.(header.sequenceNumber, header.timestamp, header.marker, process.hrtime.bigint());
    });
  };
  // Tracks appear with the first packet, which cannot come before DTLS is up: subscribing now misses none.
  for (const transceiver of viewer.pc.getTransceivers()) {
    for (const track of transceiver.receiver.tracks) count(track);
    transceiver.onTrack.subscribe((track) => count(track));
  }
  // connectViewer keeps every packet it gets; a long bench would hoard them.
  const drain = setInterval(() => {
    viewer.packets.splice(0);
    viewer.arrivals.splice(0);
  }, 1000);
  drain.unref();
  viewer.connected.then(
    () => {
      if (current === "connecting") current = "connected";
    },
    () => {
      if (current !== "closed") current = "failed";
    },
  );
  viewer.pc.connectionStateChange.subscribe((state) => {
    if (current !== "closed" && (state === "failed" || state === "closed")) current = "failed";
  });
  return {
    kind: "werift",
    state: () => current,
    counts: () => {
      let lost = 0;
      for (const stream of streams.values()) lost += stream.windowLost();
      return { packets, bytes, lost };
    },
    frames: () => frames.entries(),
    reset: () => {
      packets = 0;
      bytes = 0;
      frames.reset();
      for (const stream of streams.values()) stream.reset();
    },
    setOnPacket: (next) => {
      listener = next;
    },
    // werift's close sends no DTLS alert: either way the server learns of it from consent expiry.
    close: async () => {
      current = "closed";
      clearInterval(drain);
      listener = undefined;
      viewer.stopReading();
      await viewer.close();
    },
    sockets: () =>
      viewer.pc.iceTransports.flatMap((transport) => {
        const protocols = (
          transport.connection as unknown as { protocols?: { transport?: { socket?: Socket } }[] }
        ).protocols;
        return (protocols ?? []).flatMap((p) =>
          p.transport?.socket === undefined ? [] : [p.transport.socket],
        );
      }),
  };
}

/** POSTs the JSON offer (POST P/offer); the answer SDP, or an error that says what the server said. */
async function postOffer(offerUrl: string, sdp: string): Promise<string> {
  const res = await fetch(offerUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ type: "offer", sdp }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${offerUrl}: ${res.status} ${text}`);
  const body = JSON.parse(text) as { sdp?: unknown };
  if (typeof body.sdp !== "string") throw new Error(`POST ${offerUrl}: no SDP in ${text.slice(0, 200)}`);
  return body.sdp;
}

/** POSTs a WHEP offer (RFC 9725); the answer SDP and the resource's absolute URL. */
async function postWhep(whepUrl: string, sdp: string): Promise<{ sdp: string; resource: string }> {
  const res = await fetch(whepUrl, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: sdp,
  });
  const text = await res.text();
  const location = res.headers.get("Location");
  if (res.status !== 201 || location === null) throw new Error(`POST ${whepUrl}: ${res.status} ${text}`);
  return { sdp: text, resource: new URL(location, whepUrl).href };
}

/** A light viewer of a Janus streaming mountpoint: `watch`, answer Janus's offer, `start`. */
async function connectJanus(
  apiBase: string,
  mountpoint: number,
  localAddress: string | undefined,
): Promise<Hosted> {
  const janus = await JanusWatch.open(apiBase);
  let viewer: LightViewer;
  try {
    viewer = await connectAnsweringLightViewer({
      requestOffer: () => janus.watch(mountpoint),
      sendAnswer: (sdp) => janus.start(sdp),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ...(localAddress !== undefined ? { localAddress } : {}),
    });
  } catch (error) {
    await janus.end();
    throw error;
  }
  try {
    await viewer.connected;
  } catch (error) {
    await viewer.close({ abrupt: true });
    await janus.end();
    throw error;
  }
  return hostedLight(viewer, () => janus.end());
}

async function connectHosted(
  kind: ViewerKind,
  offerUrl: string,
  whep: boolean,
  janusMountpoint: number | undefined,
  localAddress: string | undefined,
): Promise<Hosted> {
  if (janusMountpoint !== undefined) {
    if (kind !== "light") throw new Error("Janus is watched by light viewers only");
    return connectJanus(offerUrl, janusMountpoint, localAddress);
  }
  let resource: string | undefined;
  const offer = async (sdp: string): Promise<string> => {
    if (!whep) return postOffer(offerUrl, sdp);
    const answer = await postWhep(offerUrl, sdp);
    resource = answer.resource;
    return answer.sdp;
  };
  const withResource = (hosted: Hosted): Hosted => {
    if (resource !== undefined) hosted.resource = resource;
    return hosted;
  };
  if (kind === "light") {
    const viewer = await connectLightViewer({ offer, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    try {
      await viewer.connected;
    } catch (error) {
      await viewer.close({ abrupt: true });
      throw error;
    }
    return withResource(hostedLight(viewer));
  }
  const viewer = await connectViewer({ offer, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const hosted = hostedWerift(viewer);
  try {
    await viewer.connected;
  } catch (error) {
    await hosted.close(true);
    throw error;
  }
  return withResource(hosted);
}

/** WHEP DELETE of a viewer's resource; a failure is the server's to show, not the host's. */
async function deleteResource(resource: string | undefined): Promise<void> {
  if (resource === undefined) return;
  await fetch(resource, { method: "DELETE" })
    .then((res) => res.arrayBuffer())
    .catch(() => undefined);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class ViewerHost {
  private readonly viewers: Hosted[] = [];
  private failedJoins = 0;
  private cpuBase = process.cpuUsage();
  private wallBase = process.hrtime.bigint();
  private traces: TracedPacket[][] | undefined;
  private traced: Hosted[] = [];
  /** The kernel's drop counts of the viewers' sockets at the last reset, by local port. */
  private dropsBase = new Map<number, number>();

  async handle(command: HostCommand): Promise<HostReply> {
    const { id } = command;
    switch (command.cmd) {
      case "join":
        return this.join(
          id,
          command.count,
          command.kind,
          command.offerUrl,
          command.whep === true,
          command.janusMountpoint,
          command.localAddress,
        );
      case "leave":
        await this.leave(command.count, command.abrupt === true, command.delete === true);
        return { id, ok: true };
      case "recvBuffer":
        for (const viewer of this.viewers) {
          for (const socket of viewer.sockets()) socket.setRecvBufferSize(command.bytes);
        }
        return { id, ok: true };
      case "reset":
        this.reset();
        return { id, ok: true };
      case "stats":
        return { id, ok: true, stats: this.stats() };
      case "frames":
        return { id, ok: true, frames: this.viewers.map((viewer) => viewer.frames()) };
      case "trace":
        return { id, ok: true, ...this.setTrace(command.on) };
      case "exit":
        await this.leave("all", false);
        return { id, ok: true };
    }
  }

  private async join(
    id: number,
    count: number,
    kind: ViewerKind,
    offerUrl: string,
    whep: boolean,
    janusMountpoint: number | undefined,
    localAddress: string | undefined,
  ): Promise<HostReply> {
    let joined = 0;
    let firstError: string | undefined;
    for (let start = 0; start < count; start += JOIN_BATCH) {
      const batch = Math.min(JOIN_BATCH, count - start);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, () =>
          connectHosted(kind, offerUrl, whep, janusMountpoint, localAddress),
        ),
      );
      for (const result of results) {
        if (result.status === "fulfilled") {
          this.viewers.push(result.value);
          joined++;
        } else {
          this.failedJoins++;
          firstError ??= errorText(result.reason);
        }
      }
    }
    if (joined === 0 && count > 0) return { id, ok: false, error: firstError ?? "no viewer joined" };
    return { id, ok: true, joined };
  }

  private async leave(count: number | "all", abrupt: boolean, del = false): Promise<void> {
    const leaving = this.viewers.splice(0, count === "all" ? this.viewers.length : count);
    if (this.traced.some((viewer) => leaving.includes(viewer))) this.stopTrace();
    await Promise.allSettled(
      leaving.map(async (viewer) => {
        if (del) await deleteResource(viewer.resource);
        await viewer.close(abrupt);
      }),
    );
  }

  private reset(): void {
    for (const viewer of this.viewers) viewer.reset();
    this.dropsBase = this.socketDrops() ?? new Map();
    this.cpuBase = process.cpuUsage();
    this.wallBase = process.hrtime.bigint();
  }

  private stats(): HostStats {
    const perViewer = this.viewers.map((viewer) => viewer.counts());
    const total = perViewer.reduce(
      (sum, c) => ({ packets: sum.packets + c.packets, bytes: sum.bytes + c.bytes, lost: sum.lost + c.lost }),
      { packets: 0, bytes: 0, lost: 0 },
    );
    const cpu = process.cpuUsage(this.cpuBase);
    const states = this.viewers.map((viewer) => viewer.state());
    const drops = this.socketDrops();
    let receiverDrops: number | undefined;
    if (drops !== undefined) {
      receiverDrops = 0;
      for (const [port, count] of drops) receiverDrops += count - (this.dropsBase.get(port) ?? 0);
    }
    return {
      viewers: this.viewers.length,
      ...(receiverDrops !== undefined ? { receiverDrops } : {}),
      connected: states.filter((s) => s === "connected").length,
      failed: this.failedJoins + states.filter((s) => s === "failed").length,
      total,
      perViewer,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      elapsedUs: Number((process.hrtime.bigint() - this.wallBase) / 1000n),
      rssBytes: process.memoryUsage.rss(),
    };
  }

  /** Drops of the hosted viewers' UDP sockets (on 127.0.0.0/8), by local port; undefined when unreadable. */
  private socketDrops(): Map<number, number> | undefined {
    const ports = new Set<number>();
    for (const viewer of this.viewers) {
      for (const socket of viewer.sockets()) {
        try {
          ports.add(socket.address().port);
        } catch {
          // closed meanwhile
        }
      }
    }
    return socketDrops(ports);
  }

  /**
   * On: records the first and the last viewer's packets from now, and answers the UDP ports the server
   * sends them to. Off: stops and hands the records over.
   */
  private setTrace(on: boolean): { traces?: TracedPacket[][]; ports?: number[] } {
    if (!on) {
      const traces = this.traces ?? [];
      this.stopTrace();
      return { traces };
    }
    this.stopTrace();
    this.traced = [...new Set([this.viewers[0], this.viewers[this.viewers.length - 1]])].filter(
      (viewer) => viewer !== undefined,
    );
    this.traces = this.traced.map((viewer) => {
      const trace: TracedPacket[] = [];
      viewer.setOnPacket((seq, timestamp, marker, atNs) => {
        if (trace.length < MAX_TRACED_PACKETS) trace.push({ seq, timestamp, marker, atNs: atNs.toString() });
      });
      return trace;
    });
    return { ports: this.traced.map((viewer) => viewer.sockets()[0]?.address().port ?? 0) };
  }

  private stopTrace(): void {
    for (const viewer of this.traced) viewer.setOnPacket(undefined);
    this.traced = [];
    this.traces = undefined;
  }
}

function main(): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    console.error("viewer-host must be started with child_process.fork (it needs an IPC channel)");
    process.exit(2);
  }
  const host = new ViewerHost();
  process.on("message", (message: HostCommand) => {
    void host
      .handle(message)
      .catch((error: unknown): HostReply => ({ id: message.id, ok: false, error: errorText(error) }))
      .then((reply) => {
        if (message.cmd === "exit") send(reply, () => process.exit(0));
        else send(reply);
      });
  });
  // The orchestrator is gone: nobody will ask for anything again.
  process.on("disconnect", () => process.exit(0));
}

main();
