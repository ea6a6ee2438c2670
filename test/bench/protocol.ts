// The messages between the bench orchestrator (test/bench/run.ts) and the process that hosts its
// viewers (test/bench/viewer-host.ts, forked with an IPC channel): the viewers' CPU is their own and
// is reported apart from the server's.

import type { FrameEntries } from "./frame-counts";

/** "light": ICE + DTLS like a browser, then SRTP datagrams counted without decrypting; "werift": full receivers. */
export type ViewerKind = "light" | "werift";

export type HostCommand =
  /** Adds `count` viewers, each POSTing a JSON offer to `offerUrl`; replies once all are connected (or failed). */
  | {
      readonly cmd: "join";
      readonly id: number;
      readonly count: number;
      readonly kind: ViewerKind;
      readonly offerUrl: string;
      /** POST the offer as WHEP (`offerUrl` is then P/whep) and keep the resource URL for a DELETE. */
      readonly whep?: boolean;
      /**
       * Watch this mountpoint of Janus's streaming plugin (`offerUrl` is then Janus's HTTP API,
       * http://host:port/janus): Janus offers, the viewer answers (light viewers only).
       */
      readonly janusMountpoint?: number;
      /** The viewers' own address in 127.0.0.0/8 (Janus's viewers: Janus's, see janus.ts). Default 127.0.0.1. */
      readonly localAddress?: string;
    }
  /**
   * Removes `count` viewers (oldest first), or all. Default: a DTLS close_notify, as a browser's
   * pc.close() sends. `abrupt`: the socket just vanishes (no DELETE, no alert). `delete`: a WHEP
   * DELETE first (viewers that joined with `whep`), as the player page does.
   */
  | {
      readonly cmd: "leave";
      readonly id: number;
      readonly count: number | "all";
      readonly abrupt?: boolean;
      readonly delete?: boolean;
    }
  /** Sets the receive buffer (SO_RCVBUF) of every hosted viewer's UDP sockets: a small one drops what is not read in time. */
  | { readonly cmd: "recvBuffer"; readonly id: number; readonly bytes: number }
  /** Starts counting afresh (packets, bytes, gaps, CPU) from now, for a measurement window. */
  | { readonly cmd: "reset"; readonly id: number }
  | { readonly cmd: "stats"; readonly id: number }
  /** Each viewer's video packets per RTP timestamp since the last reset ([timestamp, packets] pairs). */
  | { readonly cmd: "frames"; readonly id: number }
  /**
   * Records the receive time of every video packet of the first and of the last viewer (for relay
   * delay: webrtc-out hands each frame to its viewers in the order they joined), or stops.
   */
  | { readonly cmd: "trace"; readonly id: number; readonly on: boolean }
  | { readonly cmd: "exit"; readonly id: number };

export interface ViewerCounts {
  /** SRTP/RTP video packets received since the last reset. */
  readonly packets: number;
  readonly bytes: number;
  /** Packets missing by sequence number since the last reset (gaps in the RTP sequence, unencrypted header). */
  readonly lost: number;
  /** RFC 3550 interarrival jitter of the video stream averaged over the window's packets, ms (light viewers only). */
  readonly jitterMs?: number;
  /** The highest the jitter estimate went in the window, ms. */
  readonly jitterMaxMs?: number;
}

export interface HostStats {
  readonly viewers: number;
  /**
   * Datagrams the kernel dropped at the viewers' own UDP sockets since the last reset (their receive
   * buffers were full: the viewers did not keep up), from /proc/net/udp; undefined when unreadable.
   */
  readonly receiverDrops?: number;
  readonly connected: number;
  readonly failed: number;
  readonly total: ViewerCounts;
  readonly perViewer: readonly ViewerCounts[];
  /** process.cpuUsage() delta since the last reset, µs. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Wall-clock µs since the last reset. */
  readonly elapsedUs: number;
  readonly rssBytes: number;
}

/** A trace is for a delay measurement, not a recording: bounded. */
export const MAX_TRACED_PACKETS = 200_000;

/** One traced packet: RTP header fields (clear in SRTP) and when it arrived (process.hrtime.bigint(), ns, as a string). */
export interface TracedPacket {
  readonly seq: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly atNs: string;
}

/** The first viewer's trace, then the last one's (one with one viewer). */
export type ViewerTraces = readonly (readonly TracedPacket[])[];

export type HostReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly stats?: HostStats;
      readonly frames?: readonly FrameEntries[];
      readonly traces?: ViewerTraces;
      /** Where the server sends the traced viewers' media (a light viewer has one socket), same order. */
      readonly ports?: readonly number[];
      readonly joined?: number;
    }
  | { readonly id: number; readonly ok: false; readonly error: string };
