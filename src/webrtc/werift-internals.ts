import type { Socket } from "node:dgram";
import type { RTCRtpSender } from "werift";

/**
 * The parts of werift 0.25.2 that the direct send path reads or keeps up to date. They are private
 * in werift's types, so they are named here once; test/unit/webrtc/werift-internals.test.ts checks
 * them on a connected peer, so a werift upgrade that moves them fails the suite instead of silently
 * falling back.
 */
export interface SenderInternals {
  readonly ssrc: number;
  readonly codec?: { readonly payloadType: number };
  readonly stopped: boolean;
  readonly headerExtensions: readonly unknown[];
  readonly redRedundantPayloadType?: number;
  readonly dtlsTransport?: DtlsInternals;
  /** The CNAME werift puts in its sender reports' SDES, when the transceiver has one. */
  readonly cname?: string;
  /** Whether werift's own sender-report loop runs (it starts from werift's own send path). */
  readonly rtcpRunning: boolean;
  /** What the sender reports (SR) and counts (getStats). */
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  /** The last SR's middle NTP bits and when it left (Unix seconds): werift's RTT from the viewer's LSR/DLSR. */
  lastSRtimestamp?: number;
  lastSentSRTimestamp?: number;
  octetCount: number;
  packetCount: number;
  headerBytesSent: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  /** Starts the sender-report loop; returns at once when it runs already. */
  runRtcp(): Promise<void>;
}

export interface SrtpContextInternals {
  readonly profile: number;
  readonly srtpSessionKey: Buffer;
  readonly srtpSessionSalt: Buffer;
  readonly srtpSessionAuthTag: Buffer;
}

export interface SrtcpContextInternals {
  readonly profile: number;
  readonly srtcpSessionKey: Buffer;
  readonly srtcpSessionSalt: Buffer;
  readonly srtcpSessionAuthTag: Buffer;
  /** werift's SRTCP index of `ssrc` under these keys: shared, so no index is ever used twice. */
  getSrtcpSsrcState(ssrc: number): { srtcpIndex: number };
}

export interface SrtcpSessionInternals {
  readonly localContext?: SrtcpContextInternals;
  readonly remoteContext?: SrtcpContextInternals;
  /** The compound RTCP in clear; throws werift's SrtpAuthenticationError for what does not hold. */
  decrypt(data: Buffer): Buffer;
}

export interface DtlsInternals {
  readonly state: string;
  readonly srtp?: { readonly localContext?: SrtpContextInternals };
  readonly srtcp?: SrtcpSessionInternals;
  readonly iceTransport: { readonly connection: IceInternals };
  bytesSent: number;
  packetsSent: number;
}

export interface CandidatePairInternals {
  readonly protocol: {
    readonly type: string;
    readonly transport?: { readonly closed?: boolean; readonly socket?: Socket };
  };
  readonly remoteAddr: readonly [string, number];
  packetsSent: number;
  bytesSent: number;
}

export interface IceInternals {
  readonly nominated?: CandidatePairInternals;
  canSendApplicationData(): boolean;
  send(data: Buffer): Promise<void>;
}

export function senderInternals(sender: RTCRtpSender): SenderInternals {
  return sender as unknown as SenderInternals;
}
