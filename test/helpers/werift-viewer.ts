import "./loopback-namespace";
import type { Socket } from "node:dgram";
import {
  type MediaStreamTrack,
  type PeerConfig,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RtpPacket,
  useG722,
  useOPUS,
  usePCMA,
  usePCMU,
} from "werift";

// A browser stand-in: a werift peer connection that offers to receive, answers nothing itself,
// and records every RTP packet it gets. Its packets stay on loopback (the tests' namespace has nothing else).

/** Debian's Chromium 156 offers exactly these H.264 profiles (test/fixtures/offers/chromium-156.sdp). */
export const CHROMIUM_H264_PROFILES: readonly string[] = ["42001f", "42e01f", "4d001f", "f4001f"];

export interface ViewerOptions {
  /** Sends the offer SDP to the server under test; resolves with its answer SDP. */
  offer: (sdp: string) => Promise<string>;
  /** Default true. */
  video?: boolean;
  /** Default false. */
  audio?: boolean;
  /**
   * H.264 entries to offer: a profile-level-id ("42e01f") becomes two entries like Chromium's,
   * packetization-mode 1 and 0; a string with "=" is used as the whole fmtp line. Default
   * CHROMIUM_H264_PROFILES; [] offers no H.264.
   */
  h264Profiles?: string[];
  /** Also offer H.265 (profile-id 1), as Safari does. Default false. */
  h265?: boolean;
  /** Resolves `connected`, or rejects it, within this time. Default 10 s. */
  connectTimeoutMs?: number;
  /** Overrides of the peer connection's configuration (e.g. ICE-TCP only). */
  peerConfig?: Partial<PeerConfig>;
}

export interface WeriftViewer {
  readonly pc: RTCPeerConnection;
  /** Received video RTP packets, wire format, in arrival order. */
  readonly packets: Buffer[];
  /** performance.now() at the arrival of each packet of `packets`. */
  readonly arrivals: number[];
  readonly audioPackets: Buffer[];
  /** performance.now() when the answer was applied (the WHEP/offer round trip is over). */
  readonly answeredAt: () => number | undefined;
  /** performance.now() when the peer connection became connected. */
  readonly connectedAt: () => number | undefined;
  /** Resolves once the peer connection is connected; rejects when it fails or times out. */
  readonly connected: Promise<void>;
  /** Stops taking datagrams from the network without telling the server (a frozen browser tab). */
  stopReading(): void;
  /** UDP sockets this peer connection holds. */
  udpSocketCount(): number;
  close(): Promise<void>;
}

const LOOPBACK_CANDIDATE = /^a=candidate:\S+ \d+ \S+ \d+ (127\.\d+\.\d+\.\d+) /;

/** Drops every candidate that is not on 127.0.0.0/8, so no check leaves loopback. */
export function loopbackCandidatesOnly(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith("a=candidate:") || LOOPBACK_CANDIDATE.test(line))
    .join("\r\n");
}

function h264Codecs(profiles: readonly string[], firstPayloadType: number): RTCRtpCodecParameters[] {
  const fmtps = profiles.flatMap((entry) =>
    entry.includes("=")
      ? [entry]
      : [1, 0].map(
          (mode) => `level-asymmetry-allowed=1;packetization-mode=${mode};profile-level-id=${entry}`,
        ),
  );
  return fmtps.map(
    (parameters, i) =>
      new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        payloadType: firstPayloadType + i,
        rtcpFeedback: [
          { type: "nack" },
          { type: "nack", parameter: "pli" },
          { type: "ccm", parameter: "fir" },
        ],
        parameters,
      }),
  );
}

function videoCodecs(opts: ViewerOptions): RTCRtpCodecParameters[] {
  const codecs = h264Codecs(opts.h264Profiles ?? CHROMIUM_H264_PROFILES, 102);
  if (opts.h265 === true) {
    codecs.push(
      new RTCRtpCodecParameters({
        mimeType: "video/H265",
        clockRate: 90000,
        payloadType: 100,
        rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
        parameters: "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST",
      }),
    );
  }
  return codecs;
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

/** The UDP sockets under a werift peer connection (private fields: a test-only reach-in). */
function udpSockets(pc: RTCPeerConnection): Socket[] {
  return pc.iceTransports.flatMap((transport) => {
    const protocols = (
      transport.connection as unknown as { protocols?: { transport?: { socket?: Socket } }[] }
    ).protocols;
    return (protocols ?? []).flatMap((p) => (p.transport?.socket === undefined ? [] : [p.transport.socket]));
  });
}

/** Connects a receive-only werift peer to the server behind `opts.offer`. */
export async function connectViewer(opts: ViewerOptions): Promise<WeriftViewer> {
  const wantVideo = opts.video ?? true;
  const wantAudio = opts.audio ?? false;
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
    iceUseTcp: false,
    // One transport from the start: with the default policy werift opens one per m-line and never
    // closes the one BUNDLE makes redundant (a leaked socket that keeps the test process alive).
    bundlePolicy: "max-bundle",
    codecs: {
      video: wantVideo ? videoCodecs(opts) : [],
      audio: wantAudio
        ? [useOPUS({ payloadType: 111 }), useG722({ payloadType: 9 }), usePCMU(), usePCMA()]
        : [],
    },
    ...opts.peerConfig,
  });
  const packets: Buffer[] = [];
  const arrivals: number[] = [];
  const audioPackets: Buffer[] = [];
  let answeredAt: number | undefined;
  let connectedAt: number | undefined;

  const record = (track: MediaStreamTrack): void => {
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      if (track.kind === "video") {
        packets.push(rtp.serialize());
        arrivals.push(performance.now());
      } else {
        audioPackets.push(rtp.serialize());
      }
    });
  };
  if (wantVideo) pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe(record);
  if (wantAudio) pc.addTransceiver("audio", { direction: "recvonly" }).onTrack.subscribe(record);

  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected within ${timeoutMs} ms`)), timeoutMs);
    const settle = (state: string): void => {
      if (state === "connected") {
        connectedAt ??= performance.now();
        resolve();
      } else if (state === "failed" || state === "closed") reject(new Error(`peer connection ${state}`));
      else return;
      clearTimeout(timer);
    };
    pc.connectionStateChange.subscribe(settle);
  });
  // A test that never awaits `connected` must not die of an unhandled rejection.
  connected.catch(() => {});

  try {
    const offer = await pc.createOffer();
    // werift 0.25.2 falls back to stun.l.google.com even with iceServers []: keep to loopback.
    for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
    await pc.setLocalDescription(offer);
    await gathered(pc);
    const offerSdp = pc.localDescription?.sdp;
    if (offerSdp === undefined) throw new Error("werift made no offer");
    const answer = await opts.offer(offerSdp);
    await pc.setRemoteDescription({ type: "answer", sdp: loopbackCandidatesOnly(answer) });
    answeredAt = performance.now();
  } catch (error) {
    await pc.close();
    throw error;
  }

  return {
    pc,
    packets,
    arrivals,
    audioPackets,
    answeredAt: () => answeredAt,
    connectedAt: () => connectedAt,
    connected,
    stopReading(): void {
      for (const socket of udpSockets(pc)) socket.removeAllListeners("message");
    },
    udpSocketCount: () => udpSockets(pc).length,
    close: () => pc.close(),
  };
}
