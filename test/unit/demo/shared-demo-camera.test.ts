import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server } from "node:net";
import { DEMO_CAMERA_URL, isDemoCameraUrl, SharedDemoCamera } from "../../../src/demo/shared-demo-camera";
import { RtspTestClient } from "./rtsp-test-client";

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The status of a DESCRIBE of `url`'s path at 127.0.0.1:`port`. */
async function describeStatus(port: number, url: string): Promise<number> {
  const client = await RtspTestClient.connect(port);
  try {
    return (await client.request("DESCRIBE", url)).status;
  } finally {
    client.destroy();
  }
}

describe("the shared demo camera", () => {
  describe("isDemoCameraUrl", () => {
    it("is the examples' URL, by host (127.0.0.1 or localhost), port 8554 and path /demo", () => {
      for (const url of [
        DEMO_CAMERA_URL,
        "rtsp://localhost:8554/demo",
        "rtsp://LocalHost:8554/demo",
        "RTSP://127.0.0.1:8554/demo",
        "rtsp://user:pass@127.0.0.1:8554/demo",
      ]) {
        assert.equal(isDemoCameraUrl(url), true, url);
      }
    });

    it("is not any other URL, nor text that is no URL", () => {
      for (const url of [
        "rtsps://127.0.0.1:8554/demo",
        "rtsp://127.0.0.1/demo",
        "rtsp://127.0.0.1:554/demo",
        "rtsp://127.0.0.1:8555/demo",
        "rtsp://127.0.0.2:8554/demo",
        "rtsp://0.0.0.0:8554/demo",
        "rtsp://[::1]:8554/demo",
        "rtsp://192.168.1.64:8554/demo",
        "rtsp://127.0.0.1:8554/demo2",
        "rtsp://127.0.0.1:8554/demo/track1",
        "rtsp://127.0.0.1:8554/demo?channel=2",
        "rtsp://127.0.0.1:8554/",
        "http://127.0.0.1:8554/demo",
        "",
        "not a url",
      ]) {
        assert.equal(isDemoCameraUrl(url), false, url);
      }
    });
  });

  describe("SharedDemoCamera", () => {
    let port: number;
    let blocker: Server | undefined;

    beforeEach(async () => {
      port = await freePort();
    });

    afterEach(async () => {
      if (blocker) await new Promise((resolve) => blocker!.close(resolve));
      blocker = undefined;
    });

    it("the first claim starts the camera, the others share it, the last release stops it", async () => {
      const shared = new SharedDemoCamera({ port });
      const [first, second] = await Promise.all([shared.acquire(), shared.acquire()]);
      const url = `rtsp://127.0.0.1:${port}/demo`;
      assert.deepEqual(first.outcome, { kind: "bundled", url });
      assert.deepEqual(second.outcome, { kind: "bundled", url });
      assert.deepEqual([first.startedHere, second.startedHere], [true, false]);
      assert.equal(await describeStatus(port, url), 200, "the camera serves /demo");

      await first.release();
      await first.release();
      assert.equal(await listening(port), true, "a release given twice counts once");
      await second.release();
      assert.equal(await listening(port), false);
    });

    it("a claim made while the last one is let go (a redeploy) gets a camera of its own", async () => {
      const shared = new SharedDemoCamera({ port });
      const old = await shared.acquire();
      const released = old.release();
      const renewed = await shared.acquire();
      await released;
      assert.equal(renewed.outcome.kind, "bundled");
      assert.equal(renewed.startedHere, true);
      assert.equal(await listening(port), true);
      await renewed.release();
      assert.equal(await listening(port), false);
    });

    it("when the port is taken, every claim says so and its release leaves the other listener alone", async () => {
      blocker = createServer((socket) => socket.destroy());
      blocker.listen(port, "127.0.0.1");
      await once(blocker, "listening");
      const shared = new SharedDemoCamera({ port });
      const [first, second] = await Promise.all([shared.acquire(), shared.acquire()]);
      assert.deepEqual(first.outcome, { kind: "port-taken", url: `rtsp://127.0.0.1:${port}/demo` });
      assert.equal(second.outcome.kind, "port-taken");
      assert.deepEqual([first.startedHere, second.startedHere], [true, false]);
      await first.release();
      await second.release();
      assert.equal(await listening(port), true);
    });

    it("a camera that cannot start is reported with the reason, and the next claim tries again", async () => {
      // 192.0.2.1 (TEST-NET-1) is no address of this machine: listening there fails.
      const shared = new SharedDemoCamera({ host: "192.0.2.1", port });
      const lease = await shared.acquire();
      assert.equal(lease.outcome.kind, "failed");
      assert.match(lease.outcome.kind === "failed" ? lease.outcome.reason : "", /EADDRNOTAVAIL/);
      await lease.release();
      const again = await shared.acquire();
      assert.equal(again.startedHere, true);
      await again.release();
    });
  });
});
