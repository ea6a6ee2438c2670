import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type NodeRedProcess, packageRoot, startNodeRed } from "../helpers/node-red-process";

const ROOT = packageRoot();
const SETTINGS = path.join(ROOT, "test/demo/settings.js");
const USER = "demo-admin";
const PASSWORD = "demo-editor-password";
/** bcrypt of PASSWORD, as `node-red admin hash-pw` would print it. */
const PASSWORD_HASH = "$2b$08$AMeEqfPEXdujAAjIY8lENeXLVxVZLcvLFeTMnaK/L/9t3CfJybC3C";
const NO_DEMO_ENV = { DEMO_HOST: "", DEMO_ADMIN_USER: "", DEMO_ADMIN_PASSWORD_HASH: "" };

/** The kernel's table of listening TCP sockets on `port`: each one's local address. */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state !== "0A") continue; // 0A: LISTEN
      const [address = "", hexPort = ""] = local.split(":");
      if (Number.parseInt(hexPort, 16) !== port) continue;
      if (address.length === 8) {
        // IPv4, the bytes in host (little-endian) order
        found.push(Buffer.from(address, "hex").reverse().join("."));
      } else {
        found.push(/^0+$/.test(address) ? "::" : `ipv6 ${address}`);
      }
    }
  }
  return found;
}

/** `npm run demo`'s script with `env`, as far as it goes before it builds anything. */
function runDemoScript(env: Record<string, string>) {
  return spawnSync("bash", [path.join(ROOT, "test/demo/run-demo.sh")], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("npm run demo: Node-RED's editor, which runs code, stays on 127.0.0.1 unless given a login", function () {
  this.timeout(60_000);
  let nodeRed: NodeRedProcess | undefined;

  afterEach(async () => {
    await nodeRed?.stop();
    nodeRed = undefined;
  });

  it("listens on 127.0.0.1 only, by default", async () => {
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `module.exports = require(${JSON.stringify(SETTINGS)});`,
      flows: [],
      env: NO_DEMO_ENV,
    });
    assert.deepEqual(listeningAddresses(nodeRed.port), ["127.0.0.1"]);
  });

  it("with DEMO_HOST=0.0.0.0 and a login, listens on every interface and the editor asks for the login", async () => {
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `module.exports = require(${JSON.stringify(SETTINGS)});`,
      flows: [],
      env: { DEMO_HOST: "0.0.0.0", DEMO_ADMIN_USER: USER, DEMO_ADMIN_PASSWORD_HASH: PASSWORD_HASH },
    });
    assert.deepEqual(listeningAddresses(nodeRed.port), ["0.0.0.0"]);
    const base = `http://127.0.0.1:${nodeRed.port}`;
    assert.equal((await fetch(`${base}/flows`)).status, 401, "the admin API without the login");
    const login = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        client_id: "node-red-editor",
        grant_type: "password",
        scope: "",
        username: USER,
        password: PASSWORD,
      }),
    });
    assert.equal(login.status, 200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    assert.equal(
      (await fetch(`${base}/flows`, { headers: { Authorization: `Bearer ${token}` } })).status,
      200,
    );
  });

  it("refuses another address without a login, before building or starting anything, and says how to set one", () => {
    for (const host of ["0.0.0.0", "192.0.2.10"]) {
      const run = runDemoScript({ ...NO_DEMO_ENV, DEMO_HOST: host });
      assert.equal(run.status, 1, `${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /will not open Node-RED's editor, which runs code, to .* without a login/);
      assert.match(
        run.stderr,
        /DEMO_ADMIN_USER=<name> DEMO_ADMIN_PASSWORD_HASH=.*npx node-red admin hash-pw/,
      );
      assert.equal(run.stdout, "", "nothing was built or started");
    }
    const half = runDemoScript({ ...NO_DEMO_ENV, DEMO_ADMIN_USER: USER });
    assert.equal(half.status, 1);
    assert.match(half.stderr, /needs both DEMO_ADMIN_USER and DEMO_ADMIN_PASSWORD_HASH/);
  });
});
