import { randomBytes } from "node:crypto";

// A small client of Janus's HTTP API (its REST transport), as much as the bench's viewers need:
// a session with one handle on the streaming plugin, `watch` (Janus offers), `start` with the
// viewer's answer, keepalives, and the session's end. https://janus.conf.meetecho.com/docs/rest.html

/** Janus drops a session it has not heard of for session_timeout (60 s): janus.js sends one every 25 s. */
export const KEEPALIVE_INTERVAL_MS = 25_000;
/** A long poll of Janus's HTTP transport returns a keepalive after 30 s without events. */
const LONG_POLL_TIMEOUT_MS = 35_000;

interface JanusReply {
  readonly janus: string;
  readonly data?: { readonly id?: number };
  readonly error?: { readonly code?: number; readonly reason?: string };
  readonly plugindata?: { readonly data?: Record<string, unknown> };
  readonly jsep?: { readonly type?: string; readonly sdp?: string };
}

const transaction = (): string => randomBytes(9).toString("base64url");

export async function post(url: string, body: object): Promise<JanusReply> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, transaction: transaction() }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 200)}`);
  const reply = JSON.parse(text) as JanusReply;
  if (reply.janus === "error")
    throw new Error(`POST ${url}: Janus error ${reply.error?.code}: ${reply.error?.reason}`);
  return reply;
}

/** Creates a session; its id. */
export async function createSession(base: string): Promise<number> {
  const id = (await post(base, { janus: "create" })).data?.id;
  if (id === undefined) throw new Error("Janus created no session");
  return id;
}

/** Attaches a plugin to the session; the handle's id. */
export async function attach(base: string, session: number, plugin: string): Promise<number> {
  const id = (await post(`${base}/${session}`, { janus: "attach", plugin })).data?.id;
  if (id === undefined) throw new Error(`Janus attached no handle for ${plugin}`);
  return id;
}

/** A synchronous plugin request (e.g. the streaming plugin's `info`); the plugin's data. */
export async function pluginRequest(
  base: string,
  session: number,
  handle: number,
  body: object,
): Promise<Record<string, unknown>> {
  const reply = await post(`${base}/${session}/${handle}`, { janus: "message", body });
  return reply.plugindata?.data ?? {};
}

/** An asynchronous plugin request (answered "ack"; its result comes as an event), with an optional JSEP. */
export async function pluginMessage(
  base: string,
  session: number,
  handle: number,
  body: object,
  jsep?: { type: string; sdp: string; trickle?: boolean },
): Promise<void> {
  const reply = await post(`${base}/${session}/${handle}`, {
    janus: "message",
    body,
    ...(jsep ? { jsep } : {}),
  });
  if (reply.janus !== "ack" && reply.janus !== "success")
    throw new Error(`Janus answered ${reply.janus} to ${JSON.stringify(body)}`);
}

/** Long-polls the session's events until one carries a JSEP offer; its SDP. A plugin error ends it. */
export async function nextOffer(base: string, session: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/${session}?maxev=10`, {
      signal: AbortSignal.timeout(LONG_POLL_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`GET ${base}/${session}: ${res.status}`);
    const events = (await res.json()) as JanusReply | JanusReply[];
    for (const event of Array.isArray(events) ? events : [events]) {
      const data = event.plugindata?.data;
      if (data?.error !== undefined) throw new Error(`Janus streaming plugin: ${String(data.error)}`);
      if (event.jsep?.type === "offer" && typeof event.jsep.sdp === "string") return event.jsep.sdp;
    }
  }
  throw new Error(`no offer from Janus within ${timeoutMs} ms`);
}

/** One viewer's session on Janus's streaming plugin, kept alive until end(). */
export class JanusWatch {
  private keepalive: NodeJS.Timeout | undefined;

  private constructor(
    private readonly base: string,
    readonly session: number,
    readonly handle: number,
  ) {
    this.keepalive = setInterval(() => {
      post(`${base}/${session}`, { janus: "keepalive" }).catch(() => {});
    }, KEEPALIVE_INTERVAL_MS);
    this.keepalive.unref();
  }

  /** A session and a streaming-plugin handle on Janus at `base` (http://host:port/janus). */
  static async open(base: string): Promise<JanusWatch> {
    const session = await createSession(base);
    try {
      return new JanusWatch(base, session, await attach(base, session, "janus.plugin.streaming"));
    } catch (error) {
      await post(`${base}/${session}`, { janus: "destroy" }).catch(() => {});
      throw error;
    }
  }

  /** `watch` the mountpoint; Janus's offer SDP. */
  async watch(mountpoint: number, timeoutMs = 20_000): Promise<string> {
    await pluginMessage(this.base, this.session, this.handle, { request: "watch", id: mountpoint });
    return nextOffer(this.base, this.session, timeoutMs);
  }

  /** `start` with the viewer's answer. */
  async start(answerSdp: string): Promise<void> {
    await pluginMessage(
      this.base,
      this.session,
      this.handle,
      { request: "start" },
      // Janus takes a JSEP without `trickle: false` as trickling and waits for candidates to come.
      { type: "answer", sdp: answerSdp, trickle: false },
    );
  }

  /** Ends the session (its handle hangs up); a Janus already gone is not an error here. */
  async end(): Promise<void> {
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    await post(`${this.base}/${this.session}`, { janus: "destroy" }).catch(() => {});
  }
}
