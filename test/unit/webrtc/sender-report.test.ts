import assert from "node:assert/strict";
import { RtcpPacketConverter, RtcpSenderInfo, RtcpSourceDescriptionPacket, RtcpSrPacket } from "werift";
import { compactNtp, ntpBigInt, ntpTimeOf, senderReport } from "../../../src/webrtc/sender-report";

const FIELDS = {
  ssrc: 0xdeadbeef,
  ntp: { seconds: 0xec8d2a1f, fraction: 0x40000000 },
  rtpTimestamp: 0x000d2f00,
  packetCount: 100,
  octetCount: 100_000,
};

describe("senderReport", () => {
  it("writes a sender report with no reception blocks, byte for byte", () => {
    const bytes = senderReport(FIELDS);
    assert.equal(bytes.toString("hex"), "80c80006deadbeefec8d2a1f40000000000d2f0000000064000186a0");
    const theirs = new RtcpSrPacket({
      ssrc: FIELDS.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: ntpBigInt(FIELDS.ntp),
        rtpTimestamp: FIELDS.rtpTimestamp,
        packetCount: FIELDS.packetCount,
        octetCount: FIELDS.octetCount,
      }),
    }).serialize();
    assert.ok(bytes.equals(theirs), "the same bytes as werift's own sender report");
  });

  it("adds SDES CNAME: the item, a null octet to end the list, padding to 32 bits", () => {
    // 4 + 2 + 5 + 1 = 12 bytes of chunk: no padding after the null.
    assert.equal(
      senderReport({ ...FIELDS, cname: "relay" })
        .subarray(28)
        .toString("hex"),
      "81ca0003deadbeef010572656c617900",
    );
    // 4 + 2 + 6 = 12: the list still needs its null octet, then three of padding (werift writes none).
    assert.equal(
      senderReport({ ...FIELDS, cname: "relay2" })
        .subarray(28)
        .toString("hex"),
      "81ca0004deadbeef010672656c61793200000000",
    );
    assert.equal(senderReport({ ...FIELDS, cname: "" }).length, 28);
  });

  it("reads back with werift's RTCP parser", () => {
    const [sr, sdes] = RtcpPacketConverter.deSerialize(senderReport({ ...FIELDS, cname: "{cname-1}" }));
    assert.ok(sr instanceof RtcpSrPacket);
    assert.equal(sr.ssrc, FIELDS.ssrc);
    assert.equal(sr.senderInfo.ntpTimestamp, ntpBigInt(FIELDS.ntp));
    assert.equal(sr.senderInfo.rtpTimestamp, FIELDS.rtpTimestamp);
    assert.equal(sr.senderInfo.packetCount, FIELDS.packetCount);
    assert.equal(sr.senderInfo.octetCount, FIELDS.octetCount);
    assert.ok(sdes instanceof RtcpSourceDescriptionPacket);
    assert.equal(sdes.chunks[0]?.source, FIELDS.ssrc);
    assert.equal(sdes.chunks[0]?.items[0]?.text, "{cname-1}");
  });
});

describe("ntpTimeOf", () => {
  it("counts from 1900, with a binary fraction of the second", () => {
    assert.deepEqual(ntpTimeOf(0), { seconds: 2_208_988_800, fraction: 0 });
    assert.deepEqual(ntpTimeOf(1500), { seconds: 2_208_988_801, fraction: 0x80000000 });
    assert.deepEqual(ntpTimeOf(1_765_000_000_250), { seconds: 3_973_988_800, fraction: 0x40000000 });
  });

  it("compactNtp is the middle 32 bits that receivers echo as LSR", () => {
    assert.equal(compactNtp({ seconds: 0xec8d2a1f, fraction: 0x40001234 }), 0x2a1f4000);
    assert.equal(ntpBigInt({ seconds: 0xec8d2a1f, fraction: 0x40000000 }), 0xec8d2a1f40000000n);
  });
});
