import assert from "node:assert/strict";
import { peerIceConfig } from "../../../src/webrtc/ice-config";

describe("peerIceConfig", () => {
  it("contacts no STUN host unless told to, and announces the extra host addresses", () => {
    assert.deepEqual(peerIceConfig({ iceServers: [], additionalHostAddresses: ["203.0.113.7"] }), {
      iceServers: [],
      iceAdditionalHostAddresses: ["203.0.113.7"],
      iceUseIpv4: true,
      iceUseIpv6: false,
      iceUseTcp: false,
    });
  });

  it("passes servers with credentials, a port range and an interface through", () => {
    const config = peerIceConfig({
      iceServers: [{ urls: "turn:turn.example.net:3478", username: "u", credential: "p" }],
      additionalHostAddresses: [],
      portRange: [40000, 40100],
      interfaceAddresses: { udp4: "192.0.2.10" },
    });
    assert.deepEqual(config.iceServers, [
      { urls: "turn:turn.example.net:3478", username: "u", credential: "p" },
    ]);
    assert.deepEqual(config.icePortRange, [40000, 40100]);
    assert.deepEqual(config.iceInterfaceAddresses, { udp4: "192.0.2.10" });
  });

  it("leaves out a port range werift would refuse (both ends equal)", () => {
    assert.equal(
      peerIceConfig({ iceServers: [], additionalHostAddresses: [], portRange: [5000, 5000] }).icePortRange,
      undefined,
    );
  });
});
