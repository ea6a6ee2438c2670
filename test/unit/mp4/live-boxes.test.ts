import assert from "node:assert/strict";
import { fragment, initSegment } from "../../../src/mp4/live-boxes";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

/** Box types and sizes, depth first: the tree a reader sees. */
function boxTree(data: Buffer, containers: ReadonlySet<string>, depth = 0): string[] {
  const lines: string[] = [];
  for (let at = 0; at < data.length; ) {
    const size = data.readUInt32BE(at);
    const type = data.toString("latin1", at + 4, at + 8);
    assert.ok(size >= 8 && at + size <= data.length, `${type} at ${at}: size ${size} of ${data.length}`);
    lines.push(`${" ".repeat(depth)}${type} ${size}`);
    if (containers.has(type)) lines.push(...boxTree(data.subarray(at + 8, at + size), containers, depth + 1));
    at += size;
  }
  return lines;
}

describe("live fMP4 boxes", () => {
  it("writes one frame's moof and mdat byte for byte", () => {
    const nal = hex("6588");
    const bytes = fragment(7, { nals: [nal], decodeTime: 0x1_0000_0003, duration: 3000, keyframe: true });
    assert.deepEqual(
      bytes,
      hex(`
        00000064 6d6f6f66
          00000010 6d666864 00000000 00000007
          0000004c 74726166
            00000010 74666864 00020000 00000001
            00000014 74666474 01000000 00000001 00000003
            00000020 7472756e 00000701 00000001 0000006c 00000bb8 00000006 02000000
        0000000e 6d646174 00000002 6588`),
    );
    // The data offset points at the mdat's payload, counted from the moof.
    assert.equal(bytes.readUInt32BE(0x64 - 16), 0x6c);
    assert.deepEqual(bytes.subarray(0x6c), hex("00000002 6588"));
  });

  it("marks a frame that is not a keyframe as depending on others and not a sync sample", () => {
    const bytes = fragment(8, {
      nals: [hex("41")],
      decodeTime: 3000,
      duration: 3000,
      keyframe: false,
    });
    assert.equal(bytes.readUInt32BE(0x64 - 4), 0x01010000);
    assert.equal(bytes.readUInt32BE(20), 8);
  });

  it("writes each of a frame's NAL units after its 4-byte length, the sample's size counting them all", () => {
    const bytes = fragment(9, {
      nals: [hex("67 42"), hex("68"), hex("65 88 84")],
      decodeTime: 0,
      duration: 3000,
      keyframe: true,
    });
    assert.equal(bytes.readUInt32BE(0x64 - 8), 4 + 2 + 4 + 1 + 4 + 3);
    assert.deepEqual(
      bytes.subarray(0x64),
      hex("0000001a 6d646174 00000002 6742 00000001 68 00000003 658884"),
    );
  });

  it("writes an initialisation segment whose boxes nest and whose sample entry carries the config", () => {
    const config = hex("01 42c01f ff e1 0004 6742c01f 01 0002 68ce");
    const init = initSegment({ entry: "avc1", config, width: 1280, height: 720, timescale: 90000 });
    const containers = new Set(["moov", "trak", "mdia", "minf", "dinf", "stbl", "mvex"]);
    assert.deepEqual(boxTree(init, containers), [
      "ftyp 32",
      "moov 601",
      " mvhd 108",
      " trak 445",
      "  tkhd 92",
      "  mdia 345",
      "   mdhd 32",
      "   hdlr 38",
      "   minf 267",
      "    vmhd 20",
      "    dinf 36",
      "     dref 28",
      "    stbl 203",
      "     stsd 127",
      "     stts 16",
      "     stsc 16",
      "     stsz 20",
      "     stco 16",
      " mvex 40",
      "  trex 32",
    ]);
    const entryAt = init.indexOf("avc1", 40, "latin1") - 4;
    assert.equal(init.readUInt16BE(entryAt + 8 + 24), 1280);
    assert.equal(init.readUInt16BE(entryAt + 8 + 26), 720);
    assert.deepEqual(init.subarray(entryAt + 8 + 78 + 8, entryAt + 8 + 78 + 8 + config.length), config);
    const mdhdAt = init.indexOf("mdhd", 0, "latin1") - 4;
    assert.equal(init.readUInt32BE(mdhdAt + 20), 90000);
  });
});
