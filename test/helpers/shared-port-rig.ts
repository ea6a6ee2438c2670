import "./loopback-namespace";
import assert from "node:assert/strict";
import type { Socket } from "node:dgram";
import { classes, Message, methods, type RTCPeerConnection } from "werift";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { IceSettings } from "../../src/webrtc/ice-config";
import { SharedIcePort, type SharedIcePortOptions } from "../../src/webrtc/shared-port";
import { StreamViewers } from "../../src/webrtc/stream-viewers";
import type { Viewer } from "../../src/webrtc/viewer";
import { type DecodeResult, decodeVideo } from "./decode";
import { depacketizeH264, parseRtp } from "./depacketize";
import { SourceHarness } from "./source-harness";
import { waitFor } from "./wait";
import { connectViewer, type ViewerOptions, type WeriftViewer } from "./werift-viewer";

// The demo camera → StreamViewers (its viewers on one SharedIcePort) → werift viewers in this
// process, all on loopback. Shared by the shared-port integration and fuzz tests.

/** The selected pair of a werift peer (private: a test-only reach-in). */
export interface NominatedPair {
  readonly protocol: {
    readonly type: string;
    readonly localCandidate?: { readonly port: number; readonly transport: string };
    readonly transport?: { readonly socket?: Socket };
  };
  readonly remoteCandidate: { readonly port: number; readonly transport: string };
}

export function nominated(pc: RTCPeerConnection): NominatedPair | undefined {
  const connection = pc.iceTransports[0]?.connection as unknown as { nominated?: NominatedPair };
  return connection?.nominated;
}

export class SharedPortRig {
  readonly viewers: WeriftViewer[] = [];
  readonly ids = new Map<WeriftViewer, string>();

  private constructor(
    readonly port: SharedIcePort,
    readonly set: StreamViewers,
    readonly harness: SourceHarness,
    private readonly camera: DemoCamera,
  ) {}

  static async start(
    opts: Partial<SharedIcePortOptions> = {},
    iceServers: IceSettings["iceServers"] = [],
  ): Promise<SharedPortRig> {
    const port = await SharedIcePort.open({ port: 0, ...opts });
    const camera = new DemoCamera({ port: 0 });
    const set = new StreamViewers({
      maxViewers: 25,
      maxPendingPerAddress: 25,
      ice: { iceServers, additionalHostAddresses: ["127.0.0.1"], sharedPort: port },
      audio: false,
      fastStart: true,
    });
    try {
      const { url } = await camera.start();
      const harness = new SourceHarness({ url, media: "video" });
      const rig = new SharedPortRig(port, set, harness, camera);
      harness.source.on("frame", (unit, stream) => set.push(unit, stream));
      harness.source.start();
      await harness.until(
        () => set.stream !== undefined && harness.video().length > 0,
        20_000,
        "first frame",
      );
      return rig;
    } catch (error) {
      await set.close();
      await camera.close();
      await port.close();
      throw error;
    }
  }

  async viewer(opts: Partial<ViewerOptions> = {}): Promise<WeriftViewer> {
    let id = "";
    const viewer = await connectViewer({
      offer: async (sdp) => {
        const answer = await this.set.addViewer(sdp, "127.0.0.1", true);
        id = answer.id;
        return answer.answerSdp;
      },
      ...opts,
    });
    this.viewers.push(viewer);
    this.ids.set(viewer, id);
    return viewer;
  }

  /** The server-side peer of a client (StreamViewers' private map: a test-only reach-in). */
  serverPeer(viewer: WeriftViewer): RTCPeerConnection {
    const id = this.ids.get(viewer) ?? "";
    const server = (this.set as unknown as { viewers: Map<string, Viewer> }).viewers.get(id);
    if (server === undefined) throw new Error(`no server-side viewer ${id}`);
    return (server as unknown as { pc: RTCPeerConnection }).pc;
  }

  async leave(viewer: WeriftViewer): Promise<void> {
    const id = this.ids.get(viewer);
    if (id !== undefined) await this.set.removeViewer(id);
    await viewer.close();
  }

  async close(): Promise<void> {
    await this.set.close();
    await Promise.all(this.viewers.map((v) => v.close()));
    await this.harness.close();
    await this.camera.close();
    await this.port.close();
  }
}

export function frameCount(viewer: WeriftViewer): number {
  return viewer.packets.filter((p) => parseRtp(p).marker).length;
}

export async function receivedFrames(viewer: WeriftViewer, count: number, ms = 30_000): Promise<void> {
  await waitFor(
    () => frameCount(viewer) >= count,
    ms,
    `${count} frames at the viewer (got ${frameCount(viewer)})`,
  );
}

/** The packets by (unwrapped) sequence number, each once. */
function inSequenceOrder(packets: readonly Buffer[]): Buffer[] {
  const bySequence = new Map<number, Buffer>();
  let last: number | undefined;
  for (const packet of packets) {
    const sequence = parseRtp(packet).sequenceNumber;
    const extended =
      last === undefined ? sequence : last + ((((sequence - last) & 0xffff) ^ 0x8000) - 0x8000);
    last = extended;
    if (!bySequence.has(extended)) bySequence.set(extended, packet);
  }
  return [...bySequence.entries()].sort(([a], [b]) => a - b).map(([, packet]) => packet);
}

export function decodeReceived(viewer: WeriftViewer): Promise<DecodeResult> {
  return decodeVideo(depacketizeH264(inSequenceOrder(viewer.packets)), "h264");
}

export interface Credentials {
  readonly ufrag: string;
  readonly password: string;
}

export function credentials(answerSdp: string): Credentials {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(answerSdp)?.[1];
  const password = /^a=ice-pwd:(\S+)/m.exec(answerSdp)?.[1];
  assert.ok(ufrag !== undefined && password !== undefined, answerSdp);
  return { ufrag, password };
}

/** A connectivity check as a browser sends it, signed with `password`. */
export function check(ufrag: string, password: string, remoteUfrag = "hiCb"): Message {
  return new Message(methods.BINDING, classes.REQUEST)
    .setAttribute("USERNAME", `${ufrag}:${remoteUfrag}`)
    .setAttribute("PRIORITY", 1853824767)
    .setAttribute("ICE-CONTROLLING", 12345n)
    .addMessageIntegrity(Buffer.from(password, "utf8"))
    .addFingerprint();
}

export function frame(data: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(data.length);
  return Buffer.concat([length, data]);
}
