import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PACKAGE_NAME, packageRoot } from "../helpers/node-red-process";

/** What a library user reaches through `require("@rtsp-webrtc/node-red-rtsp-webrtc")`: classes and functions. */
const RUNTIME_EXPORTS = [
  "RtspSource",
  "RtspSession",
  "RtspError",
  "Backoff",
  "parseRtspUrl",
  "maskUrl",
  "parseRtpHeader",
  "rtpPayload",
  "StreamViewers",
  "Viewer",
  "ViewerRequestError",
  "NoCommonCodecError",
  "MaxViewersError",
  "NoStreamError",
  "BadSdpError",
  "WhipPublisher",
  "WhipError",
];
const TYPE_EXPORTS = [
  "SourceOptions",
  "StateEvent",
  "StreamInfo",
  "AccessUnit",
  "MediaInfo",
  "StreamViewersOptions",
  "WhipPublisherOptions",
  "WhipStateEvent",
];

interface Manifest {
  name: string;
  main: string;
  types: string;
  exports: { ".": { types: string; default: string } };
}

describe("the package entry (library use, without Node-RED)", () => {
  const root = packageRoot();
  const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as Manifest;

  it("main, types and exports name files the build made", () => {
    assert.equal(manifest.name, PACKAGE_NAME);
    assert.equal(path.normalize(manifest.exports["."].default), path.normalize(manifest.main));
    assert.equal(path.normalize(manifest.exports["."].types), path.normalize(manifest.types));
    for (const file of [manifest.main, manifest.types]) {
      assert.ok(existsSync(path.join(root, file)), `${file} exists`);
    }
    // The package's own name resolves through `exports`, as it does for a user who installed it.
    assert.equal(require.resolve(PACKAGE_NAME), path.join(root, manifest.main));
  });

  it("exports the RTSP client, the WebRTC viewers and the RTP helpers", () => {
    const entry = require(PACKAGE_NAME) as Record<string, unknown>;
    for (const name of RUNTIME_EXPORTS) assert.equal(typeof entry[name], "function", name);
    assert.deepEqual(entry.DEFAULT_ICE, { iceServers: [], additionalHostAddresses: [] });
    // and what it exports works: an RTP header read, a URL's password masked
    const parseRtpHeader = entry.parseRtpHeader as (packet: Buffer) => { payloadType: number } | undefined;
    const packet = Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65]);
    assert.equal(parseRtpHeader(packet)?.payloadType, 96);
    const maskUrl = entry.maskUrl as (url: string) => string;
    assert.doesNotMatch(maskUrl("rtsp://admin:secret@cam/stream"), /secret/);
  });

  it("its declarations name every export, types included", () => {
    const declarations = readFileSync(path.join(root, manifest.types), "utf8");
    for (const name of [...RUNTIME_EXPORTS, "DEFAULT_ICE", ...TYPE_EXPORTS]) {
      assert.match(declarations, new RegExp(`\\b${name}\\b`), name);
    }
  });
});
