import assert from "node:assert/strict";
import crypto from "node:crypto";
import http, { type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { registerEndpoint } from "../../../src/http/router";
import { StreamEndpoint } from "../../../src/http/stream-endpoint";
import { WrongTokenThrottle } from "../../../src/http/token-throttle";
import { bearerToken, queryToken, tokensMatch, viewerTokenRefusal } from "../../../src/http/viewer-token";
import { closeLocalServers, type ExpressApp, expressApp, listenLocal } from "../../helpers/express-app";
import { FAKE_OFFER, FakeViewerSet, fakeStream } from "../../helpers/fake-viewer-set";

const TOKEN = "k9-Qx_7.tok~en";

function fakeRequest(url: string, authorization?: string): IncomingMessage {
  return { url, headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

/** A viewer set that counts every call that could build a peer connection. */
class CountingViewerSet extends FakeViewerSet {
  offers = 0;
  statsCalls = 0;

  override async addViewer(offerSdp: string, remoteAddress: string, vanilla: boolean) {
    this.offers++;
    return super.addViewer(offerSdp, remoteAddress, vanilla);
  }

  override stats() {
    this.statsCalls++;
    return super.stats();
  }
}

interface Setup {
  app: ExpressApp;
  viewers: CountingViewerSet;
  endpoint: StreamEndpoint;
}

/**
 * `null`: a node without a token. The throttle of wrong tokens is lenient unless one is given: these
 * tests send many wrong tokens from one address on purpose.
 */
function setup(token: string | null = TOKEN, tokenThrottle?: WrongTokenThrottle): Setup {
  const viewerToken = token ?? undefined;
  const app = expressApp();
  const viewers = new CountingViewerSet();
  viewers.stream = fakeStream();
  const endpoint = new StreamEndpoint({
    path: "/cam1",
    title: "door",
    viewers,
    viewerToken,
    cors: { origin: "*", methods: "GET,POST,PATCH,DELETE" },
    tokenThrottle: tokenThrottle ?? new WrongTokenThrottle({ maxFailures: 1000 }),
  });
  const registration = registerEndpoint(app, "/cam1", endpoint);
  assert.ok("unregister" in registration);
  return { app, viewers, endpoint };
}

function assertUnauthorized(res: request.Response, invalid: boolean, what: string): void {
  assert.equal(res.status, 401, what);
  assert.match(res.headers["content-type"] ?? "", /^application\/json/, what);
  assert.equal(res.body.error, "unauthorized", what);
  assert.equal(typeof res.body.detail, "string", what);
  assert.ok(!JSON.stringify(res.body).includes(TOKEN), `${what}: the body never holds the token`);
  const challenge = res.headers["www-authenticate"] ?? "";
  assert.match(challenge, /^Bearer realm="webrtc-out"/, what);
  assert.equal(challenge.includes('error="invalid_token"'), invalid, what);
}

/** Every route of the endpoint, as a request without credentials. */
function everyRoute(server: Parameters<typeof request>[0], resource: string): [string, () => request.Test][] {
  return [
    ["GET P", () => request(server).get("/cam1")],
    ["HEAD P", () => request(server).head("/cam1")],
    ["POST P/offer", () => request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER })],
    [
      "POST P/whep",
      () => request(server).post("/cam1/whep").set("Content-Type", "application/sdp").send(FAKE_OFFER),
    ],
    [
      "PATCH P/whep/<resource>",
      () =>
        request(server)
          .patch(`/cam1/whep/${resource}`)
          .set("Content-Type", "application/trickle-ice-sdpfrag")
          .send("a=end-of-candidates\r\n"),
    ],
    ["DELETE P/whep/<resource>", () => request(server).delete(`/cam1/whep/${resource}`)],
    ["GET P/stats", () => request(server).get("/cam1/stats")],
  ];
}

describe("http/viewer-token", () => {
  afterEach(closeLocalServers);

  describe("parsing and comparing", () => {
    it("reads a Bearer header (any case of the scheme) and the token query parameter", () => {
      assert.equal(bearerToken(fakeRequest("/", `Bearer ${TOKEN}`)), TOKEN);
      assert.equal(bearerToken(fakeRequest("/", `bearer  ${TOKEN}`)), TOKEN);
      assert.equal(bearerToken(fakeRequest("/", `Basic ${TOKEN}`)), undefined);
      assert.equal(bearerToken(fakeRequest("/", "Bearer")), undefined);
      assert.equal(bearerToken(fakeRequest("/", "Bearer a b")), undefined);
      assert.equal(bearerToken(fakeRequest("/")), undefined);
      assert.equal(queryToken(fakeRequest(`/cam1?embed=1&token=${encodeURIComponent("a b&c")}`)), "a b&c");
      assert.equal(queryToken(fakeRequest("/cam1?embed=1")), undefined);
      assert.equal(queryToken(fakeRequest("/cam1")), undefined);
    });

    it("compares digests of equal length with crypto.timingSafeEqual, whatever the lengths given", () => {
      const original = crypto.timingSafeEqual;
      const lengths: [number, number][] = [];
      crypto.timingSafeEqual = (a, b) => {
        lengths.push([a.byteLength, b.byteLength]);
        return original(a, b);
      };
      try {
        assert.equal(tokensMatch(TOKEN, TOKEN), true);
        assert.equal(tokensMatch("short", TOKEN), false);
        assert.equal(tokensMatch(`${TOKEN}x`.repeat(100), TOKEN), false);
        assert.equal(tokensMatch("", TOKEN), false);
        assert.equal(tokensMatch(TOKEN.toUpperCase(), TOKEN), false);
      } finally {
        crypto.timingSafeEqual = original;
      }
      assert.deepEqual(lengths, Array(5).fill([32, 32]));
    });

    it("takes the query token on the player page only", () => {
      const withQuery = fakeRequest(`/cam1?token=${TOKEN}`);
      assert.equal(viewerTokenRefusal(withQuery, TOKEN, { query: true }), undefined);
      assert.equal(viewerTokenRefusal(withQuery, TOKEN, { query: false })?.httpStatus, 401);
      // A wrong header does not spoil a right query token, nor the other way round.
      const both = fakeRequest(`/cam1?token=${TOKEN}`, "Bearer wrong");
      assert.equal(viewerTokenRefusal(both, TOKEN, { query: true }), undefined);
    });
  });

  describe("a webrtc-out with a viewer token", () => {
    it("refuses every route without the token, 401 with a JSON reason, and builds nothing", async () => {
      const { app, viewers } = setup();
      const server = await listenLocal(app);
      const admitted = await request(server)
        .post("/cam1/whep")
        .set("Authorization", `Bearer ${TOKEN}`)
        .set("Content-Type", "application/sdp")
        .send(FAKE_OFFER)
        .expect(201);
      const resource = admitted.headers.location?.split("/").pop() ?? "";
      assert.equal(viewers.offers, 1);
      viewers.statsCalls = 0;
      for (const [what, send] of everyRoute(server, resource)) {
        const none = await send();
        if (what.startsWith("HEAD")) assert.equal(none.status, 401, what);
        else assertUnauthorized(none, false, `${what} without a token`);
        const wrong = await send().set("Authorization", `Bearer ${TOKEN}-not`);
        if (!what.startsWith("HEAD")) assertUnauthorized(wrong, true, `${what} with a wrong token`);
        const basic = await send().set(
          "Authorization",
          `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`,
        );
        assert.equal(basic.status, 401, `${what} with Basic`);
      }
      // A query token opens the page only: the signaling routes take the header.
      const queried = await request(server)
        .post(`/cam1/offer?token=${TOKEN}`)
        .send({ type: "offer", sdp: FAKE_OFFER });
      assertUnauthorized(queried, false, "POST P/offer?token=");
      assert.equal(viewers.offers, 1, "no refused request reached the viewer set");
      assert.equal(viewers.size, 1, "the admitted viewer is the only one, untouched by refused DELETEs");
      assert.equal(viewers.statsCalls, 0, "no refused request read the stats");
    });

    it("serves every route with the Bearer header", async () => {
      const { app, viewers } = setup();
      const server = await listenLocal(app);
      const auth = `Bearer ${TOKEN}`;
      const offer = await request(server)
        .post("/cam1/offer")
        .set("Authorization", auth)
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      const whep = await request(server)
        .post("/cam1/whep")
        .set("Authorization", auth)
        .set("Content-Type", "application/sdp")
        .send(FAKE_OFFER)
        .expect(201);
      const location = whep.headers.location ?? "";
      await request(server)
        .patch(location)
        .set("Authorization", auth)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .send("a=end-of-candidates\r\n")
        .expect(204);
      const stats = await request(server).get("/cam1/stats").set("Authorization", auth).expect(200);
      assert.equal(stats.body.viewers.length, 2);
      await request(server).delete(location).set("Authorization", auth).expect(200);
      await request(server).delete(offer.body.location).set("Authorization", auth).expect(200);
      assert.equal(viewers.size, 0);
    });

    it("serves the page for ?token= (or the header) and the page sends the token as a Bearer header", async () => {
      const { app } = setup();
      const server = await listenLocal(app);
      const page = await request(server)
        .get(`/cam1?embed=1&token=${encodeURIComponent(TOKEN)}`)
        .expect(200);
      assert.equal(page.headers["referrer-policy"], "no-referrer");
      const match = /<script type="application\/json" id="player-config">([^<]*)<\/script>/.exec(page.text);
      assert.ok(match);
      assert.equal(JSON.parse(match[1] ?? "{}").bearerToken, TOKEN);
      assert.match(page.text, /headers: withToken\(\{ "Content-Type": "application\/json" \}\)/);
      assert.match(page.text, /method: "DELETE", keepalive: true, headers: withToken\(\{\}\)/);
      assert.match(page.text, /headers\.Authorization = "Bearer " \+ config\.bearerToken/);
      assert.equal(JSON.parse(match[1] ?? "{}").tokenBesideBasicAuth, false);
      assert.match(page.text, /headers\["X-Viewer-Token"\] = config\.bearerToken/);
      await request(server).get("/cam1").set("Authorization", `Bearer ${TOKEN}`).expect(200);
      assertUnauthorized(await request(server).get("/cam1?token=nope"), true, "GET P?token=<wrong>");
    });

    it("answers CORS preflights without the token: they carry no credentials", async () => {
      const { app, viewers } = setup();
      const res = await request(await listenLocal(app))
        .options("/cam1/whep")
        .set("Origin", "http://dashboard.test")
        .set("Access-Control-Request-Method", "POST")
        .set("Access-Control-Request-Headers", "authorization, content-type");
      assert.equal(res.status, 204);
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(viewers.offers, 0);
    });

    it("a 401 carries the CORS headers, so a page of another origin can read why", async () => {
      const { app } = setup();
      const res = await request(await listenLocal(app))
        .post("/cam1/whep")
        .set("Origin", "http://dashboard.test")
        .set("Content-Type", "application/sdp")
        .send(FAKE_OFFER);
      assertUnauthorized(res, false, "cross-origin POST P/whep");
      assert.equal(res.headers["access-control-allow-origin"], "*");
    });

    it("the camera wall lists nothing of it: neither its path nor its title", async () => {
      const { app, viewers, endpoint } = setup();
      const open = new StreamEndpoint({ path: "/cam2", title: "yard", viewers: new FakeViewerSet() });
      assert.ok("unregister" in registerEndpoint(app, "/cam2", open));
      const server = await listenLocal(app);
      await request(server)
        .post("/cam1/offer")
        .set("Authorization", `Bearer ${TOKEN}`)
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      viewers.statsCalls = 0;
      assert.equal(endpoint.describe(), undefined);
      const list = await request(server).get("/webrtc/streams").expect(200);
      assert.deepEqual(
        list.body.map((stream: { path: string }) => stream.path),
        ["/cam2"],
      );
      const wall = await request(server).get("/webrtc").expect(200);
      for (const text of [list.text, wall.text]) {
        for (const secret of [TOKEN, "/cam1", '"door"']) assert.ok(!text.includes(secret), secret);
      }
      assert.equal(viewers.statsCalls, 0, "the wall never reads a protected stream's stats");
    });
  });

  describe("wrong tokens from one address", () => {
    /** A request from `localAddress` (any of 127.0.0.0/8 reaches loopback) with `token`. */
    function get(
      server: Server,
      token: string | undefined,
      localAddress = "127.0.0.1",
    ): Promise<{ status: number; retryAfter: string | undefined; body: Record<string, unknown> }> {
      const { port } = server.address() as AddressInfo;
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port,
            path: "/cam1/stats",
            localAddress,
            agent: false,
            headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => {
              text += chunk.toString("utf8");
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                retryAfter: res.headers["retry-after"],
                body: JSON.parse(text),
              }),
            );
          },
        );
        req.on("error", reject);
        req.end();
      });
    }

    it("after 5 in a minute, 429 with Retry-After for any token, growing; other addresses go on; the right token after the pause works", async () => {
      let now = 1_000_000;
      const { app, viewers } = setup(TOKEN, new WrongTokenThrottle({ now: () => now }));
      const server = await listenLocal(app);
      for (let i = 0; i < 5; i++) assert.equal((await get(server, `guess-${i}`)).status, 401, `guess ${i}`);
      viewers.statsCalls = 0;
      for (const token of ["guess-5", TOKEN, undefined]) {
        const paused = await get(server, token);
        assert.equal(paused.status, 429, String(token));
        assert.equal(paused.retryAfter, "10");
        assert.equal(paused.body.code, "too-many-wrong-tokens");
        assert.equal(paused.body.error, "too many wrong tokens");
        assert.match(String(paused.body.detail), /try again in 10 s/);
        assert.ok(!JSON.stringify(paused.body).includes(TOKEN));
      }
      assert.equal(viewers.statsCalls, 0, "a paused address reaches nothing");
      assert.equal((await get(server, TOKEN, "127.0.0.2")).status, 200, "another address is not held back");

      now += 4_000;
      assert.equal((await get(server, TOKEN)).retryAfter, "6");
      now += 6_000;
      // The pause is over; one more wrong token within the minute pauses it again, twice as long.
      assert.equal((await get(server, "guess-6")).status, 401);
      const longer = await get(server, TOKEN);
      assert.equal(longer.status, 429);
      assert.equal(longer.retryAfter, "20");
      now += 20_000;
      assert.equal((await get(server, TOKEN)).status, 200, "the right token after the pause");
      // And the right token forgot the guesses: five more wrong ones before the next pause.
      for (let i = 0; i < 4; i++) assert.equal((await get(server, `again-${i}`)).status, 401);
      assert.equal((await get(server, TOKEN)).status, 200);
    });

    it("a request without any token is no guess", async () => {
      const { app } = setup(TOKEN, new WrongTokenThrottle({ now: () => 0 }));
      const server = await listenLocal(app);
      for (let i = 0; i < 10; i++) assert.equal((await get(server, undefined)).status, 401);
      assert.equal((await get(server, TOKEN)).status, 200);
    });
  });

  describe("behind httpNodeAuth (Authorization carries Basic credentials)", () => {
    it("takes the token from X-Viewer-Token, and the page loaded with Basic credentials sends it there", async () => {
      const { app, viewers } = setup();
      const server = await listenLocal(app);
      const basic = `Basic ${Buffer.from("viewer:pass").toString("base64")}`;
      const page = await request(server).get(`/cam1?token=${TOKEN}`).set("Authorization", basic).expect(200);
      const match = /<script type="application\/json" id="player-config">([^<]*)<\/script>/.exec(page.text);
      assert.equal(JSON.parse(match?.[1] ?? "{}").tokenBesideBasicAuth, true);
      await request(server)
        .post("/cam1/offer")
        .set("Authorization", basic)
        .set("X-Viewer-Token", TOKEN)
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      const wrong = await request(server)
        .post("/cam1/offer")
        .set("Authorization", basic)
        .set("X-Viewer-Token", "nope")
        .send({ type: "offer", sdp: FAKE_OFFER });
      assertUnauthorized(wrong, true, "X-Viewer-Token wrong");
      assert.equal(viewers.offers, 1);
    });
  });

  describe("a webrtc-out without a viewer token", () => {
    it("ignores Authorization headers and token parameters", async () => {
      const { app } = setup(null);
      const server = await listenLocal(app);
      await request(server).get("/cam1?token=whatever").expect(200);
      await request(server)
        .post("/cam1/offer")
        .set("Authorization", "Bearer whatever")
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      const page = await request(server).get("/cam1").expect(200);
      const match = /<script type="application\/json" id="player-config">([^<]*)<\/script>/.exec(page.text);
      assert.equal(JSON.parse(match?.[1] ?? "{}").bearerToken, undefined);
      assert.equal(page.headers["referrer-policy"], undefined);
    });
  });
});
