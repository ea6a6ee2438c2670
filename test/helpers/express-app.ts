import http, {
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { HttpNodeApp, RequestHandler } from "../../src/http/router";

/** An Express app as Node-RED's RED.httpNode is one (express has no types installed here). */
export type ExpressApp = HttpNodeApp &
  RequestListener & {
    get(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
    use(path: string | RequestHandler, handler?: unknown): unknown;
  };

const express = require("express") as () => ExpressApp;

export function expressApp(): ExpressApp {
  return express();
}

/** The number of handlers mounted on an Express 4 app, whatever they are: a router mounts once. */
export function mountedLayers(app: ExpressApp): number {
  const router = (app as unknown as { _router?: { stack: unknown[] } })._router;
  return router ? router.stack.length : 0;
}

const listening = new Set<Server>();

/**
 * Serves `app` on 127.0.0.1 at a free port (supertest alone would listen on every interface). Close
 * them all with closeLocalServers() after each test.
 */
export async function listenLocal(app: RequestListener): Promise<Server> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  listening.add(server);
  return server;
}

export async function closeLocalServers(): Promise<void> {
  const servers = [...listening];
  listening.clear();
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
}
