import assert from "node:assert/strict";
import { parse as parseSdp } from "sdp-transform";
import { buildAnswer, parseOffer } from "./answer-sdp";

// The offer Debian's Janus 1.1.2 streaming plugin made on `watch` for an RTSP mountpoint on the demo
// camera (half trickle: its candidate comes in the offer).
const JANUS_OFFER = [
  "v=0",
  "o=- 1796654435081653 1 IN IP4 127.0.0.1",
  "s=Mountpoint 1",
  "t=0 0",
  "a=group:BUNDLE v",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 44:48:5F:75:7C:40:22:B4:2B:22:B8:0A:21:15:D7:F9:CC:4E:1D:2A:B0:1A:17:EC:28:7D:E0:83:41:F5:DE:B8",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS *",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
  "c=IN IP4 127.0.0.1",
  "a=sendonly",
  "a=mid:v",
  "a=rtcp-mux",
  "a=ice-ufrag:RzxL",
  "a=ice-pwd:NtIemyMPNlqOQQD6DEt7Am",
  "a=ice-options:trickle",
  "a=setup:actpass",
  "a=rtpmap:96 H264/90000",
  "a=rtcp-fb:96 ccm fir",
  "a=rtcp-fb:96 nack",
  "a=rtcp-fb:96 nack pli",
  "a=rtcp-fb:96 goog-remb",
  "a=rtcp-fb:96 transport-cc",
  "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=fmtp:96 packetization-mode=1;profile-level-id=4d401e;sprop-parameter-sets=Z01AHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aO88gA==",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=ssrc-group:FID 22009150 583769831",
  "a=msid:janus janusv",
  "a=ssrc:22009150 cname:janus",
  "a=ssrc:583769831 cname:janus",
  "a=candidate:1 1 udp 2015363327 127.0.0.2 39827 typ host",
  "a=end-of-candidates",
  "",
].join("\r\n");

const LOCAL = {
  usernameFragment: "abcd",
  password: "0123456789abcdefghijkl",
  fingerprint: { algorithm: "sha-256", value: "AA:BB" },
  candidate: "f1 1 udp 2130706431 127.0.0.1 50000 typ host",
  host: "127.0.0.1",
  port: 50000,
};

describe("bench answer mode: answering a server's offer (Janus)", () => {
  it("takes ICE, DTLS, mid, the H.264 payload type and the loopback candidate from Janus's offer", () => {
    const offer = parseOffer(JANUS_OFFER);
    assert.equal(offer.iceLite, false);
    assert.equal(offer.usernameFragment, "RzxL");
    assert.equal(offer.password, "NtIemyMPNlqOQQD6DEt7Am");
    assert.deepEqual(offer.fingerprints, [
      {
        algorithm: "sha-256",
        value:
          "44:48:5F:75:7C:40:22:B4:2B:22:B8:0A:21:15:D7:F9:CC:4E:1D:2A:B0:1A:17:EC:28:7D:E0:83:41:F5:DE:B8",
      },
    ]);
    assert.equal(offer.setup, "actpass");
    assert.equal(offer.mid, "v");
    assert.equal(offer.payloadType, 96);
    assert.match(offer.fmtp, /^packetization-mode=1;profile-level-id=4d401e;/);
    assert.deepEqual(offer.candidates, ["1 1 udp 2015363327 127.0.0.2 39827 typ host"]);
  });

  it("answers receive-only H.264 on the offered payload type, setup:active, the same mid, its one candidate", () => {
    const answer = buildAnswer(parseOffer(JANUS_OFFER), LOCAL);
    const parsed = parseSdp(answer);
    assert.equal(parsed.groups?.[0]?.mids, "v");
    const video = parsed.media[0];
    assert.ok(video);
    assert.equal(parsed.media.length, 1);
    assert.equal(video.type, "video");
    assert.equal(video.port, 50000);
    assert.equal(String(video.payloads), "96");
    assert.equal(video.mid, "v");
    assert.equal(video.direction, "recvonly");
    assert.equal(video.setup, "active");
    assert.equal(video.rtcpMux, "rtcp-mux");
    assert.equal(video.iceUfrag, "abcd");
    assert.equal(video.icePwd, "0123456789abcdefghijkl");
    assert.deepEqual(video.fingerprint, { type: "sha-256", hash: "AA:BB" });
    assert.deepEqual(
      video.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`),
      ["96 H264/90000"],
    );
    // The offerer's parameter sets stay with the offerer; no RTX, no header extensions.
    assert.deepEqual(video.fmtp, [{ payload: 96, config: "packetization-mode=1;profile-level-id=4d401e" }]);
    assert.equal(video.ext, undefined);
    assert.equal(video.candidates?.length, 1);
    assert.equal(video.candidates?.[0]?.ip, "127.0.0.1");
    assert.equal(video.endOfCandidates, "end-of-candidates");
    assert.ok(answer.endsWith("\r\n") && !answer.includes("\n\n"));
  });

  it("picks the H.264 entry with packetization-mode=1 when several are offered", () => {
    const offer = JANUS_OFFER.replace(
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
      "m=video 9 UDP/TLS/RTP/SAVPF 100 96 97",
    ).replace(
      "a=rtpmap:96 H264/90000",
      "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\na=rtpmap:96 H264/90000",
    );
    assert.equal(parseOffer(offer).payloadType, 96);
  });

  it("refuses offers it cannot answer, saying why", () => {
    assert.throws(() => parseOffer("v=0\r\n"), /no video/);
    assert.throws(
      () => parseOffer(JANUS_OFFER.replace("packetization-mode=1", "packetization-mode=0")),
      /no H\.264 with packetization-mode=1/,
    );
    assert.throws(() => parseOffer(JANUS_OFFER.replace(/a=ice-ufrag:.*\r\n/, "")), /no ICE credentials/);
    assert.throws(() => parseOffer(JANUS_OFFER.replace(/a=fingerprint:.*\r\n/, "")), /no DTLS fingerprint/);
    // A candidate off loopback is never used: the bench's packets stay on 127.0.0.0/8.
    assert.throws(
      () => parseOffer(JANUS_OFFER.replace("127.0.0.2 39827", "192.0.2.1 39827")),
      /no 127\.0\.0\.0\/8 UDP host candidate/,
    );
    assert.throws(
      () => buildAnswer(parseOffer(JANUS_OFFER.replace("a=setup:actpass", "a=setup:active")), LOCAL),
      /no active role/,
    );
  });
});
