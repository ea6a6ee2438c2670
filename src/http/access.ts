import type { IncomingMessage, ServerResponse } from "node:http";
import { applyCors, type CorsOptions } from "./cors";
import { sendError } from "./http-error";
import { runMiddleware } from "./middleware";
import type { RequestHandler } from "./router";

/**
 * Node-RED's httpNodeCors and httpNodeMiddleware as this package applies them to its routes (Node-RED
 * itself applies them only to http-in routes; httpNodeAuth it applies to all of RED.httpNode).
 */
export interface HttpAccess {
  readonly cors?: CorsOptions | undefined;
  readonly middleware?: readonly RequestHandler[] | undefined;
}

/**
 * Runs `route` once `access` lets the request through: httpNodeMiddleware first, then CORS. A CORS
 * preflight is answered by CORS alone: it carries no credentials, so the middleware (often
 * authentication) is not for it. Middleware that fails answers with a JSON error.
 */
export function withAccess(
  access: HttpAccess,
  req: IncomingMessage,
  res: ServerResponse,
  route: () => void,
): void {
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  if (preflight) {
    applyCors(access.cors, req, res, (answered) => {
      if (!answered) route();
    });
    return;
  }
  runMiddleware(
    access.middleware ?? [],
    req,
    res,
    () => applyCors(access.cors, req, res, route),
    (err) => sendError(res, err),
  );
}
