import "./loopback-namespace";
import { GstRtspServer } from "./gst-server";
import { type NodeRedProcess, startNodeRed } from "./node-red-process";
import { waitFor } from "./wait";

/**
 * What the independent-client tests (aiortc, whip-whep, Firefox) play: two GStreamer cameras, one
 * with PCMA audio and one without, each through rtsp-in → webrtc-out in Node-RED itself.
 */
export interface ClientRig {
  readonly nodeRed: NodeRedProcess;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** webrtc-out paths: the camera without audio, and the one with PCMA. */
  readonly paths: { readonly videoOnly: string; readonly withAudio: string };
  /** Both cameras' picture size. */
  readonly width: number;
  readonly height: number;
  /** Stops Node-RED, then the cameras. */
  close(): Promise<void>;
}

const WIDTH = 640;
const HEIGHT = 360;

function settings(staticDir: string | undefined): string {
  return `
module.exports = {
  uiHost: "127.0.0.1",${staticDir === undefined ? "" : `\n  httpStatic: ${JSON.stringify(staticDir)},`}
  httpAdminRoot: false,
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;
}

export interface ClientRigOptions {
  /** Default "node-red" (5). */
  readonly runtime?: string;
  /** A folder Node-RED serves at / (httpStatic): a test's own pages, same origin as the streams. */
  readonly staticDir?: string;
}

function camera(id: string, url: string, path: string, y: number): object[] {
  return [
    {
      id: `in-${id}`,
      z: "t1",
      type: "rtsp-in",
      name: id,
      url,
      transport: "tcp",
      media: "both",
      startMode: "deploy",
      x: 100,
      y,
      wires: [[`out-${id}`], []],
    },
    {
      id: `out-${id}`,
      z: "t1",
      type: "webrtc-out",
      name: id,
      path,
      // The tests' namespace has loopback only, which werift does not gather by itself.
      hostAddresses: "127.0.0.1",
      audio: true,
      statsInterval: 0,
      x: 300,
      y,
      wires: [[]],
    },
  ];
}

/** Starts both cameras and Node-RED; resolves once both streams reach their webrtc-out node. */
export async function startClientRig(opts: ClientRigOptions = {}): Promise<ClientRig> {
  const started: GstRtspServer[] = [];
  let nodeRed: NodeRedProcess | undefined;
  const close = async (): Promise<void> => {
    if (nodeRed !== undefined) await nodeRed.stop();
    await Promise.all(started.map((server) => server.stop()));
  };
  try {
    const options = { codec: "h264", width: WIDTH, height: HEIGHT, keyint: 25 } as const;
    const plain = await GstRtspServer.start(options);
    started.push(plain);
    const talking = await GstRtspServer.start({ ...options, audio: "pcma" });
    started.push(talking);
    const paths = { videoOnly: "cam-video", withAudio: "cam-audio" };
    nodeRed = await startNodeRed({
      runtime: opts.runtime ?? "node-red",
      settings: settings(opts.staticDir),
      flows: [
        { id: "t1", type: "tab", label: "cameras" },
        ...camera("video", plain.url, paths.videoOnly, 100),
        ...camera("audio", talking.url, paths.withAudio, 200),
      ],
    });
    const base = `http://127.0.0.1:${nodeRed.port}`;
    const running = nodeRed;
    for (const path of [paths.videoOnly, paths.withAudio]) {
      await waitFor(
        async () => {
          const res = await fetch(`${base}/${path}/stats`);
          // Node-RED answers 404 (HTML) until the flows have started.
          if (res.status !== 200) return false;
          const body = (await res.json()) as { stream?: { sourceState?: string; audioRelayed?: boolean } };
          return (
            body.stream?.sourceState === "receiving" &&
            (path === paths.videoOnly || body.stream.audioRelayed === true)
          );
        },
        30_000,
        `the camera at /${path} to reach its node`,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${running.output()}`);
      });
    }
    return { nodeRed, base, paths, width: WIDTH, height: HEIGHT, close };
  } catch (error) {
    await close();
    throw error;
  }
}
