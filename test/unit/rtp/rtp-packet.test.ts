import assert from "node:assert/strict";
import { parseRtpHeader, rtpPayload } from "../../../src/rtp/rtp-packet";
import { hex } from "../../helpers/rtp-fixtures";

describe("parseRtpHeader", () => {
  it("parses the fixed header", () => {
    // V=2, M=1, PT=96, seq 0x1234, ts 123456, SSRC 0xdeadbeef, 2-byte payload
    const packet = hex("80 e0 1234 0001e240 deadbeef 6588");
    assert.deepEqual(parseRtpHeader(packet), {
      marker: true,
      payloadType: 96,
      sequenceNumber: 0x1234,
      timestamp: 123456,
      ssrc: 0xdeadbeef,
      payloadOffset: 12,
      payloadLength: 2,
    });
  });

  it("reads timestamps and SSRCs with the top bit set as unsigned, and a clear marker", () => {
    const h = parseRtpHeader(hex("80 08 ffff ffffffff 80000001 d5d5"));
    assert.equal(h?.marker, false);
    assert.equal(h?.payloadType, 8);
    assert.equal(h?.sequenceNumber, 65535);
    assert.equal(h?.timestamp, 0xffffffff);
    assert.equal(h?.ssrc, 0x80000001);
  });

  it("accepts a header with no payload", () => {
    const h = parseRtpHeader(hex("80 60 0001 00000000 00000001"));
    assert.equal(h?.payloadOffset, 12);
    assert.equal(h?.payloadLength, 0);
  });

  it("skips CSRCs", () => {
    const h = parseRtpHeader(hex("82 60 0001 00000000 00000001 11111111 22222222 abcd"));
    assert.equal(h?.payloadOffset, 20);
    assert.equal(h?.payloadLength, 2);
  });

  it("skips a header extension (RFC 8285 one-byte form, 1 word)", () => {
    const h = parseRtpHeader(hex("90 60 0001 00000000 00000001 bede0001 10ff0000 7c85"));
    assert.equal(h?.payloadOffset, 20);
    assert.equal(h?.payloadLength, 2);
  });

  it("skips CSRCs, then the extension", () => {
    const h = parseRtpHeader(hex("91 60 0001 00000000 00000001 11111111 10000002 aaaaaaaa bbbbbbbb 01"));
    assert.equal(h?.payloadOffset, 28);
    assert.equal(h?.payloadLength, 1);
  });

  it("removes padding, whose last byte counts itself", () => {
    const h = parseRtpHeader(hex("a0 60 0001 00000000 00000001 6588 000003"));
    assert.equal(h?.payloadOffset, 12);
    assert.equal(h?.payloadLength, 2);
  });

  it("accepts padding that fills the whole payload", () => {
    const allPadding = parseRtpHeader(hex("a0 60 0001 00000000 00000001 00000004"));
    assert.equal(allPadding?.payloadLength, 0);
  });

  it("rejects packets shorter than 12 bytes", () => {
    assert.equal(parseRtpHeader(hex("80 60 0001 00000000 000000")), undefined);
    assert.equal(parseRtpHeader(Buffer.alloc(0)), undefined);
  });

  it("rejects versions other than 2", () => {
    assert.equal(parseRtpHeader(hex("40 60 0001 00000000 00000001 65")), undefined);
    assert.equal(parseRtpHeader(hex("00 60 0001 00000000 00000001 65")), undefined);
    assert.equal(parseRtpHeader(hex("c0 60 0001 00000000 00000001 65")), undefined);
  });

  it("rejects CSRCs running past the end", () => {
    assert.equal(parseRtpHeader(hex("83 60 0001 00000000 00000001 11111111 22222222")), undefined);
  });

  it("rejects an extension header or body running past the end", () => {
    assert.equal(parseRtpHeader(hex("90 60 0001 00000000 00000001 bede")), undefined);
    assert.equal(parseRtpHeader(hex("90 60 0001 00000000 00000001 bede0002 10ff0000")), undefined);
  });

  it("rejects a padding length of 0 or larger than the payload", () => {
    assert.equal(parseRtpHeader(hex("a0 60 0001 00000000 00000001 6588 00")), undefined);
    assert.equal(parseRtpHeader(hex("a0 60 0001 00000000 00000001 6588 05")), undefined);
    assert.equal(parseRtpHeader(hex("a0 60 0001 00000000 00000001 000004")), undefined);
    // padding bit with no payload at all: the last header byte is not a padding count
    assert.equal(parseRtpHeader(hex("a0 60 0001 00000000 00000001")), undefined);
  });
});

describe("rtpPayload", () => {
  it("returns the payload as a view on the packet's bytes, padding excluded", () => {
    const packet = hex("b0 60 0001 00000000 00000001 bede0001 10ff0000 6588 0002");
    const h = parseRtpHeader(packet);
    assert.ok(h);
    const payload = rtpPayload(packet, h);
    assert.deepEqual(payload, hex("6588"));
    assert.equal(payload.buffer, packet.buffer);
    assert.equal(payload.byteOffset, packet.byteOffset + 20);
  });
});
