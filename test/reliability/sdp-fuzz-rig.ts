import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DemoCamera } from "../../src/demo/demo-camera";
import { registerEndpoint } from "../../src/http/router";
import { StreamEndpoint } from "../../src/http/stream-endpoint";
import { StreamViewers, type StreamViewersOptions } from "../../src/webrtc/stream-viewers";
import { closeLocalServers, expressApp, listenLocal } from "../helpers/express-app";
import { SourceHarness } from "../helpers/source-harness";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

// The HTTP routes of one webrtc-out in this process, the real way down: the demo camera → RtspSource →
// StreamViewers (werift) → StreamEndpoint on an Express app on 127.0.0.1. For the fuzz and flood
// tests, which send thousands of requests and must not pay a Node-RED process for each.

export const STREAM_PATH = "/cam1";

export interface HttpRig {
  readonly base: string;
  readonly server: Server;
  readonly viewers: StreamViewers;
  /** A werift viewer connected through WHEP before anything else, its WHEP resource and its viewer id. */
  bystander(): Promise<{ viewer: WeriftViewer; location: string; id: string }>;
  close(): Promise<void>;
}

export async function startHttpRig(overrides: Partial<StreamViewersOptions> = {}): Promise<HttpRig> {
  const camera = new DemoCamera({ port: 0 });
  const { url } = await camera.start();
  const harness = new SourceHarness({ url, media: "video" });
  const viewers = new StreamViewers({
    maxViewers: 50,
    ice: { iceServers: [], additionalHostAddresses: ["127.0.0.1"] },
    audio: false,
    fastStart: true,
    ...overrides,
  });
  harness.source.on("frame", (unit, stream) => viewers.push(unit, stream));
  harness.source.start();
  const clients: WeriftViewer[] = [];
  try {
    await harness.until(() => viewers.stream !== undefined, 20_000, "the demo camera's first frame");
  } catch (err) {
    await harness.close();
    await camera.close();
    throw err;
  }
  const app = expressApp();
  const endpoint = new StreamEndpoint({ path: STREAM_PATH, title: "fuzzed", viewers });
  const registration = registerEndpoint(app, STREAM_PATH, endpoint);
  if (!("unregister" in registration)) throw new Error("path taken");
  const server = await listenLocal(app);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${STREAM_PATH}`;

  return {
    base,
    server,
    viewers,
    async bystander() {
      let location = "";
      let id = "";
      const viewer = await connectViewer({
        offer: async (sdp) => {
          const res = await fetch(`${base}/whep`, {
            method: "POST",
            headers: { "Content-Type": "application/sdp" },
            body: sdp,
          });
          if (res.status !== 201) throw new Error(`WHEP ${res.status}: ${await res.text()}`);
          location = res.headers.get("location") ?? "";
          // The ETag is the viewer id, which the viewer set's events name (the resource is a secret apart).
          id = (res.headers.get("etag") ?? "").replace(/"/g, "");
          return res.text();
        },
      });
      clients.push(viewer);
      await viewer.connected;
      await waitFor(() => viewer.packets.length > 0, 10_000, "the bystander's first packets");
      return { viewer, location, id };
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      registration.unregister();
      await viewers.close();
      await harness.close();
      await camera.close();
      await closeLocalServers();
    },
  };
}
