import { randomInt } from "node:crypto";
import { parse as parseSdp } from "sdp-transform";

// The light receiver's answer mode, for servers that make the offer (Janus's streaming plugin offers
// on `watch`, the viewer answers): what the receiver needs from the server's offer, and the answer a
// receive-only Chromium tab would send back, video only, H.264 only.

const LOOPBACK = /^127\.\d+\.\d+\.\d+$/;

/** What the receiver takes from a server's offer. */
export interface OfferParameters {
  readonly iceLite: boolean;
  readonly usernameFragment: string;
  readonly password: string;
  readonly fingerprints: readonly { algorithm: string; value: string }[];
  /** The offerer's a=setup (Janus: actpass). */
  readonly setup: string;
  /** The video m-line's mid (the answer must echo it, and its BUNDLE group). */
  readonly mid: string;
  /** The H.264 payload type the answer accepts: the first one offered with packetization-mode=1. */
  readonly payloadType: number;
  /** Its a=fmtp, as offered ("" for none). */
  readonly fmtp: string;
  /** The offer's UDP host candidates of component 1 on 127.0.0.0/8, as SDP attribute values. */
  readonly candidates: readonly string[];
}

/** The receiver's side of the answer. */
export interface AnswerLocal {
  readonly usernameFragment: string;
  readonly password: string;
  readonly fingerprint: { readonly algorithm: string; readonly value: string };
  /** Its one host candidate, as an SDP attribute value (without "candidate:"), and where it is. */
  readonly candidate: string;
  readonly host: string;
  readonly port: number;
}

/**
 * @throws Error when the offer has no sending video m-line with H.264 (packetization-mode 1), no ICE
 * credentials, no fingerprint, or no UDP candidate on 127.0.0.0/8 (half trickle: the offer brings them)
 */
export function parseOffer(sdp: string): OfferParameters {
  const session = parseSdp(sdp);
  const video = session.media.find((m) => m.type === "video" && m.port !== 0);
  if (video === undefined) throw new Error("the offer has no video");
  const usernameFragment = video.iceUfrag ?? session.iceUfrag;
  const password = video.icePwd ?? session.icePwd;
  if (usernameFragment === undefined || password === undefined)
    throw new Error("the offer has no ICE credentials");
  const fingerprint = video.fingerprint ?? session.fingerprint;
  if (fingerprint === undefined) throw new Error("the offer has no DTLS fingerprint");
  if (video.mid === undefined) throw new Error("the offer's video has no mid");
  const fmtps = new Map((video.fmtp ?? []).map((f) => [f.payload, f.config]));
  const h264 = (video.rtp ?? []).filter((r) => r.codec.toUpperCase() === "H264" && r.rate === 90_000);
  const chosen =
    h264.find((r) => /(^|;)\s*packetization-mode=1\b/.test(fmtps.get(r.payload) ?? "")) ?? undefined;
  if (chosen === undefined) throw new Error("the offer has no H.264 with packetization-mode=1");
  const candidates = (video.candidates ?? [])
    .filter(
      (c) =>
        c.component === 1 && c.transport.toLowerCase() === "udp" && LOOPBACK.test(c.ip) && c.type === "host",
    )
    .map(
      (c) => `${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.ip} ${c.port} typ ${c.type}`,
    );
  if (candidates.length === 0) throw new Error("the offer has no 127.0.0.0/8 UDP host candidate");
  return {
    iceLite: session.icelite === "ice-lite",
    usernameFragment,
    password,
    fingerprints: [{ algorithm: fingerprint.type, value: fingerprint.hash }],
    setup: video.setup ?? "actpass",
    mid: String(video.mid),
    payloadType: chosen.payload,
    fmtp: fmtps.get(chosen.payload) ?? "",
    candidates,
  };
}

/**
 * The answer: receive-only video on the offered H.264 payload type (no RTX, no header extensions),
 * the same mid, rtcp-mux, and DTLS setup:active (the receiver is the DTLS client, as Chromium answers
 * an actpass offer); its one candidate and end-of-candidates (no trickle).
 * @throws Error when the offer's setup leaves the answerer no active role (setup:active offers)
 */
export function buildAnswer(offer: OfferParameters, local: AnswerLocal): string {
  if (offer.setup !== "actpass" && offer.setup !== "passive")
    throw new Error(`the offer's a=setup:${offer.setup} leaves no active role to answer with`);
  const pt = offer.payloadType;
  const lines = [
    "v=0",
    `o=- ${randomInt(1, 2 ** 47)} 2 IN IP4 ${local.host}`,
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${offer.mid}`,
    "a=msid-semantic: WMS",
    `m=video ${local.port} UDP/TLS/RTP/SAVPF ${pt}`,
    `c=IN IP4 ${local.host}`,
    "a=rtcp:9 IN IP4 0.0.0.0",
    `a=candidate:${local.candidate}`,
    "a=end-of-candidates",
    `a=ice-ufrag:${local.usernameFragment}`,
    `a=ice-pwd:${local.password}`,
    `a=fingerprint:${local.fingerprint.algorithm} ${local.fingerprint.value}`,
    "a=setup:active",
    `a=mid:${offer.mid}`,
    "a=recvonly",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    `a=rtpmap:${pt} H264/90000`,
    `a=rtcp-fb:${pt} ccm fir`,
    `a=rtcp-fb:${pt} nack`,
    `a=rtcp-fb:${pt} nack pli`,
  ];
  // As a browser answers: the offer's format parameters, without the offerer's parameter sets.
  const fmtp = offer.fmtp
    .split(";")
    .map((p) => p.trim())
    .filter((p) => p !== "" && !p.startsWith("sprop-parameter-sets="))
    .join(";");
  if (fmtp !== "") lines.push(`a=fmtp:${pt} ${fmtp}`);
  return `${lines.join("\r\n")}\r\n`;
}
