import { type MediaDescription, parse, type SessionDescription } from "sdp-transform";
import { BadSdpError } from "./errors";

/** One codec entry of an offered m-line: rtpmap, fmtp and rtcp-fb lines of one payload type. */
export interface OfferedCodec {
  readonly payloadType: number;
  /** As written in the rtpmap (H264, opus, ...). */
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** The fmtp parameters exactly as written ("" when there is none). */
  readonly fmtp: string;
  /** fmtp parameters by lower-cased key. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly rtcpFeedback: readonly { type: string; parameter?: string }[];
}

export interface OfferedMedia {
  readonly kind: "video" | "audio";
  readonly mid: string | undefined;
  readonly codecs: readonly OfferedCodec[];
}

export interface ParsedOffer {
  readonly session: SessionDescription;
  /** The first accepted (port ≠ 0) m-line of each kind the browser can receive on. */
  readonly video: OfferedMedia | undefined;
  readonly audio: OfferedMedia | undefined;
}

const MAX_OFFER_LENGTH = 256 * 1024;

/** Parses "a=b;c=d" (keys lower-cased, spaces around entries ignored). */
export function fmtpParameters(config: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of config.split(";")) {
    const at = entry.indexOf("=");
    if (at <= 0) continue;
    out[entry.slice(0, at).trim().toLowerCase()] = entry.slice(at + 1).trim();
  }
  return out;
}

/**
 * sdp-transform turns every field that reads as a whole number into a number, whatever its type says:
 * "a=fmtp:63 111" gives config 111, "a=rtpmap:96 264/90000" codec 264. Text fields are made text again.
 */
function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

function wholeNumber(value: unknown): number | undefined {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isSafeInteger(n) ? n : undefined;
}

function offeredCodecs(media: MediaDescription): OfferedCodec[] {
  return media.rtp.map((rtp) => {
    const fmtp = text(media.fmtp.find((f) => String(f.payload) === String(rtp.payload))?.config);
    const rtcpFeedback = (media.rtcpFb ?? [])
      .filter((fb) => String(fb.payload) === String(rtp.payload) || fb.payload === "*")
      .map((fb) =>
        fb.subtype === undefined
          ? { type: text(fb.type) }
          : { type: text(fb.type), parameter: text(fb.subtype) },
      );
    const channels = wholeNumber(rtp.encoding);
    return {
      payloadType: rtp.payload,
      name: text(rtp.codec),
      clockRate: wholeNumber(rtp.rate) ?? 0,
      ...(channels !== undefined ? { channels } : {}),
      fmtp,
      parameters: fmtpParameters(fmtp),
      rtcpFeedback,
    };
  });
}

function receives(media: MediaDescription): boolean {
  const direction = media.direction ?? "sendrecv";
  return media.port !== 0 && (direction === "recvonly" || direction === "sendrecv");
}

function firstMedia(session: SessionDescription, kind: "video" | "audio"): OfferedMedia | undefined {
  const media = session.media.find((m) => m.type === kind && receives(m));
  if (media === undefined) return undefined;
  return { kind, mid: media.mid === undefined ? undefined : String(media.mid), codecs: offeredCodecs(media) };
}

/**
 * Checks that `sdp` looks like a WebRTC offer (ICE credentials, a DTLS fingerprint, audio or video)
 * and extracts what codec matching needs.
 * @throws BadSdpError naming the first thing missing.
 */
export function parseOffer(sdp: unknown): ParsedOffer {
  if (typeof sdp !== "string" || sdp.trim() === "") throw new BadSdpError("the offer is empty");
  if (sdp.length > MAX_OFFER_LENGTH)
    throw new BadSdpError(`the offer is longer than ${MAX_OFFER_LENGTH} characters`);
  if (!/^v=0\r?\n/.test(sdp.trimStart())) throw new BadSdpError('an SDP starts with "v=0"');
  let session: SessionDescription;
  try {
    session = parse(sdp);
  } catch (error) {
    throw new BadSdpError(`it does not parse (${error instanceof Error ? error.message : String(error)})`);
  }
  const media = session.media.filter((m) => (m.type === "video" || m.type === "audio") && m.port !== 0);
  if (media.length === 0) throw new BadSdpError("it has no audio or video m-line");
  for (const m of media) {
    const what = `m-line ${m.mid === undefined ? m.type : `${m.type} (mid ${m.mid})`}`;
    if ((m.iceUfrag ?? session.iceUfrag) === undefined || (m.icePwd ?? session.icePwd) === undefined) {
      throw new BadSdpError(`the ${what} has no ice-ufrag/ice-pwd`);
    }
    if ((m.fingerprint ?? session.fingerprint) === undefined)
      throw new BadSdpError(`the ${what} has no DTLS fingerprint`);
    if (!/SAVPF/i.test(m.protocol))
      throw new BadSdpError(`the ${what} is not UDP/TLS/RTP/SAVPF but ${m.protocol}`);
  }
  return { session, video: firstMedia(session, "video"), audio: firstMedia(session, "audio") };
}
