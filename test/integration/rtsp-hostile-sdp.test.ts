import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { RtspError } from "../../src/rtsp/errors";
import { type MediaSelection, RtspSession, type TransportMode } from "../../src/rtsp/session";
import { playing, RtspPeer } from "../helpers/rtsp-peer";

const HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=hostile\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n";
const VIDEO = (n: number) => `m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:v${n}\r\n`;
const AAC = (n: number) =>
  `m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1\r\na=fmtp:97 config=1408\r\na=control:aac${n}\r\n`;
const PCMU = (n: number) => `m=audio 0 RTP/AVP 0\r\na=control:a${n}\r\n`;

/** `count` media sections: `pattern(n)` for the n-th. */
function manyMedia(count: number, pattern: (n: number) => string): string {
  let sdp = HEAD;
  for (let n = 0; n < count; n++) sdp += pattern(n);
  return sdp;
}

/**
 * The inodes of the UDP sockets open in this network namespace (tests run in one of their own): a set,
 * so that sockets others close meanwhile do not blur what a session opened.
 */
function udpSockets(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined) inodes.add(inode);
    }
  }
  return inodes;
}

const opened = (before: Set<string>, after: Set<string>) => [...after].filter((inode) => !before.has(inode));

/**
 * A camera whose DESCRIBE answer (under the 1 MiB limit) lists thousands of media sections: the session
 * sets up at most what rtsp-in can use, one video and one audio (the first usable of each kind), so a
 * hostile camera cannot make it send thousands of SETUPs or open thousands of UDP sockets.
 */
describe("a camera describing thousands of media (RtspSession against an RTSP peer)", function () {
  this.timeout(60_000);
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function camera(sdp: string): Promise<RtspPeer> {
    assert.ok(sdp.length < 1024 * 1024, `${sdp.length} bytes: under the RTSP layer's 1 MiB body limit`);
    const peer = await RtspPeer.start(playing(sdp));
    cleanups.push(() => peer.close());
    return peer;
  }

  function session(peer: RtspPeer, media: MediaSelection, transport: TransportMode = "tcp"): RtspSession {
    const s = new RtspSession({
      url: peer.url(),
      transport,
      media,
      userAgent: "node-red-rtsp-webrtc-test",
      connectTimeoutMs: 5000,
      replyTimeoutMs: 5000,
      noMediaTimeoutMs: 10_000,
    });
    cleanups.push(() => s.close());
    return s;
  }

  const setups = (peer: RtspPeer) =>
    peer.requests.filter((r) => r.method === "SETUP").map((r) => new URL(r.url).pathname);

  it("3000 media sections: SETUP goes out for the first video and the first audio only", async () => {
    const peer = await camera(manyMedia(3000, (n) => (n % 2 === 0 ? VIDEO(n) : PCMU(n))));
    const tracks = await session(peer, "both").play();
    assert.deepEqual(
      tracks.map((t) => `${t.media.kind} ${t.media.codec}`),
      ["video H264", "audio PCMU"],
    );
    assert.deepEqual(setups(peer), ["/stream/v0", "/stream/a1"]);
  });

  it("over UDP: two SETUPs, and no more than their two socket pairs opened", async () => {
    const peer = await camera(manyMedia(3000, (n) => (n % 2 === 0 ? VIDEO(n) : PCMU(n))));
    const before = udpSockets();
    const s = session(peer, "both", "udp");
    await s.play();
    assert.equal(setups(peer).length, 2);
    const ports = peer.requests
      .filter((r) => r.method === "SETUP")
      .map((r) => /client_port=(\d+-\d+)/.exec(r.headers.get("transport") ?? "")?.[1]);
    assert.equal(new Set(ports).size, 2, `client ports ${ports.slice(0, 5).join(", ")}…`);
    const ours = opened(before, udpSockets());
    assert.equal(ours.length, 4, "RTP and RTCP sockets for one video and one audio");
    await s.close();
    const open = udpSockets();
    assert.deepEqual(
      ours.filter((inode) => open.has(inode)),
      [],
      "all closed with the session",
    );
  });

  it("video only: one SETUP, for the first video", async () => {
    const peer = await camera(manyMedia(3000, (n) => (n % 2 === 0 ? PCMU(n) : VIDEO(n))));
    const tracks = await session(peer, "video").play();
    assert.equal(tracks.length, 1);
    assert.deepEqual(setups(peer), ["/stream/v1"]);
  });

  it("takes audio a browser can play over AAC listed before it; AAC alone is still taken", async () => {
    const both = await camera(`${AAC(0)}${PCMU(1)}${VIDEO(2)}`.replace(/^/, HEAD));
    const tracks = await session(both, "both").play();
    assert.deepEqual(
      tracks.map((t) => t.media.codec),
      ["PCMU", "H264"],
      "SDP order kept",
    );
    assert.deepEqual(setups(both), ["/stream/a1", "/stream/v2"]);

    const aacOnly = await camera(`${HEAD}${VIDEO(0)}${AAC(1)}`);
    const aacTracks = await session(aacOnly, "both").play();
    assert.deepEqual(
      aacTracks.map((t) => `${t.media.codec} ${t.media.relayable}`),
      ["H264 true", "MPEG4-GENERIC false"],
    );
  });

  it("the reason for no usable media names each kind of media once, not thousands of times", async () => {
    const peer = await camera(manyMedia(3000, VIDEO));
    const error = await session(peer, "audio")
      .play()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof RtspError);
    assert.equal(error.message, "the camera offers no audio (it has video H264)");
    assert.deepEqual(setups(peer), []);
  });
});
