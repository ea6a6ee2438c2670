import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { DemoCamera } from "../../src/demo/demo-camera";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

// The shared ICE port (settings.js webrtcOut.icePort) through Node-RED itself, as users run it: every
// viewer of every webrtc-out on the one port; a second Node-RED asking for the same port says it is
// taken and serves its viewers on ports of their own; redeploy and stop release the port. The
// webrtc-out nodes set no host addresses: viewers are offered 127.0.0.1, where their request came in.

/** A port free for UDP and TCP on every address, chosen now (the kernel's pick for UDP, checked for TCP). */
async function freePort(): Promise<number> {
  for (;;) {
    const udp = createSocket("udp4");
    const port = await new Promise<number>((done) => udp.bind(0, "0.0.0.0", () => done(udp.address().port)));
    const tcpFree = await new Promise<boolean>((done) => {
      const tcp = createServer();
      tcp.once("error", () => done(false));
      tcp.listen(port, "0.0.0.0", () => tcp.close(() => done(true)));
    });
    await new Promise<void>((done) => udp.close(() => done()));
    if (tcpFree) return port;
  }
}

/** True while something in this namespace holds UDP `port` (binding it here fails with EADDRINUSE). */
async function udpPortHeld(port: number): Promise<boolean> {
  const socket = createSocket("udp4");
  return new Promise<boolean>((done) => {
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.close();
      done(err.code === "EADDRINUSE");
    });
    socket.bind(port, "0.0.0.0", () => socket.close(() => done(false)));
  });
}

function settings(icePort: number | false): string {
  return `module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: "info", metrics: false, audit: false } },
  webrtcOut: { icePort: ${JSON.stringify(icePort)} },
};
`;
}

/** A camera, two webrtc-out nodes without host addresses, and their statuses in the log (a debug node). */
function flow(
  cameraUrl: string,
  outputs: readonly string[] = ["door", "yard"],
  fields: Record<string, unknown> = {},
): object[] {
  return [
    { id: "t1", type: "tab", label: "cameras" },
    {
      id: "cam",
      z: "t1",
      type: "rtsp-in",
      name: "demo",
      url: cameraUrl,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      wires: [outputs.map((path) => `out-${path}`), []],
    },
    ...outputs.map((path) => ({
      id: `out-${path}`,
      z: "t1",
      type: "webrtc-out",
      name: path,
      path,
      statsInterval: 0,
      wires: [[]],
      ...fields,
    })),
    { id: "st", z: "t1", type: "status", scope: null, wires: [["dbg"]] },
    {
      id: "dbg",
      z: "t1",
      type: "debug",
      name: "status",
      active: true,
      tosidebar: false,
      console: true,
      complete: "status",
      targetType: "msg",
      wires: [],
    },
  ];
}

async function deploy(nodeRed: NodeRedProcess, nodes: object[]): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${nodeRed.port}/flows`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
    body: JSON.stringify(nodes),
  });
  const text = await res.text();
  assert.ok(res.status === 204 || res.status === 200, `POST /flows: ${res.status} ${text}`);
}

async function streamsArriving(nodeRed: NodeRedProcess, paths: readonly string[]): Promise<void> {
  await waitFor(
    async () => {
      for (const path of paths) {
        const body = (await fetch(`http://127.0.0.1:${nodeRed.port}/${path}/stats`)
          .then((r) => r.json())
          .catch(() => undefined)) as { stream?: { sourceState?: string } } | undefined;
        if (body?.stream?.sourceState !== "receiving") return false;
      }
      return true;
    },
    30_000,
    `the streams at ${paths.join(", ")}`,
  );
}

/** The ICE port the viewer's connection uses on the server's side (werift's nominated pair). */
function serverPort(viewer: WeriftViewer): number | undefined {
  return viewer.pc.iceTransports[0]?.connection.nominated?.remoteCandidate.port;
}

/** The ports of the answer's host candidates, UDP and TCP. */
function answerPorts(sdp: string, transport: "udp" | "tcp"): number[] {
  const ports: number[] = [];
  for (const match of sdp.matchAll(/^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ host/gim)) {
    if (match[1]?.toLowerCase() === transport) ports.push(Number(match[3]));
  }
  return ports;
}

describe("webrtc-out's shared ICE port (Node-RED processes)", function () {
  this.timeout(180_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  let icePort: number;
  const processes: NodeRedProcess[] = [];
  const viewers: WeriftViewer[] = [];

  async function nodeRed(port: number | false, paths?: readonly string[]): Promise<NodeRedProcess> {
    const started = await startNodeRed({
      runtime: "node-red",
      settings: settings(port),
      flows: flow(cameraUrl, paths),
    });
    processes.push(started);
    return started;
  }

  /** Viewers of `path` through POST P/offer; every answer is kept. */
  async function watch(red: NodeRedProcess, path: string, count: number, answers: string[] = []) {
    const joined: WeriftViewer[] = [];
    for (let i = 0; i < count; i++) {
      const v = await connectViewer({
        offer: async (sdp) => {
          const res = await fetch(`http://127.0.0.1:${red.port}/${path}/offer`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ type: "offer", sdp }),
          });
          const body = (await res.json()) as { sdp?: string };
          assert.equal(res.status, 200, JSON.stringify(body));
          answers.push(body.sdp ?? "");
          return body.sdp ?? "";
        },
        connectTimeoutMs: 20_000,
      });
      viewers.push(v);
      joined.push(v);
    }
    return joined;
  }

  async function allPlay(joined: readonly WeriftViewer[]): Promise<void> {
    await Promise.all(joined.map((v) => v.connected));
    await waitFor(() => joined.every((v) => v.packets.length >= 60), 30_000, "video at every viewer");
  }

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
    icePort = await freePort();
  });

  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.close()));
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });

  after(async () => {
    await camera.close();
  });

  it("several viewers of two webrtc-out nodes play, every one on the one port, UDP and TCP offered", async () => {
    const red = await nodeRed(icePort);
    await streamsArriving(red, ["door", "yard"]);
    assert.equal(await udpPortHeld(icePort), true, "Node-RED holds the shared port");
    const answers: string[] = [];
    const joined = [...(await watch(red, "door", 3, answers)), ...(await watch(red, "yard", 3, answers))];
    await allPlay(joined);
    for (const v of joined) assert.equal(serverPort(v), icePort);
    for (const answer of answers) {
      // Offered where the request came in (no host addresses set), on the shared port only.
      assert.match(
        answer,
        new RegExp(`^a=candidate:\\S+ \\d+ udp \\d+ 127\\.0\\.0\\.1 ${icePort} typ host`, "im"),
      );
      assert.deepEqual([...new Set(answerPorts(answer, "udp"))], [icePort]);
      assert.deepEqual([...new Set(answerPorts(answer, "tcp"))], [icePort]);
    }
    assert.doesNotMatch(red.output(), /in use|no ICE candidate/);
  });

  it("a second Node-RED with the same port: its status and log say the port is taken, and its viewers play on ports of their own", async () => {
    const first = await nodeRed(icePort);
    await streamsArriving(first, ["door", "yard"]);
    const second = await nodeRed(icePort);
    await streamsArriving(second, ["door", "yard"]);
    await waitFor(
      () => new RegExp(`UDP ${icePort} in use: a port per viewer`).test(second.output()),
      20_000,
      "the status of the second Node-RED",
    );
    assert.match(second.output(), new RegExp(`the shared ICE port ${icePort} .* is in use`));
    assert.doesNotMatch(first.output(), /in use/);
    const own = await watch(second, "door", 2);
    const shared = await watch(first, "door", 2);
    await allPlay([...own, ...shared]);
    for (const v of own) {
      const port = serverPort(v);
      assert.ok(port !== undefined && port !== icePort, `a port of its own, not ${port}`);
    }
    assert.notEqual(serverPort(own[0] as WeriftViewer), serverPort(own[1] as WeriftViewer));
    for (const v of shared) assert.equal(serverPort(v), icePort);
  });

  it("redeploy and stop release the port: a flow without webrtc-out frees it, deploying one takes it again", async () => {
    const red = await nodeRed(icePort);
    await streamsArriving(red, ["door", "yard"]);
    await allPlay(await watch(red, "door", 2));
    // Full redeploys of the same flow: the port is closed and opened again, and viewers play on it.
    for (let i = 0; i < 3; i++) {
      await deploy(red, flow(cameraUrl));
      await streamsArriving(red, ["door", "yard"]);
    }
    const after = await watch(red, "yard", 2);
    await allPlay(after);
    for (const v of after) assert.equal(serverPort(v), icePort);
    await Promise.all(viewers.splice(0).map((v) => v.close()));

    await deploy(red, flow(cameraUrl, []));
    await waitFor(async () => !(await udpPortHeld(icePort)), 20_000, "the port released by the redeploy");
    await deploy(red, flow(cameraUrl, ["door"]));
    await streamsArriving(red, ["door"]);
    assert.equal(await udpPortHeld(icePort), true, "taken again");
    await processes.splice(0)[0]?.stop();
    assert.equal(await udpPortHeld(icePort), false, "released when Node-RED stops");
    assert.doesNotMatch(red.output(), /in use/);
  });

  it("icePort: false keeps a UDP port per viewer", async () => {
    const red = await nodeRed(false, ["door"]);
    await streamsArriving(red, ["door"]);
    const joined = await watch(red, "door", 2);
    await allPlay(joined);
    const ports = joined.map(serverPort);
    assert.ok(ports.every((p) => p !== undefined && p !== icePort));
    assert.notEqual(ports[0], ports[1]);
    assert.equal(await udpPortHeld(icePort), false);
  });

  it("an answer that would hold no candidate: a 500 saying what to set, and the status and log say so", async () => {
    // Pinned to an interface this host does not have: nothing to offer, and the request's address
    // (127.0.0.1) cannot be reached from sockets pinned elsewhere.
    const red = await startNodeRed({
      runtime: "node-red",
      settings: settings(false),
      flows: flow(cameraUrl, ["door"], { interfaceAddress: "192.0.2.1" }),
    });
    processes.push(red);
    await streamsArriving(red, ["door"]);
    const offer = await new Promise<string>((done, fail) => {
      connectViewer({
        offer: async (sdp) => {
          done(sdp);
          throw new Error("offer taken");
        },
      }).then(
        (v) => v.close(),
        () => undefined,
      );
      setTimeout(() => fail(new Error("no offer")), 10_000);
    });
    const res = await fetch(`http://127.0.0.1:${red.port}/door/offer`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp: offer }),
    });
    const body = (await res.json()) as { error?: string; detail?: string; code?: string };
    assert.equal(res.status, 500, JSON.stringify(body));
    assert.equal(body.code, "no-ice-candidate");
    assert.match(body.detail ?? "", /set extra host addresses .* or a TURN server/);
    await waitFor(
      () => /no ICE candidate: set extra host addresses \(webrtc-out\) or a TURN server/.test(red.output()),
      10_000,
      "the status",
    );
    assert.match(red.output(), /its answer would hold no ICE candidate/);
    // The stream's stats list no viewer: nothing was kept for the refused one.
    const stats = (await (await fetch(`http://127.0.0.1:${red.port}/door/stats`)).json()) as {
      viewers?: unknown[];
    };
    assert.deepEqual(stats.viewers ?? [], []);
  });
});
