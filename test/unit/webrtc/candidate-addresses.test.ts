import assert from "node:assert/strict";
import type { NetworkInterfaceInfo } from "node:os";
import {
  candidateAddresses,
  uncoveredAddresses,
  weriftHostAddresses,
} from "../../../src/webrtc/candidate-addresses";
import type { IceSettings } from "../../../src/webrtc/ice-config";

function ice(extra: Partial<IceSettings> = {}): IceSettings {
  return { iceServers: [], additionalHostAddresses: [], ...extra };
}

function info(address: string, family: "IPv4" | "IPv6", internal = false): NetworkInterfaceInfo {
  const common = { address, netmask: "255.255.255.0", mac: "00:00:00:00:00:00", internal, cidr: null };
  return family === "IPv4" ? { ...common, family } : { ...common, family, scopeid: 0 };
}

describe("candidateAddresses", () => {
  it("a loopback-only host: the address the request came in on, loopback included", () => {
    assert.deepEqual(candidateAddresses(ice(), ["127.0.0.1"], []), ["127.0.0.1"]);
    assert.deepEqual(candidateAddresses(ice(), [], []), []);
  });

  it("the interfaces' addresses and the configured ones first, then what they do not cover", () => {
    const hosts = ["192.168.1.5"];
    assert.deepEqual(
      candidateAddresses(ice({ additionalHostAddresses: ["203.0.113.7"] }), ["127.0.0.1"], hosts),
      ["203.0.113.7", "192.168.1.5", "127.0.0.1"],
    );
    // Covered already: nothing added twice.
    assert.deepEqual(candidateAddresses(ice(), ["192.168.1.5", "192.168.1.5"], hosts), ["192.168.1.5"]);
    assert.deepEqual(
      candidateAddresses(ice({ additionalHostAddresses: ["203.0.113.7"] }), ["203.0.113.7"], hosts),
      ["203.0.113.7", "192.168.1.5"],
    );
  });

  it("a port-forwarded Host header (docker run -p): its IPv4 literal is offered too", () => {
    assert.deepEqual(candidateAddresses(ice(), ["172.17.0.2", "192.0.2.50"], ["172.17.0.2"]), [
      "172.17.0.2",
      "192.0.2.50",
    ]);
  });

  it("IPv4-mapped request addresses count as the IPv4 address they are", () => {
    assert.deepEqual(candidateAddresses(ice(), ["::ffff:127.0.0.5", "::FFFF:127.0.0.1"], []), [
      "127.0.0.5",
      "127.0.0.1",
    ]);
  });

  it("IPv6 and unspecified request addresses are left out (IPv4 candidates only)", () => {
    assert.deepEqual(candidateAddresses(ice(), ["::1", "fe80::1", "0.0.0.0", "not an address"], []), []);
  });

  it("an interface pinned (Interface): that address only, and no other request address, which it could not reach", () => {
    const pinned = ice({ interfaceAddresses: { udp4: "192.168.1.5" } });
    assert.deepEqual(candidateAddresses(pinned, ["127.0.0.1"], ["10.0.0.2", "192.168.1.5"]), ["192.168.1.5"]);
    assert.deepEqual(uncoveredAddresses(pinned, ["127.0.0.1"], ["192.168.1.5"]), []);
    // Bound to loopback (which werift never gathers on): a request that came in there is offered it.
    const loopback = ice({ interfaceAddresses: { udp4: "127.0.0.1" } });
    assert.deepEqual(candidateAddresses(loopback, ["127.0.0.1", "192.0.2.50"], []), ["127.0.0.1"]);
    assert.deepEqual(candidateAddresses(loopback, ["192.0.2.50"], []), []);
    // werift falls back to every interface when the pinned one is not there.
    assert.deepEqual(candidateAddresses(pinned, [], ["10.0.0.2"]), ["10.0.0.2"]);
  });

  it("uncoveredAddresses: only what the configured candidates miss (added to werift's extra host addresses)", () => {
    assert.deepEqual(uncoveredAddresses(ice(), ["127.0.0.1", "192.168.1.5"], ["192.168.1.5"]), ["127.0.0.1"]);
    assert.deepEqual(
      uncoveredAddresses(ice({ additionalHostAddresses: ["127.0.0.1"] }), ["127.0.0.1"], []),
      [],
    );
  });

  it("weriftHostAddresses: as werift gathers: IPv4, not loopback, not link-local, no veth or tunnel", () => {
    assert.deepEqual(
      weriftHostAddresses({
        wlan0: [info("192.168.1.9", "IPv4")],
        lo: [info("127.0.0.1", "IPv4", true), info("::1", "IPv6", true)],
        eth0: [info("10.0.0.2", "IPv4"), info("fd00::2", "IPv6"), info("169.254.3.4", "IPv4")],
        veth12ab: [info("172.18.0.1", "IPv4")],
        tun0: [info("10.8.0.1", "IPv4")],
      }),
      ["10.0.0.2", "192.168.1.9"],
    );
  });

  it("in this test's namespace (loopback only) werift would gather nothing by itself", () => {
    assert.deepEqual(weriftHostAddresses(), []);
    assert.deepEqual(candidateAddresses(ice(), ["127.0.0.1"]), ["127.0.0.1"]);
  });
});
