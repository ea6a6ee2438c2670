/** The Transport header of a SETUP request (RFC 2326 12.39), as far as a unicast RTP server needs it. */

export type TransportChoice =
  | { readonly kind: "tcp"; readonly interleaved?: readonly [rtp: number, rtcp: number] }
  | { readonly kind: "udp"; readonly clientPorts: readonly [rtp: number, rtcp: number] };

/** "a" or "a-b" within [min, max]; a lone "a" means the pair a, a+1. */
function parseRange(value: string, min: number, max: number): readonly [number, number] | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const second = match[2] === undefined ? first + 1 : Number(match[2]);
  if (first < min || first > max || second < min || second > max) return undefined;
  return [first, second];
}

function parseSpec(spec: string): TransportChoice | undefined {
  const [protocol = "", ...params] = spec.split(";").map((part) => part.trim());
  const upper = protocol.toUpperCase();
  const tcp = upper === "RTP/AVP/TCP";
  if (!tcp && upper !== "RTP/AVP" && upper !== "RTP/AVP/UDP") return undefined;
  let interleaved: readonly [number, number] | undefined;
  let clientPorts: readonly [number, number] | undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? "" : param.slice(eq + 1).replace(/"/g, "");
    if (name === "multicast") return undefined;
    if (name === "mode" && value.trim().toUpperCase() !== "PLAY") return undefined;
    if (name === "interleaved") {
      interleaved = parseRange(value, 0, 255);
      if (!interleaved) return undefined;
    }
    if (name === "client_port") {
      clientPorts = parseRange(value, 1, 65535);
      if (!clientPorts) return undefined;
    }
  }
  if (tcp) return interleaved ? { kind: "tcp", interleaved } : { kind: "tcp" };
  return clientPorts ? { kind: "udp", clientPorts } : undefined;
}

/** The first transport of the client's list that the demo camera can serve, or undefined. */
export function chooseTransport(header: string | undefined): TransportChoice | undefined {
  if (header === undefined) return undefined;
  for (const spec of header.split(",")) {
    const choice = parseSpec(spec);
    if (choice) return choice;
  }
  return undefined;
}
