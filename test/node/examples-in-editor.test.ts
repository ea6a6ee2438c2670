import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { EXAMPLES_DIR, type FlowNode, loadExample } from "../helpers/example-flow";
import { type NodeRedProcess, PACKAGE_NAME, startNodeRed } from "../helpers/node-red-process";

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`;

const EXAMPLES = readdirSync(EXAMPLES_DIR)
  .filter((file) => file.endsWith(".json"))
  .map((file) => file.replace(/\.json$/, ""))
  .sort();

/**
 * What a user sees after Import → Examples: every example flow of the package in Node-RED's own editor
 * (a real Node-RED 5 process, headless Chromium), with every node's type known and every field valid
 * by the editor's own rules. The tabs are disabled so that nothing runs: running them is each example's
 * own test.
 */
describe("example flows in Node-RED's editor", function () {
  this.timeout(90_000);
  let nodeRed: NodeRedProcess;
  let chromium: LaunchedChromium;
  let base: string;

  before(async () => {
    const flows: FlowNode[] = EXAMPLES.flatMap((name) =>
      loadExample(name).map((node: FlowNode) => (node.type === "tab" ? { ...node, disabled: true } : node)),
    );
    nodeRed = await startNodeRed({ runtime: "node-red", settings: SETTINGS, flows });
    base = `http://127.0.0.1:${nodeRed.port}`;
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    await nodeRed?.stop();
  });

  it("there are the six examples the issue names", () => {
    for (const name of ["basic", "camera-wall", "mqtt-alarm", "on-demand", "udp-rtp", "dashboard"]) {
      assert.ok(EXAMPLES.includes(name), `examples/${name}.json`);
    }
  });

  it("node ids are unique across all examples (importing two never clashes)", () => {
    const seen = new Map<string, string>();
    for (const name of EXAMPLES) {
      for (const node of loadExample(name)) {
        assert.ok(!seen.has(node.id), `${node.id} in ${name} and ${seen.get(node.id)}`);
        seen.set(node.id, name);
      }
    }
  });

  it("Node-RED lists them under Import → Examples for this package", async () => {
    const list = await fetch(`${base}/library/examples/flows/${PACKAGE_NAME}`).then((r) => r.json());
    assert.deepEqual((list as { fn?: string }[]).map((entry) => entry.fn).sort(), EXAMPLES);
    const basic = await fetch(`${base}/library/examples/flows/${PACKAGE_NAME}/basic`).then((r) => r.json());
    assert.ok(Array.isArray(basic) && basic.some((n: FlowNode) => n.type === "rtsp-in"));
  });

  it("the editor knows every node type and finds every node valid", async () => {
    const { page } = await chromium.open(base);
    const total = EXAMPLES.reduce((sum, name) => sum + loadExample(name).length, 0);
    await page.waitForFunction(
      `window.RED?.nodes && (() => { let n = 0; RED.nodes.eachNode(() => { n++; }); RED.nodes.eachConfig(() => { n++; }); RED.nodes.eachWorkspace(() => { n++; }); return n >= ${total}; })()`,
      undefined,
      { timeout: 60_000 },
    );
    const problems: string[] = await page.evaluate(`(() => {
      const problems = [];
      const check = (n) => {
        if (!RED.nodes.getType(n.type)) problems.push("unknown type " + n.type + " (" + n.id + ")");
        else if (n.valid === false) problems.push(n.type + " " + (n.name || n.id) + ": " + JSON.stringify(n.validationErrors || []));
      };
      RED.nodes.eachNode(check);
      RED.nodes.eachConfig(check);
      return problems;
    })()`);
    assert.deepEqual(problems, []);
  });

  it("the forms refuse what the runtime would refuse: a taken path, a bad URL, ports out of order, a long pre-roll", async () => {
    const { page } = await chromium.open(base);
    await page.waitForFunction(
      "window.RED?.view?.importNodes && RED.nodes.getType('webrtc-out') !== undefined",
      undefined,
      {
        timeout: 60_000,
      },
    );
    await page.waitForFunction("RED.workspaces.active() !== 0 && RED.workspaces.active() !== undefined");
    const verdicts = await page.evaluate(`(() => {
      const z = RED.workspaces.active();
      const nodes = [
        { id: "e0000000000000a1", type: "webrtc-out", z, name: "", path: "Camera", x: 100, y: 500, wires: [[]] },
        { id: "e0000000000000a2", type: "webrtc-out", z, name: "", path: "elsewhere", x: 100, y: 560, wires: [[]] },
        { id: "e0000000000000a3", type: "webrtc-out", z, name: "", path: "ports", portMin: 5000, portMax: 4000, x: 100, y: 620, wires: [[]] },
        { id: "e0000000000000a4", type: "rtsp-in", z, name: "", url: "http://camera/stream", x: 100, y: 680, wires: [[], []] },
        { id: "e0000000000000a5", type: "rtsp-in", z, name: "", url: "rtsp://10.0.0.7/stream", x: 100, y: 740, wires: [[], []] },
        { id: "e0000000000000a6", type: "rtp-fanout", z, name: "", gates: [{ open: true, filter: "all", autoClose: 0, preRoll: "seconds", preRollSeconds: 500 }], outputs: 2, x: 100, y: 800, wires: [[], []] },
      ];
      RED.view.importNodes(nodes, { generateIds: false });
      const verdict = (id) => {
        const node = RED.nodes.node(id);
        RED.editor.validateNode(node);
        return node.valid ? "valid" : JSON.stringify(node.validationErrors || []);
      };
      return Object.fromEntries(nodes.map((n) => [n.path || n.url || n.type, verdict(n.id)]));
    })()`);
    assert.deepEqual(verdicts, {
      Camera: JSON.stringify([
        '/Camera is also the path of "camera page": give each webrtc-out its own path',
      ]),
      elsewhere: "valid",
      ports: JSON.stringify([
        "Give both ends of the range, the first lower than the second, between 1 and 65535",
      ]),
      "http://camera/stream": JSON.stringify([
        "Enter an rtsp:// or rtsps:// URL with a host, e.g. rtsp://192.168.1.64:554/Streaming/Channels/101",
      ]),
      "rtsp://10.0.0.7/stream": "valid",
      "rtp-fanout": JSON.stringify(["Output 1: replay 1 to 60 seconds"]),
    });
  });
});
