import assert from "node:assert/strict";
import { EndedResources } from "../../../src/webrtc/ended-resources";

describe("EndedResources", () => {
  it("takes a key once, within its time", () => {
    let now = 1000;
    const ended = new EndedResources(8, 60_000, () => now);
    ended.add("a");
    now += 59_999;
    assert.equal(ended.take("a"), true);
    assert.equal(ended.take("a"), false, "taken already");
    ended.add("b");
    now += 60_000;
    assert.equal(ended.take("b"), false, "forgotten after ttl");
    assert.equal(ended.size, 0);
  });

  it("holds at most `limit` keys, dropping the oldest; expired ones go on any call", () => {
    let now = 0;
    const ended = new EndedResources(3, 1000, () => now);
    for (let i = 0; i < 10_000; i++) ended.add(`k${i}`);
    assert.equal(ended.size, 3);
    assert.equal(ended.take("k9996"), false);
    assert.equal(ended.take("k9997"), true);
    now = 1000;
    ended.add("late");
    assert.equal(ended.size, 1);
    assert.equal(ended.take("k9999"), false);
    ended.clear();
    assert.equal(ended.size, 0);
  });

  it("adding a key again renews it and moves it to the back", () => {
    let now = 0;
    const ended = new EndedResources(2, 1000, () => now);
    ended.add("a");
    now = 500;
    ended.add("b");
    ended.add("a");
    now = 1200;
    assert.equal(ended.take("b"), true, "b expires at 1500");
    assert.equal(ended.take("a"), true, "a renewed at 500");
  });
});
