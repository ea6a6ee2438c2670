import { parseRtspUrl } from "../rtsp/url";
import { DemoCamera } from "./demo-camera";

/** The URL the examples read out of the box: the bundled demo camera, which Node-RED runs itself. */
export const DEMO_CAMERA_URL = "rtsp://127.0.0.1:8554/demo";
const DEMO_HOST = "127.0.0.1";
const DEMO_PORT = 8554;
const DEMO_PATH = "/demo";
const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost"]);

/** Whether `url` names the demo camera: rtsp://, 127.0.0.1 or localhost, port 8554, path /demo. */
export function isDemoCameraUrl(url: string): boolean {
  let parsed: ReturnType<typeof parseRtspUrl>;
  try {
    parsed = parseRtspUrl(url);
  } catch {
    return false;
  }
  return (
    !parsed.secure &&
    LOOPBACK_NAMES.has(parsed.hostname.toLowerCase()) &&
    parsed.port === DEMO_PORT &&
    parsed.path === DEMO_PATH
  );
}

/** What listens on the demo URL once a claim is made. */
export type DemoCameraOutcome =
  /** The bundled camera, run by this process. */
  | { readonly kind: "bundled"; readonly url: string }
  /**
   * Another process held the port (another Node-RED's demo camera, `npm run camera`, or anything else):
   * clients connect to it.
   */
  | { readonly kind: "port-taken"; readonly url: string }
  /** The camera could not start (its clip missing, say); clients will find nothing there. */
  | { readonly kind: "failed"; readonly url: string; readonly reason: string };

export interface DemoCameraLease {
  readonly outcome: DemoCameraOutcome;
  /** True for the one claim that tried to start the camera; the others share what it found. */
  readonly startedHere: boolean;
  /** Gives the claim back; the last one stops the camera. A second call does nothing. */
  release(): Promise<void>;
}

export interface SharedDemoCameraOptions {
  readonly host?: string;
  /** Default 8554. */
  readonly port?: number;
  readonly path?: string;
}

interface Run {
  readonly outcome: DemoCameraOutcome;
  readonly camera: DemoCamera | undefined;
}

/**
 * One demo camera for every user in the process, counted: the first claim starts it, the last release
 * stops it, so a redeploy leaves no socket or timer behind. When the port is taken the claims share
 * that fact and nothing is started.
 */
export class SharedDemoCamera {
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  private users = 0;
  private run: Promise<Run> | undefined;
  /** The last camera's close: a new one binds the port only after it. */
  private closing: Promise<void> = Promise.resolve();

  constructor(options: SharedDemoCameraOptions = {}) {
    this.host = options.host ?? DEMO_HOST;
    this.port = options.port ?? DEMO_PORT;
    this.path = options.path ?? DEMO_PATH;
  }

  /** Resolves once the camera listens, or once it is known that it will not; never rejects. */
  async acquire(): Promise<DemoCameraLease> {
    this.users++;
    const startedHere = this.run === undefined;
    if (startedHere) this.run = this.closing.then(() => this.start());
    const { outcome } = await this.run!;
    let released = false;
    return {
      outcome,
      startedHere,
      release: () => {
        if (released) return Promise.resolve();
        released = true;
        return this.release();
      },
    };
  }

  private async start(): Promise<Run> {
    const url = `rtsp://${this.host}:${this.port}${this.path}`;
    const camera = new DemoCamera({ host: this.host, port: this.port, path: this.path });
    try {
      await camera.start();
      return { outcome: { kind: "bundled", url }, camera };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
        return { outcome: { kind: "port-taken", url }, camera: undefined };
      }
      const reason = error instanceof Error ? error.message : String(error);
      return { outcome: { kind: "failed", url, reason }, camera: undefined };
    }
  }

  private release(): Promise<void> {
    this.users--;
    if (this.users > 0 || !this.run) return Promise.resolve();
    const run = this.run;
    this.run = undefined;
    this.closing = run.then(({ camera }) => camera?.close()).catch(() => {});
    return this.closing;
  }
}

/** The process's demo camera on 127.0.0.1:8554, shared by every rtsp-in node on the demo URL. */
export const sharedDemoCamera = new SharedDemoCamera();
