import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { WhipError } from "./errors";

export interface WhipRequest {
  readonly method: "POST" | "PATCH" | "DELETE";
  readonly url: URL;
  readonly headers: OutgoingHttpHeaders;
  readonly body?: string;
  /** The whole exchange, connect to last byte of the body. */
  readonly timeoutMs: number;
  /** Longer bodies end the request with "body-too-large". */
  readonly maxBodyBytes: number;
  /** Aborts the request (close()). */
  readonly signal?: AbortSignal;
}

export interface WhipResponse {
  readonly status: number;
  readonly statusMessage: string;
  /** Header values as Node gives them: lower-case names; repeated Link headers joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

function headerValues(message: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function describeCause(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One HTTP exchange with the WHIP server (POST, PATCH, DELETE) on a connection of its own (no keep-alive pool: nothing is
 * left open when the publisher closes). Rejects with a WhipError: "unreachable", "timeout",
 * "body-too-large" or "aborted".
 */
export function whipRequest(req: WhipRequest): Promise<WhipResponse> {
  return new Promise((resolve, reject) => {
    const { url } = req;
    const body = req.body === undefined ? undefined : Buffer.from(req.body, "utf8");
    const headers: OutgoingHttpHeaders = {
      ...req.headers,
      ...(body !== undefined ? { "Content-Length": String(body.length) } : {}),
    };
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (error: WhipError | undefined, response?: WhipResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) {
        request.destroy();
        reject(error);
      } else resolve(response as WhipResponse);
    };
    const onAbort = (): void => finish(new WhipError("aborted", `${req.method} aborted`));
    const request = send(url, { method: req.method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBodyBytes) {
          finish(
            new WhipError(
              "body-too-large",
              `the ${req.method} response's body is larger than ${Math.round(req.maxBodyBytes / 1024)} KiB`,
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      response.on("end", () =>
        finish(undefined, {
          status: response.statusCode ?? 0,
          statusMessage: response.statusMessage ?? "",
          headers: headerValues(response),
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.on("error", (error) =>
        finish(new WhipError("unreachable", `${req.method} failed: ${describeCause(error)}`)),
      );
    });
    const timer = setTimeout(
      () =>
        finish(
          new WhipError("timeout", `no answer to ${req.method} within ${Math.round(req.timeoutMs / 1000)} s`),
        ),
      req.timeoutMs,
    );
    request.on("error", (error) =>
      finish(new WhipError("unreachable", `cannot reach ${url.host}: ${describeCause(error)}`)),
    );
    if (req.signal?.aborted) {
      onAbort();
      return;
    }
    req.signal?.addEventListener("abort", onAbort);
    request.end(body);
  });
}
