import assert from "node:assert/strict";
import { parseOffer } from "../../src/webrtc/offer";
import { readOffer } from "../helpers/offer-fixtures";
import { fuzzSeed } from "../helpers/seeded-random";
import { DEFAULT_FUZZ_SEED, fuzzCase, fuzzSummary, runSdpFuzz } from "./sdp-fuzz";

// Issue 6: 10,000 mutated SDP offers into /offer and /whep: no crash, a 4xx with a JSON reason, other
// viewers unaffected. Real werift on both sides: run inside `unshare --net` (loopback only).

describe("reliability: SDP offers fuzzed into /offer and /whep", function () {
  this.timeout(120_000);

  it("the generator is seeded: the same case for the same seed and index, another for another", () => {
    const bases = [readOffer("chromium-156.sdp")];
    const a = fuzzCase(7, 123, bases);
    assert.deepEqual(fuzzCase(7, 123, bases), a);
    assert.notDeepEqual(fuzzCase(8, 123, bases).body, a.body);
    const mutated = Array.from({ length: 50 }, (_, i) => fuzzCase(7, i, bases));
    assert.ok(mutated.every((c) => c.mutations.length >= 1));
    assert.ok(new Set(mutated.map((c) => c.body.toString("latin1"))).size >= 45, "cases differ");
  });

  it("fault found: an fmtp or rtpmap that reads as a number (a=fmtp:63 111) no longer ends in a 500", () => {
    // sdp-transform makes such fields numbers; matching then called .split on one ("internal error").
    const offer = readOffer("chromium-156.sdp").replace(/a=fmtp:63 [^\r\n]*/, "a=fmtp:63 111");
    const red = parseOffer(offer).audio?.codecs.find((c) => c.payloadType === 63);
    assert.equal(red?.fmtp, "111");
    const renamed = readOffer("chromium-156.sdp").replace("a=rtpmap:96 VP8/90000", "a=rtpmap:96 264/90000");
    assert.equal(parseOffer(renamed).video?.codecs.find((c) => c.payloadType === 96)?.name, "264");
  });

  it("10,000 mutated offers: each a 4xx with a JSON reason (or 503, or usable), a viewer watching throughout keeps receiving", async () => {
    const seed = fuzzSeed(DEFAULT_FUZZ_SEED);
    const counts = await runSdpFuzz({ cases: 10_000, seed });
    console.log(`      ${fuzzSummary(counts)}`);
    assert.deepEqual(counts.failures.slice(0, 10), [], `${counts.failures.length} failures (seed ${seed})`);
    const total = Object.values(counts.byStatus).reduce((sum, n) => sum + n, 0);
    assert.equal(total, 10_000);
    assert.ok((counts.byStatus["400"] ?? 0) > 1000, "most mutations are bad SDP");
    assert.ok(counts.accepted > 0, "some mutations leave a usable offer: the accepted path is exercised");
    assert.ok((counts.byStatus["413"] ?? 0) > 0, "oversized offers are refused by the body limit");
    assert.equal(counts.bystanderState, "connected");
    assert.equal(counts.bystanderClosed, null, "the server never closed the bystander's viewer");
    assert.ok(counts.bystanderPackets.during > counts.bystanderPackets.before, "packets during the fuzz");
    assert.ok(counts.bystanderPackets.after > counts.bystanderPackets.during, "packets after the fuzz");
  });
});
