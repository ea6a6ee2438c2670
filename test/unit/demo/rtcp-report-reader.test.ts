import assert from "node:assert/strict";
import { parseRtcpCompound } from "../../../src/demo/rtcp-report-reader";

const hex = (value: string): Buffer => Buffer.from(value.replace(/\s+/g, ""), "hex");

// RR from 0x11223344 with one block about 0xa1b2c3d4, then SDES with CNAME "abc" (RFC 3550 6.4.2, 6.5).
const RR_WITH_CNAME = hex(`
  81c90007 11223344
  a1b2c3d4 40000005 0001ffff 00000123 12345678 00010000
  81ca0003 11223344 01036162 63000000
`);

describe("parseRtcpCompound", () => {
  it("reads a receiver report block and the CNAME, byte for byte", () => {
    const compound = parseRtcpCompound(RR_WITH_CNAME);
    assert.deepEqual(compound, {
      packetTypes: [201, 202],
      reports: [
        {
          type: "RR",
          ssrc: 0x11223344,
          blocks: [
            {
              ssrc: 0xa1b2c3d4,
              fractionLost: 0x40,
              cumulativeLost: 5,
              extendedHighestSequence: 0x0001ffff,
              jitter: 0x123,
              lastSenderReport: 0x12345678,
              delaySinceLastSenderReport: 0x10000,
            },
          ],
        },
      ],
      cnames: new Map([[0x11223344, "abc"]]),
    });
  });

  it("reads cumulative loss as a signed 24-bit number", () => {
    const rr = hex("81c90007 00000001 00000002 00ffffff 00000000 00000000 00000000 00000000");
    assert.equal(parseRtcpCompound(rr)?.reports[0]?.blocks[0]?.cumulativeLost, -1);
    const most = hex("81c90007 00000001 00000002 ff7fffff 00000000 00000000 00000000 00000000");
    assert.equal(parseRtcpCompound(most)?.reports[0]?.blocks[0]?.cumulativeLost, 0x7fffff);
    assert.equal(parseRtcpCompound(most)?.reports[0]?.blocks[0]?.fractionLost, 255);
  });

  it("reads an empty RR (a NAT punch) and the blocks of an SR", () => {
    assert.deepEqual(parseRtcpCompound(hex("80c90001 0badcafe")), {
      packetTypes: [201],
      reports: [{ type: "RR", ssrc: 0x0badcafe, blocks: [] }],
      cnames: new Map(),
    });
    // SR: sender info (NTP, RTP time, counts) then one block; the sender info is skipped.
    const sr = hex(`
      81c8000c 00000007
      e9f0a1b2 80000000 00015f90 0000000a 00000400
      00000009 00000000 00000064 00000000 a1b28000 00008000
    `);
    assert.deepEqual(parseRtcpCompound(sr)?.reports, [
      {
        type: "SR",
        ssrc: 7,
        blocks: [
          {
            ssrc: 9,
            fractionLost: 0,
            cumulativeLost: 0,
            extendedHighestSequence: 100,
            jitter: 0,
            lastSenderReport: 0xa1b28000,
            delaySinceLastSenderReport: 0x8000,
          },
        ],
      },
    ]);
  });

  it("reads CNAMEs among other SDES items, in several chunks, after unknown packet types", () => {
    // SDES with two chunks: 0x01 has NAME "n" then CNAME "c1"; 0x02 has CNAME "cn2". Then an APP packet.
    const compound = hex(`
      80c90001 00000001
      82ca0006 00000001 02016e01 02633100 00000002 0103636e 32000000
      80cc0002 00000001 61626364
    `);
    const parsed = parseRtcpCompound(compound);
    assert.deepEqual(parsed?.packetTypes, [201, 202, 204]);
    assert.deepEqual(
      parsed?.cnames,
      new Map([
        [1, "c1"],
        [2, "cn2"],
      ]),
    );
  });

  it("takes padding at the end of the last packet", () => {
    const padded = hex("a0c90002 00000005 00000004");
    assert.deepEqual(parseRtcpCompound(padded)?.reports, [{ type: "RR", ssrc: 5, blocks: [] }]);
  });

  it("refuses what is not valid compound RTCP", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["", "empty"],
      ["80c9", "shorter than a header"],
      ["40c90001 00000001", "version 1"],
      ["80c90002 00000001", "length beyond the datagram"],
      ["80c90001 00000001 00", "trailing bytes"],
      ["81ca0003 11223344 01036162 63000000", "SDES first"],
      ["80000000 00000000 00000000", "an RTP-looking punch"],
      ["82c90007 11223344 a1b2c3d4 40000005 0001ffff 00000123 12345678 00010000", "two blocks, room for one"],
      ["81c90000", "RR without its SSRC"],
      [
        "81c8000a 00000007 e9f0a1b2 80000000 00015f90 0000000a 00000400 00000009 00000000 00000064 00000000",
        "SR with a block cut short",
      ],
      ["a0c90001 00000005 80c90001 00000006", "padding before the last packet"],
      ["a0c90001 000000ff", "padding longer than the packet"],
      ["80c90001 00000001 81ca0002 00000001 01096162", "CNAME longer than its packet"],
      ["80c90001 00000001 81ca0001 00000001", "SDES chunk without its end item"],
    ];
    for (const [wire, why] of cases) assert.equal(parseRtcpCompound(hex(wire)), undefined, why);
  });
});
