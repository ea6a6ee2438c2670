import { parseSdpFragment, type SdpFragment } from "../webrtc/sdp-fragment";
import { statusText, WhipError } from "./errors";
import { whipRequest } from "./http";

export const SDPFRAG = "application/trickle-ice-sdpfrag";

/** The offer with `candidates` ("candidate:…") in its first m-section, and `a=ice-options:trickle`. */
export function offerWithCandidates(sdp: string, candidates: readonly string[]): string {
  const lines = sdp.split(/\r?\n/).filter((line) => line !== "" && !line.startsWith("a=candidate:"));
  const firstMedia = lines.findIndex((line) => line.startsWith("m="));
  if (firstMedia < 0) return sdp;
  const nextMedia = lines.findIndex((line, i) => i > firstMedia && line.startsWith("m="));
  const end = nextMedia < 0 ? lines.length : nextMedia;
  lines.splice(end, 0, ...candidates.map((candidate) => `a=${candidate}`));
  if (!lines.some((line) => line.startsWith("a=ice-options:")))
    lines.splice(firstMedia, 0, "a=ice-options:trickle");
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * An RFC 8840 fragment for a PATCH (RFC 9725 §4.3.1): the offer's ICE credentials, its first m-line
 * and mid (every track is bundled on it), the candidates, and end-of-candidates when gathering is over.
 */
export function trickleFragment(offerSdp: string, candidates: readonly string[], end: boolean): string {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offerSdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(offerSdp)?.[1];
  const mLine = /^m=.*$/m.exec(offerSdp)?.[0]?.trim();
  const section = mLine === undefined ? "" : offerSdp.slice(offerSdp.indexOf(mLine));
  const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
  const lines = [
    ...(ufrag !== undefined ? [`a=ice-ufrag:${ufrag}`] : []),
    ...(pwd !== undefined ? [`a=ice-pwd:${pwd}`] : []),
    ...(mLine !== undefined ? [mLine] : []),
    ...(mid !== undefined ? [`a=mid:${mid}`] : []),
    ...candidates.map((candidate) => `a=${candidate}`),
    ...(end ? ["a=end-of-candidates"] : []),
  ];
  return `${lines.join("\r\n")}\r\n`;
}

export interface TricklerOptions {
  readonly resource: URL;
  /** The 201's ETag, sent back in If-Match. */
  readonly etag: string | undefined;
  /** Authorization header for the resource (none when it is on another origin than the endpoint). */
  readonly headers: Readonly<Record<string, string>>;
  readonly offerSdp: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly signal: AbortSignal;
  /** The server's own candidates, when a PATCH's 200 carried some. */
  readonly onRemote: (fragment: SdpFragment) => void;
  /**
   * 405 or 501 (no PATCH at all), 422 (a server that does ICE restarts by PATCH but not trickle), 428
   * (it wants an If-Match and gave no ETag): nothing more is sent.
   */
  readonly onRefused: (why: string) => void;
  /** 404 (the resource is gone) or 412 (the ICE session changed): this publish cannot go on. */
  readonly onGone: (error: WhipError) => void;
  /** Any other failure: the candidates did not arrive, the publish may still connect without them. */
  readonly onFailed: (why: string) => void;
}

/**
 * Sends candidates gathered after the offer by PATCH (RFC 9725 §4.3.1), one request at a time: what
 * is gathered while a PATCH is on its way goes in the next one, end-of-candidates with the last.
 */
export class CandidateTrickler {
  private pending: string[] = [];
  private ended = false;
  private endSent = false;
  private sending = false;
  private stopped = false;
  private etag: string | undefined;
  /** Resolves when nothing is queued or on its way. */
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly opts: TricklerOptions) {
    this.etag = opts.etag;
  }

  add(candidate: string): void {
    if (this.stopped || this.ended) return;
    this.pending.push(candidate);
    this.flush();
  }

  /** Gathering is over: end-of-candidates goes with the next PATCH. */
  end(): void {
    if (this.stopped || this.ended) return;
    this.ended = true;
    this.flush();
  }

  stop(): void {
    this.stopped = true;
  }

  settled(): Promise<void> {
    return this.idle;
  }

  private flush(): void {
    if (this.sending || this.stopped) return;
    if (this.pending.length === 0 && (!this.ended || this.endSent)) return;
    this.sending = true;
    const candidates = this.pending;
    this.pending = [];
    const end = this.ended;
    this.idle = this.patch(candidates, end).finally(() => {
      this.sending = false;
      if (end) this.endSent = true;
      this.flush();
    });
  }

  private async patch(candidates: readonly string[], end: boolean): Promise<void> {
    const { opts } = this;
    let response: Awaited<ReturnType<typeof whipRequest>>;
    try {
      response = await whipRequest({
        method: "PATCH",
        url: opts.resource,
        headers: {
          "Content-Type": SDPFRAG,
          ...(this.etag !== undefined ? { "If-Match": this.etag } : {}),
          ...opts.headers,
        },
        body: trickleFragment(opts.offerSdp, candidates, end),
        timeoutMs: opts.timeoutMs,
        maxBodyBytes: opts.maxBodyBytes,
        signal: opts.signal,
      });
    } catch (error) {
      if (!this.stopped) opts.onFailed(error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.stopped) return;
    const status = response.status;
    const text = `PATCH: ${statusText(status, response.statusMessage)}`;
    if (status === 404 || status === 412) {
      this.stop();
      opts.onGone(
        new WhipError(
          "gone",
          status === 404
            ? `the server no longer knows this publish (${text})`
            : `the ICE session changed (${text})`,
          status,
        ),
      );
    } else if (
      status === 405 ||
      status === 501 ||
      status === 422 ||
      (status === 428 && this.etag === undefined)
    ) {
      this.stop();
      opts.onRefused(text);
    } else if (status < 200 || status >= 300) {
      opts.onFailed(text);
    } else {
      this.etag = response.headers.etag ?? this.etag;
      if (status === 200 && (response.headers["content-type"] ?? "").startsWith(SDPFRAG)) {
        try {
          opts.onRemote(parseSdpFragment(response.body));
        } catch (error) {
          opts.onFailed(`the PATCH answer cannot be read: ${error instanceof Error ? error.message : error}`);
        }
      }
    }
  }
}
