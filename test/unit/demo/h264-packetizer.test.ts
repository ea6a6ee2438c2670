import assert from "node:assert/strict";
import { DEFAULT_MAX_PAYLOAD_SIZE, H264Packetizer, h264Payloads } from "../../../src/demo/h264-packetizer";
import { hex, hexOf } from "../../helpers/rtp-fixtures";

/** NAL unit with header byte `header` and body bytes 0x00, 0x01, ... (length - 1 of them). */
function nal(header: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  bytes[0] = header;
  for (let i = 1; i < length; i++) bytes[i] = (i - 1) & 0xff;
  return bytes;
}

describe("H264Packetizer", () => {
  it("sends a NAL unit that fits as one single-NAL packet with the marker set", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 0x11223344, initialSequence: 1000 });
    const packets = packetizer.packetize([hex("65 aa bb cc")], 90000);
    assert.deepEqual(hexOf(packets), ["80e003e8" + "00015f90" + "11223344" + "65aabbcc"]);
    assert.equal(packetizer.nextSequence, 1001);
  });

  it("marks only the last packet of the access unit", () => {
    const packetizer = new H264Packetizer({ payloadType: 97, ssrc: 1, initialSequence: 7 });
    const packets = packetizer.packetize([hex("67 4d 40 1e"), hex("68 ef 3c 80"), hex("65 88")], 3600);
    assert.deepEqual(hexOf(packets), [
      "80610007" + "00000e10" + "00000001" + "674d401e",
      "80610008" + "00000e10" + "00000001" + "68ef3c80",
      "80e10009" + "00000e10" + "00000001" + "6588",
    ]);
  });

  it("sets no marker when the NAL units do not end the access unit", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1 });
    const packets = packetizer.packetize([hex("41 01")], 0, false);
    assert.equal(packets[0]![1], 96);
  });

  it("fragments a NAL unit that does not fit into FU-A packets with S and E bits", () => {
    const packetizer = new H264Packetizer({
      payloadType: 96,
      ssrc: 0xdeadbeef,
      maxPayloadSize: 6,
      initialSequence: 5,
    });
    // IDR, NRI 3: indicator 0x7c (NRI 3, type 28), headers S|5, 5, E|5; 4 payload bytes per fragment.
    const packets = packetizer.packetize([nal(0x65, 11)], 1);
    assert.deepEqual(hexOf(packets), [
      "80600005" + "00000001" + "deadbeef" + "7c85" + "00010203",
      "80600006" + "00000001" + "deadbeef" + "7c05" + "04050607",
      "80e00007" + "00000001" + "deadbeef" + "7c45" + "0809",
    ]);
  });

  it("keeps the F and NRI bits of the fragmented NAL unit in the FU indicator", () => {
    const cases: ReadonlyArray<readonly [header: number, indicator: number, type: number]> = [
      [0x41, 0x5c, 1], // NRI 2, non-IDR slice
      [0x01, 0x1c, 1], // NRI 0
      [0xe5, 0xfc, 5], // F set, NRI 3, IDR
      [0x26, 0x3c, 6], // NRI 1, SEI
    ];
    for (const [header, indicator, type] of cases) {
      const payloads = h264Payloads(nal(header, 8), 5);
      assert.deepEqual(
        payloads.map((payload) => [payload[0], payload[1]]),
        [
          [indicator, 0x80 | type],
          [indicator, 0x00 | type],
          [indicator, 0x40 | type],
        ],
        `header ${header.toString(16)}`,
      );
    }
  });

  it("sends a NAL unit of exactly maxPayloadSize whole, and one byte more as two fragments", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1, maxPayloadSize: 10 });
    assert.equal(packetizer.packetize([nal(0x41, 10)], 0).length, 1);
    const split = packetizer.packetize([nal(0x41, 11)], 0);
    assert.deepEqual(
      split.map((packet) => packet.length),
      [12 + 2 + 8, 12 + 2 + 2],
    );
  });

  it("wraps the sequence number from 65535 to 0", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1, initialSequence: 65534 });
    const packets = packetizer.packetize([hex("41 00"), hex("41 01"), hex("41 02")], 0);
    assert.deepEqual(
      packets.map((packet) => packet.readUInt16BE(2)),
      [65534, 65535, 0],
    );
    assert.equal(packetizer.nextSequence, 1);
  });

  it("takes the timestamp modulo 2^32", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1 });
    assert.equal(packetizer.packetize([hex("41 00")], 2 ** 32 + 5)[0]!.readUInt32BE(4), 5);
    assert.equal(packetizer.packetize([hex("41 00")], -1)[0]!.readUInt32BE(4), 0xffffffff);
    assert.equal(packetizer.packetize([hex("41 00")], 2 ** 32 - 1)[0]!.readUInt32BE(4), 0xffffffff);
  });

  it("keeps packets within 1200 bytes by default and loses no byte", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1 });
    const big = nal(0x65, 5000);
    const packets = packetizer.packetize([big], 0);
    assert.equal(DEFAULT_MAX_PAYLOAD_SIZE, 1188);
    assert.equal(packets.length, Math.ceil(4999 / 1186));
    for (const packet of packets) assert.ok(packet.length <= 1200, `packet of ${packet.length} bytes`);
    const rebuilt = Buffer.concat([Buffer.from([0x65]), ...packets.map((packet) => packet.subarray(14))]);
    assert.deepEqual(rebuilt, big);
  });

  it("returns packets that own exactly their bytes", () => {
    const source = Buffer.concat([Buffer.alloc(100), nal(0x65, 3000), Buffer.alloc(100)]);
    const view = source.subarray(100, 3100);
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1 });
    for (const packet of [...packetizer.packetize([view], 0), ...packetizer.packetize([hex("41 00")], 0)]) {
      assert.equal(packet.byteOffset, 0);
      assert.equal(packet.buffer.byteLength, packet.length);
    }
    for (const payload of h264Payloads(view, 1188)) assert.equal(payload.buffer.byteLength, payload.length);
  });

  it("skips empty NAL units, and gives no packet for none", () => {
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1, initialSequence: 9 });
    assert.deepEqual(packetizer.packetize([], 0), []);
    const packets = packetizer.packetize([hex("41 00"), Buffer.alloc(0)], 0);
    assert.equal(packets.length, 1);
    assert.equal(packets[0]![1], 0xe0);
    assert.equal(packetizer.nextSequence, 10);
  });

  it("rejects out-of-range options", () => {
    assert.throws(() => new H264Packetizer({ payloadType: 128, ssrc: 1 }), RangeError);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: -1 }), RangeError);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: 2 ** 32 }), RangeError);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: 1, maxPayloadSize: 2 }), RangeError);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: 1, initialSequence: 65536 }), RangeError);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: 1, initialSequence: 1.5 }), RangeError);
  });
});
