import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { isAbsolute } from "node:path";
import { peerArguments } from "../../helpers/gst-server";
import { freePort, freeUdpPortPair, MissingToolError, requireTool } from "../../helpers/tools";

function bindTcp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

function bindUdp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve()));
  });
}

describe("test helper tools", () => {
  it("requireTool names the setup script when a tool is missing, and never skips", () => {
    assert.throws(
      () => requireTool("no-such-tool-for-tests"),
      (err: unknown) =>
        err instanceof MissingToolError &&
        err.message === "no-such-tool-for-tests not found: run test/setup-system.sh",
    );
  });

  it("requireTool returns an absolute path for a tool on PATH", () => {
    const sh = requireTool("sh");
    assert.ok(isAbsolute(sh), sh);
  });

  it("freePort gives a TCP port that can be bound on 127.0.0.1", async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    await bindTcp(port);
  });

  it("freeUdpPortPair gives an even RTP port and the next one for RTCP, both bindable", async () => {
    const [rtp, rtcp] = await freeUdpPortPair();
    assert.equal(rtp % 2, 0);
    assert.equal(rtcp, rtp + 1);
    await bindUdp(rtp);
    await bindUdp(rtcp);
  });
});

describe("test helper gst-server arguments", () => {
  it("passes only the options given, plus host, port and the parent-death watch", () => {
    assert.deepEqual(peerArguments({}, 0), ["--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-close"]);
  });

  it("maps every option to the script's flag", () => {
    const args = peerArguments(
      {
        codec: "h265",
        profile: "high",
        width: 320,
        height: 240,
        fps: 15,
        keyint: 30,
        bitrate: 500,
        bframes: 2,
        slices: 4,
        audio: "opus",
        auth: "digest",
        user: "u",
        password: "p w",
        realm: "Cam",
        protocols: "udp",
        joinPhase: "random",
        sessionTimeout: 10,
        path: "/cam/1",
        spsInSdpOnly: true,
        bigNal: true,
        aggregate: true,
      },
      8554,
    );
    assert.deepEqual(args, [
      ...["--host", "127.0.0.1", "--port", "8554", "--exit-on-stdin-close"],
      ...["--codec", "h265", "--profile", "high", "--width", "320", "--height", "240", "--fps", "15"],
      ...["--keyint", "30", "--bitrate", "500", "--bframes", "2", "--slices", "4", "--audio", "opus"],
      ...["--auth", "digest", "--user", "u", "--password", "p w", "--realm", "Cam"],
      ...["--protocols", "udp"],
      ...["--join-phase", "random", "--session-timeout", "10", "--path", "/cam/1"],
      ...["--sps-in-sdp-only", "--big-nal", "--aggregate"],
    ]);
  });
});
