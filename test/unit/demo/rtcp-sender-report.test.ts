import assert from "node:assert/strict";
import { buildSenderReport } from "../../../src/demo/rtcp-sender-report";

describe("buildSenderReport", () => {
  it("writes SR and SDES CNAME byte for byte", () => {
    const packet = buildSenderReport({
      ssrc: 0x01020304,
      wallClockMs: 1_700_000_000_500,
      rtpTimestamp: 0x11223344,
      packetCount: 10,
      octetCount: 12345,
      cname: "cam",
    });
    const expected =
      // SR: V=2 RC=0, PT=200, length 6; SSRC; NTP 1700000000 + 2208988800 s and 0.5; RTP time; counts.
      "80c80006" +
      "01020304" +
      "e8fe6f80" +
      "80000000" +
      "11223344" +
      "0000000a" +
      "00003039" +
      // SDES: V=2 SC=1, PT=202, length 3; SSRC; CNAME "cam"; end of list and padding (3 zero bytes).
      "81ca0003" +
      "01020304" +
      "0103" +
      "63616d" +
      "000000";
    assert.equal(packet.toString("hex"), expected);
  });

  it("pads the SDES chunk to 32 bits with at least one zero byte", () => {
    for (const cname of ["", "a", "ab", "abc", "abcd", "x".repeat(300)]) {
      const packet = buildSenderReport({
        ssrc: 1,
        wallClockMs: 0,
        rtpTimestamp: 0,
        packetCount: 0,
        octetCount: 0,
        cname,
      });
      const sdes = packet.subarray(28);
      assert.equal(sdes.length % 4, 0);
      assert.equal((sdes.readUInt16BE(2) + 1) * 4, sdes.length);
      const length = sdes[9]!;
      assert.equal(length, Math.min(cname.length, 255));
      assert.equal(sdes[10 + length], 0);
    }
  });
});
