import assert from "node:assert/strict";
import { loadDemoClip } from "../../../src/demo/clip";
import { H264Packetizer } from "../../../src/demo/h264-packetizer";
import { AccessUnitAssembler } from "../../../src/rtp/access-unit";
import type { AccessUnit } from "../../../src/rtp/stream-info";
import { type OutputFrame, StreamNormalizer } from "../../../src/webrtc/stream-normalizer";
import { decodeVideo } from "../../helpers/decode";
import { depacketizeH264, h264NalUnits, h265NalUnits } from "../../helpers/depacketize";
import { hex, hexOf, rtpPacket, videoMedia } from "../../helpers/rtp-fixtures";

// Issue 20: a NAL unit that came in fragments some of which do not fit is rebuilt and cut once at the
// maximum payload (packet size − 12-byte header; FU-A header 2 bytes, H.265 FU header 3), instead of
// each oversized fragment being split in two. The expected packets are written here from RFC 6184
// §5.8 / RFC 7798 §4.4.3, independently of src/rtp/rtp-writer.ts.

const CAMERA_PACKET = 1400; // GStreamer's rtph264pay default mtu, and many cameras'
const TS = 3000;

function unit(packets: Buffer[], keyframe = false): AccessUnit {
  return { kind: "video", mid: "0", timestamp: TS, keyframe, packets };
}

function pushed(normalizer: StreamNormalizer, u: AccessUnit): OutputFrame {
  const frame = normalizer.push(u, 1, 0);
  assert.ok(frame, "push returned a frame");
  return frame;
}

/** NAL unit with header bytes `header` and body bytes (i * 7 + 3) & 0xff, `length` bytes in all. */
function nal(header: string, length: number): Buffer {
  const head = hex(header);
  const bytes = Buffer.alloc(length);
  head.copy(bytes);
  for (let i = head.length; i < length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

interface Codec {
  /** Bytes of NAL unit header the fragments leave out (1 H.264, 2 H.265). */
  readonly headerLength: 1 | 2;
  /** FU indicator (H.264) or FU payload header (H.265) for this NAL unit. */
  prefix(unit: Buffer): Buffer;
  /** FU header without S / E bits. */
  fuType(unit: Buffer): number;
}

const H264: Codec = {
  headerLength: 1,
  prefix: (u) => Buffer.from([(u[0]! & 0xe0) | 28]),
  fuType: (u) => u[0]! & 0x1f,
};
const H265: Codec = {
  headerLength: 2,
  prefix: (u) => Buffer.from([(u[0]! & 0x81) | (49 << 1), u[1]!]),
  fuType: (u) => (u[0]! >> 1) & 0x3f,
};

/**
 * FU payloads of `unit` with bodies of the given sizes (the last takes the rest), S on the first and
 * E on the last, as a packetizer would cut it.
 */
function fuPayloads(codec: Codec, u: Buffer, bodySizes: readonly number[]): Buffer[] {
  const body = u.subarray(codec.headerLength);
  const out: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < bodySizes.length; i++) {
    const last = i === bodySizes.length - 1;
    const stop = last ? body.length : offset + bodySizes[i]!;
    const fu = (i === 0 ? 0x80 : 0) | (last ? 0x40 : 0) | codec.fuType(u);
    out.push(Buffer.concat([codec.prefix(u), Buffer.from([fu]), body.subarray(offset, stop)]));
    offset = stop;
  }
  return out;
}

/** Bodies of `maxPacket − 12 − FU overhead` bytes until `unit` is used up: the cut the relay must make. */
function fullCuts(codec: Codec, u: Buffer, maxPacket: number): number[] {
  const chunk = maxPacket - 12 - (codec.headerLength + 1);
  const sizes: number[] = [];
  for (let left = u.length - codec.headerLength; left > 0; left -= chunk) sizes.push(Math.min(chunk, left));
  return sizes;
}

/** A camera's packets: seq from `firstSeq`, its SSRC, marker on the last. */
function cameraPackets(payloads: readonly Buffer[], firstSeq: number): Buffer[] {
  return payloads.map((payload, i) =>
    rtpPacket({ seq: firstSeq + i, ts: TS, payload, marker: i === payloads.length - 1 }),
  );
}

/** What the relay must send: clean headers, SSRC 0, seq from `firstSeq`, marker on the last. */
function relayPackets(payloads: readonly Buffer[], firstSeq: number): string[] {
  return payloads.map((payload, i) =>
    rtpPacket({ seq: firstSeq + i, ts: TS, payload, marker: i === payloads.length - 1, ssrc: 0 }).toString(
      "hex",
    ),
  );
}

/** Body sizes of a camera cutting `unit` into packets of `packetSize` bytes. */
function cameraCuts(codec: Codec, u: Buffer, packetSize: number): number[] {
  return fullCuts(codec, u, packetSize);
}

describe("StreamNormalizer, NAL units in fragments (issue 20)", () => {
  describe("an FU-A run from a camera sending 1400-byte packets", () => {
    const idr = nal("65b8", 10_000); // 9999 bytes of body: 8 fragments of 1386 bytes (the last 297)
    const source = fuPayloads(H264, idr, cameraCuts(H264, idr, CAMERA_PACKET));

    it("is the camera's run as the test means it: 8 packets of at most 1400 bytes", () => {
      const packets = cameraPackets(source, 100);
      assert.equal(packets.length, 8);
      assert.deepEqual(
        packets.map((p) => p.length),
        [1400, 1400, 1400, 1400, 1400, 1400, 1400, 12 + 2 + 297],
      );
      assert.deepEqual(h264NalUnits(packets), [idr]);
    });

    it("at 1200 bytes becomes 9 full-payload packets, byte for byte (16 before: each fragment in two)", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 5000 });
      const frame = pushed(normalizer, unit(cameraPackets(source, 100), true));
      const wanted = fuPayloads(H264, idr, fullCuts(H264, idr, 1200));
      assert.equal(wanted.length, 9);
      assert.deepEqual(hexOf(frame.packets), relayPackets(wanted, 5000));
      assert.deepEqual(
        frame.packets.map((p) => p.length),
        [...Array(8).fill(1200), 12 + 2 + (9999 - 8 * 1186)],
      );
      assert.deepEqual(h264NalUnits(frame.packets), [idr]);
      assert.deepEqual(
        { ...normalizer.counters },
        {
          frames: 1,
          packetsIn: 8,
          packetsOut: 9,
          refragmented: 8,
          parameterSetsInserted: 0,
          malformed: 0,
          gaps: 0,
        },
      );
    });

    it("at 1400 bytes passes through untouched but for the header", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), {
        initialSequence: 5000,
        maxPacketSize: 1400,
      });
      const frame = pushed(normalizer, unit(cameraPackets(source, 100), true));
      assert.deepEqual(hexOf(frame.packets), relayPackets(source, 5000));
      assert.equal(normalizer.counters.refragmented, 0);
    });

    it("continues the sequence across frames and wraps at 2^16", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 65530 });
      const first = pushed(normalizer, unit(cameraPackets(source, 100), true));
      const second = pushed(normalizer, unit(cameraPackets(source, 108)));
      const sequences = [...first.packets, ...second.packets].map((p) => p.readUInt16BE(2));
      assert.deepEqual(
        sequences,
        Array.from({ length: 18 }, (_, i) => (65530 + i) & 0xffff),
      );
      assert.deepEqual(
        [...first.packets, ...second.packets].map((p) => p[1]! >> 7),
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      );
    });
  });

  it("cuts a single NAL unit over the limit at the full payload, byte for byte", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 7 });
    const slice = nal("41e0", 2500);
    const frame = pushed(normalizer, unit([rtpPacket({ seq: 1, ts: TS, payload: slice, marker: true })]));
    assert.deepEqual(hexOf(frame.packets), relayPackets(fuPayloads(H264, slice, [1186, 1186, 127]), 7));
    assert.deepEqual(
      frame.packets.map((p) => p.length),
      [1200, 1200, 12 + 2 + 127],
    );
  });

  it("rebuilds an H.265 FU run from a 1400-byte camera: 1185-byte bodies at 1200, untouched at 1400", () => {
    const idr = nal("2601", 6000); // IDR_W_RADL
    const source = fuPayloads(H265, idr, cameraCuts(H265, idr, CAMERA_PACKET));
    assert.equal(source.length, 5);
    const at1200 = new StreamNormalizer(videoMedia("H265"), { initialSequence: 300 });
    const frame = pushed(at1200, unit(cameraPackets(source, 40), true));
    const wanted = fuPayloads(H265, idr, fullCuts(H265, idr, 1200));
    assert.equal(wanted.length, 6); // 5998 bytes of body: 5 × 1185 + 73 (each fragment in two: 10)
    assert.equal(
      wanted[0]!.subarray(0, 3).toString("hex"),
      "620193",
      "FU type 49, then S bit and IDR_W_RADL (19)",
    );
    assert.deepEqual(hexOf(frame.packets), relayPackets(wanted, 300));
    assert.deepEqual(h265NalUnits(frame.packets), [idr]);

    const at1400 = new StreamNormalizer(videoMedia("H265"), { initialSequence: 300, maxPacketSize: 1400 });
    assert.deepEqual(
      hexOf(pushed(at1400, unit(cameraPackets(source, 40), true)).packets),
      relayPackets(source, 300),
    );
  });

  it("passes an FU-A run whose fragments all fit untouched, however small they are", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 0 });
    const slice = nal("4188", 1500);
    const source = fuPayloads(H264, slice, [500, 500, 400, 98]);
    const frame = pushed(normalizer, unit(cameraPackets(source, 9)));
    assert.deepEqual(hexOf(frame.packets), relayPackets(source, 0));
    assert.equal(normalizer.counters.refragmented, 0);
  });

  it("rebuilds a run when only its last fragment is over the limit", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 0 });
    const slice = nal("4188", 1 + 100 + 100 + 1300);
    const source = fuPayloads(H264, slice, [100, 100, 1300]);
    const frame = pushed(normalizer, unit(cameraPackets(source, 9)));
    assert.deepEqual(hexOf(frame.packets), relayPackets(fuPayloads(H264, slice, [1186, 314]), 0));
    assert.equal(normalizer.counters.refragmented, 3);
  });

  it("keeps the runs of one frame apart, with the other NAL units and the inserted parameter sets in order", () => {
    const sps = hex("6742001eab");
    const pps = hex("68ce3880");
    const normalizer = new StreamNormalizer(videoMedia("H264", [sps, pps]), { initialSequence: 0 });
    const sei = nal("06", 20);
    const first = nal("65b8", 3000); // 1386 + 1386 + 227: rebuilt
    const second = nal("6588", 1500); // 1000 + 499: fits, untouched
    const third = nal("6590", 1388); // 1386 + 1: rebuilt into 1186 + 201
    const source = [
      sei,
      ...fuPayloads(H264, first, cameraCuts(H264, first, CAMERA_PACKET)),
      ...fuPayloads(H264, second, [1000, 499]),
      ...fuPayloads(H264, third, cameraCuts(H264, third, CAMERA_PACKET)),
    ];
    assert.equal(source.length, 1 + 3 + 2 + 2);
    const frame = pushed(normalizer, unit(cameraPackets(source, 20), true));
    const wanted = [
      hex("78 0005 6742001eab 0004 68ce3880"), // STAP-A: the SDP's sets before the IDR that lacked them
      sei,
      ...fuPayloads(H264, first, fullCuts(H264, first, 1200)),
      ...fuPayloads(H264, second, [1000, 499]),
      ...fuPayloads(H264, third, fullCuts(H264, third, 1200)),
    ];
    assert.deepEqual(hexOf(frame.packets), relayPackets(wanted, 0));
    assert.deepEqual(h264NalUnits(frame.packets), [sps, pps, sei, first, second, third]);
    assert.equal(normalizer.counters.parameterSetsInserted, 1);
    assert.equal(normalizer.counters.refragmented, 3 + 2);
  });

  it("drops a unit whose middle fragment was lost rather than rebuild it with a hole; the rest goes out", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 0 });
    const broken = nal("65b8", 4000);
    const whole = nal("6588", 3000);
    const brokenPackets = cameraPackets(
      fuPayloads(H264, broken, cameraCuts(H264, broken, CAMERA_PACKET)),
      10,
    );
    assert.equal(brokenPackets.length, 3);
    const wholeSource = fuPayloads(H264, whole, cameraCuts(H264, whole, CAMERA_PACKET));
    const packets = [
      brokenPackets[0]!,
      brokenPackets[2]!, // seq 12: 11 was lost
      ...wholeSource.map((payload, i) =>
        rtpPacket({ seq: 13 + i, ts: TS, payload, marker: i === wholeSource.length - 1 }),
      ),
    ];
    const frame = pushed(normalizer, unit(packets, true));
    assert.deepEqual(
      hexOf(frame.packets),
      relayPackets(fuPayloads(H264, whole, fullCuts(H264, whole, 1200)), 0),
    );
    assert.equal(normalizer.counters.malformed, 2);
  });

  it("drops fragments whose start was lost", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 0 });
    const slice = nal("4188", 4000);
    const packets = cameraPackets(fuPayloads(H264, slice, cameraCuts(H264, slice, CAMERA_PACKET)), 10);
    assert.equal(normalizer.push(unit(packets.slice(1)), 1, 0), undefined);
    assert.equal(normalizer.counters.malformed, 2);
    assert.equal(normalizer.counters.packetsOut, 0);
  });

  it("sends a run still open at the access unit's end without the E bit, as it came, and drops its rest", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 0 });
    const slice = nal("4188", 4000);
    const packets = cameraPackets(fuPayloads(H264, slice, cameraCuts(H264, slice, CAMERA_PACKET)), 10);
    const head = pushed(normalizer, unit(packets.slice(0, 2)));
    const received = slice.subarray(0, 1 + 2 * 1386);
    const cut = fuPayloads(H264, received, fullCuts(H264, received, 1200));
    const last = cut[cut.length - 1]!;
    last[1] = last[1]! & ~0x40; // not the unit's end
    assert.deepEqual(hexOf(head.packets), relayPackets(cut, 0));
    assert.equal(
      normalizer.push(unit(packets.slice(2)), 1, 0),
      undefined,
      "a continuation without its start",
    );
  });
});

describe("StreamNormalizer, a 1400-byte camera's stream decodes (issue 20)", () => {
  async function cameraUnits(maxPayloadSize: number) {
    const clip = await loadDemoClip();
    const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 9, maxPayloadSize, initialSequence: 1 });
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264" });
    const units: AccessUnit[] = [];
    for (const [i, frame] of clip.frames.entries()) {
      for (const packet of packetizer.packetize(frame.nals, i * 3600)) units.push(...assembler.push(packet));
    }
    return { units, clip };
  }

  for (const maxPacketSize of [1200, 1400]) {
    it(`at ${maxPacketSize} bytes: every frame decodes, in fewer packets than one or two per source packet`, async () => {
      const { units, clip } = await cameraUnits(CAMERA_PACKET - 12);
      const input = units.flatMap((u) => u.packets);
      assert.ok(
        input.some((p) => p.length === CAMERA_PACKET),
        "the camera sends 1400-byte packets",
      );
      const normalizer = new StreamNormalizer(videoMedia("H264", [clip.sps, clip.pps]), { maxPacketSize });
      const output = units.flatMap((u) => pushed(normalizer, u).packets);
      for (const packet of output) assert.ok(packet.length <= maxPacketSize, `${packet.length}-byte packet`);

      // Each NAL unit in as few packets as the payload allows: one when it fits, else full FU-A pieces.
      const payload = maxPacketSize - 12;
      const fewest = clip.frames
        .flatMap((f) => f.nals)
        .reduce((sum, n) => sum + (n.length <= payload ? 1 : Math.ceil((n.length - 1) / (payload - 2))), 0);
      assert.equal(output.length, fewest + normalizer.counters.parameterSetsInserted);
      // Splitting each oversized packet in two (before issue 20) made two of each 1400-byte packet.
      const splitEach = input.filter((p) => p.length > maxPacketSize).length + input.length;
      if (maxPacketSize === 1400) assert.equal(output.length, input.length, "all fit: one for one");
      else
        assert.ok(output.length < splitEach, `${output.length} packets, ${splitEach} when split one by one`);

      const decoded = await decodeVideo(depacketizeH264(output), "h264");
      assert.deepEqual(decoded.decodeErrors, []);
      assert.equal(decoded.frames, units.length);
    });
  }
});
