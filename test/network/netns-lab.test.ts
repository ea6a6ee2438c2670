import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { loopbackOnlyProblem } from "../helpers/loopback-only";
import { listNamespaces, NAMESPACE_PREFIX, NetnsLab, removeStaleNamespaces } from "../helpers/netns";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

const SERVER = `require("node:net").createServer((s) => s.end("hello")).listen(7000, "10.79.0.2", () => console.log("up"));`;
const CLIENT = `const s = require("node:net").connect({ host: "10.79.0.2", port: 7000, timeout: 1500 });
s.on("data", (d) => { process.stdout.write(String(d)); });
s.on("timeout", () => { process.stdout.write("timeout"); s.destroy(); });
s.on("error", (e) => { process.stdout.write(e.code); });`;

describe("test/helpers/netns.ts: the network tests' hosts", function () {
  this.timeout(30_000);
  let lab: NetnsLab | undefined;

  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it("makes namespaces joined by a veth pair, runs processes in them, applies nftables rules, and leaves nothing behind", async () => {
    lab = NetnsLab.create("u");
    const a = lab.namespace("a");
    const b = lab.namespace("b");
    const made = listNamespaces();
    assert.ok(made.includes(a) && made.includes(b), made.join(", "));
    lab.link(
      { ns: a, ifname: "a0", address: "10.79.0.1/24" },
      { ns: b, ifname: "b0", address: "10.79.0.2/24" },
    );
    lab.route(a, "10.79.9.0/24", "10.79.0.2");
    assert.match(lab.run(a, requireTool("ip"), ["route", "get", "10.79.9.9"]), /via 10\.79\.0\.2 dev a0/);

    const server = lab.spawn(b, process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
    let said = "";
    server.stdout?.on("data", (chunk: Buffer) => {
      said += chunk.toString();
    });
    await waitFor(() => said.includes("up"), 10_000, "the server in b to listen");
    assert.equal(lab.run(a, process.execPath, ["-e", CLIENT]), "hello");

    lab.nft(
      b,
      "table inet filter {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport 7000 drop\n  }\n}",
    );
    assert.match(lab.ruleset(b), /tcp dport 7000 drop/);
    assert.equal(lab.run(a, process.execPath, ["-e", CLIENT]), "timeout");

    // The mocha process's own namespace is untouched: still loopback only.
    assert.equal(loopbackOnlyProblem(), undefined);

    const id = lab.id;
    await lab.destroy();
    assert.ok(server.exitCode !== null || server.signalCode !== null, "the process in b was ended");
    assert.deepEqual(
      listNamespaces().filter((name) => name.startsWith(id)),
      [],
    );
    await lab.destroy(); // twice is harmless
  });

  it("a namespace of a run that was killed (its pid gone) is removed by the next lab; others' are left alone", async () => {
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
    assert.ok(gone !== undefined);
    const stale = `${NAMESPACE_PREFIX}${gone}-stale`;
    const mine = `${NAMESPACE_PREFIX}${process.pid}-notstale`;
    for (const name of [stale, mine]) spawnSync(requireTool("ip"), ["netns", "add", name]);
    try {
      assert.ok(removeStaleNamespaces().includes(stale));
      const left = listNamespaces();
      assert.ok(!left.includes(stale));
      assert.ok(left.includes(mine), "a live run's namespace stays");
    } finally {
      for (const name of [stale, mine])
        spawnSync(requireTool("ip"), ["netns", "del", name], { stdio: "ignore" });
    }
  });
});
