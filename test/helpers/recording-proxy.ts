import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// An HTTP proxy on 127.0.0.1 in front of one origin that keeps every exchange it carried (method,
// path, status and the request's body), as a reverse proxy's access log would: for seeing what a
// client sent a real server and what that server answered.

export interface RecordedExchange {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: string;
}

export interface RecordingProxy {
  /** This proxy's URL for `path` of the target. */
  url(path: string): string;
  readonly exchanges: readonly RecordedExchange[];
  stop(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const origin = new URL(target);
  const exchanges: RecordedExchange[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const upstream = httpRequest(
        {
          host: origin.hostname,
          port: origin.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: origin.host },
          agent: false,
        },
        (answer) => {
          exchanges.push({
            method: req.method ?? "",
            path: req.url ?? "",
            status: answer.statusCode ?? 0,
            body: body.toString("utf8"),
          });
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    exchanges,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
