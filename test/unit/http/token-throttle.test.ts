import assert from "node:assert/strict";
import { clientKey, WrongTokenThrottle } from "../../../src/http/token-throttle";

/** A throttle on a clock the test moves. */
function throttle(opts: ConstructorParameters<typeof WrongTokenThrottle>[0] = {}) {
  const clock = { now: 0 };
  return { clock, throttle: new WrongTokenThrottle({ ...opts, now: () => clock.now }) };
}

describe("http/token-throttle", () => {
  it("pauses an address at its 5th wrong token within a minute, for 10 s", () => {
    const { clock, throttle: t } = throttle();
    for (let i = 0; i < 4; i++) {
      t.failed("192.0.2.1");
      assert.equal(t.waitMs("192.0.2.1"), 0, `after ${i + 1}`);
    }
    t.failed("192.0.2.1");
    assert.equal(t.waitMs("192.0.2.1"), 10_000);
    assert.equal(t.waitMs("192.0.2.2"), 0, "another address");
    clock.now += 9_999;
    assert.equal(t.waitMs("192.0.2.1"), 1);
    clock.now += 1;
    assert.equal(t.waitMs("192.0.2.1"), 0);
  });

  it("wrong tokens spread wider than the window never pause", () => {
    const { clock, throttle: t } = throttle();
    for (let i = 0; i < 50; i++) {
      t.failed("192.0.2.1");
      assert.equal(t.waitMs("192.0.2.1"), 0, `failure ${i}`);
      clock.now += 15_001;
    }
  });

  it("each pause after the first doubles, up to the cap; a quiet window and pause later it starts over", () => {
    const { clock, throttle: t } = throttle({ maxPauseMs: 60_000 });
    for (let i = 0; i < 5; i++) t.failed("a");
    const pauses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const wait = t.waitMs("a");
      pauses.push(wait);
      clock.now += wait;
      t.failed("a");
    }
    assert.deepEqual(pauses, [10_000, 20_000, 40_000, 60_000, 60_000]);
    clock.now += t.waitMs("a") + 60_000;
    assert.equal(t.size, 1);
    t.failed("a");
    assert.equal(t.waitMs("a"), 0, "forgotten: one wrong token is no pause");
  });

  it("a right token forgets the address", () => {
    const { throttle: t } = throttle();
    for (let i = 0; i < 4; i++) t.failed("a");
    t.succeeded("a");
    t.failed("a");
    assert.equal(t.waitMs("a"), 0);
    assert.equal(t.size, 1);
  });

  it("remembers at most maxAddresses, the longest quiet forgotten first, and drops expired ones", () => {
    const { clock, throttle: t } = throttle({ maxAddresses: 100 });
    for (let i = 0; i < 10_000; i++) {
      t.failed(`10.0.${i >> 8}.${i & 255}`);
      assert.ok(t.size <= 100);
    }
    // The latest hundred are the ones kept.
    for (let n = 0; n < 4; n++) t.failed("10.0.39.15");
    assert.equal(t.waitMs("10.0.39.15"), 10_000, "10.0.39.15 was the 10,000th: kept with its first failure");
    clock.now += 10 * 60_000;
    t.failed("198.51.100.1");
    assert.equal(t.size, 1, "the expired ones went");
  });

  it("counts an IPv6 address by its /64: one host can take any address in it", () => {
    assert.equal(clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(clientKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
    assert.equal(clientKey("::1"), "0:0:0:0::/64");
    assert.equal(clientKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(clientKey("192.0.2.7"), "192.0.2.7");
    const { throttle: t } = throttle();
    for (let i = 1; i <= 5; i++) t.failed(`2001:db8:1:2::${i}`);
    assert.equal(t.waitMs("2001:db8:1:2:9999::1"), 10_000);
    assert.equal(t.waitMs("2001:db8:1:3::1"), 0);
  });
});
