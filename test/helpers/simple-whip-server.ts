import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { freePort } from "./tools";

// meetecho's WHIP front for Janus (`simple-whip-server`, Debian's 0.0~git20230201), unpacked by
// test/setup-system.sh into .test-artifacts/simple-whip-server (its Debian package depends on Debian's
// nodejs, which conflicts with the Node here). Its two files run unchanged on the Node running the
// tests, with a config.js of the test's beside them; express, cors, debug and body-parser come from
// the project's node_modules (Node-RED's own), `websocket`, `async` and `colors/safe` from the small
// stand-ins in whip-server-modules (Node 22's own WebSocket under the first).
//
// What it does, as packaged: POST /whip/create {id, room, token} makes an endpoint
// /whip/endpoint/<id> publishing into a VideoRoom room; a wrong or missing token gets 403; 201 with a
// relative Location /whip/resource/<id>; PATCH there is accepted (204) but its candidates never reach
// Janus; a publisher gone without DELETE keeps its endpoint busy (403) until Janus tells it the
// PeerConnection is closed.

const REPO = path.resolve(__dirname, "../../..");
export const WHIP_SERVER_SOURCES = path.join(
  REPO,
  ".test-artifacts/simple-whip-server/usr/share/simple-whip-server/src",
);
const SHIMS = path.join(__dirname, "whip-server-modules");
const START_TIMEOUT_MS = 15_000;

/** The project's Node 22 (npm's `node` package; its WebSocket is what the `websocket` stand-in needs). */
function projectNode(): string {
  const node = path.join(REPO, "node_modules/.bin/node");
  return existsSync(node) ? node : process.execPath;
}

export class MissingWhipServerError extends Error {
  constructor() {
    super(`simple-whip-server is not unpacked in ${WHIP_SERVER_SOURCES}: run test/setup-system.sh`);
    this.name = "MissingWhipServerError";
  }
}

export interface WhipEndpoint {
  readonly id: string;
  readonly room: number;
  readonly token?: string;
}

export interface SimpleWhipServer {
  /** http://127.0.0.1:port */
  readonly base: string;
  readonly logFile: string;
  /** The WHIP URL of an endpoint: http://127.0.0.1:port/whip/endpoint/<id>. */
  endpointUrl(id: string): string;
  /** Makes an endpoint publishing into `room` (its non-standard /whip/create). */
  createEndpoint(endpoint: WhipEndpoint): Promise<void>;
  /** Deletes an endpoint (frees one a vanished publisher left busy). */
  deleteEndpoint(id: string, token?: string): Promise<void>;
  /** How many times it has connected to Janus so far (from its log). */
  connectionsToJanus(): number;
  /** Until it has connected to Janus more than `moreThan` times (a POST gets 503 before). */
  waitForJanus(moreThan: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function configJs(janusWsUrl: string, port: number): string {
  return `module.exports = ${JSON.stringify(
    {
      janus: { address: janusWsUrl },
      port,
      rest: "/whip",
      allowTrickle: true,
      strictETags: false,
      iceServers: [],
    },
    null,
    2,
  )};\n`;
}

/**
 * Starts simple-whip-server in front of Janus's WebSocket API; resolves once it has connected to Janus
 * and its REST API answers.
 * @throws MissingWhipServerError when test/setup-system.sh has not unpacked it
 */
export async function startSimpleWhipServer(opts: {
  dir: string;
  janusWsUrl: string;
}): Promise<SimpleWhipServer> {
  if (!existsSync(path.join(WHIP_SERVER_SOURCES, "server.js"))) throw new MissingWhipServerError();
  rmSync(opts.dir, { recursive: true, force: true });
  const src = path.join(opts.dir, "src");
  mkdirSync(src, { recursive: true });
  for (const file of ["server.js", "whip-janus.js"])
    copyFileSync(path.join(WHIP_SERVER_SOURCES, file), path.join(src, file));
  // Beside its code, so that they come before whatever the folders above hold (this one sits in the
  // checkout, whose node_modules has a `colors` of its own).
  mkdirSync(path.join(opts.dir, "node_modules"));
  for (const name of ["websocket", "async", "colors"])
    symlinkSync(path.join(SHIMS, name), path.join(opts.dir, "node_modules", name));
  const port = await freePort();
  writeFileSync(path.join(src, "config.js"), configJs(opts.janusWsUrl, port));
  const logFile = path.join(opts.dir, "whip-server.log");
  const log = openSync(logFile, "w");
  const child: ChildProcess = spawn(projectNode(), [path.join(src, "server.js")], {
    // It serves ./web statically: an empty folder of its own.
    cwd: opts.dir,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_PATH: path.join(REPO, "node_modules"),
      DEBUG: "whip:*",
      DEBUG_COLORS: "false",
    },
    stdio: ["ignore", log, log],
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(new Error(`simple-whip-server could not start (${error.message})`)),
    );
    child.once("exit", (code, signal) =>
      reject(new Error(`simple-whip-server exited (${code ?? signal}); see ${logFile}`)),
    );
  });
  exited.catch(() => {});
  const base = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await gone;
    clearTimeout(timer);
  };

  const request = async (method: string, url: string, body?: object, token?: string): Promise<Response> =>
    fetch(url, {
      method,
      headers: {
        ...(body ? { "Content-Type": "application/json" } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  // Its REST API listens only once it has connected to Janus.
  const healthy = async (timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await request("GET", `${base}/whip/healthcheck`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`simple-whip-server did not answer in ${timeoutMs} ms; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    await Promise.race([exited, healthy(START_TIMEOUT_MS)]);
  } catch (error) {
    await stop();
    throw error;
  }

  // Nothing in its API tells whether it is connected to Janus (a POST gets 503 when not, but a POST is
  // a publish); its log does.
  const connectionsToJanus = (): number =>
    (readFileSync(logFile, "utf8").match(/Connected to Janus/g) ?? []).length;

  return {
    base,
    logFile,
    endpointUrl: (id) => `${base}/whip/endpoint/${encodeURIComponent(id)}`,
    async createEndpoint(endpoint) {
      const res = await request("POST", `${base}/whip/create`, {
        id: endpoint.id,
        room: endpoint.room,
        ...(endpoint.token !== undefined ? { token: endpoint.token } : {}),
      });
      if (res.status !== 200)
        throw new Error(`/whip/create ${endpoint.id}: ${res.status} ${await res.text()}`);
    },
    async deleteEndpoint(id, token) {
      const res = await request(
        "DELETE",
        `${base}/whip/endpoint/${encodeURIComponent(id)}`,
        undefined,
        token,
      );
      if (res.status !== 200 && res.status !== 404)
        throw new Error(`DELETE endpoint ${id}: ${res.status} ${await res.text()}`);
    },
    connectionsToJanus,
    async waitForJanus(moreThan, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (connectionsToJanus() <= moreThan) {
        if (Date.now() > deadline)
          throw new Error(`simple-whip-server did not reconnect to Janus in ${timeoutMs} ms; see ${logFile}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    stop,
  };
}
