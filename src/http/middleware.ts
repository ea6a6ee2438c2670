import type { IncomingMessage, ServerResponse } from "node:http";

export type NextFunction = (err?: unknown) => void;
/** Express-style middleware, as Node-RED's httpNodeMiddleware setting holds it. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

/**
 * Node-RED's `httpNodeMiddleware` setting (a function or an array of them) as a list. Node-RED runs it
 * only in front of http-in routes, so every webrtc-out route runs it too.
 */
export function middlewareFrom(setting: unknown): RequestHandler[] {
  const candidates = Array.isArray(setting) ? setting : [setting];
  return candidates.filter((handler): handler is RequestHandler => typeof handler === "function");
}

/**
 * Runs `handlers` in order, Express style, then `done()`. A handler that answers the request itself and
 * never calls next() ends the chain; one that calls next(err) ends it with `failed(err)`.
 */
export function runMiddleware(
  handlers: readonly RequestHandler[],
  req: IncomingMessage,
  res: ServerResponse,
  done: () => void,
  failed: (err: unknown) => void,
): void {
  const step = (index: number): void => {
    const handler = handlers[index];
    if (!handler) {
      done();
      return;
    }
    let called = false;
    try {
      handler(req, res, (err?: unknown) => {
        if (called) return;
        called = true;
        if (err !== undefined && err !== null && err !== "route" && err !== "router") failed(err);
        else step(index + 1);
      });
    } catch (err) {
      if (!called) {
        called = true;
        failed(err);
      }
    }
  };
  step(0);
}
