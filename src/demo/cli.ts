#!/usr/bin/env node
import { parseArgs } from "node:util";
import { DemoCamera } from "./demo-camera";

const USAGE = `Usage: node dist/src/demo/cli.js [--port 8554] [--host 127.0.0.1] [--path /demo]
         [--user u --password p] [--start-at random|start] [--verbose]
         [--require-rr ms] [--no-get-parameter]

Runs the demo camera: an RTSP server that loops a 640x360 H.264 test clip at 25 fps,
over TCP interleaved or UDP. With --user and --password, clients must use Digest auth.
Each session starts at a random point of the loop, mid-GOP like a real camera, unless
--start-at start. Like some NVRs, with --require-rr it ends a UDP session that sends no
RTCP receiver report for that many ms, and with --no-get-parameter it takes only OPTIONS
as a keepalive.`;

interface CliOptions {
  readonly port: number;
  readonly host: string;
  readonly path: string;
  readonly username?: string;
  readonly password?: string;
  readonly startAt: "random" | "start";
  readonly verbose: boolean;
  readonly requireReceiverReportsMs?: number;
  readonly supportGetParameter: boolean;
}

/** The options, or a message for stderr. */
export function parseCliArgs(argv: readonly string[]): CliOptions | string {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    return `${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`;
  }
  if (values.help) return USAGE;
  const port = Number(values.port ?? "8554");
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `bad --port ${values.port}\n\n${USAGE}`;
  if ((values.user === undefined) !== (values.password === undefined)) {
    return `--user and --password go together\n\n${USAGE}`;
  }
  const startAt = values["start-at"] ?? "random";
  if (startAt !== "random" && startAt !== "start") return `bad --start-at ${startAt}\n\n${USAGE}`;
  const requireRr = values["require-rr"];
  const requireReceiverReportsMs = requireRr === undefined ? undefined : Number(requireRr);
  if (
    requireReceiverReportsMs !== undefined &&
    !(Number.isFinite(requireReceiverReportsMs) && requireReceiverReportsMs > 0)
  ) {
    return `bad --require-rr ${requireRr}\n\n${USAGE}`;
  }
  return {
    port,
    host: values.host ?? "127.0.0.1",
    path: values.path ?? "/demo",
    username: values.user,
    password: values.password,
    startAt,
    verbose: values.verbose ?? false,
    requireReceiverReportsMs,
    supportGetParameter: !(values["no-get-parameter"] ?? false),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      port: { type: "string" },
      host: { type: "string" },
      path: { type: "string" },
      user: { type: "string" },
      password: { type: "string" },
      "start-at": { type: "string" },
      verbose: { type: "boolean", short: "v" },
      "require-rr": { type: "string" },
      "no-get-parameter": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
}

function withCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = username;
  parsed.password = password;
  return parsed.href;
}

async function main(): Promise<number> {
  const options = parseCliArgs(process.argv.slice(2));
  if (typeof options === "string") {
    const help = options.startsWith("Usage");
    (help ? process.stdout : process.stderr).write(`${options}\n`);
    return help ? 0 : 2;
  }
  const camera = new DemoCamera({
    ...options,
    log: options.verbose
      ? (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`)
      : undefined,
  });
  const { url } = await camera.start();
  const { username, password } = options;
  process.stdout.write(`demo camera: ${url}\n`);
  if (username !== undefined && password !== undefined) {
    process.stdout.write(`with credentials: ${withCredentials(url, username, password)}\n`);
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await camera.close();
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`demo camera: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
