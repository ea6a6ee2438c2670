import assert from "node:assert/strict";
import { chooseTransport } from "../../../src/demo/transport-choice";

describe("chooseTransport", () => {
  it("reads TCP interleaved channels, with or without a pair", () => {
    assert.deepEqual(chooseTransport("RTP/AVP/TCP;unicast;interleaved=0-1"), {
      kind: "tcp",
      interleaved: [0, 1],
    });
    assert.deepEqual(chooseTransport("RTP/AVP/TCP;unicast;interleaved=4"), {
      kind: "tcp",
      interleaved: [4, 5],
    });
    assert.deepEqual(chooseTransport("rtp/avp/tcp;unicast"), { kind: "tcp" });
  });

  it("reads UDP client ports, as ffmpeg and live555 write them", () => {
    assert.deepEqual(chooseTransport("RTP/AVP/UDP;unicast;client_port=5000-5001"), {
      kind: "udp",
      clientPorts: [5000, 5001],
    });
    assert.deepEqual(chooseTransport("RTP/AVP;unicast;client_port=6970-6971;mode=play"), {
      kind: "udp",
      clientPorts: [6970, 6971],
    });
    assert.deepEqual(chooseTransport('RTP/AVP;unicast;client_port=7000;mode="PLAY"'), {
      kind: "udp",
      clientPorts: [7000, 7001],
    });
  });

  it("takes the first transport it can serve from a list", () => {
    assert.deepEqual(
      chooseTransport(
        "RTP/AVP;multicast;port=5000-5001, RTP/SAVP;unicast;client_port=1-2, RTP/AVP/TCP;interleaved=2-3",
      ),
      { kind: "tcp", interleaved: [2, 3] },
    );
  });

  it("refuses multicast, record mode, missing or bad ports, other profiles", () => {
    for (const header of [
      undefined,
      "",
      "RTP/AVP;multicast",
      "RTP/AVP;unicast",
      "RTP/AVP;unicast;client_port=0-1",
      "RTP/AVP;unicast;client_port=70000-70001",
      "RTP/AVP;unicast;client_port=a-b",
      "RTP/AVP/TCP;interleaved=300-301",
      "RTP/AVP/TCP;interleaved=0-1;mode=record",
      "RAW/RAW/UDP;unicast;client_port=5000-5001",
    ]) {
      assert.equal(chooseTransport(header), undefined, String(header));
    }
  });
});
