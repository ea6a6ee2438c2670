import { createHash, randomInt } from "node:crypto";
import type { RemoteInfo, Socket } from "node:dgram";
import { parse as parseSdp } from "sdp-transform";
import {
  Candidate,
  Connection,
  DtlsClient,
  DtlsServer,
  type DtlsSocket,
  keyLength,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RTCDtlsTransport,
  RtcpReceiverInfo,
  RtcpRrPacket,
  SrtcpSession,
  saltLength,
  type Transport,
} from "werift";
import { CHROMIUM_H264_PROFILES } from "../helpers/werift-viewer";
import { buildAnswer, parseOffer } from "./answer-sdp";
import { FrameCounts, type FrameEntries } from "./frame-counts";
import { isRtcp, isRtpOrRtcp } from "./media-datagram";
import type { ViewerCounts } from "./protocol";

// A browser stand-in that costs almost nothing per packet: werift's own ICE agent (controlling, with
// consent freshness) and DTLS endpoint do what Chromium does on the wire (in the DTLS role the answer
// gives: werift answers an actpass offer with a=setup:active, so, as with Chromium, the viewer is the
// DTLS server), then every SRTP datagram is counted from its clear RTP header and never decrypted. Only the rare SRTCP sender reports are
// decrypted, to send receiver reports like a browser's (the relay's RTT and loss figures come from
// them). Every packet stays on 127.0.0.0/8 (the bench runs in a network namespace holding only loopback).

/** Called for each SRTP video datagram, with its clear header fields and process.hrtime.bigint() at arrival. */
export type PacketListener = (seq: number, timestamp: number, marker: boolean, atNs: bigint) => void;

export interface LightViewerOptions {
  /** Sends the offer SDP to the server under test; resolves with its answer SDP. */
  readonly offer: (sdp: string) => Promise<string>;
  readonly onPacket?: PacketListener;
  /** Resolves `connected`, or rejects it, within this time. Default 10 s. */
  readonly connectTimeoutMs?: number;
}

export type LightViewerState = "connecting" | "connected" | "failed" | "closed";

export interface LightViewer {
  /** Resolves once ICE and DTLS are up and the server's certificate matches its fingerprint. */
  readonly connected: Promise<void>;
  state(): LightViewerState;
  counts(): ViewerCounts;
  /** Video packets per RTP timestamp since the last reset. */
  frames(): FrameEntries;
  /** Starts counting afresh from now. */
  reset(): void;
  /** Replaces the per-packet listener (undefined: none; arrival times are then not even read). */
  setOnPacket(listener: PacketListener | undefined): void;
  /**
   * Graceful: a DTLS close_notify, as a browser's pc.close() sends, then the socket closes.
   * Abrupt: the socket just closes (a killed tab): the server learns of it from consent expiry.
   */
  close(opts?: { abrupt?: boolean }): Promise<void>;
  /** The UDP sockets of its ICE agent. */
  sockets(): Socket[];
}

const LOOPBACK = /^127\.\d+\.\d+\.\d+$/;
const VIDEO_CLOCK_RATE = 90_000;
/** Chromium sends video RTCP every second on average, randomised to 0.5–1.5 s (RFC 3550 §6.3.1). */
const RTCP_INTERVAL_MS = 1000;
const DTLS_ALERT = 21;
/** RFC 5764 §5.1.2 / RFC 7714: what SRTP appends to each packet (no MKI). */
const AUTH_TAG_BYTES: Readonly<Record<number, number>> = {
  [ProtectionProfileAes128CmHmacSha1_80]: 10,
  [ProtectionProfileAeadAes128Gcm]: 16,
};

/**
 * Sequence accounting of one RTP stream (RFC 3550 A.1/A.3): extended highest sequence number,
 * expected − received as the loss, over the whole stream and over the window since reset().
 * Late and retransmitted packets count as received, so a repaired gap is no loss.
 */
export class SequenceTracker {
  private started = false;
  private maxExt = 0;
  private firstExt = 0;
  private received = 0;
  private windowBaseExt = 0;
  private windowReceived = 0;
  private priorExpected = 0;
  private priorReceived = 0;

  add(seq: number): void {
    this.received++;
    this.windowReceived++;
    if (!this.started) {
      this.started = true;
      this.maxExt = seq;
      this.firstExt = seq;
      this.windowBaseExt = seq;
      return;
    }
    const forward = (seq - this.maxExt) & 0xffff;
    if (forward !== 0 && forward < 0x8000) this.maxExt += forward;
  }

  /** Before the first packet there is nothing to move: add() opens the window at it. */
  reset(): void {
    if (this.started) this.windowBaseExt = this.maxExt + 1;
    this.windowReceived = 0;
  }

  /** Missing since reset(); never negative (duplicates can outnumber gaps). */
  windowLost(): number {
    if (!this.started) return 0;
    return Math.max(0, this.maxExt - this.windowBaseExt + 1 - this.windowReceived);
  }

  get highestExtended(): number {
    return this.maxExt;
  }

  get cumulativeLost(): number {
    return this.maxExt - this.firstExt + 1 - this.received;
  }

  /** RFC 3550 A.3: the fraction (0–255) lost since the previous call. */
  fractionLostSinceLastReport(): number {
    const expected = this.maxExt - this.firstExt + 1;
    const expectedInterval = expected - this.priorExpected;
    const receivedInterval = this.received - this.priorReceived;
    this.priorExpected = expected;
    this.priorReceived = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    return expectedInterval <= 0 || lostInterval <= 0
      ? 0
      : Math.floor((lostInterval << 8) / expectedInterval);
  }
}

/** Per SSRC: sequence accounting and interarrival jitter (RFC 3550 A.8), for counts and receiver reports. */
class SsrcStats {
  readonly sequence = new SequenceTracker();
  jitter = 0;
  private lastTransit: number | undefined;
  /** The middle 32 bits of the last sender report's NTP time, and when it arrived (performance.now()). */
  lastSr: { lsr: number; atMs: number } | undefined;

  arrived(seq: number, timestamp: number, atMs: number): void {
    this.sequence.add(seq);
    const transit = atMs * (VIDEO_CLOCK_RATE / 1000) - timestamp;
    if (this.lastTransit !== undefined) {
      const d = Math.abs(transit - this.lastTransit);
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }
}

interface AnswerParameters {
  readonly iceLite: boolean;
  readonly usernameFragment: string;
  readonly password: string;
  readonly fingerprints: readonly { algorithm: string; value: string }[];
  /** The answerer's a=setup: "active" (werift's answer) makes us the DTLS server, "passive" the client. */
  readonly setup: string;
  readonly candidates: readonly Candidate[];
}

/** The offer of a receive-only Chromium tab with video only: H.264 entries as werift-viewer offers them. */
function buildOffer(connection: Connection, fingerprint: { algorithm: string; value: string }): string {
  const fmtps = CHROMIUM_H264_PROFILES.flatMap((profile) =>
    [1, 0].map((mode) => `level-asymmetry-allowed=1;packetization-mode=${mode};profile-level-id=${profile}`),
  );
  const payloadTypes = fmtps.map((_, i) => 102 + i);
  const candidate = connection.localCandidates.find((c) => LOOPBACK.test(c.host));
  if (candidate === undefined) throw new Error("no loopback candidate was gathered");
  const lines = [
    "v=0",
    `o=- ${randomInt(1, 2 ** 47)} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS",
    `m=video ${candidate.port} UDP/TLS/RTP/SAVPF ${payloadTypes.join(" ")}`,
    `c=IN IP4 ${candidate.host}`,
    "a=rtcp:9 IN IP4 0.0.0.0",
    `a=candidate:${candidate.toSdp()}`,
    "a=end-of-candidates",
    `a=ice-ufrag:${connection.localUsername}`,
    `a=ice-pwd:${connection.localPassword}`,
    "a=ice-options:trickle",
    `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
    "a=setup:actpass",
    "a=mid:0",
    "a=recvonly",
    "a=rtcp-mux",
    "a=rtcp-rsize",
  ];
  fmtps.forEach((fmtp, i) => {
    const pt = payloadTypes[i];
    lines.push(
      `a=rtpmap:${pt} H264/${VIDEO_CLOCK_RATE}`,
      `a=rtcp-fb:${pt} ccm fir`,
      `a=rtcp-fb:${pt} nack`,
      `a=rtcp-fb:${pt} nack pli`,
      `a=fmtp:${pt} ${fmtp}`,
    );
  });
  return `${lines.join("\r\n")}\r\n`;
}

/** @throws Error when the answer lacks ICE credentials, a fingerprint or an accepted video m-line */
function parseAnswer(sdp: string): AnswerParameters {
  const session = parseSdp(sdp);
  const video = session.media.find((m) => m.type === "video" && m.port !== 0);
  if (video === undefined) throw new Error("the answer accepts no video");
  const usernameFragment = video.iceUfrag ?? session.iceUfrag;
  const password = video.icePwd ?? session.icePwd;
  if (usernameFragment === undefined || password === undefined)
    throw new Error("the answer has no ICE credentials");
  const fingerprint = video.fingerprint ?? session.fingerprint;
  if (fingerprint === undefined) throw new Error("the answer has no DTLS fingerprint");
  const candidateLines = sdp.split(/\r?\n/).flatMap((line) => {
    const m = /^a=candidate:(.+)$/.exec(line.trim());
    return m?.[1] === undefined ? [] : [m[1]];
  });
  const candidates = candidateLines
    .map((line) => Candidate.fromSdp(line))
    // No check may leave loopback, whatever else the server offers.
    .filter((c) => c.component === 1 && c.transport.toLowerCase() === "udp" && LOOPBACK.test(c.host));
  if (candidates.length === 0) throw new Error("the answer has no 127.0.0.0/8 UDP candidate");
  return {
    iceLite: session.icelite === "ice-lite",
    usernameFragment,
    password,
    fingerprints: [{ algorithm: fingerprint.type, value: fingerprint.hash }],
    // RFC 4145 §4: an answer without a=setup is active.
    setup: video.setup ?? "active",
    candidates,
  };
}

/** The DTLS socket's view of the ICE connection: DTLS records only (RFC 7983: first byte 20–63). */
class DtlsOverIce implements Transport {
  readonly type = "ice";
  closed = false;
  onData: Transport["onData"] = () => {};
  constructor(private readonly connection: Connection) {}
  get address(): Transport["address"] {
    return { address: "127.0.0.1", family: "IPv4", port: 0 };
  }
  send = (data: Buffer): Promise<void> => this.connection.send(data);
  close = async (): Promise<void> => {
    this.closed = true;
  };
}

function certificateMatches(
  certificate: Buffer | undefined,
  fingerprints: readonly { algorithm: string; value: string }[],
): boolean {
  if (certificate === undefined) return false;
  return fingerprints.some(({ algorithm, value }) => {
    const hash = algorithm.toLowerCase().replace("-", "");
    try {
      const actual = createHash(hash).update(certificate).digest("hex");
      return actual === value.replaceAll(":", "").toLowerCase();
    } catch {
      return false; // an algorithm node does not know
    }
  });
}

/** A DTLS alert record (close_notify) in the current epoch, as browsers send on close. */
function closeNotify(dtls: DtlsSocket): Buffer {
  const { major, minor } = dtls.dtls.version;
  const epoch = dtls.dtls.epoch;
  const sequenceNumber = ++dtls.dtls.recordSequenceNumber;
  const fragment = dtls.cipher.cipher.encrypt(dtls.sessionType, Buffer.from([1, 0]), {
    type: DTLS_ALERT,
    version: (major << 8) | minor,
    epoch,
    sequenceNumber,
  });
  const header = Buffer.alloc(13);
  header.writeUInt8(DTLS_ALERT, 0);
  header.writeUInt8(major, 1);
  header.writeUInt8(minor, 2);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([header, fragment]);
}

/** NTP's middle 32 bits of each sender report in a decrypted compound RTCP packet, by sender SSRC. */
function senderReports(rtcp: Buffer): { ssrc: number; lsr: number }[] {
  const out: { ssrc: number; lsr: number }[] = [];
  for (let at = 0; at + 4 <= rtcp.length; ) {
    const length = (rtcp.readUInt16BE(at + 2) + 1) * 4;
    if (rtcp[at + 1] === 200 && at + 16 <= rtcp.length) {
      const ssrc = rtcp.readUInt32BE(at + 4);
      const lsr =
        ((rtcp.readUInt32BE(at + 8) & 0xffff) * 0x10000 + (rtcp.readUInt32BE(at + 12) >>> 16)) >>> 0;
      out.push({ ssrc, lsr });
    }
    at += length;
  }
  return out;
}

/** The UDP sockets under a werift ICE agent (private fields, as test/helpers/werift-viewer.ts reaches them). */
export function udpSockets(connection: Connection): Socket[] {
  const protocols = (connection as unknown as { protocols?: { transport?: { socket?: Socket } }[] })
    .protocols;
  return (protocols ?? []).flatMap((p) => (p.transport?.socket === undefined ? [] : [p.transport.socket]));
}

/**
 * Sends RTP and RTCP datagrams (RFC 7983: first byte 128–191) of this agent's sockets straight to
 * `media`; STUN and DTLS still go through werift. werift's own path costs two promise-making event
 * dispatches and a STUN parse per datagram, more than the counting itself. Only this agent's socket
 * listeners change: werift's classes are untouched, werift viewers in the same process are not.
 */
function divertMedia(connection: Connection, media: (data: Buffer) => void): void {
  for (const socket of udpSockets(connection)) {
    const werift = socket.listeners("message") as ((data: Buffer, from: RemoteInfo) => void)[];
    socket.removeAllListeners("message");
    socket.on("message", (data: Buffer, from: RemoteInfo) => {
      if (isRtpOrRtcp(data)) {
        media(data);
        return;
      }
      for (const listener of werift) listener(data, from);
    });
  }
}

class Light implements LightViewer {
  readonly connected: Promise<void>;
  private current: LightViewerState = "connecting";
  private dtls: DtlsSocket | undefined;
  private srtcp: SrtcpSession | undefined;
  private tagBytes = 10;
  private packets = 0;
  private bytes = 0;
  /** The RFC 3550 jitter estimate (RTP ticks) as each packet of the window left it: mean and peak. */
  private jitterSum = 0;
  private jitterSamples = 0;
  private jitterMax = 0;
  private readonly streams = new Map<number, SsrcStats>();
  private readonly frameCounts = new FrameCounts();
  private lastSsrc = -1;
  private lastStream: SsrcStats | undefined;
  private readonly rtcpSsrc = randomInt(1, 2 ** 32 - 1);
  private rtcpTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly dtlsTransport: DtlsOverIce,
    private onPacket: PacketListener | undefined,
    answer: AnswerParameters,
    timeoutMs: number,
  ) {
    connection.onData.subscribe((data) => this.datagram(data));
    divertMedia(connection, (data) => this.datagram(data));
    connection.stateChanged.subscribe((state) => {
      if (state === "failed" && this.current !== "closed") this.current = "failed";
    });
    this.connected = this.establish(answer, timeoutMs);
    // A caller that never awaits `connected` must not die of an unhandled rejection.
    this.connected.catch(() => {});
  }

  private async establish(answer: AnswerParameters, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not connected within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.handshake(answer), timeout]);
      this.current = "connected";
      this.scheduleReport();
    } catch (error) {
      if (this.current !== "closed") this.current = "failed";
      await this.connection.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(answer: AnswerParameters): Promise<void> {
    const certificate = await RTCDtlsTransport.SetupCertificate();
    const options = {
      cert: certificate.certPem,
      key: certificate.privateKey,
      signatureHash: certificate.signatureHash,
      transport: this.dtlsTransport,
      srtpProfiles: [ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80],
      extendedMasterSecret: true,
    };
    // Made before ICE completes: as DTLS server, the peer's hello may come right after its nomination.
    const dtls: DtlsSocket =
      answer.setup === "active"
        ? new DtlsServer({ ...options, certificateRequest: true })
        : new DtlsClient(options);
    this.dtls = dtls;
    const handshaken = new Promise<void>((resolve, reject) => {
      dtls.onConnect.once(() => resolve());
      dtls.onError.once((error) => reject(error));
    });
    // Any alert (werift's DTLS reads every alert as the end) closes the association, as in a browser.
    dtls.onClose.subscribe(() => {
      if (this.current === "connected") this.current = "failed";
    });
    await this.connection.connect();
    if (dtls instanceof DtlsClient) {
      // As werift's own client does: the peer's DTLS endpoint exists only once its ICE agent has
      // seen the nomination, and a hello that arrives before it would wait for a retransmission.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await dtls.connect();
    }
    await handshaken;
    if (!certificateMatches(dtls.remoteCertificate, answer.fingerprints)) {
      throw new Error("the server's DTLS certificate does not match its fingerprint");
    }
    const profile = dtls.srtp.srtpProfile;
    if (profile === undefined) throw new Error("DTLS negotiated no SRTP profile");
    this.tagBytes = AUTH_TAG_BYTES[profile] ?? 10;
    const keys = dtls.extractSessionKeys(keyLength(profile), saltLength(profile));
    this.srtcp = new SrtcpSession({
      keys: {
        localMasterKey: keys.localKey,
        localMasterSalt: keys.localSalt,
        remoteMasterKey: keys.remoteKey,
        remoteMasterSalt: keys.remoteSalt,
      },
      profile,
    });
  }

  /** RFC 7983 demultiplexing on the first byte; the hot path for SRTP does no decryption and no allocation. */
  private datagram(data: Buffer): void {
    const first = data[0];
    if (first === undefined) return;
    if (first >= 20 && first <= 63) {
      this.dtlsTransport.onData(data, ["127.0.0.1", 0]);
      return;
    }
    if (!isRtpOrRtcp(data) || data.length < 12 || this.srtcp === undefined) return;
    if (isRtcp(data)) {
      this.rtcp(data);
      return;
    }
    const seq = data.readUInt16BE(2);
    const timestamp = data.readUInt32BE(4);
    const ssrc = data.readUInt32BE(8);
    let stream = this.lastStream;
    if (ssrc !== this.lastSsrc || stream === undefined) {
      stream = this.streams.get(ssrc);
      if (stream === undefined) {
        stream = new SsrcStats();
        this.streams.set(ssrc, stream);
      }
      this.lastSsrc = ssrc;
      this.lastStream = stream;
    }
    this.packets++;
    this.bytes += data.length - this.tagBytes;
    this.frameCounts.add(timestamp);
    stream.arrived(seq, timestamp, performance.now());
    this.jitterSum += stream.jitter;
    this.jitterSamples++;
    if (stream.jitter > this.jitterMax) this.jitterMax = stream.jitter;
    const listener = this.onPacket;
    if (listener !== undefined)
      listener(seq, timestamp, ((data[1] as number) & 0x80) !== 0, process.hrtime.bigint());
  }

  private rtcp(data: Buffer): void {
    let clear: Buffer;
    try {
      clear = this.srtcp?.decrypt(data) ?? Buffer.alloc(0);
    } catch {
      return; // not authentic: dropped, as a browser does
    }
    const atMs = performance.now();
    for (const { ssrc, lsr } of senderReports(clear)) {
      const stream = this.streams.get(ssrc);
      if (stream !== undefined) stream.lastSr = { lsr, atMs };
    }
  }

  private scheduleReport(): void {
    if (this.current !== "connected") return;
    const delay = RTCP_INTERVAL_MS * (0.5 + Math.random());
    this.rtcpTimer = setTimeout(() => {
      this.sendReport();
      this.scheduleReport();
    }, delay);
    this.rtcpTimer.unref();
  }

  private sendReport(): void {
    const srtcp = this.srtcp;
    if (srtcp === undefined || this.streams.size === 0) return;
    const now = performance.now();
    const reports = [...this.streams].map(([ssrc, stream]) => {
      const { sequence } = stream;
      const dlsr = stream.lastSr === undefined ? 0 : Math.round(((now - stream.lastSr.atMs) / 1000) * 65536);
      return new RtcpReceiverInfo({
        ssrc,
        fractionLost: sequence.fractionLostSinceLastReport(),
        packetsLost: Math.min(0x7fffff, Math.max(0, sequence.cumulativeLost)),
        highestSequence: sequence.highestExtended >>> 0,
        jitter: Math.round(stream.jitter) >>> 0,
        lsr: stream.lastSr?.lsr ?? 0,
        dlsr: Math.min(dlsr, 0xffffffff) >>> 0,
      });
    });
    const packet = new RtcpRrPacket({ ssrc: this.rtcpSsrc, reports });
    this.connection.send(srtcp.encrypt(packet.serialize())).catch(() => {});
  }

  state(): LightViewerState {
    return this.current;
  }

  sockets(): Socket[] {
    return udpSockets(this.connection);
  }

  counts(): ViewerCounts {
    let lost = 0;
    for (const stream of this.streams.values()) lost += stream.sequence.windowLost();
    const ms = (ticks: number): number => (ticks * 1000) / VIDEO_CLOCK_RATE;
    const jitterMs = this.jitterSamples === 0 ? 0 : ms(this.jitterSum / this.jitterSamples);
    return { packets: this.packets, bytes: this.bytes, lost, jitterMs, jitterMaxMs: ms(this.jitterMax) };
  }

  frames(): FrameEntries {
    return this.frameCounts.entries();
  }

  reset(): void {
    this.packets = 0;
    this.bytes = 0;
    this.frameCounts.reset();
    this.jitterSum = 0;
    this.jitterSamples = 0;
    this.jitterMax = 0;
    for (const stream of this.streams.values()) stream.sequence.reset();
  }

  setOnPacket(listener: PacketListener | undefined): void {
    this.onPacket = listener;
  }

  close(opts: { abrupt?: boolean } = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const wasConnected = this.current === "connected";
    this.current = "closed";
    clearTimeout(this.rtcpTimer);
    this.onPacket = undefined;
    this.closing = (async () => {
      if (opts.abrupt !== true && wasConnected && this.dtls !== undefined) {
        await this.connection.send(closeNotify(this.dtls)).catch(() => {});
      }
      await this.connection.close();
    })();
    return this.closing;
  }
}

/**
 * Connects one light viewer to the server behind `opts.offer`: a loopback-only ICE agent (controlling,
 * USE-CANDIDATE, consent checks both ways), the DTLS handshake and fingerprint check, then SRTP is
 * counted, not decrypted. Returns once the answer is applied; `connected` tells when media can flow.
 * @throws Error when the offer round trip fails or the answer is unusable (nothing is left open)
 */
export async function connectLightViewer(opts: LightViewerOptions): Promise<LightViewer> {
  const certificate = await RTCDtlsTransport.SetupCertificate();
  const connection = new Connection(true, {
    // No interface is gathered: the one host candidate is 127.0.0.1, its socket bound there.
    useIpv4: false,
    useIpv6: false,
    additionalHostAddresses: ["127.0.0.1"],
    interfaceAddresses: { udp4: "127.0.0.1" },
    filterCandidatePair: (pair) => LOOPBACK.test(pair.remoteCandidate.host),
  });
  // werift 0.25.2 falls back to a public STUN server when none is given.
  connection.stunServer = undefined;
  try {
    await connection.gatherCandidates();
    const fingerprint = certificate.getFingerprints()[0];
    if (fingerprint === undefined) throw new Error("werift's certificate has no fingerprint");
    const answer = parseAnswer(await opts.offer(buildOffer(connection, fingerprint)));
    connection.setRemoteParams({
      iceLite: answer.iceLite,
      usernameFragment: answer.usernameFragment,
      password: answer.password,
    });
    for (const candidate of answer.candidates) await connection.addRemoteCandidate(candidate);
    await connection.addRemoteCandidate(undefined);
    return new Light(
      connection,
      new DtlsOverIce(connection),
      opts.onPacket,
      answer,
      opts.connectTimeoutMs ?? 10_000,
    );
  } catch (error) {
    await connection.close();
    throw error;
  }
}

export interface AnsweringViewerOptions {
  /** Asks the server for its offer (Janus: `watch`); resolves with the offer SDP. */
  readonly requestOffer: () => Promise<string>;
  /** Hands the server our answer SDP (Janus: `start` with the JSEP answer). */
  readonly sendAnswer: (sdp: string) => Promise<void>;
  readonly onPacket?: PacketListener;
  /** Resolves `connected`, or rejects it, within this time. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** The address (in 127.0.0.0/8) of its one host candidate. Default 127.0.0.1. */
  readonly localAddress?: string;
}

/**
 * The answer mode, for servers that offer (Janus's streaming plugin): the server's offer is answered
 * as a receive-only Chromium tab answers it (answer-sdp.ts): the offerer is ICE-controlling, so this
 * agent is controlled; setup:active, so this end is the DTLS client. Counting is as connectLightViewer's.
 * @throws Error when the offer round trip fails or the offer is unusable (nothing is left open)
 */
export async function connectAnsweringLightViewer(opts: AnsweringViewerOptions): Promise<LightViewer> {
  const certificate = await RTCDtlsTransport.SetupCertificate();
  const offerSdp = await opts.requestOffer();
  const offer = parseOffer(offerSdp);
  const localAddress = opts.localAddress ?? "127.0.0.1";
  if (!LOOPBACK.test(localAddress)) throw new Error(`${localAddress} is not in 127.0.0.0/8`);
  const connection = new Connection(offer.iceLite, {
    useIpv4: false,
    useIpv6: false,
    additionalHostAddresses: [localAddress],
    interfaceAddresses: { udp4: localAddress },
    filterCandidatePair: (pair) => LOOPBACK.test(pair.remoteCandidate.host),
  });
  connection.stunServer = undefined;
  try {
    await connection.gatherCandidates();
    const fingerprint = certificate.getFingerprints()[0];
    if (fingerprint === undefined) throw new Error("werift's certificate has no fingerprint");
    const candidate = connection.localCandidates.find((c) => LOOPBACK.test(c.host));
    if (candidate === undefined) throw new Error("no loopback candidate was gathered");
    connection.setRemoteParams({
      iceLite: offer.iceLite,
      usernameFragment: offer.usernameFragment,
      password: offer.password,
    });
    const candidates = offer.candidates.map((line) => Candidate.fromSdp(line));
    for (const remote of candidates) await connection.addRemoteCandidate(remote);
    await connection.addRemoteCandidate(undefined);
    await opts.sendAnswer(
      buildAnswer(offer, {
        usernameFragment: connection.localUsername,
        password: connection.localPassword,
        fingerprint,
        candidate: candidate.toSdp(),
        host: candidate.host,
        port: candidate.port,
      }),
    );
    return new Light(
      connection,
      new DtlsOverIce(connection),
      opts.onPacket,
      // The server is the DTLS server (we answered active): as facing a passive answerer.
      { ...offer, setup: "passive", candidates },
      opts.connectTimeoutMs ?? 10_000,
    );
  } catch (error) {
    await connection.close();
    throw error;
  }
}
