import assert from "node:assert/strict";
import { RtspError } from "../../../src/rtsp/errors";
import {
  formatRtpInfo,
  formatSessionHeader,
  formatTransportHeader,
  parsePublic,
  parseRtpInfo,
  parseSessionHeader,
  parseTransportHeader,
  parseTransportList,
  RtspHeaders,
  type TransportHeader,
} from "../../../src/rtsp/headers";

describe("rtsp/headers", () => {
  describe("RtspHeaders", () => {
    it("looks names up case-insensitively and returns the first value", () => {
      const h = new RtspHeaders([
        ["WWW-Authenticate", "Digest realm=a"],
        ["CSeq", "3"],
        ["www-authenticate", "Basic realm=b"],
      ]);
      assert.equal(h.get("cseq"), "3");
      assert.equal(h.get("WWW-AUTHENTICATE"), "Digest realm=a");
      assert.deepEqual(h.getAll("Www-Authenticate"), ["Digest realm=a", "Basic realm=b"]);
      assert.deepEqual(h.getAll("Session"), []);
      assert.equal(h.get("Session"), undefined);
      assert.equal(h.has("csEQ"), true);
      assert.equal(h.has("Session"), false);
    });

    it("keeps original case and insertion order", () => {
      const h = new RtspHeaders().append("CSeq", "1").append("User-Agent", "ua").append("x-custom", "v");
      assert.deepEqual(
        [...h.entries()],
        [
          ["CSeq", "1"],
          ["User-Agent", "ua"],
          ["x-custom", "v"],
        ],
      );
    });

    it("set replaces every value in the place of the first", () => {
      const h = new RtspHeaders([
        ["A", "1"],
        ["Accept", "x"],
        ["B", "2"],
        ["accept", "y"],
      ]);
      h.set("ACCEPT", "application/sdp");
      assert.deepEqual(
        [...h.entries()],
        [
          ["A", "1"],
          ["ACCEPT", "application/sdp"],
          ["B", "2"],
        ],
      );
      h.set("Session", "abc");
      assert.deepEqual([...h.entries()].at(-1), ["Session", "abc"]);
    });

    it("entries are a snapshot that does not alias the headers", () => {
      const h = new RtspHeaders([["A", "1"]]);
      const first = [...h.entries()][0]!;
      first[1] = "changed";
      assert.equal(h.get("A"), "1");
    });

    it("delete removes every value of a name", () => {
      const h = new RtspHeaders([
        ["A", "1"],
        ["a", "2"],
        ["B", "3"],
      ]).delete("A");
      assert.deepEqual([...h], [["B", "3"]]);
    });
  });

  describe("parseSessionHeader", () => {
    it("reads the id and the timeout", () => {
      assert.deepEqual(parseSessionHeader("12345678;timeout=60"), { id: "12345678", timeoutSec: 60 });
      assert.deepEqual(parseSessionHeader(" 47112344 ; Timeout = 30 "), { id: "47112344", timeoutSec: 30 });
    });

    it("leaves a missing or unusable timeout out", () => {
      assert.deepEqual(parseSessionHeader("A1B2C3"), { id: "A1B2C3" });
      assert.deepEqual(parseSessionHeader("A1B2C3;timeout=abc"), { id: "A1B2C3" });
      assert.deepEqual(parseSessionHeader("A1B2C3;timeout=0"), { id: "A1B2C3" });
      assert.deepEqual(parseSessionHeader('A1B2C3;timeout="45"'), { id: "A1B2C3", timeoutSec: 45 });
    });

    it("throws a protocol error for an empty id", () => {
      assert.throws(
        () => parseSessionHeader(" ;timeout=60"),
        (err: unknown) => err instanceof RtspError && err.code === "protocol",
      );
    });
  });

  describe("parseTransportHeader", () => {
    it("reads an interleaved TCP reply", () => {
      assert.deepEqual(parseTransportHeader("RTP/AVP/TCP;unicast;interleaved=0-1"), {
        protocol: "RTP/AVP/TCP",
        unicast: true,
        interleaved: [0, 1],
      });
    });

    it("reads a UDP reply with ports, ssrc, source and mode", () => {
      assert.deepEqual(
        parseTransportHeader(
          'RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=0B6020AD;source=10.0.0.2;mode="PLAY"',
        ),
        {
          protocol: "RTP/AVP",
          unicast: true,
          clientPort: [5000, 5001],
          serverPort: [6970, 6971],
          ssrc: 0x0b6020ad,
          source: "10.0.0.2",
          mode: "PLAY",
        },
      );
    });

    it("reads RTP/AVP/UDP as RTP/AVP and single ports as pairs", () => {
      assert.deepEqual(parseTransportHeader("RTP/AVP/UDP;unicast;client_port=14186;server_port=8052"), {
        protocol: "RTP/AVP",
        unicast: true,
        clientPort: [14186, 14187],
        serverPort: [8052, 8053],
      });
      assert.deepEqual(parseTransportHeader("RTP/AVP/TCP;interleaved=4").interleaved, [4, 5]);
    });

    it("accepts keys in any case and order", () => {
      assert.deepEqual(parseTransportHeader("Client_Port=3456-3457;rtp/avp;MODE=play;Unicast"), {
        protocol: "RTP/AVP",
        unicast: true,
        clientPort: [3456, 3457],
        mode: "play",
      });
    });

    it("tolerates padded and short SSRCs, drops decimal ones", () => {
      assert.equal(parseTransportHeader("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=     D93FF").ssrc, 0xd93ff);
      assert.equal(parseTransportHeader("RTP/AVP;unicast;ssrc= 4317f").ssrc, 0x4317f);
      assert.equal(parseTransportHeader("RTP/AVP;unicast;ssrc=FFFFFFFF").ssrc, 0xffffffff);
      assert.equal("ssrc" in parseTransportHeader("RTP/AVP;unicast;ssrc=1449463210"), false);
    });

    it("skips an empty source and bad numbers", () => {
      const t = parseTransportHeader("RTP/AVP;unicast;source=;client_port=aa-14187;server_port=70000-70001");
      assert.deepEqual(t, { protocol: "RTP/AVP", unicast: true });
      assert.equal("interleaved" in parseTransportHeader("RTP/AVP/TCP;interleaved=300-301"), false);
    });

    it("reads multicast, and takes the first of several specs", () => {
      assert.equal(
        parseTransportHeader("RTP/AVP;multicast;destination=225.1.1.1;port=7000-7001").unicast,
        false,
      );
      assert.deepEqual(
        parseTransportHeader(
          'RTP/AVP;unicast;client_port=3456-3457;mode="PLAY,RECORD", RTP/AVP/TCP;interleaved=0-1',
        ),
        { protocol: "RTP/AVP", unicast: true, clientPort: [3456, 3457], mode: "PLAY,RECORD" },
      );
    });

    it("gives an empty protocol when there is none", () => {
      assert.equal(parseTransportHeader("unicast;client_port=1-2").protocol, "");
      assert.equal(parseTransportHeader("").protocol, "");
    });
  });

  describe("formatTransportHeader", () => {
    it("writes the request forms byte for byte", () => {
      assert.equal(
        formatTransportHeader({ protocol: "RTP/AVP/TCP", unicast: true, interleaved: [0, 1] }),
        "RTP/AVP/TCP;unicast;interleaved=0-1",
      );
      assert.equal(
        formatTransportHeader({ protocol: "RTP/AVP", unicast: true, clientPort: [5000, 5001] }),
        "RTP/AVP;unicast;client_port=5000-5001",
      );
    });

    it("writes every field, ssrc as 8 hex digits", () => {
      const t: TransportHeader = {
        protocol: "RTP/AVP",
        unicast: true,
        source: "127.0.0.1",
        clientPort: [14186, 14187],
        serverPort: [8052, 8053],
        ssrc: 0x4317f,
        mode: "PLAY",
      };
      const text =
        "RTP/AVP;unicast;source=127.0.0.1;client_port=14186-14187;server_port=8052-8053;ssrc=0004317F;mode=PLAY";
      assert.equal(formatTransportHeader(t), text);
      assert.deepEqual(parseTransportHeader(text), t);
      assert.equal(formatTransportHeader({ protocol: "RTP/AVP", unicast: false }), "RTP/AVP;multicast");
    });

    it("writes the demo camera's replies byte for byte, mode quoted as given", () => {
      assert.equal(
        formatTransportHeader({
          protocol: "RTP/AVP/TCP",
          unicast: true,
          interleaved: [0, 1],
          ssrc: 0xdeadbeef,
          mode: '"PLAY"',
        }),
        'RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=DEADBEEF;mode="PLAY"',
      );
      assert.equal(
        formatTransportHeader({
          protocol: "RTP/AVP",
          unicast: true,
          clientPort: [5000, 5001],
          serverPort: [6970, 6971],
          ssrc: 1,
          mode: '"PLAY"',
        }),
        'RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=00000001;mode="PLAY"',
      );
    });
  });

  describe("parseTransportList", () => {
    it("reads every spec of a client's list, in order", () => {
      assert.deepEqual(
        parseTransportList(
          'RTP/AVP;multicast;port=5000-5001, RTP/AVP/UDP;unicast;client_port=7000;mode="PLAY",RTP/AVP/TCP;interleaved=2-3',
        ),
        [
          { protocol: "RTP/AVP", unicast: false },
          { protocol: "RTP/AVP", unicast: true, clientPort: [7000, 7001], mode: "PLAY" },
          { protocol: "RTP/AVP/TCP", unicast: true, interleaved: [2, 3] },
        ],
      );
    });

    it("leaves out a spec whose channels or ports cannot be read, or whose implied pair falls out of bounds", () => {
      for (const bad of [
        "RTP/AVP/TCP;interleaved=300-301",
        "RTP/AVP/TCP;interleaved=255",
        "RTP/AVP/TCP;interleaved",
        "RTP/AVP;unicast;client_port=a-b",
        "RTP/AVP;unicast;client_port=70000-70001",
        "RTP/AVP;unicast;client_port=65535",
        "RTP/AVP;unicast;server_port=1-x",
      ]) {
        assert.deepEqual(
          parseTransportList(`${bad}, RTP/AVP/TCP;interleaved=0-1`),
          [{ protocol: "RTP/AVP/TCP", unicast: true, interleaved: [0, 1] }],
          bad,
        );
      }
      assert.deepEqual(parseTransportList(""), [{ protocol: "", unicast: true }]);
    });
  });

  describe("formatSessionHeader", () => {
    it("writes the id and the timeout byte for byte", () => {
      assert.equal(
        formatSessionHeader({ id: "0123456789ABCDEF", timeoutSec: 60 }),
        "0123456789ABCDEF;timeout=60",
      );
      assert.equal(formatSessionHeader({ id: "12345678" }), "12345678");
      assert.deepEqual(parseSessionHeader(formatSessionHeader({ id: "AB", timeoutSec: 5 })), {
        id: "AB",
        timeoutSec: 5,
      });
    });
  });

  describe("formatRtpInfo", () => {
    it("writes entries byte for byte and reads back as they were", () => {
      const entries = [
        { url: "rtsp://127.0.0.1:8554/demo/trackID=0", seq: 4711, rtptime: 3735928559 },
        { url: "rtsp://h/s/trackID=1" },
      ];
      const text = formatRtpInfo(entries);
      assert.equal(
        text,
        "url=rtsp://127.0.0.1:8554/demo/trackID=0;seq=4711;rtptime=3735928559, url=rtsp://h/s/trackID=1",
      );
      assert.deepEqual(parseRtpInfo(text), entries);
    });
  });

  describe("parseRtpInfo", () => {
    it("reads several entries, with or without spaces after commas", () => {
      assert.deepEqual(
        parseRtpInfo(
          "url=rtsp://10.13.146.53/axis-media/media.amp/trackID=1;seq=58477;rtptime=1020884293, " +
            "url=rtsp://10.13.146.53/axis-media/media.amp/trackID=2;seq=15727;rtptime=1171661503",
        ),
        [
          { url: "rtsp://10.13.146.53/axis-media/media.amp/trackID=1", seq: 58477, rtptime: 1020884293 },
          { url: "rtsp://10.13.146.53/axis-media/media.amp/trackID=2", seq: 15727, rtptime: 1171661503 },
        ],
      );
      assert.deepEqual(
        parseRtpInfo("url=trackID=1;seq=55664;rtptime=254718369;ssrc=56597976,url=trackID=2;seq=1"),
        [
          { url: "trackID=1", seq: 55664, rtptime: 254718369 },
          { url: "trackID=2", seq: 1 },
        ],
      );
    });

    it("keeps commas and semicolons that belong to the URL", () => {
      assert.deepEqual(parseRtpInfo("url=rtsp://h/a;b/c?x=1,2;rtptime=4294967295"), [
        { url: "rtsp://h/a;b/c?x=1,2", rtptime: 4294967295 },
      ]);
    });

    it("accepts parameters before the URL and quoted URLs", () => {
      assert.deepEqual(parseRtpInfo('seq=7;URL="rtsp://h/s/track1";rtptime=9'), [
        { url: "rtsp://h/s/track1", seq: 7, rtptime: 9 },
      ]);
    });

    it("leaves out out-of-range numbers and entries without a URL", () => {
      assert.deepEqual(parseRtpInfo("url=rtsp://h/t;seq=65536;rtptime=-1"), [{ url: "rtsp://h/t" }]);
      assert.deepEqual(parseRtpInfo("seq=1;rtptime=2"), []);
      assert.deepEqual(parseRtpInfo(""), []);
    });
  });

  describe("parsePublic", () => {
    it("upper-cases and trims method names", () => {
      assert.deepEqual(
        parsePublic("OPTIONS, DESCRIBE,SETUP , teardown, PLAY, GET_PARAMETER,"),
        new Set(["OPTIONS", "DESCRIBE", "SETUP", "TEARDOWN", "PLAY", "GET_PARAMETER"]),
      );
    });

    it("gives an empty set for a missing header", () => {
      assert.equal(parsePublic(undefined).size, 0);
      assert.equal(parsePublic("").size, 0);
    });
  });
});
