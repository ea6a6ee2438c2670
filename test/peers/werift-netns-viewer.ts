// werift viewers on a host of a network test: run as a child process inside a viewer namespace
// (`ip netns exec NS node dist/test/peers/werift-netns-viewer.js CONFIG`), because the mocha process must
// stay in its loopback-only namespace. It does NOT import test/helpers/loopback-namespace: this host has
// the veth address the test gave it, and its peers are the test's namespaces only.
//
// CONFIG (JSON): { "offerUrl": "http://10.77.0.2:1880/cam/offer", "viewers": 3, "tcp": false }
// It connects that many receive-only viewers through the player page's /offer endpoint (JSON offer,
// JSON answer) and prints one JSON line per report on stdout, every 500 ms:
//   { "viewers": [ { "state": "connected", "packets": 812, "pair": { "local": {…}, "remote": {…} } } ] }
// "pair" is the nominated candidate pair (address, port, protocol, type of each side). Errors go to
// stderr; it exits when stdin closes (its test is gone) or on SIGTERM, closing its peer connections.
import { RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from "werift";

interface Config {
  offerUrl: string;
  viewers: number;
  /** Offer TCP candidates too (werift's iceUseTcp). Default false. */
  tcp?: boolean;
}

interface CandidateSummary {
  address: string;
  port: number;
  protocol: string;
  type: string;
}

interface ViewerReport {
  state: string;
  /** Each state change of the peer connection, its ICE and its DTLS, with ms since the start: a failure's story. */
  history: string[];
  packets: number;
  pair?: { local: CandidateSummary; remote: CandidateSummary };
  error?: string;
}

/** The part of werift's candidate pair this reads (ice/src/iceBase.d.ts, werift 0.25.2). */
interface NominatedPair {
  localCandidate?: { host: string; port: number; transport: string; type: string };
  protocol?: { localCandidate?: { host: string; port: number; transport: string; type: string } };
  remoteCandidate: { host: string; port: number; transport: string; type: string };
}

function summary(c: { host: string; port: number; transport: string; type: string }): CandidateSummary {
  return { address: c.host, port: c.port, protocol: c.transport.toLowerCase(), type: c.type };
}

/** H.264 as Chromium offers it (packetization-mode 1, Constrained Baseline and Main). */
function h264(): RTCRtpCodecParameters[] {
  return ["42e01f", "4d001f"].map(
    (profile, i) =>
      new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        payloadType: 102 + i,
        rtcpFeedback: [
          { type: "nack" },
          { type: "nack", parameter: "pli" },
          { type: "ccm", parameter: "fir" },
        ],
        parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
      }),
  );
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

class Viewer {
  readonly report: ViewerReport = { state: "new", history: [], packets: 0 };
  private readonly started = performance.now();
  readonly pc: RTCPeerConnection;

  constructor(private readonly config: Config) {
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceUseIpv4: true,
      iceUseIpv6: false,
      iceUseTcp: config.tcp === true,
      bundlePolicy: "max-bundle",
      codecs: { video: h264(), audio: [] },
    });
    this.pc.connectionStateChange.subscribe((state) => {
      this.report.state = state;
      this.note(`pc ${state}`);
    });
    this.pc.iceConnectionStateChange.subscribe((state) => this.note(`ice ${state}`));
    this.pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((_rtp: RtpPacket) => {
        this.report.packets += 1;
      });
    });
  }

  async connect(): Promise<void> {
    const offer = await this.pc.createOffer();
    // werift 0.25.2 falls back to stun.l.google.com even with iceServers []: no such host here.
    for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
    await this.pc.setLocalDescription(offer);
    await gathered(this.pc);
    const sdp = this.pc.localDescription?.sdp;
    if (sdp === undefined) throw new Error("werift made no offer");
    const res = await fetch(this.config.offerUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp }),
    });
    const body = (await res.json()) as { sdp?: string; error?: string; detail?: string };
    if (res.status !== 200 || typeof body.sdp !== "string") {
      throw new Error(`offer: HTTP ${res.status} ${body.error ?? ""} ${body.detail ?? ""}`);
    }
    this.note("answered");
    for (const dtls of this.pc.dtlsTransports)
      dtls.onStateChange.subscribe((state) => this.note(`dtls ${state}`));
    await this.pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
  }

  /** Resolves once the peer connection is connected, failed or closed, or after `ms`. */
  settled(ms: number): Promise<void> {
    const done = () => ["connected", "failed", "closed"].includes(this.pc.connectionState);
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const { unSubscribe } = this.pc.connectionStateChange.subscribe(() => {
        if (done()) finish();
      });
      function finish(): void {
        clearTimeout(timer);
        unSubscribe();
        resolve();
      }
    });
  }

  note(event: string): void {
    this.report.history.push(`${Math.round(performance.now() - this.started)} ${event}`);
  }

  refresh(): void {
    const connection = this.pc.iceTransports[0]?.connection as unknown as
      | { nominated?: NominatedPair }
      | undefined;
    const pair = connection?.nominated;
    const local = pair?.localCandidate ?? pair?.protocol?.localCandidate;
    if (pair !== undefined && local !== undefined) {
      this.report.pair = { local: summary(local), remote: summary(pair.remoteCandidate) };
    }
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as Config;
  const viewers = Array.from({ length: config.viewers }, () => new Viewer(config));
  const print = () => {
    for (const v of viewers) v.refresh();
    process.stdout.write(`${JSON.stringify({ viewers: viewers.map((v) => v.report) })}\n`);
  };
  const timer = setInterval(print, 500);
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    await Promise.all(viewers.map((v) => v.pc.close().catch(() => {})));
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.on("error", () => void stop());
  process.stdin.resume();
  // One after another, each waiting for the last to connect: werift's DTLS client (the relay's side)
  // fails its handshake when a HelloVerifyRequest comes twice (dtls/src/flight/client/flight3.js throws
  // when already in flight 3), which a werift DTLS server (this side) sends when the ClientHello was
  // retransmitted, i.e. its answer took over 500 ms: simultaneous handshakes on a busy 2-core machine.
  // Browsers send no HelloVerifyRequest; this stand-in must not fail for a werift-to-werift quirk.
  for (const v of viewers) {
    try {
      await v.connect();
      await v.settled(20_000);
    } catch (err) {
      v.report.error = err instanceof Error ? err.message : String(err);
      process.stderr.write(`viewer: ${v.report.error}\n`);
    }
  }
  print();
}

void main();
