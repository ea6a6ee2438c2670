import assert from "node:assert/strict";
import { BadSdpError } from "../../../src/webrtc/errors";
import { parseSdpFragment } from "../../../src/webrtc/sdp-fragment";

describe("parseSdpFragment", () => {
  it("reads an RFC 8840 trickle fragment: credentials, candidates with their mid, end-of-candidates", () => {
    const fragment = [
      "a=ice-ufrag:EsAw",
      "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
      "m=audio 9 RTP/AVP 0",
      "a=mid:0",
      "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1",
      "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2",
      "a=end-of-candidates",
      "",
    ].join("\r\n");
    assert.deepEqual(parseSdpFragment(fragment), {
      iceUfrag: "EsAw",
      icePwd: "P2uYro0UCOQ4zxjKXaWCBui1",
      candidates: [
        {
          candidate:
            "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1",
          mid: "0",
        },
        {
          candidate:
            "candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2",
          mid: "0",
        },
      ],
      endOfCandidates: true,
    });
  });

  it("takes candidates outside any m= section and bare LF line ends", () => {
    const parsed = parseSdpFragment("a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\n");
    assert.deepEqual(parsed, {
      candidates: [{ candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host" }],
      endOfCandidates: false,
    });
  });

  it("refuses what is not SDP", () => {
    assert.throws(() => parseSdpFragment("candidate:1 1 udp 1 127.0.0.1 5000 typ host"), BadSdpError);
    assert.throws(() => parseSdpFragment("a=candidate:1\r\n{json}"), BadSdpError);
    assert.throws(() => parseSdpFragment("a=".repeat(40_000)), BadSdpError);
  });
});
