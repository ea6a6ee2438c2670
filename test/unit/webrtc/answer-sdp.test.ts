import assert from "node:assert/strict";
import { withRtcpMuxOnRejectedSections } from "../../../src/webrtc/answer-sdp";

/** The tail of werift 0.25.2's answer to Chromium's audio + video offer for a camera without audio. */
const WERIFT_ANSWER = [
  "v=0",
  "o=- 94356914 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 41",
  "c=IN IP4 0.0.0.0",
  "a=sendonly",
  "a=mid:0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=rtcp-mux",
  "a=rtpmap:41 H264/90000",
  "m=audio 0 UDP/TLS/RTP/SAVPF 111",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:a58e",
  "a=setup:active",
  "a=inactive",
  "a=mid:1",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "",
].join("\r\n");

describe("withRtcpMuxOnRejectedSections", () => {
  it("adds a=rtcp-mux at the end of a rejected audio section, and changes no other byte", () => {
    const expected = WERIFT_ANSWER.replace(
      "a=fmtp:111 minptime=10;useinbandfec=1\r\n",
      "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtcp-mux\r\n",
    );
    assert.equal(withRtcpMuxOnRejectedSections(WERIFT_ANSWER), expected);
  });

  it("adds it to a rejected section in the middle (video rejected, audio accepted)", () => {
    const sdp = [
      "v=0",
      "s=-",
      "m=video 0 UDP/TLS/RTP/SAVPF 96",
      "a=mid:0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 8",
      "a=mid:1",
      "a=rtcp-mux",
      "",
    ].join("\r\n");
    assert.equal(
      withRtcpMuxOnRejectedSections(sdp),
      [
        "v=0",
        "s=-",
        "m=video 0 UDP/TLS/RTP/SAVPF 96",
        "a=mid:0",
        "a=rtcp-mux",
        "m=audio 9 UDP/TLS/RTP/SAVPF 8",
        "a=mid:1",
        "a=rtcp-mux",
        "",
      ].join("\r\n"),
    );
  });

  it("leaves an answer alone when every rejected section has it, or none is rejected", () => {
    const withMux = WERIFT_ANSWER.replace("a=mid:1\r\n", "a=mid:1\r\na=rtcp-mux\r\n");
    assert.equal(withRtcpMuxOnRejectedSections(withMux), withMux);
    const accepted = WERIFT_ANSWER.replace("m=audio 0 ", "m=audio 9 ");
    assert.equal(withRtcpMuxOnRejectedSections(accepted), accepted);
  });

  it("leaves a rejected data channel section alone, and keeps LF line ends", () => {
    const sdp = "v=0\ns=-\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\na=mid:2\n";
    assert.equal(withRtcpMuxOnRejectedSections(sdp), sdp);
    const lf = "v=0\ns=-\nm=audio 0 RTP/AVP 0\na=mid:1";
    assert.equal(withRtcpMuxOnRejectedSections(lf), "v=0\ns=-\nm=audio 0 RTP/AVP 0\na=mid:1\na=rtcp-mux");
  });
});
