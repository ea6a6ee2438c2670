import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { loopbackOnlyProblem } from "../../helpers/loopback-only";

/** dist/, where the compiled tests and sources are. */
const DIST = path.resolve(__dirname, "../../..");
const ROOT = path.dirname(DIST);
const GUARD = path.join(DIST, "test/helpers/loopback-namespace.js");

/** Modules that make WebRTC peers, drive a browser or start Node-RED with this package. */
const PACKET_SENDERS = [
  "src/webrtc/viewer.js",
  "test/helpers/werift-viewer.js",
  "test/helpers/chromium.js",
  "test/helpers/node-red-process.js",
].map((file) => path.join(DIST, file));

/** The repository's own modules `file` loads, directly or through others (relative requires only). */
function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, "utf8");
  for (const match of source.matchAll(/require\("(\.[^"]+)"\)/g)) {
    const target = path.resolve(path.dirname(file), match[1]!);
    const found = [target, `${target}.js`].find((f) => existsSync(f) && statSync(f).isFile());
    if (found) closure(found, seen);
  }
  return seen;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return entry.name.endsWith(".test.js") ? [full] : [];
  });
}

describe("the loopback namespace guard", () => {
  it("refuses interfaces besides loopback, and loopback down; takes loopback alone", () => {
    const lo = [
      {
        address: "127.0.0.1",
        netmask: "255.0.0.0",
        family: "IPv4",
        mac: "00:00:00:00:00:00",
        internal: true,
        cidr: "127.0.0.1/8",
      },
    ] as const;
    const eth = [
      {
        address: "192.0.2.7",
        netmask: "255.255.255.0",
        family: "IPv4",
        mac: "02:00:00:00:00:01",
        internal: false,
        cidr: "192.0.2.7/24",
      },
    ] as const;
    assert.equal(loopbackOnlyProblem({ lo: [...lo] }), undefined);
    assert.match(
      loopbackOnlyProblem({ lo: [...lo], eth0: [...eth] }) ?? "",
      /besides loopback \(eth0 192\.0\.2\.7\)/,
    );
    assert.match(loopbackOnlyProblem({}) ?? "", /loopback \(127\.0\.0\.1\) is not up/);
  });

  it("is loaded by every test file that makes WebRTC peers, drives a browser or runs Node-RED with the package", () => {
    const unguarded = testFiles(path.join(DIST, "test"))
      .filter((file) => {
        const loaded = closure(file);
        return (
          PACKET_SENDERS.some((m) => loaded.has(m)) ||
          /new [\w.]*RTCPeerConnection\(|require\("playwright-core"\)/.test(readFileSync(file, "utf8"))
        );
      })
      .filter((file) => !closure(file).has(GUARD))
      .map((file) => path.relative(ROOT, file));
    assert.deepEqual(unguarded, [], 'each of these must `import "../helpers/loopback-namespace";` first');
  });
});
