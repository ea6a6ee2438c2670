import { parseTransportList } from "../rtsp/headers";

/** A SETUP's transport as the demo camera serves it: unicast RTP over TCP interleaved or UDP. */
export type TransportChoice =
  | { readonly kind: "tcp"; readonly interleaved?: readonly [rtp: number, rtcp: number] }
  | { readonly kind: "udp"; readonly clientPorts: readonly [rtp: number, rtcp: number] };

/** The first transport of the client's list that the demo camera can serve, or undefined. */
export function chooseTransport(header: string | undefined): TransportChoice | undefined {
  if (header === undefined) return undefined;
  for (const spec of parseTransportList(header)) {
    if (!spec.unicast || (spec.mode !== undefined && spec.mode.toUpperCase() !== "PLAY")) continue;
    if (spec.protocol === "RTP/AVP/TCP") {
      return spec.interleaved ? { kind: "tcp", interleaved: spec.interleaved } : { kind: "tcp" };
    }
    // Port 0 is no port a client can receive on.
    if (spec.protocol === "RTP/AVP" && spec.clientPort && spec.clientPort[0] > 0 && spec.clientPort[1] > 0) {
      return { kind: "udp", clientPorts: spec.clientPort };
    }
  }
  return undefined;
}
