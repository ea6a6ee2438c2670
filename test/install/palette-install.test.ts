import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { assertViewerDecodes, DEMO_CAMERA_URL, type FlowNode, onLoopback } from "../helpers/example-flow";
import { type NodeRedProcess, PACKAGE_NAME, packageRoot, startNodeRed } from "../helpers/node-red-process";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

const run = promisify(execFile);

/** What test/setup-install.sh put in .test-artifacts/install while the network was there. */
const ARTIFACTS = join(packageRoot(), ".test-artifacts", "install");
const NODE_TYPES = ["rtsp-in", "rtp-fanout", "webrtc-out", "snapshot", "mp4-record", "whip-out"];
const EXAMPLES = ["alarm-clip", "basic", "camera-wall", "dashboard", "mqtt-alarm", "on-demand", "udp-rtp"];
/** What the palette manager passes to `npm install` (@node-red/registry's installer, Node-RED 4.1 and 5). */
const PALETTE_ARGS = [
  "install",
  "--no-audit",
  "--no-update-notifier",
  "--no-fund",
  "--save",
  "--save-prefix=~",
  "--omit=dev",
  "--engine-strict",
];
/** The package.json Node-RED writes into a new user directory. */
const USER_DIR_PACKAGE = {
  name: "node-red-project",
  description: "A Node-RED Project",
  version: "0.0.1",
  private: true,
};

function artifact(...parts: string[]): string {
  const file = join(ARTIFACTS, ...parts);
  if (!existsSync(file))
    throw new Error(`${file} is missing: run test/setup-install.sh (it needs the network)`);
  return file;
}

function tarball(): string {
  const packed = existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS).filter((f) => f.endsWith(".tgz")) : [];
  assert.equal(packed.length, 1, `one packed tarball in ${ARTIFACTS} (run test/setup-install.sh): ${packed}`);
  return join(ARTIFACTS, packed[0] as string);
}

/** The node binary of npm's `node` package at `major`, as setup-install.sh installed it. */
function nodeBinary(major: number): string {
  return artifact(`node-${major}`, "node_modules", ".bin", "node");
}

/** npm's own CLI script: the palette manager runs it with Node-RED's node binary. */
function npmCli(): string {
  return realpathSync(requireTool("npm"));
}

/**
 * This process's environment without what an outer `npm test` put there (npm_config_local_prefix names
 * this checkout): the install sees the user directory's settings only, as under Node-RED.
 */
function ownEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

/**
 * `npm install <tarball>` in `userDir` as the palette manager runs it, with `node`: offline, from the
 * cache setup-install.sh filled. Resolves with npm's output; rejects with it when npm fails.
 */
async function paletteInstall(node: string, userDir: string): Promise<string> {
  writeFileSync(join(userDir, "package.json"), JSON.stringify(USER_DIR_PACKAGE, null, 4));
  try {
    const { stdout, stderr } = await run(node, [npmCli(), ...PALETTE_ARGS, "--", tarball()], {
      cwd: userDir,
      env: { ...ownEnvironment(), npm_config_cache: artifact("npm-cache"), npm_config_offline: "true" },
      timeout: 120_000,
    });
    return stdout + stderr;
  } catch (err) {
    const failed = err as Error & { stdout?: string; stderr?: string };
    throw Object.assign(new Error(`npm install failed:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`), {
      npmOutput: `${failed.stdout ?? ""}${failed.stderr ?? ""}`,
    });
  }
}

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`;

describe("the packed tarball", () => {
  it("holds the nodes, their editor files, icons, locales, examples, the demo clip, the pages, the README's pictures and the library entry, and nothing else", async () => {
    const { stdout } = await run("tar", ["tzf", tarball()]);
    const files = stdout
      .split("\n")
      .filter((line) => line !== "" && !line.endsWith("/"))
      .map((line) => line.replace(/^package\//, ""));
    const allowed = [
      /^(LICENSE|README\.md|package\.json)$/,
      /^nodes\/(rtsp-in|rtp-fanout|webrtc-out|snapshot|mp4-record|whip-out)\.(js|html)$/,
      /^nodes\/icons\/[\w-]+\.svg$/,
      /^nodes\/locales\/(en-US|zh-CN)\/[\w-]+\.(json|html)$/,
      /^examples\/[\w-]+\.json$/,
      /^src\/demo\/clip\/demo\.h264$/,
      /^src\/http\/pages\/(player|wall)\.(html|js|css)$/,
      /^docs\/images\/(editor|player)\.png$/,
      /^dist\/src\/[\w/-]+\.(js|d\.ts)$/,
    ];
    for (const file of files) {
      assert.ok(
        allowed.some((pattern) => pattern.test(file)),
        `${file} is not something Node-RED or a library user needs`,
      );
    }
    for (const needed of [
      "LICENSE",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/demo/clip.js",
      "src/demo/clip/demo.h264",
      // The README's pictures, which npm and the flow library show from the package.
      "docs/images/editor.png",
      "docs/images/player.png",
      ...["player", "wall"].flatMap((page) =>
        ["html", "js", "css"].map((ext) => `src/http/pages/${page}.${ext}`),
      ),
      ...NODE_TYPES.flatMap((type) => [
        `nodes/${type}.js`,
        `nodes/${type}.html`,
        `nodes/icons/${type}.svg`,
        `dist/src/nodes/${type}.js`,
        `nodes/locales/en-US/${type}.json`,
        `nodes/locales/zh-CN/${type}.json`,
      ]),
      ...EXAMPLES.map((name) => `examples/${name}.json`),
    ]) {
      assert.ok(files.includes(needed), `${needed} is in the tarball`);
    }
  });
});

describe("installed as the palette manager installs it", function () {
  this.timeout(180_000);

  it("fails on Node 20 with npm's engine message, installing nothing", async () => {
    const node20 = artifact("node-20", "node_modules", ".bin", "node");
    const { stdout: version } = await run(node20, ["--version"]);
    assert.match(version, /^v20\./);
    const userDir = (await run("mktemp", ["-d"])).stdout.trim();
    try {
      const error = await paletteInstall(node20, userDir).then(
        () => assert.fail("npm installed the package on Node 20"),
        (err: Error & { npmOutput?: string }) => err.npmOutput ?? "",
      );
      assert.match(error, /npm error code EBADENGINE/);
      assert.match(error, new RegExp(`Not compatible with your version of node/npm: ${PACKAGE_NAME}@`));
      assert.match(error, /Required: \{"node":">=22"\}/);
      assert.ok(!existsSync(join(userDir, "node_modules", PACKAGE_NAME)), "nothing installed");
    } finally {
      await run("rm", ["-rf", userDir]);
    }
  });

  for (const nodeMajor of [22, 24]) {
    for (const { runtime, nodeRedVersion } of [
      { runtime: "node-red-4", nodeRedVersion: /^4\.1\./ },
      { runtime: "node-red-5", nodeRedVersion: /^5\./ },
    ]) {
      describe(`into stock Node-RED ${runtime.slice(-1)} on Node ${nodeMajor}`, () => {
        let nodeRed: NodeRedProcess;
        let base: string;
        let npmOutput = "";
        const viewers: WeriftViewer[] = [];

        before(async () => {
          const node = nodeBinary(nodeMajor);
          const runtimeDir = artifact(runtime, "node_modules", "node-red");
          const pkg = JSON.parse(readFileSync(join(runtimeDir, "package.json"), "utf8")) as {
            version: string;
          };
          assert.match(pkg.version, nodeRedVersion);
          nodeRed = await startNodeRed(
            {
              runtime: runtimeDir,
              node,
              settings: SETTINGS,
              flows: [],
              installPackage: async (userDir) => {
                npmOutput = await paletteInstall(node, userDir);
              },
            },
            60_000,
          );
          base = `http://127.0.0.1:${nodeRed.port}`;
          assert.match(nodeRed.output(), new RegExp(`Node.js\\s+version: v${nodeMajor}\\.`));
          assert.match(
            nodeRed.output(),
            new RegExp(`Node-RED version: v${pkg.version.replace(/\./g, "\\.")}`),
          );
        });

        after(async () => {
          await Promise.all(viewers.splice(0).map((v) => v.close()));
          await nodeRed?.stop();
        });

        it("npm installs it with no warning about engines or install scripts", () => {
          assert.doesNotMatch(npmOutput, /EBADENGINE|install-scripts|npm error/, npmOutput);
          const installed = join(nodeRed.userDir, "node_modules", PACKAGE_NAME);
          const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
            name: string;
          };
          assert.equal(manifest.name, PACKAGE_NAME);
          // No source map comment points at TypeScript sources the package does not ship.
          const compiled = readdirSync(join(installed, "dist"), { recursive: true, encoding: "utf8" });
          const scripts = compiled.filter((file) => file.endsWith(".js"));
          assert.ok(scripts.length > 50, `${scripts.length} compiled modules`);
          for (const file of scripts) {
            assert.doesNotMatch(
              readFileSync(join(installed, "dist", file), "utf8"),
              /sourceMappingURL/,
              file,
            );
          }
        });

        it("loads every node type, with its icon and help", async () => {
          const sets = (await fetch(`${base}/nodes`, { headers: { accept: "application/json" } }).then((r) =>
            r.json(),
          )) as { id: string; module: string; types: string[]; enabled: boolean; err?: string }[];
          const ours = sets.filter((set) => set.module === PACKAGE_NAME);
          assert.deepEqual(ours.flatMap((set) => set.types).sort(), [...NODE_TYPES].sort());
          for (const set of ours) {
            assert.equal(set.err, undefined, `${set.id}: ${set.err}`);
            assert.equal(set.enabled, true, set.id);
          }
          const editorHtml = await fetch(`${base}/nodes`, { headers: { accept: "text/html" } }).then((r) =>
            r.text(),
          );
          for (const type of NODE_TYPES) {
            const icon = await fetch(`${base}/icons/${PACKAGE_NAME}/${type}.svg`);
            assert.equal(icon.status, 200, `icon of ${type}`);
            assert.match(await icon.text(), /<svg/);
            assert.match(editorHtml, new RegExp(`RED\\.nodes\\.registerType\\(\\s*["']${type}["']`));
            assert.match(editorHtml, new RegExp(`icon:\\s*["']${type}\\.svg["']`), `${type} names its icon`);
            const help = new RegExp(
              `<script type="text/html" data-help-name="${type}"[^>]*>([\\s\\S]*?)</script>`,
            );
            assert.ok((help.exec(editorHtml)?.[1] ?? "").trim().length > 200, `help of ${type}`);
          }
        });

        it("the editor's message catalogs answer under the names its code asks for", async () => {
          const editorHtml = await fetch(`${base}/nodes`, { headers: { accept: "text/html" } }).then((r) =>
            r.text(),
          );
          const asked = [...editorHtml.matchAll(/const CATALOG = "([^"]+):";/g)].map((m) => m[1] as string);
          assert.deepEqual(asked.sort(), NODE_TYPES.map((type) => `${PACKAGE_NAME}/${type}`).sort());
          for (const namespace of asked) {
            for (const lng of ["en-US", "zh-CN"]) {
              const catalog = (await fetch(`${base}/locales/${namespace}?lng=${lng}`).then((r) =>
                r.json(),
              )) as Record<string, unknown>;
              const type = namespace.split("/").pop() as string;
              assert.equal(typeof catalog[type], "object", `${namespace} in ${lng}`);
            }
          }
        });

        it("lists the six examples under Import → Examples", async () => {
          const list = (await fetch(`${base}/library/examples/flows/${PACKAGE_NAME}`).then((r) =>
            r.json(),
          )) as {
            fn?: string;
          }[];
          assert.deepEqual(list.map((entry) => entry.fn).sort(), EXAMPLES);
        });

        it("plays the basic example, imported and deployed, to a WebRTC viewer with nothing else started", async () => {
          const flow = (await fetch(`${base}/library/examples/flows/${PACKAGE_NAME}/basic`).then((r) =>
            r.json(),
          )) as FlowNode[];
          assert.equal(flow.find((node) => node.type === "rtsp-in")?.url, DEMO_CAMERA_URL);
          const deployed = await fetch(`${base}/flows`, {
            method: "POST",
            headers: { "content-type": "application/json", "node-red-deployment-type": "full" },
            body: JSON.stringify(onLoopback(flow)),
          });
          assert.equal(deployed.status, 204, await deployed.text());
          await waitFor(
            async () => {
              const stats = await fetch(`${base}/camera/stats`);
              if (stats.status !== 200) return false;
              return (
                ((await stats.json()) as { stream?: { sourceState?: string } }).stream?.sourceState ===
                "receiving"
              );
            },
            30_000,
            `the demo stream at /camera:\n${nodeRed.output()}`,
          );
          const viewer = await connectViewer({
            offer: async (sdp) => {
              const res = await fetch(`${base}/camera/offer`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ type: "offer", sdp }),
              });
              const body = (await res.json()) as { sdp: string };
              assert.equal(res.status, 200, JSON.stringify(body));
              return body.sdp;
            },
          });
          viewers.push(viewer);
          await viewer.connected;
          await assertViewerDecodes(viewer, { width: 640, height: 360 });
        });
      });
    }
  }
});
