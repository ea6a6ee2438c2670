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
  /** What the sender reports (SR) and counts (getStats). */
  ntpTimestamp: bigint;
  rtpTimestamp: number;
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

export interface DtlsInternals {
  readonly state: string;
  readonly srtp?: { readonly localContext?: SrtpContextInternals };
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
