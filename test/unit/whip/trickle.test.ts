import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SdpFragment } from "../../../src/webrtc/sdp-fragment";
import type { WhipError } from "../../../src/whip/errors";
import { CandidateTrickler, offerWithCandidates, trickleFragment } from "../../../src/whip/trickle";
import { waitFor } from "../../helpers/wait";

// An offer as werift makes it before gathering (no candidate), bundled video and audio.
const OFFER = [
  "v=0",
  "o=- 1 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=msid-semantic:WMS *",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:Ab12",
  "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
  "a=mid:0",
  "a=sendonly",
  "m=audio 9 UDP/TLS/RTP/SAVPF 8",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:Ab12",
  "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
  "a=mid:1",
  "a=sendonly",
  "",
].join("\r\n");

const HOST = "candidate:1 1 udp 2130706431 192.0.2.10 50000 typ host";
const SRFLX = "candidate:2 1 udp 1694498815 198.51.100.7 61000 typ srflx raddr 192.0.2.10 rport 50000";

describe("whip: trickle ICE bodies (RFC 9725 §4.3.1, RFC 8840)", () => {
  it("puts the candidates so far at the end of the first m-section and announces trickle", () => {
    assert.equal(
      offerWithCandidates(OFFER, [HOST]),
      [
        "v=0",
        "o=- 1 0 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic:WMS *",
        "a=ice-options:trickle",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:Ab12",
        "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
        "a=mid:0",
        "a=sendonly",
        `a=${HOST}`,
        "m=audio 9 UDP/TLS/RTP/SAVPF 8",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:Ab12",
        "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
        "a=mid:1",
        "a=sendonly",
        "",
      ].join("\r\n"),
    );
  });

  it("keeps an offer's own ice-options, replaces candidates it already had, and leaves an SDP without media alone", () => {
    const withOptions = OFFER.replace("a=msid-semantic:WMS *", "a=ice-options:trickle renomination");
    const once = offerWithCandidates(withOptions, [HOST]);
    assert.equal(once.match(/^a=ice-options:/gm)?.length, 1);
    assert.equal(offerWithCandidates(once, [HOST, SRFLX]).match(/^a=candidate:/gm)?.length, 2);
    const bare = "v=0\r\ns=-\r\n";
    assert.equal(offerWithCandidates(bare, [HOST]), bare);
  });

  it("a PATCH body: credentials, the first m-line and its mid, the candidates, end-of-candidates last", () => {
    assert.equal(
      trickleFragment(OFFER, [SRFLX], true),
      [
        "a=ice-ufrag:Ab12",
        "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=mid:0",
        `a=${SRFLX}`,
        "a=end-of-candidates",
        "",
      ].join("\r\n"),
    );
    assert.equal(
      trickleFragment(OFFER, [HOST, SRFLX], false),
      [
        "a=ice-ufrag:Ab12",
        "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=mid:0",
        `a=${HOST}`,
        `a=${SRFLX}`,
        "",
      ].join("\r\n"),
    );
  });
});

interface Seen {
  readonly body: string;
  readonly headers: IncomingMessage["headers"];
}

describe("whip: CandidateTrickler against an HTTP server", () => {
  let server: Server;
  let seen: Seen[] = [];
  let answer: (res: ServerResponse, index: number) => void = (res) => res.writeHead(204).end();
  let hold: Promise<void> | undefined;
  let resource: URL;

  beforeEach(async () => {
    seen = [];
    hold = undefined;
    answer = (res) => res.writeHead(204).end();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const index = seen.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers }) - 1;
        await hold;
        answer(res, index);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    resource = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/whip/resource/r1`);
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function trickler(events: {
    remote?: SdpFragment[];
    refused?: string[];
    gone?: WhipError[];
    failed?: string[];
  }): CandidateTrickler {
    return new CandidateTrickler({
      resource,
      etag: '"e1"',
      headers: { Authorization: "Bearer t0ken" },
      offerSdp: OFFER,
      timeoutMs: 2000,
      maxBodyBytes: 64 * 1024,
      signal: new AbortController().signal,
      onRemote: (f) => events.remote?.push(f),
      onRefused: (why) => events.refused?.push(why),
      onGone: (error) => events.gone?.push(error),
      onFailed: (why) => events.failed?.push(why),
    });
  }

  it("one PATCH at a time: what comes meanwhile goes in the next, end-of-candidates with the last; ETag followed", async () => {
    let release: () => void = () => {};
    hold = new Promise((resolve) => {
      release = resolve;
    });
    answer = (res, index) => res.writeHead(204, { ETag: `"e${index + 2}"` }).end();
    const t = trickler({});
    t.add(HOST);
    await waitFor(() => seen.length === 1, 2000, "the first PATCH");
    t.add(SRFLX);
    t.end();
    t.add("candidate:3 1 udp 1 192.0.2.99 1 typ host");
    assert.equal(seen.length, 1, "the second waits for the first's answer");
    release();
    await waitFor(() => seen.length === 2, 2000, "the second PATCH");
    await t.settled();
    assert.equal(seen[0]?.body, trickleFragment(OFFER, [HOST], false));
    assert.equal(seen[1]?.body, trickleFragment(OFFER, [SRFLX], true));
    assert.equal(seen[0]?.headers["if-match"], '"e1"');
    assert.equal(seen[1]?.headers["if-match"], '"e2"', "the ETag of the last answer");
    assert.equal(seen[0]?.headers["content-type"], "application/trickle-ice-sdpfrag");
    assert.equal(seen[0]?.headers.authorization, "Bearer t0ken");
    t.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 2, "nothing after end-of-candidates");
  });

  it("a 200 with the server's candidates hands them over", async () => {
    answer = (res) =>
      res
        .writeHead(200, { "Content-Type": "application/trickle-ice-sdpfrag" })
        .end(`a=ice-ufrag:Srv1\r\na=ice-pwd:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=${HOST}\r\n`);
    const remote: SdpFragment[] = [];
    const t = trickler({ remote });
    t.end();
    await waitFor(() => remote.length === 1, 2000, "the server's candidates");
    await t.settled();
    assert.deepEqual(remote[0]?.candidates, [{ candidate: HOST, mid: "0" }]);
  });

  for (const [status, code, message] of [
    [404, "gone", "the server no longer knows this publish (PATCH: 404 Not Found)"],
    [412, "gone", "the ICE session changed (PATCH: 412 Precondition Failed)"],
  ] as const) {
    it(`${status}: the publish is gone, nothing more is sent`, async () => {
      answer = (res) => res.writeHead(status).end();
      const gone: WhipError[] = [];
      const t = trickler({ gone });
      t.add(HOST);
      await waitFor(() => gone.length === 1, 2000, "gone");
      assert.equal(gone[0]?.code, code);
      assert.equal(gone[0]?.message, message);
      t.add(SRFLX);
      t.end();
      await t.settled();
      assert.equal(seen.length, 1);
    });
  }

  for (const status of [405, 501, 422]) {
    it(`${status}: trickle refused, nothing more is sent`, async () => {
      answer = (res) => res.writeHead(status).end();
      const refused: string[] = [];
      const t = trickler({ refused });
      t.add(HOST);
      await waitFor(() => refused.length === 1, 2000, "refused");
      assert.match(refused[0] ?? "", new RegExp(`^PATCH: ${status} `));
      t.end();
      await t.settled();
      assert.equal(seen.length, 1);
    });
  }

  it("428 (an If-Match wanted) is a refusal when the 201 gave no ETag, a failure when it did", async () => {
    answer = (res) => res.writeHead(428).end();
    const refused: string[] = [];
    const failed: string[] = [];
    const noEtag = new CandidateTrickler({
      resource,
      etag: undefined,
      headers: {},
      offerSdp: OFFER,
      timeoutMs: 2000,
      maxBodyBytes: 64 * 1024,
      signal: new AbortController().signal,
      onRemote: () => {},
      onRefused: (why) => refused.push(why),
      onGone: () => {},
      onFailed: (why) => failed.push(why),
    });
    noEtag.add(HOST);
    await waitFor(() => refused.length === 1, 2000, "refused");
    assert.equal(seen[0]?.headers["if-match"], undefined, "no If-Match without an ETag");
    assert.equal(seen[0]?.headers.authorization, undefined, "no token given, none sent");
    const withEtag = trickler({ failed });
    withEtag.add(HOST);
    await waitFor(() => failed.length === 1, 2000, "failed");
    assert.equal(failed[0], "PATCH: 428 Precondition Required");
  });

  it("a 500, or an answer that is no fragment: said, and trickling goes on", async () => {
    answer = (res, index) =>
      index === 0
        ? res.writeHead(500).end()
        : res.writeHead(200, { "Content-Type": "application/trickle-ice-sdpfrag" }).end("<html>");
    const failed: string[] = [];
    const t = trickler({ failed });
    t.add(HOST);
    await waitFor(() => failed.length === 1, 2000, "the 500");
    t.end();
    await waitFor(() => failed.length === 2, 2000, "the bad fragment");
    assert.deepEqual(failed[0], "PATCH: 500 Internal Server Error");
    assert.match(failed[1] ?? "", /^the PATCH answer cannot be read: bad SDP: not an SDP line: "<html>"$/);
  });

  it("stop() while a PATCH is on its way: its answer is ignored", async () => {
    let release: () => void = () => {};
    hold = new Promise((resolve) => {
      release = resolve;
    });
    answer = (res) => res.writeHead(404).end();
    const gone: WhipError[] = [];
    const t = trickler({ gone });
    t.add(HOST);
    await waitFor(() => seen.length === 1, 2000, "the PATCH");
    t.stop();
    release();
    await t.settled();
    assert.equal(gone.length, 0);
  });
});
