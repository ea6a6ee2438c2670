import type { PeerConfig, RTCPeerConnection } from "werift";
import type { SharedIcePort } from "./shared-port";

/** A STUN or TURN server, as RTCPeerConnection takes it and a WHIP/WHEP Link header announces it. */
export interface IceServer {
  readonly urls: string;
  readonly username?: string;
  readonly credential?: string;
}

const ICE_URL = /^(stun|stuns|turn|turns):[^\s]+$/i;

/**
 * The STUN/TURN servers of a node's configuration text (URLs separated by spaces, commas or new
 * lines); the TURN ones get the user and password when both are set. `rejected`: the words that are
 * not a stun:, stuns:, turn: or turns: URL, left out.
 */
export function iceServersFromText(
  text: unknown,
  turnUser: string | undefined,
  turnPassword: string | undefined,
): { servers: IceServer[]; rejected: string[] } {
  const servers: IceServer[] = [];
  const rejected: string[] = [];
  const words = typeof text === "string" ? text.split(/[\s,]+/).filter((word) => word !== "") : [];
  for (const url of words) {
    if (!ICE_URL.test(url)) {
      rejected.push(url);
      continue;
    }
    const isTurn = /^turns?:/i.test(url);
    servers.push(
      isTurn && turnUser !== undefined && turnPassword !== undefined
        ? { urls: url, username: turnUser, credential: turnPassword }
        : { urls: url },
    );
  }
  return { servers, rejected };
}

/** ICE settings of a webrtc-out node, as its configuration gives them. */
export interface IceSettings {
  /** STUN/TURN servers; empty by default: no public STUN host is contacted unless configured. */
  iceServers: IceServer[];
  /** Addresses announced as host candidates besides the interfaces' own (NAT 1:1, Docker, loopback). */
  additionalHostAddresses: string[];
  /** UDP ports to take candidates from, both ends included; each viewer takes one. */
  portRange?: [number, number];
  /** Bind to this interface address only. */
  interfaceAddresses?: { udp4?: string };
  /**
   * The process's one ICE port (UDP, and ICE-TCP when it has it) that every viewer shares; without it
   * each viewer takes a UDP port of its own (from `portRange` when set). With it, portRange no longer
   * applies to host candidates; TURN still gathers as configured.
   */
  sharedPort?: SharedIcePort;
}

export const DEFAULT_ICE: Readonly<IceSettings> = Object.freeze({
  iceServers: [],
  additionalHostAddresses: [],
});

/** The werift PeerConfig fields for these settings (IPv4 UDP; no TCP candidates). */
export function peerIceConfig(ice: IceSettings): Partial<PeerConfig> {
  const config: Partial<PeerConfig> = {
    // werift's default is a public STUN host, which stalls gathering without Internet access.
    iceServers: ice.iceServers.map((server) => ({ ...server })),
    iceAdditionalHostAddresses: [...ice.additionalHostAddresses],
    iceUseIpv4: true,
    iceUseIpv6: false,
    iceUseTcp: false,
  };
  const range = ice.portRange;
  // werift rejects a range whose ends are equal; a one-port range cannot serve two viewers anyway.
  if (range !== undefined && range[0] < range[1]) config.icePortRange = [range[0], range[1]];
  if (ice.interfaceAddresses?.udp4 !== undefined)
    config.iceInterfaceAddresses = { udp4: ice.interfaceAddresses.udp4 };
  return config;
}

/** True when one of the servers is a STUN server (stun: or stuns:). */
function hasStunServer(ice: IceSettings): boolean {
  return ice.iceServers.some((server) => /^stuns?:/i.test(server.urls.trim()));
}

/**
 * werift 0.25.2 queries stun.l.google.com whenever no STUN server is configured, `iceServers: []`
 * included: each viewer would look up and contact a public host. Clearing each ICE transport's
 * STUN server before gathering (setLocalDescription) keeps it to host candidates, as configured.
 */
export function withoutDefaultStun(pc: RTCPeerConnection, ice: IceSettings): void {
  if (hasStunServer(ice)) return;
  for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
}
