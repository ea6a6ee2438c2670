import type { IncomingMessage, ServerResponse } from "node:http";
import { applyCors, type CorsOptions, isCorsPreflight } from "./cors";
import { sendError } from "./http-error";
import type { RequestHandler } from "./middleware";
import { runMiddleware } from "./middleware";

/**
 * Node-RED's httpNodeCors and httpNodeMiddleware as this package applies them to its routes (Node-RED
 * itself applies them only to http-in routes; httpNodeAuth it applies to all of RED.httpNode).
 */
export interface HttpAccess {
  readonly cors?: CorsOptions | undefined;
  readonly middleware?: readonly RequestHandler[] | undefined;
  /**
   * Node-RED's httpNodeAuth is set. Node-RED runs it in front of RED.httpNode but lets every OPTIONS
   * request through unchecked, so an OPTIONS request here may come from anyone.
   */
  readonly nodeAuth?: boolean | undefined;
}

/**
 * Runs `route` once `access` lets the request through: httpNodeMiddleware first, then CORS. With
 * httpNodeCors set, a CORS preflight is answered by CORS alone: it carries no credentials, so the
 * middleware (often authentication) is not for it. Every other request, preflight-shaped or not, goes
 * through the middleware. Middleware that fails answers with a JSON error.
 */
export function withAccess(
  access: HttpAccess,
  req: IncomingMessage,
  res: ServerResponse,
  route: () => void,
): void {
  if (access.cors !== undefined && isCorsPreflight(req)) {
    applyCors(access.cors, req, res, (answered) => {
      if (!answered) route();
    });
    return;
  }
  runMiddleware(
    access.middleware ?? [],
    req,
    res,
    () =>
      applyCors(access.cors, req, res, (answered) => {
        if (!answered) route();
      }),
    (err) => sendError(res, err),
  );
}
