import assert from "node:assert/strict";
import { type AudioPlan, planAudio, readAudioSpecificConfig } from "../../../src/mp4/audio-plan";
import type { MediaInfo } from "../../../src/rtp/stream-info";
import { hex, hexOf } from "../../helpers/rtp-fixtures";

function audio(
  codec: string,
  clockRate: number,
  fmtp: Record<string, string> = {},
  channels?: number,
): MediaInfo {
  return {
    mid: "1",
    kind: "audio",
    codec,
    payloadType: 97,
    clockRate,
    fmtp,
    relayable: codec !== "MPEG4-GENERIC",
    ...(channels === undefined ? {} : { channels }),
  };
}

function plan(media: MediaInfo): AudioPlan {
  const result = planAudio([media], true);
  assert.ok(typeof result !== "string", `no plan: ${String(result)}`);
  return result;
}

describe("planAudio", () => {
  it("reads an AudioSpecificConfig: AAC-LC 16 kHz mono, 48 kHz stereo, an explicit rate", () => {
    assert.deepEqual(readAudioSpecificConfig(hex("1408")), { sampleRate: 16000, channels: 1 });
    assert.deepEqual(readAudioSpecificConfig(hex("1190")), { sampleRate: 48000, channels: 2 });
    // object type 2, frequency index 15, 24-bit rate 0x001f40 (8000), channel configuration 1.
    assert.deepEqual(readAudioSpecificConfig(hex("1780 0fa0 08")), { sampleRate: 8000, channels: 1 });
    assert.equal(readAudioSpecificConfig(hex("00")), undefined, "object type 0");
    assert.equal(readAudioSpecificConfig(hex("10")), undefined, "cut in its frequency index");
    assert.equal(readAudioSpecificConfig(hex("16 88")), undefined, "frequency index 13 is reserved");
  });

  it("records AAC-hbr with its config, 1024 samples a frame", () => {
    const p = plan(
      audio("MPEG4-GENERIC", 16000, { mode: "AAC-hbr", sizelength: "13", indexlength: "3", config: "1408" }),
    );
    assert.deepEqual([p.codec, p.mp4Codec, p.sampleRate, p.channels], ["AAC", "aac", 16000, 1]);
    assert.equal(Buffer.from(p.description!).toString("hex"), "1408");
    assert.deepEqual(hexOf(p.frames(hex("0010 0018 aabbcc"))!), ["aabbcc"]);
    assert.equal(p.frameTicks(hex("aa")), 1024);
    // Channel configuration 0 (in the program config element): the SDP's count.
    const pce = plan(audio("MPEG4-GENERIC", 48000, { sizelength: "13", config: "1180" }, 2));
    assert.equal(pce.channels, 2);
  });

  it("says why AAC cannot be recorded when the fmtp lacks what it needs", () => {
    assert.equal(planAudio([audio("MPEG4-GENERIC", 16000, { sizelength: "13" })], true), "bad-fmtp");
    assert.equal(
      planAudio([audio("MPEG4-GENERIC", 16000, { sizelength: "13", config: "14g8" })], true),
      "bad-fmtp",
    );
    assert.equal(planAudio([audio("MPEG4-GENERIC", 16000, { config: "1408" })], true), "bad-fmtp");
    assert.equal(
      planAudio([audio("MPEG4-GENERIC", 16000, { sizelength: "13", config: "0008" })], true),
      "bad-fmtp",
    );
  });

  it("records Opus at 48 kHz, stereo only when the sender says so", () => {
    const mono = plan(audio("OPUS", 48000, {}, 2));
    assert.deepEqual([mono.mp4Codec, mono.sampleRate, mono.channels], ["opus", 48000, 1]);
    assert.equal(plan(audio("OPUS", 48000, { "sprop-stereo": "1" }, 2)).channels, 2);
    assert.deepEqual(hexOf(mono.frames(hex("fc0102"))!), ["fc0102"]);
    assert.equal(mono.frames(Buffer.alloc(0)), undefined);
    assert.equal(mono.frameTicks(hex("fc")), undefined);
  });

  it("records G.711 as it is, a byte a sample", () => {
    const pcma = plan(audio("PCMA", 8000));
    assert.deepEqual([pcma.codec, pcma.mp4Codec, pcma.sampleRate, pcma.channels], ["PCMA", "alaw", 8000, 1]);
    assert.equal(pcma.frameTicks(Buffer.alloc(160)), 160);
    const stereo = plan(audio("PCMU", 8000, {}, 2));
    assert.deepEqual([stereo.mp4Codec, stereo.channels], ["ulaw", 2]);
    assert.equal(stereo.frameTicks(Buffer.alloc(320)), 160);
    assert.equal(stereo.frames(Buffer.alloc(3)), undefined, "half a stereo sample");
  });

  it("skips audio it cannot put in MP4 as it is, or that is not wanted, with a reason", () => {
    assert.equal(planAudio([audio("MP4A-LATM", 90000)], true), "codec-not-in-mp4");
    assert.equal(planAudio([audio("G722", 8000)], true), "codec-not-in-mp4");
    assert.equal(planAudio([audio("PCMA", 8000)], false), "switched-off");
    assert.equal(planAudio([], true), "no-audio");
  });
});
