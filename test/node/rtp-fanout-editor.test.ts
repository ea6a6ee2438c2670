import assert from "node:assert/strict";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`;

const GATE = { open: true, filter: "all", autoClose: 0, preRoll: "none", preRollSeconds: 5 };
const FANOUT = "f000000000000001";

/** Two gates: gate 1 and gate 2 each wired to a node, the stats output (port 2) to a third. */
const FLOW = [
  { id: "f0000000000000aa", type: "tab", label: "fan-out", disabled: true },
  {
    id: FANOUT,
    type: "rtp-fanout",
    z: "f0000000000000aa",
    name: "",
    gates: [GATE, GATE],
    outputs: 3,
    statsInterval: 10,
    codec: "H264",
    payloadType: 96,
    x: 200,
    y: 100,
    wires: [["f0000000000000g1"], ["f0000000000000g2"], ["f0000000000000st"]],
  },
  ...["g1", "g2", "st"].map((name, i) => ({
    id: `f0000000000000${name}`,
    type: "comment",
    z: "f0000000000000aa",
    name,
    info: "",
    x: 500,
    y: 60 + i * 60,
    wires: [],
  })),
];

/**
 * Changing rtp-fanout's number of gates in Node-RED's own editor (a real Node-RED 5 process, headless
 * Chromium): every wire stays on the output it was on, and the stats output, always the last, takes its
 * wires along, as the core switch node's outputs do when rules are added or removed.
 */
describe("rtp-fanout in Node-RED's editor: changing the number of gates", function () {
  this.timeout(90_000);
  let nodeRed: NodeRedProcess;
  let chromium: LaunchedChromium;

  before(async () => {
    nodeRed = await startNodeRed({ runtime: "node-red", settings: SETTINGS, flows: FLOW });
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    await nodeRed?.stop();
  });

  it("2 → 4 gates: the stats wire moves to output 5, the gates' wires stay; 4 → 1: stats on output 2", async () => {
    const { page } = await chromium.open(`http://127.0.0.1:${nodeRed.port}`);
    await page.waitForFunction(`Boolean(window.RED?.nodes?.node && RED.nodes.node("${FANOUT}"))`, undefined, {
      timeout: 60_000,
    });

    /** The node's wires as the editor would deploy them: port → the names of the nodes wired to it. */
    const wires = async () =>
      (await page.evaluate(`(() => {
        const node = RED.nodes.node("${FANOUT}");
        const exported = RED.nodes.convertNode(node);
        return {
          outputs: node.outputs,
          wires: exported.wires.map((targets) => targets.map((id) => RED.nodes.node(id).name)),
        };
      })()`)) as { outputs: number; wires: string[][] };

    const setGates = async (count: number) => {
      await page.evaluate(`RED.editor.edit(RED.nodes.node("${FANOUT}"))`);
      const field = page.locator("#node-rtp-fanout-count");
      await field.waitFor({ state: "visible", timeout: 30_000 });
      await field.fill(String(count));
      await field.press("Tab"); // the spinner re-renders the gate rows when it loses focus
      await page.waitForFunction(
        `document.querySelectorAll("#node-rtp-fanout-gates tr.rtp-fanout-gate").length === ${count}`,
      );
      await page.click("#node-dialog-ok");
      await page.waitForFunction(`document.querySelector("#node-rtp-fanout-count") === null`);
    };

    assert.deepEqual(await wires(), { outputs: 3, wires: [["g1"], ["g2"], ["st"]] });

    await setGates(4);
    assert.deepEqual(await wires(), { outputs: 5, wires: [["g1"], ["g2"], [], [], ["st"]] });

    await setGates(1);
    assert.deepEqual(await wires(), { outputs: 2, wires: [["g1"], ["st"]] });

    // Undo puts back the four gates and the stats wire on output 5.
    await page.evaluate("RED.history.pop()");
    assert.deepEqual(await wires(), { outputs: 5, wires: [["g1"], ["g2"], [], [], ["st"]] });
  });
});
