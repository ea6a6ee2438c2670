import assert from "node:assert/strict";
import type { CatalogText } from "../../../src/nodes/text";
import {
  parseSiteSettings,
  parseWebrtcOutConfig,
  type WebrtcOutDef,
} from "../../../src/nodes/webrtc-out-config";
import { type Translate, translator } from "../../helpers/node-catalog";

let text: Translate;

/** The problems as the node warns them, in English. */
function said(problems: readonly CatalogText[]): string[] {
  return problems.map((p) => text(p.key, p.values));
}

function def(fields: Partial<WebrtcOutDef> = {}): WebrtcOutDef {
  return { id: "a1b2c3d4e5f60718", type: "webrtc-out", ...fields };
}

describe("nodes/webrtc-out-config", () => {
  before(async () => {
    text = await translator("webrtc-out");
  });

  it("defaults: path from the id, 20 viewers, 4 pending and 10 in all per address, no token, audio, fast start, no ICE servers, stats every 10 s, 1200-byte packets", () => {
    const settings = parseWebrtcOutConfig(def(), undefined);
    assert.deepEqual(settings, {
      path: "/a1b2c3d4e5f60718",
      title: "webrtc-out /a1b2c3d4e5f60718",
      topic: "/a1b2c3d4e5f60718",
      maxViewers: 20,
      maxPendingPerAddress: 4,
      maxViewersPerAddress: 10,
      viewerToken: undefined,
      audio: true,
      fastStart: true,
      ice: { iceServers: [], additionalHostAddresses: [] },
      fallbackCodec: { codec: "H264", payloadType: 96, clockRate: 90000 },
      statsIntervalMs: 10_000,
      maxPacketSize: 1200,
      problems: [],
    });
  });

  it("max packet size: a whole number of bytes from 1200 to 1400, else 1200 with a problem", () => {
    assert.equal(parseWebrtcOutConfig(def({ maxPacketSize: "1400" }), undefined).maxPacketSize, 1400);
    assert.equal(parseWebrtcOutConfig(def({ maxPacketSize: 1300 }), undefined).maxPacketSize, 1300);
    assert.equal(parseWebrtcOutConfig(def({ maxPacketSize: " 1200 " }), undefined).maxPacketSize, 1200);
    assert.equal(parseWebrtcOutConfig(def({ maxPacketSize: "" }), undefined).maxPacketSize, 1200);
    for (const bad of [1199, 1401, 1500, 0, -1200, "1300.5", "big"]) {
      const settings = parseWebrtcOutConfig(def({ maxPacketSize: bad }), undefined);
      assert.equal(settings.maxPacketSize, 1200, String(bad));
      assert.deepEqual(said(settings.problems), [
        `max packet size "${bad}" must be a whole number of bytes from 1200 to 1400; using 1200`,
      ]);
    }
  });

  it("pending viewers per address: a whole number of at least 1, else the default with a problem", () => {
    assert.equal(parseWebrtcOutConfig(def({ maxPending: "2" }), undefined).maxPendingPerAddress, 2);
    assert.equal(parseWebrtcOutConfig(def({ maxPending: "" }), undefined).maxPendingPerAddress, 4);
    for (const bad of [0, -1, "1.5", "many"]) {
      const settings = parseWebrtcOutConfig(def({ maxPending: bad }), undefined);
      assert.equal(settings.maxPendingPerAddress, 4, String(bad));
      assert.match(said(settings.problems)[0] ?? "", /pending viewers per address/);
    }
  });

  it("viewers per address: a whole number of at least 1, else the default with a problem", () => {
    assert.equal(parseWebrtcOutConfig(def({ maxPerAddress: "3" }), undefined).maxViewersPerAddress, 3);
    assert.equal(parseWebrtcOutConfig(def({ maxPerAddress: 500 }), undefined).maxViewersPerAddress, 500);
    assert.equal(parseWebrtcOutConfig(def({ maxPerAddress: "" }), undefined).maxViewersPerAddress, 10);
    for (const bad of [0, -1, "2.5", "lots"]) {
      const settings = parseWebrtcOutConfig(def({ maxPerAddress: bad }), undefined);
      assert.equal(settings.maxViewersPerAddress, 10, String(bad));
      assert.match(said(settings.problems)[0] ?? "", /viewers per client address/);
    }
  });

  it("the viewer token comes from the credentials, trimmed; empty means none", () => {
    assert.equal(parseWebrtcOutConfig(def(), { viewerToken: " s3cret-token " }).viewerToken, "s3cret-token");
    assert.equal(parseWebrtcOutConfig(def(), { viewerToken: "" }).viewerToken, undefined);
    assert.equal(parseWebrtcOutConfig(def(), { viewerToken: "   " }).viewerToken, undefined);
    const spaced = parseWebrtcOutConfig(def(), { viewerToken: "two words" });
    // Kept (the stream stays closed to everyone) and reported: no Authorization header can carry it.
    assert.equal(spaced.viewerToken, "two words");
    assert.match(said(spaced.problems)[0] ?? "", /viewer token/);
    assert.ok(
      !said(spaced.problems).some((p) => p.includes("two words")),
      "a problem never repeats the token",
    );
  });

  it("the path defaults to the name slugified; a configured path is normalised", () => {
    assert.equal(parseWebrtcOutConfig(def({ name: "Front Door" }), undefined).path, "/front-door");
    assert.equal(
      parseWebrtcOutConfig(def({ name: "Front Door", path: "cams/door/" }), undefined).path,
      "/cams/door",
    );
    assert.equal(parseWebrtcOutConfig(def({ name: "前门" }), undefined).path, "/a1b2c3d4e5f60718");
    const named = parseWebrtcOutConfig(def({ name: "Front Door" }), undefined);
    assert.equal(named.title, "Front Door");
    assert.equal(named.topic, "Front Door");
  });

  it("an unusable path is reported and left undefined", () => {
    const settings = parseWebrtcOutConfig(def({ path: "my cam" }), undefined);
    assert.equal(settings.path, undefined);
    assert.match(said(settings.problems)[0] ?? "", /path "my cam" may hold only/);
  });

  it("ICE servers one per line; TURN ones get the credentials; bad entries are reported", () => {
    const settings = parseWebrtcOutConfig(
      def({
        iceServers: "stun:stun.example.net:3478\n turn:turn.example.net:3478?transport=udp \nhttp://x\n",
      }),
      { turnUser: "me", turnPassword: "secret" },
    );
    assert.deepEqual(settings.ice.iceServers, [
      { urls: "stun:stun.example.net:3478" },
      { urls: "turn:turn.example.net:3478?transport=udp", username: "me", credential: "secret" },
    ]);
    assert.deepEqual(said(settings.problems), [
      'ICE server "http://x" left out: write stun:host:port or turn:host:port',
    ]);
  });

  it("host addresses, port range and interface", () => {
    const settings = parseWebrtcOutConfig(
      def({
        hostAddresses: "203.0.113.7, 10.0.0.2 bogus",
        portMin: "40000",
        portMax: 40100,
        interfaceAddress: "10.0.0.2",
      }),
      undefined,
    );
    assert.deepEqual(settings.ice, {
      iceServers: [],
      additionalHostAddresses: ["203.0.113.7", "10.0.0.2"],
      portRange: [40000, 40100],
      interfaceAddresses: { udp4: "10.0.0.2" },
    });
    assert.deepEqual(said(settings.problems), ['host address "bogus" left out: give IPv4 addresses']);
  });

  it("reports and replaces values out of range", () => {
    const settings = parseWebrtcOutConfig(
      def({
        maxViewers: "0",
        portMin: 50000,
        portMax: 40000,
        interfaceAddress: "eth0",
        fallbackPayloadType: 35,
        statsInterval: "-1",
        maxPacketSize: "9000",
      }),
      undefined,
    );
    assert.equal(settings.maxViewers, 20);
    assert.equal(settings.ice.portRange, undefined);
    assert.equal(settings.ice.interfaceAddresses, undefined);
    assert.equal(settings.fallbackCodec.payloadType, 96);
    assert.equal(settings.statsIntervalMs, 10_000);
    assert.equal(settings.maxPacketSize, 1200);
    assert.equal(settings.problems.length, 6);
  });

  it("options as the editor saves them", () => {
    const settings = parseWebrtcOutConfig(
      def({
        maxViewers: "3",
        audio: false,
        fastStart: false,
        fallbackCodec: "H265",
        fallbackPayloadType: "98",
        statsInterval: "0",
        maxPacketSize: "1400",
      }),
      undefined,
    );
    assert.equal(settings.maxViewers, 3);
    assert.equal(settings.maxPacketSize, 1400);
    assert.equal(settings.audio, false);
    assert.equal(settings.fastStart, false);
    assert.deepEqual(settings.fallbackCodec, { codec: "H265", payloadType: 98, clockRate: 90000 });
    assert.equal(settings.statsIntervalMs, 0);
    assert.deepEqual(settings.problems, []);
  });

  describe("the webrtcOut setting of settings.js", () => {
    it("none: the camera wall is served, and no other origin may frame the pages", () => {
      const defaults = {
        wall: true,
        frameAncestors: [],
        icePort: 8189,
        iceTcp: true,
        iceBindAddress: undefined,
        ffmpegPath: "ffmpeg",
        problems: [],
      };
      assert.deepEqual(parseSiteSettings(undefined), defaults);
      assert.deepEqual(parseSiteSettings({}), defaults);
    });

    it("wall: false switches the camera wall off; anything but a boolean keeps it off and says so", () => {
      assert.deepEqual(parseSiteSettings({ wall: false }), {
        wall: false,
        frameAncestors: [],
        icePort: 8189,
        iceTcp: true,
        iceBindAddress: undefined,
        ffmpegPath: "ffmpeg",
        problems: [],
      });
      assert.equal(parseSiteSettings({ wall: true }).wall, true);
      for (const bad of ["false", 0, null]) {
        const site = parseSiteSettings({ wall: bad });
        assert.equal(site.wall, false, String(bad));
        assert.match(said(site.problems)[0] ?? "", /webrtcOut\.wall must be true or false/);
      }
    });

    it("frameAncestors: a list or a string of origins, each checked; what could break the header is left out", () => {
      assert.deepEqual(
        parseSiteSettings({ frameAncestors: ["https://dash.example.net", "http://10.0.0.5:1880"] })
          .frameAncestors,
        ["https://dash.example.net", "http://10.0.0.5:1880"],
      );
      assert.deepEqual(
        parseSiteSettings({ frameAncestors: "https://a.example  *.example.org, https:" }).frameAncestors,
        ["https://a.example", "*.example.org", "https:"],
      );
      for (const bad of [
        "'none'",
        "'unsafe-inline'",
        "https://a.example;script-src",
        "x'y",
        'https://a.example/"',
        7,
      ]) {
        const site = parseSiteSettings({ frameAncestors: [bad] });
        assert.deepEqual(site.frameAncestors, [], String(bad));
        assert.match(said(site.problems)[0] ?? "", /webrtcOut\.frameAncestors: .* left out/, String(bad));
      }
      assert.match(said(parseSiteSettings("yes").problems)[0] ?? "", /not an object/);
    });

    it("ffmpegPath: the ffmpeg of the snapshot, trimmed; anything but a non-empty string is said", () => {
      assert.equal(
        parseSiteSettings({ ffmpegPath: " /opt/ffmpeg/bin/ffmpeg " }).ffmpegPath,
        "/opt/ffmpeg/bin/ffmpeg",
      );
      for (const bad of ["", " ", 7, null]) {
        const site = parseSiteSettings({ ffmpegPath: bad });
        assert.equal(site.ffmpegPath, "ffmpeg", String(bad));
        assert.match(said(site.problems)[0] ?? "", /webrtcOut\.ffmpegPath must be/, String(bad));
      }
    });

    it("icePort: the shared ICE port, 8189 by default; false or 0 for none; anything else is said", () => {
      assert.equal(parseSiteSettings({ icePort: 9000 }).icePort, 9000);
      assert.equal(parseSiteSettings({ icePort: false }).icePort, 0);
      assert.equal(parseSiteSettings({ icePort: 0 }).icePort, 0);
      assert.deepEqual(parseSiteSettings({ icePort: 9000 }).problems, []);
      for (const bad of ["8189", 70000, -1, 1.5, true, null]) {
        const site = parseSiteSettings({ icePort: bad });
        assert.equal(site.icePort, 8189, String(bad));
        assert.match(
          said(site.problems)[0] ?? "",
          /webrtcOut\.icePort must be a port number .*, so 8189 is used/,
          String(bad),
        );
      }
    });

    it("iceTcp: on unless false; iceBindAddress: an IPv4 address, anything else is said", () => {
      assert.equal(parseSiteSettings({ iceTcp: false }).iceTcp, false);
      assert.equal(parseSiteSettings({ iceTcp: true }).iceTcp, true);
      const wrong = parseSiteSettings({ iceTcp: "no" });
      assert.equal(wrong.iceTcp, true);
      assert.match(said(wrong.problems)[0] ?? "", /webrtcOut\.iceTcp must be true or false/);
      assert.equal(parseSiteSettings({ iceBindAddress: " 192.0.2.7 " }).iceBindAddress, "192.0.2.7");
      assert.equal(parseSiteSettings({ iceBindAddress: "" }).iceBindAddress, undefined);
      for (const bad of ["::1", "host.example", 7]) {
        const site = parseSiteSettings({ iceBindAddress: bad });
        assert.equal(site.iceBindAddress, undefined, String(bad));
        assert.match(said(site.problems)[0] ?? "", /webrtcOut\.iceBindAddress must be an IPv4 address/);
      }
    });
  });
});
