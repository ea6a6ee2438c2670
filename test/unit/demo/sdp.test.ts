import assert from "node:assert/strict";
import { buildDemoSdp } from "../../../src/demo/sdp";

describe("buildDemoSdp", () => {
  const clip = {
    sps: Buffer.from("674d401eda0280bfe5c044000003000400000300c83c58ba80", "hex"),
    pps: Buffer.from("68ef3c80", "hex"),
    profileLevelId: "4d401e",
  };

  it("describes one H.264 video media with parameter sets, frame rate and track control", () => {
    const sdp = buildDemoSdp({ clip, fps: 25, address: "127.0.0.1", sessionId: "12345" });
    assert.equal(
      sdp,
      [
        "v=0",
        "o=- 12345 1 IN IP4 127.0.0.1",
        "s=node-red-rtsp-webrtc demo camera",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        "a=range:npt=0-",
        "m=video 0 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
        "a=fmtp:96 packetization-mode=1;profile-level-id=4d401e;sprop-parameter-sets=Z01AHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aO88gA==",
        "a=framerate:25",
        "a=control:trackID=0",
        "",
      ].join("\r\n"),
    );
  });

  it("writes IPv6 addresses as IP6", () => {
    const sdp = buildDemoSdp({ clip, fps: 25, address: "::1", sessionId: "1" });
    assert.match(sdp, /^o=- 1 1 IN IP6 ::1\r$/m);
    assert.match(sdp, /^c=IN IP6 ::\r$/m);
  });
});
