import assert from "node:assert/strict";
import {
  annexB,
  depacketizeH264,
  depacketizeH265,
  h264NalUnits,
  h265NalUnits,
  MalformedRtpError,
  parseRtp,
} from "../../helpers/depacketize";

/** A minimal RTP packet: version 2, PT 96, SSRC 0x01020304, timestamp 0x0a0b0c0d. */
function rtp(seq: number, payload: readonly number[], marker = false): Buffer {
  return Buffer.from([
    0x80,
    (marker ? 0x80 : 0) | 96,
    seq >> 8,
    seq & 0xff,
    0x0a,
    0x0b,
    0x0c,
    0x0d,
    0x01,
    0x02,
    0x03,
    0x04,
    ...payload,
  ]);
}

const START = [0, 0, 0, 1];

describe("test helper depacketize", () => {
  describe("parseRtp", () => {
    it("skips CSRCs, the header extension and padding", () => {
      const packet = Buffer.from([
        ...[0xb2, 0xe0, 0x12, 0x34], // V=2, P=1, X=1, CC=2; M=1, PT=96; seq 0x1234
        ...[0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe], // timestamp, SSRC
        ...[0, 0, 0, 1, 0, 0, 0, 2], // two CSRCs
        ...[0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x00, 0x00], // extension: one 32-bit word
        ...[0x65, 0x88], // payload
        ...[0x00, 0x00, 0x03], // three bytes of padding
      ]);
      const parsed = parseRtp(packet);
      assert.deepEqual(
        {
          payloadType: parsed.payloadType,
          marker: parsed.marker,
          sequenceNumber: parsed.sequenceNumber,
          timestamp: parsed.timestamp,
          ssrc: parsed.ssrc,
        },
        { payloadType: 96, marker: true, sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0xcafebabe },
      );
      assert.deepEqual([...parsed.payload], [0x65, 0x88]);
    });

    it("rejects short packets, other versions and oversized padding", () => {
      assert.throws(() => parseRtp(Buffer.alloc(11)), MalformedRtpError);
      assert.throws(() => parseRtp(Buffer.from([0x40, ...Buffer.alloc(12)])), MalformedRtpError);
      const padded = rtp(1, [0x65, 0x20]);
      padded[0] = 0xa0;
      assert.throws(() => parseRtp(padded), MalformedRtpError);
    });
  });

  describe("H.264 (RFC 6184)", () => {
    it("passes single NAL unit packets through behind start codes", () => {
      const out = depacketizeH264([rtp(1, [0x65, 0xaa, 0xbb], true), rtp(2, [0x41, 0xcc], true)]);
      assert.deepEqual([...out], [...START, 0x65, 0xaa, 0xbb, ...START, 0x41, 0xcc]);
    });

    it("splits STAP-A packets", () => {
      const stap = [0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x03, 0x68, 0xce, 0x3c];
      assert.deepEqual(
        h264NalUnits([rtp(7, stap)]).map((nal) => [...nal]),
        [
          [0x67, 0x42],
          [0x68, 0xce, 0x3c],
        ],
      );
    });

    it("reassembles FU-A fragments with the NAL header from indicator and FU header", () => {
      const packets = [
        rtp(10, [0x7c, 0x85, 0x01, 0x02]),
        rtp(11, [0x7c, 0x05, 0x03, 0x04]),
        rtp(12, [0x7c, 0x45, 0x05, 0x06], true),
      ];
      assert.deepEqual([...depacketizeH264(packets)], [...START, 0x65, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    });

    it("drops a fragmented NAL unit whose start or middle is missing", () => {
      const noStart = [rtp(20, [0x5c, 0x01, 0x11]), rtp(21, [0x5c, 0x41, 0x12], true)];
      const gap = [rtp(30, [0x5c, 0x81, 0x21]), rtp(32, [0x5c, 0x41, 0x23], true)];
      const after = rtp(33, [0x41, 0x99], true);
      assert.deepEqual(
        h264NalUnits([...noStart, ...gap, after]).map((nal) => [...nal]),
        [[0x41, 0x99]],
      );
    });

    it("wraps the sequence number around 65535 without calling it a gap", () => {
      const packets = [rtp(65535, [0x7c, 0x85, 0x01]), rtp(0, [0x7c, 0x45, 0x02], true)];
      assert.deepEqual(
        h264NalUnits(packets).map((nal) => [...nal]),
        [[0x65, 0x01, 0x02]],
      );
    });

    it("puts the caller's parameter sets first", () => {
      const out = depacketizeH264([rtp(1, [0x65, 0x01], true)], {
        prepend: [Buffer.from([0x67, 0x42]), Buffer.from([0x68, 0xce])],
      });
      assert.deepEqual([...out], [...START, 0x67, 0x42, ...START, 0x68, 0xce, ...START, 0x65, 0x01]);
    });

    it("refuses packet types of other packetization modes", () => {
      assert.throws(() => h264NalUnits([rtp(1, [0x19, 0x00, 0x00])]), MalformedRtpError); // STAP-B
      assert.throws(() => h264NalUnits([rtp(1, [0x1d, 0x85, 0x00])]), MalformedRtpError); // FU-B
      assert.throws(() => h264NalUnits([rtp(1, [0x18, 0x00, 0x05, 0x67])]), MalformedRtpError); // short STAP
    });
  });

  describe("H.265 (RFC 7798)", () => {
    it("passes single NAL unit packets through", () => {
      const out = depacketizeH265([rtp(1, [0x26, 0x01, 0xaf], true)]);
      assert.deepEqual([...out], [...START, 0x26, 0x01, 0xaf]);
    });

    it("splits aggregation packets", () => {
      const ap = [
        0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0c, 0x00, 0x03, 0x42, 0x01, 0x01, 0x00, 0x02, 0x44, 0x01,
      ];
      assert.deepEqual(
        h265NalUnits([rtp(3, ap)]).map((nal) => [...nal]),
        [
          [0x40, 0x01, 0x0c],
          [0x42, 0x01, 0x01],
          [0x44, 0x01],
        ],
      );
    });

    it("reassembles fragmentation units with the type from the FU header", () => {
      const packets = [
        rtp(100, [0x62, 0x01, 0x93, 0xaa]),
        rtp(101, [0x62, 0x01, 0x13, 0xbb]),
        rtp(102, [0x62, 0x01, 0x53, 0xcc], true),
      ];
      assert.deepEqual([...depacketizeH265(packets)], [...START, 0x26, 0x01, 0xaa, 0xbb, 0xcc]);
    });

    it("refuses PACI packets", () => {
      assert.throws(() => h265NalUnits([rtp(1, [0x64, 0x01, 0x00, 0x00])]), MalformedRtpError);
    });
  });

  it("annexB puts a 4-byte start code before each NAL unit", () => {
    assert.deepEqual(
      [...annexB([Buffer.from([0x09, 0xf0]), Buffer.from([0x41])])],
      [...START, 0x09, 0xf0, ...START, 0x41],
    );
  });
});
