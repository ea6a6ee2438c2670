import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { NodeStatus } from "../../src/nodes/red";
import { withCatalog } from "../helpers/node-catalog";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { makeCaSigned, makeSelfSigned, type TestCertificate, TlsProxy } from "../helpers/tls-proxy";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

function flow(url: string, extra: Record<string, unknown> = {}) {
  return [
    {
      id: "cam",
      type: "rtsp-in",
      name: "tls camera",
      url,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      wires: [["media"], ["events"]],
      ...extra,
    },
    { id: "media", type: "helper" },
    { id: "events", type: "helper" },
  ];
}

/** What the deployed rtsp-in does: its statuses, state events and media messages. */
async function deploy(url: string, extra: Record<string, unknown> = {}) {
  await helper.load(rtspInNode, flow(url, extra));
  const statuses: NodeStatus[] = [];
  const events: AnyNode[] = [];
  const media: AnyNode[] = [];
  helper.getNode("cam").on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg.payload));
  helper.getNode("media").on("input", (msg: AnyNode) => media.push(msg));
  return { statuses, events, media };
}

/**
 * rtsps:// against a real TLS server (a TLS terminator in front of the demo camera, with certificates
 * openssl makes here): verified by default, self-signed only when the node says so, and a pinned
 * fingerprint deciding alone.
 */
describe("rtsps:// certificate checks (rtsp-in against a TLS camera)", function () {
  this.timeout(60_000);
  let dir: string;
  let camera: DemoCamera;
  let cameraPort: number;
  let selfSigned: TestCertificate;
  let proxy: TlsProxy | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rtsps-test-"));
    selfSigned = makeSelfSigned(dir);
    camera = new DemoCamera({ port: 0 });
    cameraPort = (await camera.start()).port;
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera?.close();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await helper.unload();
    await proxy?.stop();
    proxy = undefined;
  });

  async function tlsCamera(certificate: TestCertificate): Promise<string> {
    proxy = new TlsProxy(certificate, cameraPort);
    return `rtsps://127.0.0.1:${await proxy.start()}/demo`;
  }

  it("refuses a self-signed certificate by default: status names the problem and the fingerprint, retries with backoff", async () => {
    const url = await tlsCamera(selfSigned);
    const { statuses, events, media } = await deploy(url);
    await waitFor(() => events.filter((e) => e.state === "retrying").length >= 2, 20_000, "two retries");
    const retries = events.filter((e) => e.state === "retrying");
    for (const retry of retries) {
      assert.equal(
        retry.reason,
        `TLS certificate not trusted: self-signed certificate; the camera's SHA-256 fingerprint is ${selfSigned.fingerprint} ` +
          "(accept self-signed certificates, or pin this fingerprint, if it is your camera's)",
      );
      assert.ok(retry.retryInMs > 0);
    }
    const red = statuses.filter((s) => s.fill === "red");
    assert.ok(red.length >= 1);
    assert.match(
      red[0]!.text ?? "",
      /^retry in \d+ s: TLS certificate not trusted: self-signed certificate; /,
    );
    assert.ok(
      (red[0]!.text ?? "").includes(selfSigned.fingerprint),
      "the status shows the fingerprint to pin",
    );
    assert.ok(proxy!.connections >= 2, "it tried again");
    assert.equal(proxy!.forwardedBytes, 0, "not one RTSP byte went to a camera it does not trust");
    assert.equal(media.length, 0);
    assert.ok(helper.getNode("cam"), "the node is still deployed");
  });

  it("plays from a self-signed camera when told to accept self-signed certificates", async () => {
    const url = await tlsCamera(selfSigned);
    const { events, media } = await deploy(url, { tlsAcceptSelfSigned: true });
    await waitFor(
      () => media.length >= 25 && media.some((m) => m.rtp.keyframe),
      20_000,
      "25 frames and a keyframe",
    );
    assert.ok(events.some((e) => e.state === "playing"));
    assert.ok(!events.some((e) => e.state === "retrying"));
  });

  it("plays from a flow of an older version that turned verification off (rejectUnauthorized: false)", async () => {
    const url = await tlsCamera(selfSigned);
    const { media } = await deploy(url, { rejectUnauthorized: false });
    await waitFor(() => media.length >= 10, 20_000, "10 frames");
  });

  it("plays with the right fingerprint pinned (as openssl prints it), self-signed and all", async () => {
    const url = await tlsCamera(selfSigned);
    const { events, media } = await deploy(url, { tlsFingerprint: selfSigned.opensslFingerprint });
    await waitFor(() => media.length >= 25, 20_000, "25 frames");
    assert.ok(!events.some((e) => e.state === "retrying"));
  });

  it("refuses a certificate that does not match the pin, even with self-signed accepted, naming both fingerprints", async () => {
    const other = makeSelfSigned(dir, "other-camera");
    const url = await tlsCamera(other);
    const pin = selfSigned.fingerprint.toLowerCase().replace(/:/g, "");
    const { statuses, events, media } = await deploy(url, { tlsFingerprint: pin, tlsAcceptSelfSigned: true });
    await waitFor(() => events.some((e) => e.state === "retrying"), 20_000, "a retry");
    const expected =
      `TLS certificate fingerprint mismatch: the camera presented SHA-256 ${other.fingerprint}, ` +
      `the node expects ${selfSigned.fingerprint}`;
    assert.equal(events.find((e) => e.state === "retrying").reason, expected);
    await waitFor(() => statuses.some((s) => s.fill === "red"), 5000, "red status");
    assert.match(
      statuses.find((s) => s.fill === "red")!.text ?? "",
      /^retry in \d+ s: TLS certificate fingerprint mismatch/,
    );
    assert.equal(proxy!.forwardedBytes, 0);
    assert.equal(media.length, 0);
  });

  it("a fingerprint that is not one: the node says so and does not connect", async () => {
    const url = await tlsCamera(selfSigned);
    const { statuses, events } = await deploy(url, { tlsFingerprint: "AB:CD:EF" });
    await waitFor(() => statuses.length > 0, 5000, "a status");
    assert.deepEqual(statuses.at(-1), {
      fill: "red",
      shape: "dot",
      text: "certificate fingerprint: give the 32 bytes of a SHA-256 in hex",
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(proxy!.connections, 0);
    assert.deepEqual(events, []);
  });
});

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: "info" } },
};
`;

/** A tab whose rtsp-in's media goes to a function that logs once after 25 frames, and events to the log too. */
function loggingFlow(id: string, url: string, extra: Record<string, unknown>): object[] {
  return [
    {
      id: `${id}00000000001`,
      type: "rtsp-in",
      z: "ca00000000000001",
      name: id,
      url,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      x: 150,
      y: 100,
      wires: [[`${id}00000000002`], []],
      ...extra,
    },
    {
      id: `${id}00000000002`,
      type: "function",
      z: "ca00000000000001",
      name: `${id} frames`,
      func: 'const n = (context.get("n") || 0) + 1;\ncontext.set("n", n);\nif (n === 25) node.warn("25 frames");\nreturn null;',
      outputs: 1,
      x: 400,
      y: 100,
      wires: [[]],
    },
  ];
}

/**
 * Node.js trusts only its own CA list (plus NODE_EXTRA_CA_CERTS, read at start), so the CA-signed case
 * runs in a Node-RED of its own started with the test CA in NODE_EXTRA_CA_CERTS, as a user would do.
 */
describe("rtsps:// with a CA-signed certificate (Node-RED with NODE_EXTRA_CA_CERTS)", function () {
  this.timeout(60_000);
  let dir: string;
  let camera: DemoCamera;
  let proxy: TlsProxy;
  let nodeRed: NodeRedProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rtsps-ca-test-"));
    const { ca, server } = makeCaSigned(dir);
    camera = new DemoCamera({ port: 0 });
    const { port } = await camera.start();
    proxy = new TlsProxy(server, port);
    const url = `rtsps://127.0.0.1:${await proxy.start()}/demo`;
    const wrongPin = makeSelfSigned(dir, "unrelated").fingerprint;
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: SETTINGS,
      env: { NODE_EXTRA_CA_CERTS: ca.certFile },
      flows: [
        { id: "ca00000000000001", type: "tab", label: "rtsps" },
        ...loggingFlow("defa", url, {}),
        ...loggingFlow("pinw", url, { tlsFingerprint: wrongPin }),
        ...loggingFlow("pinr", url, { tlsFingerprint: server.fingerprint }),
      ],
    });
  });

  after(async () => {
    await nodeRed?.stop();
    await proxy?.stop();
    await camera?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("plays by default, and with its own fingerprint pinned", async () => {
    await waitFor(
      () => /\[function:defa frames\] 25 frames/.test(nodeRed!.output()),
      30_000,
      "25 frames from the default node",
    );
    await waitFor(
      () => /\[function:pinr frames\] 25 frames/.test(nodeRed!.output()),
      30_000,
      "25 frames from the right pin",
    );
    assert.doesNotMatch(
      nodeRed!.output(),
      /\[rtsp-in:defa\]/,
      "the default node had nothing to complain about",
    );
  });

  it("refuses it when the pin names another certificate", async () => {
    await waitFor(
      () => /\[rtsp-in:pinw\] pinw: TLS certificate fingerprint mismatch/.test(nodeRed!.output()),
      30_000,
      "the mismatch in the log",
    );
    assert.doesNotMatch(nodeRed!.output(), /\[function:pinw frames\]/);
  });
});
