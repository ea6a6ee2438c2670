import assert from "node:assert/strict";
import { annexB, depacketize } from "../../../src/snapshot/rtp-to-annexb";
import { hex, hexOf } from "../../helpers/rtp-fixtures";

/** An RTP packet: V=2, PT 96, the given sequence number, timestamp 1000, SSRC 1, then `payload` (hex). */
function rtp(sequence: number, payload: string, marker = false): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(1000, 4);
  header.writeUInt32BE(1, 8);
  return Buffer.concat([header, hex(payload)]);
}

describe("snapshot depacketizer: RTP to NAL units", () => {
  describe("H.264 (RFC 6184)", () => {
    it("passes single NAL units, opens STAP-A, rebuilds FU-A", () => {
      const nals = depacketize(
        [
          // STAP-A (NRI 3): SPS 67 42 00 1f, PPS 68 ce 3c 80
          rtp(1, "78 0004 6742001f 0004 68ce3c80"),
          // SEI, single
          rtp(2, "06 0501 80"),
          // FU-A of an IDR slice (nal header 65): start, middle, end
          rtp(3, "7c 85 aa bb"),
          rtp(4, "7c 05 cc"),
          rtp(5, "7c 45 dd ee", true),
        ],
        "H264",
      );
      assert.deepEqual(hexOf(nals), ["6742001f", "68ce3c80", "06050180", "65aabbccddee"]);
    });

    it("drops a NAL unit with a fragment lost, and fragments without a start", () => {
      const nals = depacketize(
        [
          rtp(10, "7c 85 01"),
          rtp(12, "7c 45 02"), // 11 lost
          rtp(13, "7c 05 03"), // no start
          rtp(14, "7c 41 04"),
          rtp(15, "41 9a"), // a whole P slice after them
        ],
        "H264",
      );
      assert.deepEqual(hexOf(nals), ["419a"]);
    });

    it("follows the sequence number across its wrap", () => {
      const nals = depacketize([rtp(0xffff, "7c 81 01"), rtp(0, "7c 41 02", true)], "H264");
      assert.deepEqual(hexOf(nals), ["610102"]);
    });

    it("leaves out truncated STAP-A, STAP-B, MTAP, FU-B, empty payloads and non-RTP", () => {
      const nals = depacketize(
        [
          rtp(1, "78 0009 6742"), // size past the end
          rtp(2, "78 0000"), // empty unit
          rtp(3, "79 0001 0002 67"), // STAP-B
          rtp(4, "7a 00"), // MTAP16
          rtp(5, "7d 85 00 01 aa"), // FU-B
          rtp(6, ""),
          rtp(7, "7c 85"), // FU-A without a body byte
          Buffer.from("not rtp"),
          rtp(8, "00 11"), // type 0: undefined
        ],
        "H264",
      );
      assert.deepEqual(hexOf(nals), []);
    });

    it("a single NAL unit between fragments ends the run", () => {
      const nals = depacketize([rtp(1, "7c 85 01"), rtp(2, "06 05"), rtp(3, "7c 45 02")], "H264");
      assert.deepEqual(hexOf(nals), ["0605"]);
    });
  });

  describe("H.265 (RFC 7798)", () => {
    it("passes single NAL units, opens AP, rebuilds FU", () => {
      const nals = depacketize(
        [
          // AP (type 48: 60 01): VPS 40 01 0c, SPS 42 01 01
          rtp(1, "6001 0003 40010c 0003 420101"),
          // PPS, single
          rtp(2, "4401 c1"),
          // FU (type 49: 62 01) of an IDR_W_RADL (type 19): header 26 01
          rtp(3, "6201 93 aa"),
          rtp(4, "6201 13 bb"),
          rtp(5, "6201 53 cc", true),
        ],
        "H265",
      );
      assert.deepEqual(hexOf(nals), ["40010c", "420101", "4401c1", "2601aabbcc"]);
    });

    it("keeps the layer and temporal id of the FU's header", () => {
      // F=0, type 49, layer id 0 with its top bit in byte 0's lowest bit set, TID 3.
      const nals = depacketize([rtp(1, "6303 81 01"), rtp(2, "6303 41 02")], "H265");
      assert.deepEqual(hexOf(nals), ["03030102"]);
    });

    it("leaves out PACI, truncated AP and packets too short", () => {
      const nals = depacketize(
        [rtp(1, "6401 00 00"), rtp(2, "6001 0005 4001"), rtp(3, "40"), rtp(4, "6201 93")],
        "H265",
      );
      assert.deepEqual(hexOf(nals), []);
    });
  });

  it("annexB puts a 4-byte start code before each NAL unit", () => {
    assert.equal(
      Buffer.concat(annexB([hex("6742"), hex("68ce")])).toString("hex"),
      "0000000167420000000168ce",
    );
  });
});
