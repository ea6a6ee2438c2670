import assert from "node:assert/strict";
import { classes, Message, methods } from "werift";
import {
  bindingSuccess,
  fingerprintHolds,
  integrityHolds,
  readStun,
  type StunMessageInfo,
  splitIceUsername,
  startsLikeStun,
} from "../../../../src/webrtc/shared-port/stun-check";
import { hex } from "../../../helpers/rtp-fixtures";

// The shared port's STUN reader against RFC 5769's test vectors, byte for byte: they are
// self-validating (MESSAGE-INTEGRITY with a published password, FINGERPRINT over the whole message).

const PASSWORD = Buffer.from("VOkJxbRl1RmTxUk/WvJxBt", "utf8");

/** RFC 5769 §2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT). */
const REQUEST = hex(`
  000100582112a442b7e7a701bc34d686fa87dfae
  802200105354554e207465737420636c69656e74
  002400046e0001ff
  80290008932ff9b151263b36
  000600096576746a3a68367659202020
  000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2
  80280004e57a3bcf`);

/** RFC 5769 §2.2: sample IPv4 response (XOR-MAPPED-ADDRESS 192.0.2.1:32853). */
const IPV4_RESPONSE = hex(`
  0101003c2112a442b7e7a701bc34d686fa87dfae
  8022000b7465737420766563746f7220
  002000080001a147e112a643
  000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7
  80280004c07d4c96`);

/** RFC 5769 §2.3: sample IPv6 response (XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853). */
const IPV6_RESPONSE = hex(`
  010100482112a442b7e7a701bc34d686fa87dfae
  8022000b7465737420766563746f7220
  002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9
  00080014a382954e4be67bf11784c97c8292c275bfe3ed41
  80280004c8fb0b4c`);

function info(data: Buffer): StunMessageInfo {
  const read = readStun(data);
  assert.ok(typeof read !== "string", `not read: ${read}`);
  return read;
}

function flipped(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

describe("STUN check reader (RFC 5769 vectors)", () => {
  it("reads the sample request: a binding request, its USERNAME, integrity and fingerprint hold", () => {
    const read = info(REQUEST);
    assert.equal(read.stunClass, "request");
    assert.equal(read.method, 0x001);
    assert.equal(read.transactionId, "b7e7a701bc34d686fa87dfae");
    assert.equal(read.username, "evtj:h6vY");
    assert.equal(read.integrityAt, 76);
    assert.equal(read.fingerprintAt, 100);
    assert.equal(integrityHolds(REQUEST, read, PASSWORD), true);
    assert.equal(fingerprintHolds(REQUEST, read), true);
    assert.deepEqual(splitIceUsername(read.username ?? ""), { local: "evtj", remote: "h6vY" });
    assert.equal(read.iceRole, "controlled");
  });

  it("reads both sample responses as binding successes whose integrity and fingerprint hold", () => {
    for (const response of [IPV4_RESPONSE, IPV6_RESPONSE]) {
      const read = info(response);
      assert.equal(read.stunClass, "success");
      assert.equal(read.method, 0x001);
      assert.equal(read.username, undefined);
      assert.equal(integrityHolds(response, read, PASSWORD), true);
      assert.equal(fingerprintHolds(response, read), true);
    }
  });

  it("any changed byte breaks integrity or fingerprint (or the message itself), byte by byte", () => {
    for (let at = 0; at < REQUEST.length; at++) {
      const tampered = flipped(REQUEST, at);
      const read = readStun(tampered);
      if (typeof read === "string") continue;
      const holds = integrityHolds(tampered, read, PASSWORD) && fingerprintHolds(tampered, read);
      assert.equal(holds, false, `byte ${at} changed and the check still holds`);
    }
  });

  it("a wrong password fails the integrity, not the fingerprint", () => {
    const read = info(REQUEST);
    assert.equal(integrityHolds(REQUEST, read, Buffer.from("VOkJxbRl1RmTxUk/WvJxBT")), false);
    assert.equal(fingerprintHolds(REQUEST, read), true);
  });

  it("rejects malformed framing with a reason", () => {
    assert.equal(readStun(REQUEST.subarray(0, 19)), "short");
    assert.equal(readStun(REQUEST.subarray(0, 100)), "length");
    assert.equal(readStun(Buffer.concat([REQUEST, Buffer.alloc(4)])), "length");
    const cookie = Buffer.from(REQUEST);
    cookie[4] = 0;
    assert.equal(readStun(cookie), "cookie");
    const type = Buffer.from(REQUEST);
    type[0] = 0x40;
    assert.equal(readStun(type), "type");
    // An attribute whose length runs past the end.
    const overrun = Buffer.from(REQUEST);
    overrun.writeUInt16BE(0x00ff, 22);
    assert.equal(readStun(overrun), "attribute");
    // USERNAME after MESSAGE-INTEGRITY.
    const afterIntegrity = Buffer.concat([
      REQUEST.subarray(0, 100),
      hex("802200046576746a"),
      REQUEST.subarray(100),
    ]);
    afterIntegrity.writeUInt16BE(afterIntegrity.length - 20, 2);
    assert.equal(readStun(afterIntegrity), "after-integrity");
    // Anything after FINGERPRINT.
    const afterFingerprint = Buffer.concat([REQUEST, hex("8022000461626364")]);
    afterFingerprint.writeUInt16BE(afterFingerprint.length - 20, 2);
    assert.equal(readStun(afterFingerprint), "after-fingerprint");
    // A MESSAGE-INTEGRITY of the wrong size.
    const shortIntegrity = Buffer.from(REQUEST);
    shortIntegrity.writeUInt16BE(16, 78);
    assert.equal(readStun(shortIntegrity), "attribute");
  });

  it("USERNAME must be UTF-8 and appear once; the ICE split needs both ufrags", () => {
    const doubled = Buffer.concat([REQUEST.subarray(0, 76), REQUEST.subarray(60, 76), REQUEST.subarray(76)]);
    doubled.writeUInt16BE(doubled.length - 20, 2);
    assert.equal(readStun(doubled), "username");
    const notUtf8 = Buffer.from(REQUEST);
    notUtf8[64] = 0xff;
    assert.equal(readStun(notUtf8), "username");
    assert.equal(splitIceUsername("abc"), undefined);
    assert.equal(splitIceUsername(":abc"), undefined);
    assert.equal(splitIceUsername("abc:"), undefined);
  });

  it("reads what werift sends: a signed binding request and its signed response", () => {
    const request = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute("USERNAME", "0123456789abcdef01234567:wxyz")
      .setAttribute("PRIORITY", 1853824767)
      .setAttribute("ICE-CONTROLLING", 5n)
      .addMessageIntegrity(Buffer.from("secret-password"))
      .addFingerprint();
    const bytes = request.bytes;
    const read = info(bytes);
    assert.equal(read.stunClass, "request");
    assert.equal(read.username, "0123456789abcdef01234567:wxyz");
    assert.equal(read.transactionId, request.transactionIdHex);
    assert.equal(integrityHolds(bytes, read, Buffer.from("secret-password")), true);
    assert.equal(fingerprintHolds(bytes, read), true);
    const response = new Message(methods.BINDING, classes.RESPONSE, request.transactionId)
      .setAttribute("XOR-MAPPED-ADDRESS", ["127.0.0.1", 5000])
      .addMessageIntegrity(Buffer.from("secret-password"))
      .addFingerprint();
    const readResponse = info(response.bytes);
    assert.equal(readResponse.stunClass, "success");
    assert.equal(integrityHolds(response.bytes, readResponse, Buffer.from("secret-password")), true);
  });

  it("tells STUN's first byte from DTLS and RTP (RFC 7983)", () => {
    assert.equal(startsLikeStun(REQUEST), true);
    assert.equal(startsLikeStun(Buffer.from([22, 254, 253])), false);
    assert.equal(startsLikeStun(Buffer.from([0x80, 96])), false);
    assert.equal(startsLikeStun(Buffer.alloc(0)), false);
  });

  it("answers a check as werift does, byte for byte: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT", () => {
    for (const [address, port] of [
      ["192.0.2.1", 32853],
      ["127.0.0.1", 9],
      ["255.255.255.255", 65535],
      ["10.0.0.200", 1],
    ] as const) {
      const response = bindingSuccess(REQUEST, address, port, PASSWORD);
      const werift = new Message(methods.BINDING, classes.RESPONSE, REQUEST.subarray(8, 20));
      werift
        .setAttribute("XOR-MAPPED-ADDRESS", [address, port])
        .addMessageIntegrity(PASSWORD)
        .addFingerprint();
      assert.equal(response.toString("hex"), werift.bytes.toString("hex"), `${address}:${port}`);
      const read = info(response);
      assert.equal(read.stunClass, "success");
      assert.equal(read.transactionId, "b7e7a701bc34d686fa87dfae");
      assert.equal(integrityHolds(response, read, PASSWORD), true);
      assert.equal(fingerprintHolds(response, read), true);
    }
  });
});
