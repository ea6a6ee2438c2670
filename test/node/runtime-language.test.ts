import assert from "node:assert/strict";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";

/** Node-RED's runtime speaks the `lang` of settings.js: node statuses come from that catalog. */
const settings = (lang: string) => `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  lang: "${lang}",
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`;

const CAM = "c000000000000001";
const FLOW = [
  { id: "c0000000000000aa", type: "tab", label: "language" },
  {
    id: CAM,
    type: "rtsp-in",
    z: "c0000000000000aa",
    name: "",
    url: "",
    transport: "tcp",
    media: "video",
    startMode: "deploy",
    x: 200,
    y: 100,
    wires: [[], []],
  },
];

/**
 * A real Node-RED 5 process puts this package's status texts in the runtime's language, through its
 * own i18n and this package's catalogs (the test helper cannot show it: its RED._ returns keys).
 */
describe("node statuses in the runtime's language (Node-RED 5, editor in headless Chromium)", function () {
  this.timeout(90_000);
  let chromium: LaunchedChromium;

  before(async () => {
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
  });

  for (const [lang, expected] of [
    ["en-US", "no camera URL: open the node and paste one"],
    ["zh-CN", "未设置摄像机 URL：请打开节点并粘贴 URL"],
  ] as const) {
    it(`lang ${lang}: rtsp-in without a URL says "${expected}"`, async () => {
      let nodeRed: NodeRedProcess | undefined;
      try {
        nodeRed = await startNodeRed({ runtime: "node-red", settings: settings(lang), flows: FLOW });
        const { page } = await chromium.open(`http://127.0.0.1:${nodeRed.port}`);
        const text = await page.waitForFunction(
          `(() => { const n = window.RED?.nodes?.node("${CAM}"); return n?.status?.text; })()`,
          undefined,
          { timeout: 60_000 },
        );
        assert.equal(await text.jsonValue(), expected);
      } finally {
        await nodeRed?.stop();
      }
    });
  }
});
