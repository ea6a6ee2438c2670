// What a datagram on a WebRTC 5-tuple is, from its first two bytes: the light receiver demultiplexes
// by it, and the send trace picks the server's RTP out of everything it sends.

/** RFC 7983 §7: a first byte of 128–191 is RTP or RTCP (20–63 is DTLS, 0–3 STUN). */
export function isRtpOrRtcp(datagram: Buffer): boolean {
  const first = datagram[0];
  return first !== undefined && first >= 128 && first <= 191;
}

/** RFC 5761 §4: of those, RTCP packet types 192–223 sit where a marker bit plus payload type 64–95 would. */
export function isRtcp(datagram: Buffer): boolean {
  const second = datagram[1];
  return second !== undefined && second >= 192 && second <= 223;
}
