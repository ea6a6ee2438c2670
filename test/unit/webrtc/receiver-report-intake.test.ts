import assert from "node:assert/strict";
import { RtcpReceiverInfo, RtcpRrPacket } from "werift";
import { sdesCname } from "../../../src/rtp/rtcp-packet";
import { receiverReportsOnly } from "../../../src/webrtc/receiver-report-intake";
import { hex } from "../../helpers/rtp-fixtures";

// What the intake takes from werift: compound RTCP of receiver reports and SDES only, well formed.

/** RFC 3550 RR from SSRC 0x11223344, one block about 0xaabbccdd: 1/256 lost, 3 lost, LSR/DLSR set. */
const RR = hex(`
  81c90007 11223344
  aabbccdd 01000003 0000ffff 00000020 12345678 00010000`);
/** PLI (RFC 4585 PSFB FMT 1) from 0x11223344 about 0xaabbccdd. */
const PLI = hex("81ce0002 11223344 aabbccdd");

describe("receiverReportsOnly", () => {
  it("takes an RR, an RR with SDES, and an RR with no block", () => {
    assert.equal(receiverReportsOnly(RR), true);
    assert.equal(receiverReportsOnly(Buffer.concat([RR, sdesCname(0x11223344, "viewer")])), true);
    assert.equal(receiverReportsOnly(hex("80c90001 11223344")), true);
  });

  it("reads werift's own RR as the fixture", () => {
    const werift = new RtcpRrPacket({
      ssrc: 0x11223344,
      reports: [
        new RtcpReceiverInfo({
          ssrc: 0xaabbccdd,
          fractionLost: 1,
          packetsLost: 3,
          highestSequence: 0xffff,
          jitter: 0x20,
          lsr: 0x12345678,
          dlsr: 0x10000,
        }),
      ],
    }).serialize();
    assert.equal(werift.toString("hex"), RR.toString("hex"));
  });

  it("leaves anything else to werift: feedback, a sender report, malformed framing", () => {
    assert.equal(receiverReportsOnly(Buffer.concat([RR, PLI])), false, "RR + PLI");
    assert.equal(receiverReportsOnly(PLI), false);
    assert.equal(
      receiverReportsOnly(hex("80c80006 11223344 00000000 00000000 00000000 00000000 00000000")),
      false,
    );
    assert.equal(receiverReportsOnly(Buffer.alloc(0)), false, "empty");
    assert.equal(receiverReportsOnly(RR.subarray(0, RR.length - 4)), false, "length past the end");
    assert.equal(receiverReportsOnly(Buffer.concat([RR, hex("81c9")])), false, "a header cut short");
    const version = Buffer.from(RR);
    version[0] = 0x41;
    assert.equal(receiverReportsOnly(version), false, "version 1");
    const blocks = Buffer.from(RR);
    blocks[0] = 0x82;
    assert.equal(receiverReportsOnly(blocks), false, "two blocks announced, one there");
  });
});
