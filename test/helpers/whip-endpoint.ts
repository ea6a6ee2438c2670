import "./loopback-namespace";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  GenericNack,
  type MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  type RtpPacket,
  useOPUS,
  usePCMA,
  usePCMU,
} from "werift";
import { loopbackCandidatesOnly } from "./werift-viewer";

// A WHIP server made of a werift peer per publish (RFC 9725): it answers a POSTed offer, returns
// 201 with a relative Location and Link headers, takes PATCH and DELETE, and records the RTP it
// receives. Behaviours make it misbehave the ways real servers do. Loopback only.

export type EndpointBehaviour =
  | "normal"
  /** 503 Service Unavailable to every POST. */
  | "status-503"
  /** 201 without a Location header. */
  | "no-location"
  /** An answer that rejects the video m-line (port 0). */
  | "no-codec"
  /** A 1 MB body. */
  | "huge-body"
  /** A body that is no SDP. */
  | "garbage"
  /** Takes the POST and never answers. */
  | "never-answer"
  /** A good answer from a peer closed at once: no ICE check is ever answered. */
  | "dead-peer";

export interface WhipEndpointOptions {
  /** Required bearer token; a POST without it gets 401 Unauthorized. */
  readonly token?: string;
  /** Link headers sent with the 201. */
  readonly links?: readonly string[];
  /** H.264 profiles it accepts, in order of preference. Default its 42e01f first, then any offered. */
  readonly h264Profiles?: readonly string[];
  /** Port to listen on; default any. */
  readonly port?: number;
  /** The Location of a publish as an absolute URL on this origin (e.g. "http://localhost:PORT"); default relative. */
  readonly locationOrigin?: (port: number) => string;
}

export interface Publish {
  readonly id: string;
  readonly pc: RTCPeerConnection;
  readonly offerSdp: string;
  readonly answerSdp: string;
  readonly headers: IncomingMessage["headers"];
  /** Video RTP packets, wire format, in arrival order, and their arrival times (performance.now()). */
  readonly packets: Buffer[];
  readonly arrivals: number[];
  readonly audioPackets: Buffer[];
  deleted: boolean;
  /** PATCH bodies and their headers, in order. */
  readonly patches: string[];
  readonly patchRequests: { readonly headers: IncomingMessage["headers"] }[];
  readonly videoTransceiver: RTCRtpTransceiver | undefined;
}

export interface RequestRecord {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
}

function videoCodecs(profiles: readonly string[]): RTCRtpCodecParameters[] {
  const feedback = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }];
  const codecs = profiles.map(
    (profile, i) =>
      new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        payloadType: 102 + i,
        rtcpFeedback: feedback,
        parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
      }),
  );
  codecs.push(
    new RTCRtpCodecParameters({
      mimeType: "video/H265",
      clockRate: 90000,
      payloadType: 100,
      rtcpFeedback: feedback,
      parameters: "profile-id=1",
    }),
  );
  return codecs;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== "complete") return;
      unSubscribe();
      resolve();
    });
  });
}

export class WhipEndpoint {
  behaviour: EndpointBehaviour = "normal";
  /** Answer PATCH with 404 (the resource is gone). */
  patchStatus = 204;
  readonly publishes: Publish[] = [];
  readonly requests: RequestRecord[] = [];
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private server: Server,
    private readonly opts: WhipEndpointOptions,
    private listenPort: number,
  ) {}

  static async start(opts: WhipEndpointOptions = {}): Promise<WhipEndpoint> {
    const endpoint = new WhipEndpoint(createServer(), opts, 0);
    await endpoint.listen(opts.port ?? 0);
    return endpoint;
  }

  private listen(port: number): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.listenPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  get port(): number {
    return this.listenPort;
  }

  /** The endpoint URL for stream `name`. */
  url(name = "demo"): string {
    return `http://127.0.0.1:${this.listenPort}/whip/endpoint/${name}`;
  }

  /** The latest publish not deleted (or the latest at all). */
  get latest(): Publish | undefined {
    return this.publishes[this.publishes.length - 1];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const body = await readBody(req);
    const path = req.url ?? "";
    if (req.method === "POST" && path.startsWith("/whip/endpoint/")) return this.post(req, res, body);
    const resource = /^\/whip\/resource\/([\w-]+)$/.exec(path)?.[1];
    const publish = this.publishes.find((p) => p.id === resource && !p.deleted);
    if (publish === undefined) {
      res.writeHead(404).end();
      return;
    }
    if (req.method === "DELETE") {
      publish.deleted = true;
      await publish.pc.close();
      res.writeHead(200).end();
    } else if (req.method === "PATCH") {
      publish.patches.push(body);
      publish.patchRequests.push({ headers: req.headers });
      const status = this.patchStatus;
      if (status === 204) await addCandidates(publish.pc, body);
      res.writeHead(status).end();
    } else {
      res.writeHead(405).end();
    }
  }

  private async post(req: IncomingMessage, res: ServerResponse, offerSdp: string): Promise<void> {
    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      res.writeHead(401, { "Content-Type": "text/plain" }).end("unauthorized");
      return;
    }
    if (req.headers["content-type"] !== "application/sdp") {
      res.writeHead(415).end();
      return;
    }
    switch (this.behaviour) {
      case "status-503":
        res.writeHead(503).end("busy");
        return;
      case "huge-body":
        res.writeHead(201, { Location: "/whip/resource/x", "Content-Type": "application/sdp" });
        res.end(Buffer.alloc(1024 * 1024, "a"));
        return;
      case "garbage":
        res
          .writeHead(201, { Location: "/whip/resource/x", "Content-Type": "application/sdp" })
          .end("<html>oops</html>");
        return;
      case "never-answer":
        this.hanging.add(res);
        return;
      default:
        break;
    }
    const id = randomUUID();
    const pc = new RTCPeerConnection({
      iceServers: [],
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceUseIpv6: false,
      iceUseTcp: false,
      bundlePolicy: "max-bundle",
      codecs: {
        video: videoCodecs(
          this.opts.h264Profiles ?? ["42e01f", "4d001f", "640028", "42001f", "4d0028", "640032"],
        ),
        audio: [useOPUS({ payloadType: 111 }), usePCMU(), usePCMA()],
      },
      headerExtensions: { video: [], audio: [] },
    });
    const packets: Buffer[] = [];
    const arrivals: number[] = [];
    const audioPackets: Buffer[] = [];
    let videoTransceiver: RTCRtpTransceiver | undefined;
    pc.onTransceiverAdded.subscribe((transceiver) => {
      if (transceiver.kind === "video") videoTransceiver = transceiver;
      transceiver.onTrack.subscribe((track: MediaStreamTrack) => {
        track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
          if (track.kind === "video") {
            packets.push(rtp.serialize());
            arrivals.push(performance.now());
          } else audioPackets.push(rtp.serialize());
        });
      });
    });
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
      for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
    } catch (error) {
      await pc.close();
      res.writeHead(400).end(String(error));
      return;
    }
    let answerSdp = loopbackCandidatesOnly(pc.localDescription?.sdp ?? "");
    if (this.behaviour === "no-codec") answerSdp = answerSdp.replace(/^m=video \d+/m, "m=video 0");
    // Closed before it could start DTLS (werift's DTLS client retransmits its flight past close()).
    if (this.behaviour === "dead-peer") await pc.close();
    const publish: Publish = {
      id,
      pc,
      offerSdp,
      answerSdp,
      headers: req.headers,
      packets,
      arrivals,
      audioPackets,
      deleted: false,
      patches: [],
      patchRequests: [],
      get videoTransceiver() {
        return videoTransceiver;
      },
    };
    this.publishes.push(publish);
    const headers: Record<string, string | string[]> = {
      "Content-Type": "application/sdp",
      ETag: `"${id}"`,
    };
    if (this.behaviour !== "no-location")
      headers.Location = `${this.opts.locationOrigin?.(this.listenPort) ?? ""}/whip/resource/${id}`;
    if (this.opts.links !== undefined && this.opts.links.length > 0) headers.Link = [...this.opts.links];
    res.writeHead(201, headers).end(answerSdp);
  }

  /** Sends a PLI for the publish's video. */
  async sendPli(publish: Publish): Promise<void> {
    const receiver = publish.videoTransceiver?.receiver;
    const ssrc = ssrcOf(publish.packets[0]);
    if (receiver === undefined || ssrc === undefined) throw new Error("no video received yet");
    // Straight to the transport: werift's sendRtcpPLI stays silent unless "nack pli" was negotiated.
    const feedback = new PictureLossIndication({ senderSsrc: 1, mediaSsrc: ssrc });
    await receiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]);
  }

  /** Sends a Full Intra Request for the publish's video. */
  async sendFir(publish: Publish): Promise<void> {
    const receiver = publish.videoTransceiver?.receiver;
    const ssrc = ssrcOf(publish.packets[0]);
    if (receiver === undefined || ssrc === undefined) throw new Error("no video received yet");
    // RFC 5104 §4.3.1 (werift does not export its FullIntraRequest): sender SSRC, media SSRC (werift
    // routes feedback by it, so the target's rather than 0), then one FCI entry: SSRC, seq nr, reserved.
    const body = Buffer.alloc(16);
    body.writeUInt32BE(1, 0);
    body.writeUInt32BE(ssrc, 4);
    body.writeUInt32BE(ssrc, 8);
    body[12] = 1;
    const feedback = { count: 4, length: 4, serialize: () => body };
    await receiver.dtlsTransport.sendRtcp([
      new RtcpPayloadSpecificFeedback({ feedback: feedback as unknown as PictureLossIndication }),
    ]);
  }

  /** Sends a generic NACK for `lost` sequence numbers of the publish's video. */
  async sendNack(publish: Publish, lost: number[]): Promise<void> {
    const receiver = publish.videoTransceiver?.receiver;
    const ssrc = ssrcOf(publish.packets[0]);
    if (receiver === undefined || ssrc === undefined) throw new Error("no video received yet");
    const feedback = new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc, lost });
    await receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback })]);
  }

  /** The server goes away: every peer closed without a word, the port closed. */
  async vanish(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    for (const publish of this.publishes) if (!publish.deleted) await publish.pc.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Back on the same port, with no memory of the publishes before. */
  async comeBack(): Promise<void> {
    await this.listen(this.listenPort);
  }

  async stop(): Promise<void> {
    await this.vanish();
  }
}

/** A trickle fragment's candidates, applied as a WHIP server does (every one to the bundled transport). */
async function addCandidates(pc: RTCPeerConnection, fragment: string): Promise<void> {
  const sdpMid = /^a=mid:(\S+)/m.exec(fragment)?.[1];
  for (const line of fragment.split(/\r?\n/)) {
    if (line.startsWith("a=candidate:")) await pc.addIceCandidate({ candidate: line.slice(2), sdpMid });
  }
}

function ssrcOf(packet: Buffer | undefined): number | undefined {
  return packet === undefined || packet.length < 12 ? undefined : packet.readUInt32BE(8);
}
