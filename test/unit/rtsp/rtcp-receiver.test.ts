import assert from "node:assert/strict";
import { RtpReceiverStats } from "../../../src/rtsp/rtcp-receiver";

const hex = (value: string): Buffer => Buffer.from(value.replace(/\s+/g, ""), "hex");

const CAMERA = 0xa1b2c3d4;
const OWN = 0x01020304;
const T0 = 1_000_000;

function rtp(sequence: number, timestamp: number, ssrc = CAMERA): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(timestamp, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

/** Feeds frame k of a 25 fps, 90 kHz stream: timestamp 1000 + 3600 k, due at T0 + 40 k ms (+ lateMs). */
function feed(stats: RtpReceiverStats, sequence: number, k: number, lateMs = 0): void {
  stats.onRtp(rtp(sequence, 1000 + 3600 * k), T0 + 40 * k + lateMs);
}

// SR from the camera: NTP 0x83aa7e80.12340000, so LSR (the middle 32 bits) is 0x7e801234.
const SENDER_REPORT = hex("80c80006 a1b2c3d4 83aa7e80 12340000 00015f90 0000000a 00000400");
// SDES CNAME "nr": 4 + 2 + 2 + 1 bytes, padded to 12.
const SDES_NR = "81ca0003 01020304 01026e72 00000000";

describe("RtpReceiverStats", () => {
  it("has nothing to report before RTP arrives, even after a sender report", () => {
    const stats = new RtpReceiverStats(90000);
    stats.onRtcp(SENDER_REPORT, T0);
    assert.equal(stats.buildReport(OWN, "nr", T0), undefined);
    assert.equal(stats.packetsReceived, 0);
  });

  it("reports loss across a sequence wrap, LSR and DLSR, with SDES CNAME, byte for byte", () => {
    const stats = new RtpReceiverStats(90000);
    // 65534, 65535, 0, (1 lost), 2, 3: every packet on time, so no jitter.
    feed(stats, 65534, 0);
    feed(stats, 65535, 1);
    feed(stats, 0, 2);
    stats.onRtcp(SENDER_REPORT, T0 + 100);
    feed(stats, 2, 4);
    feed(stats, 3, 5);
    assert.equal(stats.packetsReceived, 5);
    // Expected 6, received 5: 1 lost, 1/6 of 256 = 42 (0x2a) lately; half a second since the SR.
    assert.equal(
      stats.buildReport(OWN, "nr", T0 + 600)?.toString("hex"),
      hex(`81c90007 01020304 a1b2c3d4 2a000001 00010003 00000000 7e801234 00008000 ${SDES_NR}`).toString(
        "hex",
      ),
    );
    // Nothing new since: no fraction lost in the interval, the cumulative count stays.
    assert.equal(
      stats.buildReport(OWN, "nr", T0 + 600)?.toString("hex"),
      hex(`81c90007 01020304 a1b2c3d4 00000001 00010003 00000000 7e801234 00008000 ${SDES_NR}`).toString(
        "hex",
      ),
    );
    // 4, (5 and 6 lost), 7: 2 of 4 lost in the interval (128/256), 3 in all; one second since the SR.
    feed(stats, 4, 6);
    feed(stats, 7, 9);
    assert.equal(
      stats.buildReport(OWN, "nr", T0 + 1100)?.toString("hex"),
      hex(`81c90007 01020304 a1b2c3d4 80000003 00010007 00000000 7e801234 00010000 ${SDES_NR}`).toString(
        "hex",
      ),
    );
  });

  it("estimates interarrival jitter as RFC 3550 A.8 does, in timestamp units", () => {
    const stats = new RtpReceiverStats(90000);
    feed(stats, 10, 0);
    // 10 ms late: |D| = 900 ticks, J = 900 / 16 = 56.25.
    feed(stats, 11, 1, 10);
    assert.equal(stats.buildReport(OWN, "nr", T0)?.readUInt32BE(20), 56);
    // Back on time: |D| = 900 again, J = 56.25 + (900 - 56.25) / 16 = 108.98...
    feed(stats, 12, 2);
    // On time: |D| = 0, J = 108.98 * 15 / 16 = 102.17...
    feed(stats, 13, 3);
    assert.equal(
      stats.buildReport(OWN, "nr", T0)?.subarray(8, 32).toString("hex"),
      hex("a1b2c3d4 00000000 0000000d 00000066 00000000 00000000").toString("hex"),
    );

    // 8 kHz audio, 20 ms packets; the third comes 10 ms early: |D| = 80 ticks, J = 5.
    const audio = new RtpReceiverStats(8000);
    audio.onRtp(rtp(1, 0), T0);
    audio.onRtp(rtp(2, 160), T0 + 20);
    audio.onRtp(rtp(3, 320), T0 + 30);
    assert.equal(audio.buildReport(OWN, "nr", T0)?.readUInt32BE(20), 5);
  });

  it("keeps the highest sequence when a late packet arrives, and lets duplicates make loss negative", () => {
    const reordered = new RtpReceiverStats(90000);
    feed(reordered, 10, 0);
    feed(reordered, 12, 2);
    feed(reordered, 11, 1);
    assert.equal(
      reordered.buildReport(OWN, "nr", T0)?.subarray(12, 20).toString("hex"),
      hex("00000000 0000000c").toString("hex"),
    );
    const duplicated = new RtpReceiverStats(90000);
    feed(duplicated, 10, 0);
    feed(duplicated, 10, 0);
    feed(duplicated, 11, 1);
    // Expected 2, received 3: cumulative loss -1 as a signed 24-bit number, and no fraction lost.
    assert.equal(
      duplicated.buildReport(OWN, "nr", T0)?.subarray(12, 20).toString("hex"),
      hex("00ffffff 0000000b").toString("hex"),
    );
  });

  it("starts over when the camera's SSRC changes (a camera restart)", () => {
    const stats = new RtpReceiverStats(90000);
    feed(stats, 100, 0);
    feed(stats, 103, 3);
    assert.equal(stats.buildReport(OWN, "nr", T0)?.subarray(12, 16).toString("hex"), "80000002");
    stats.onRtp(rtp(5000, 77, 0x0badcafe), T0 + 200);
    stats.onRtp(rtp(5001, 3677, 0x0badcafe), T0 + 240);
    assert.equal(stats.packetsReceived, 2);
    assert.equal(
      stats
        .buildReport(OWN, "nr", T0 + 300)
        ?.subarray(8, 32)
        .toString("hex"),
      hex("0badcafe 00000000 00001389 00000000 00000000 00000000").toString("hex"),
    );
  });

  it("takes the SR from anywhere in a compound packet and ignores malformed RTCP", () => {
    const stats = new RtpReceiverStats(90000);
    feed(stats, 1, 0);
    const lsrOf = (nowMs: number): string | undefined =>
      stats.buildReport(OWN, "nr", nowMs)?.subarray(24, 32).toString("hex");
    const malformed = [
      SENDER_REPORT.subarray(0, 20), // length says 28 bytes
      Buffer.concat([Buffer.from([0x40]), SENDER_REPORT.subarray(1)]), // version 1
      hex("80c80004 a1b2c3d4 83aa7e80 12340000 00015f90"), // an SR of 20 bytes has no room for its NTP time
      hex("80c90001 a1b2c3d4"), // an RR, not an SR
      Buffer.alloc(0),
    ];
    for (const packet of malformed) stats.onRtcp(packet, T0);
    assert.equal(lsrOf(T0 + 500), "0000000000000000");
    stats.onRtcp(Buffer.concat([hex("80c90001 a1b2c3d4"), SENDER_REPORT]), T0 + 250);
    // 250 ms later: 0.25 * 65536 = 16384.
    assert.equal(lsrOf(T0 + 500), hex("7e801234 00004000").toString("hex"));
  });

  it("keeps jitter at 0 across an RTP timestamp wrap", () => {
    const stats = new RtpReceiverStats(90000);
    const base = 2 ** 32 - 3 * 3600;
    for (let k = 0; k < 6; k++) stats.onRtp(rtp(100 + k, (base + 3600 * k) % 2 ** 32), T0 + 40 * k);
    assert.equal(stats.buildReport(OWN, "nr", T0)?.readUInt32BE(20), 0);
  });

  it("pads the CNAME chunk to 32 bits with at least one zero byte", () => {
    const stats = new RtpReceiverStats(90000);
    feed(stats, 1, 0);
    const sdesOf = (cname: string): string | undefined =>
      stats.buildReport(OWN, cname, T0)?.subarray(32).toString("hex");
    assert.equal(sdesOf("abc"), hex("81ca0003 01020304 01036162 63000000").toString("hex"));
    assert.equal(sdesOf("abcde"), hex("81ca0003 01020304 01056162 63646500").toString("hex"));
    assert.equal(sdesOf("abcdef"), hex("81ca0004 01020304 01066162 63646566 00000000").toString("hex"));
    assert.equal(sdesOf(""), hex("81ca0002 01020304 01000000").toString("hex"));
  });
});
