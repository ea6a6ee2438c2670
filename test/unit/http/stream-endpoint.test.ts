import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import request from "supertest";
import type { CorsOptions } from "../../../src/http/cors";
import type { RequestHandler } from "../../../src/http/router";
import { registerEndpoint } from "../../../src/http/router";
import { StreamEndpoint } from "../../../src/http/stream-endpoint";
import { SnapshotError } from "../../../src/snapshot/errors";
import type { Snapshot } from "../../../src/snapshot/snapshot-taker";
import { closeLocalServers, type ExpressApp, expressApp, listenLocal } from "../../helpers/express-app";
import { FAKE_LIVE_MIME, FAKE_OFFER, FakeViewerSet, fakeStream } from "../../helpers/fake-viewer-set";
import { waitFor } from "../../helpers/wait";

interface Setup {
  app: ExpressApp;
  viewers: FakeViewerSet;
}

interface SetupOptions {
  cors?: CorsOptions;
  middleware?: RequestHandler[];
  maxViewers?: number;
  stream?: boolean;
  viewerToken?: string;
  nodeAuth?: boolean;
  snapshot?: () => Promise<Snapshot>;
}

/** The TURN password of setup()'s ICE servers, as a Link header carries it. */
const TURN_CREDENTIAL = 'credential="p\\"w"';

function setup(opts: SetupOptions = {}): Setup {
  const app = expressApp();
  const viewers = new FakeViewerSet({ maxViewers: opts.maxViewers ?? 20 });
  if (opts.stream !== false) viewers.stream = fakeStream();
  const endpoint = new StreamEndpoint({
    path: "/cam1",
    title: "Front <door>",
    viewers,
    iceServers: [
      { urls: "stun:stun.example.net:3478" },
      { urls: "turn:turn.example.net:3478?transport=udp", username: "u", credential: 'p"w' },
    ],
    cors: opts.cors,
    middleware: opts.middleware,
    viewerToken: opts.viewerToken,
    ...(opts.nodeAuth !== undefined ? { nodeAuth: opts.nodeAuth } : {}),
    ...(opts.snapshot !== undefined ? { snapshot: opts.snapshot } : {}),
  });
  const registration = registerEndpoint(app, "/cam1", endpoint);
  assert.ok("unregister" in registration);
  return { app, viewers };
}

function assertErrorBody(body: unknown, error: RegExp): void {
  const { error: text, detail } = body as { error?: unknown; detail?: unknown };
  assert.equal(typeof text, "string");
  assert.equal(typeof detail, "string");
  assert.match(text as string, error);
}

function whepPost(server: Server): request.Test {
  return request(server).post("/cam1/whep").set("Content-Type", "application/sdp").send(FAKE_OFFER);
}

describe("http/stream-endpoint", () => {
  afterEach(closeLocalServers);

  describe("player page", () => {
    it("GET P serves a self-contained page pointing at this node's routes", async () => {
      const { app } = setup();
      const res = await request(await listenLocal(app))
        .get("/cam1")
        .expect(200);
      assert.match(res.headers["content-type"] ?? "", /^text\/html; charset=utf-8/);
      assert.equal(res.headers["cache-control"], "no-store");
      assert.ok(res.text.includes('"offerUrl":"/cam1/offer"'));
      assert.ok(res.text.includes("<title>Front &#60;door&#62;</title>"));
      assert.doesNotMatch(res.text, /https?:\/\//i, "no external URL");
      assert.ok(res.text.includes('id="stats"'), "stats overlay");
      assert.ok(res.text.includes('id="fullscreen"'), "fullscreen button");
    });

    it("?embed=1 serves the video alone", async () => {
      const { app } = setup();
      const res = await request(await listenLocal(app))
        .get("/cam1?embed=1")
        .expect(200);
      assert.ok(res.text.includes("<video"));
      assert.ok(!res.text.includes('id="stats"'));
      assert.ok(!res.text.includes('id="fullscreen"'));
      assert.ok(res.text.includes('data-embed="1"'));
    });

    it("HEAD P answers like GET, without a body", async () => {
      const { app } = setup();
      const res = await request(await listenLocal(app))
        .head("/cam1")
        .expect(200);
      assert.match(res.headers["content-type"] ?? "", /^text\/html/);
      assert.equal(res.text, undefined);
    });

    it("links carry httpNodeRoot when httpNode is mounted under it", async () => {
      const { app } = setup();
      const root = expressApp();
      root.use("/api", app);
      const page = await request(await listenLocal(root))
        .get("/api/cam1")
        .expect(200);
      assert.ok(page.text.includes('"offerUrl":"/api/cam1/offer"'));
      const whep = await request(await listenLocal(root))
        .post("/api/cam1/whep")
        .set("Content-Type", "application/sdp")
        .send(FAKE_OFFER);
      assert.equal(whep.status, 201);
      assert.match(whep.headers.location ?? "", /^\/api\/cam1\/whep\/[\w-]{43}$/);
    });
  });

  describe("Content-Security-Policy of the player page", () => {
    /** The policy's directives by name. */
    function directives(policy: string): Map<string, string[]> {
      const map = new Map<string, string[]>();
      for (const part of policy.split(";")) {
        const [name, ...sources] = part.trim().split(/\s+/);
        if (name) map.set(name, sources);
      }
      return map;
    }

    function hashOf(text: string): string {
      return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
    }

    it("allows its own inline script and style alone, fetches from its origin, and frames only in it", async () => {
      const { app } = setup();
      const server = await listenLocal(app);
      for (const url of ["/cam1", "/cam1?embed=1"]) {
        const res = await request(server).get(url).expect(200);
        const policy = res.headers["content-security-policy"] ?? "";
        assert.doesNotMatch(policy, /unsafe-|\*|data:/, url);
        const script = /<script>([\s\S]*?)<\/script>/.exec(res.text)?.[1] ?? "";
        const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)?.[1] ?? "";
        assert.ok(script.length > 1000 && style.length > 100);
        const found = directives(policy);
        assert.deepEqual(found.get("default-src"), ["'none'"], url);
        assert.deepEqual(found.get("script-src"), [hashOf(script)], url);
        assert.deepEqual(found.get("style-src"), [hashOf(style)], url);
        assert.deepEqual(found.get("connect-src"), ["'self'"], url);
        assert.deepEqual(found.get("media-src"), ["blob:"], url);
        assert.deepEqual(found.get("frame-ancestors"), ["'self'"], url);
        assert.deepEqual(found.get("base-uri"), ["'none'"], url);
        assert.deepEqual(found.get("form-action"), ["'none'"], url);
      }
      const head = await request(server).head("/cam1").expect(200);
      assert.match(head.headers["content-security-policy"] ?? "", /^default-src 'none'/);
    });

    it("lets the origins it is given frame it too", async () => {
      const app = expressApp();
      const viewers = new FakeViewerSet();
      const endpoint = new StreamEndpoint({
        path: "/cam1",
        title: "door",
        viewers,
        frameAncestors: ["https://dash.example.net", "http://10.0.0.5:1880"],
      });
      assert.ok("unregister" in registerEndpoint(app, "/cam1", endpoint));
      const res = await request(await listenLocal(app))
        .get("/cam1")
        .expect(200);
      assert.deepEqual(directives(res.headers["content-security-policy"] ?? "").get("frame-ancestors"), [
        "'self'",
        "https://dash.example.net",
        "http://10.0.0.5:1880",
      ]);
    });
  });

  describe("POST P/offer", () => {
    it("answers a JSON offer with a JSON answer (vanilla ICE)", async () => {
      const { app, viewers } = setup();
      const res = await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      assert.match(res.headers["content-type"] ?? "", /^application\/json/);
      assert.equal(res.body.type, "answer");
      assert.match(res.body.sdp, /^v=0\r\n/);
      const viewer = viewers.viewers.get(res.body.id);
      assert.ok(viewer, "the answer names the viewer");
      assert.equal(viewer.vanilla, true);
      assert.equal(viewer.remoteAddress, "127.0.0.1");
      assert.equal(res.body.location, `/cam1/whep/${viewer.resource}`, "and its WHEP resource");
    });

    it("400 for bodies that are not a JSON offer", async () => {
      const { app } = setup();
      const cases: [string, RegExp][] = [
        ["", /bad JSON/],
        ["{", /bad JSON/],
        ["[1]", /bad JSON/],
        ['{"type":"answer","sdp":"v=0"}', /not an offer/],
        ['{"type":"offer"}', /bad SDP/],
        ['{"type":"offer","sdp":""}', /bad SDP/],
        ['{"type":"offer","sdp":"hello"}', /bad SDP/],
      ];
      for (const [body, error] of cases) {
        const res = await request(await listenLocal(app))
          .post("/cam1/offer")
          .set("Content-Type", "application/json")
          .send(body);
        assert.equal(res.status, 400, body);
        assertErrorBody(res.body, error);
      }
    });

    it("415 for a body that is not JSON by its Content-Type", async () => {
      const { app } = setup();
      const res = await request(await listenLocal(app))
        .post("/cam1/offer")
        .set("Content-Type", "application/sdp")
        .send(FAKE_OFFER);
      assert.equal(res.status, 415);
      assertErrorBody(res.body, /unsupported media type/);
      assert.match(res.body.detail, /application\/json/);
    });

    it("503 while no stream has arrived, with the viewer set's code", async () => {
      const { app } = setup({ stream: false });
      const res = await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: FAKE_OFFER });
      assert.equal(res.status, 503);
      assertErrorBody(res.body, /no stream yet/);
      assert.equal(res.body.code, "no-stream");
    });

    it("406 naming both sides when there is no codec in common", async () => {
      const { app } = setup();
      const vp8 = FAKE_OFFER.replace("H264/90000", "VP8/90000");
      const res = await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: vp8 });
      assert.equal(res.status, 406);
      assert.match(res.body.error, /the stream has H264; the browser offered VP8/);
    });

    it("503 past max viewers; the others are untouched", async () => {
      const { app, viewers } = setup({ maxViewers: 2 });
      for (let i = 0; i < 2; i++) {
        await request(await listenLocal(app))
          .post("/cam1/offer")
          .send({ type: "offer", sdp: FAKE_OFFER })
          .expect(200);
      }
      const res = await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: FAKE_OFFER });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, "max-viewers");
      assert.equal(viewers.size, 2);
    });

    it("413 for a body over 64 KiB, declared or streamed", async () => {
      const { app, viewers } = setup();
      const huge = JSON.stringify({ type: "offer", sdp: `${FAKE_OFFER}a=x:${"y".repeat(70_000)}\r\n` });
      const declared = await request(await listenLocal(app))
        .post("/cam1/offer")
        .set("Content-Type", "application/json")
        .send(huge);
      assert.equal(declared.status, 413);
      assertErrorBody(declared.body, /body too large/);

      const server = await listenLocal(app);
      const { port } = server.address() as AddressInfo;
      const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            port,
            host: "127.0.0.1",
            method: "POST",
            path: "/cam1/whep",
            headers: { "Content-Type": "application/sdp" },
          },
          (res) => {
            let body = "";
            res.on("data", (chunk) => {
              body += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        for (let i = 0; i < 10; i++) req.write(Buffer.alloc(8 * 1024, 0x61));
        req.end();
      });
      assert.equal(streamed.status, 413);
      assertErrorBody(JSON.parse(streamed.body), /body too large/);
      assert.equal(viewers.size, 0);
    });

    it("a body that stalls is answered 408 and its connection closed; nothing reaches the viewer set", async () => {
      const app = expressApp();
      const viewers = new FakeViewerSet();
      viewers.stream = fakeStream();
      const endpoint = new StreamEndpoint({ path: "/cam1", title: "door", viewers, bodyTimeoutMs: 300 });
      assert.ok("unregister" in registerEndpoint(app, "/cam1", endpoint));
      const { port } = (await listenLocal(app)).address() as AddressInfo;
      for (const [path, type] of [
        ["/cam1/whep", "application/sdp"],
        ["/cam1/offer", "application/json"],
      ] as const) {
        const socket = net.connect(port, "127.0.0.1");
        let received = "";
        socket.on("data", (chunk: Buffer) => {
          received += chunk.toString("utf8");
        });
        const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: 1000\r\n\r\nv=0\r\n`,
        );
        // Then nothing more: the client stalls with 995 bytes still to send.
        const outcome = await Promise.race([
          closed.then(() => "closed"),
          new Promise((resolve) => setTimeout(() => resolve("still open after 10 s"), 10_000)),
        ]);
        socket.destroy();
        assert.equal(outcome, "closed", `${path}: ${received}`);
        assert.match(received, /^HTTP\/1\.1 408 /, path);
        assert.match(received, /\r\nConnection: close\r\n/i, path);
        const body = JSON.parse(received.slice(received.indexOf("\r\n\r\n") + 4));
        assert.equal(body.error, "request timeout");
        assert.equal(typeof body.detail, "string");
      }
      assert.equal(viewers.size, 0);
    });

    it("takes a body that httpNodeMiddleware already parsed", async () => {
      const json = (require("express") as { json(): RequestHandler }).json();
      const { app, viewers } = setup({ middleware: [json] });
      const res = await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      assert.ok(viewers.viewers.has(res.body.id));
      const whep = await whepPost(await listenLocal(app));
      assert.equal(whep.status, 201, "an SDP body the JSON parser left alone is still read");
    });
  });

  describe("WHEP", () => {
    it("POST P/whep: 201 with Location, ETag, Accept-Patch, ICE server links and the answer SDP", async () => {
      const { app, viewers } = setup();
      const res = await whepPost(await listenLocal(app));
      assert.equal(res.status, 201);
      assert.equal(res.headers["content-type"], "application/sdp");
      const location = res.headers.location ?? "";
      const [id, viewer] = [...viewers.viewers.entries()][0] ?? [];
      assert.ok(id && viewer);
      assert.equal(location, `/cam1/whep/${viewer.resource}`);
      assert.match(viewer.resource, /^[\w-]{43}$/, "256 random bits");
      assert.equal(res.headers.etag, `"${id}"`);
      assert.equal(res.headers["accept-patch"], "application/trickle-ice-sdpfrag");
      assert.equal(
        res.headers.link,
        '<stun:stun.example.net:3478>; rel="ice-server", ' +
          '<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="u"; credential="p\\"w"; credential-type="password"',
      );
      assert.equal(res.text, `v=0\r\ns=answer for ${id}\r\n`);
      assert.equal(viewers.viewers.get(id)?.vanilla, false);
    });

    it("415 for an offer that is not application/sdp, 400 for an empty one", async () => {
      const { app } = setup();
      const json = await request(await listenLocal(app))
        .post("/cam1/whep")
        .send({ type: "offer", sdp: FAKE_OFFER });
      assert.equal(json.status, 415);
      assertErrorBody(json.body, /unsupported media type/);
      const empty = await request(await listenLocal(app))
        .post("/cam1/whep")
        .set("Content-Type", "application/sdp")
        .send("");
      assert.equal(empty.status, 400);
      assertErrorBody(empty.body, /bad SDP/);
    });

    it("PATCH trickles candidates (204), checking If-Match and the content type", async () => {
      const { app, viewers } = setup();
      const post = await whepPost(await listenLocal(app));
      const location = post.headers.location ?? "";
      const id = [...viewers.viewers.keys()][0] ?? "";
      const fragment =
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n";
      await request(await listenLocal(app))
        .patch(location)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .set("If-Match", post.headers.etag ?? "")
        .send(fragment)
        .expect(204);
      await request(await listenLocal(app))
        .patch(location)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .set("If-Match", "*")
        .send(fragment)
        .expect(204);
      assert.deepEqual(viewers.viewers.get(id)?.fragments, [fragment, fragment]);

      const stale = await request(await listenLocal(app))
        .patch(location)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .set("If-Match", '"another"')
        .send(fragment);
      assert.equal(stale.status, 412);
      assertErrorBody(stale.body, /precondition failed/);
      const wrongType = await request(await listenLocal(app))
        .patch(location)
        .set("Content-Type", "text/plain")
        .send(fragment);
      assert.equal(wrongType.status, 415);
      const unknown = await request(await listenLocal(app))
        .patch("/cam1/whep/nobody")
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .send(fragment);
      assert.equal(unknown.status, 404);
      assertErrorBody(unknown.body, /unknown viewer/);
    });

    it("PATCH with new ICE credentials (an ICE restart) is a 422", async () => {
      const { app } = setup();
      const location = (await whepPost(await listenLocal(app))).headers.location ?? "";
      const res = await request(await listenLocal(app))
        .patch(location)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .send("a=ice-ufrag:restart\r\na=ice-pwd:0123456789abcdefghijkl\r\n");
      assert.equal(res.status, 422);
      assertErrorBody(res.body, /ice restart not supported/);
    });

    it("DELETE ends the viewer (200); a second DELETE is a 404", async () => {
      const { app, viewers } = setup();
      const post = await whepPost(await listenLocal(app));
      const location = post.headers.location ?? "";
      await request(await listenLocal(app))
        .delete(location)
        .expect(200);
      assert.equal(viewers.size, 0);
      const again = await request(await listenLocal(app)).delete(location);
      assert.equal(again.status, 404);
      assertErrorBody(again.body, /unknown viewer/);
      const odd = await request(await listenLocal(app)).delete("/cam1/whep/%3Cscript%3E");
      assert.equal(odd.status, 404);
      assertErrorBody(odd.body, /unknown viewer/);
    });

    it("DELETE just after the client closed its connection (whip-whep's stop()) is a 200, once; PATCH is a 404", async () => {
      const { app, viewers } = setup();
      const server = await listenLocal(app);
      const post = await whepPost(server);
      const location = post.headers.location ?? "";
      const [id] = [...viewers.viewers.keys()];
      viewers.endOnItsOwn(id ?? "");
      const patched = await request(server)
        .patch(location)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .send("a=end-of-candidates\r\n");
      assert.equal(patched.status, 404);
      const deleted = await request(server).delete(location);
      assert.equal(deleted.status, 200);
      assert.equal(deleted.text, "");
      const again = await request(server).delete(location);
      assert.equal(again.status, 404);
      assertErrorBody(again.body, /unknown viewer/);
    });

    it("OPTIONS P/whep tells what it accepts and the ICE servers", async () => {
      const { app } = setup();
      const res = await request(await listenLocal(app))
        .options("/cam1/whep")
        .expect(204);
      assert.equal(res.headers["accept-post"], "application/sdp");
      assert.equal(res.headers.allow, "POST, OPTIONS");
      assert.match(res.headers.link ?? "", /^<stun:stun\.example\.net:3478>; rel="ice-server"/);
    });
  });

  describe("a WHEP session answers to its creator alone", () => {
    /** Every string in a JSON value: what a client could try as a session's name. */
    function strings(value: unknown): string[] {
      if (typeof value === "string") return [value];
      if (Array.isArray(value)) return value.flatMap(strings);
      if (value && typeof value === "object") return Object.values(value).flatMap(strings);
      return [];
    }

    it("GET P/stats names no session and no address; a second client cannot DELETE or PATCH the first's", async () => {
      const { app, viewers } = setup();
      const server = await listenLocal(app);
      const first = await whepPost(server).expect(201);
      const played = await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER });
      assert.equal(played.status, 200);
      const ids = [...viewers.viewers.keys()];
      assert.equal(ids.length, 2);

      const stats = await request(server).get("/cam1/stats").expect(200);
      assert.equal(stats.body.viewers.length, 2, "the viewers are counted");
      for (const id of ids) assert.ok(!stats.text.includes(id), "no session id in /stats");
      assert.ok(!stats.text.includes("127.0.0.1"), "no viewer address in /stats");

      // Everything /stats says, and the viewer ids the node's own events carry, tried as session names.
      for (const guess of new Set([...strings(stats.body), ...ids])) {
        if (!/^[\w.~-]+$/.test(guess)) continue;
        const deleted = await request(server).delete(`/cam1/whep/${guess}`);
        assert.equal(deleted.status, 404, `DELETE /cam1/whep/${guess}`);
        const patched = await request(server)
          .patch(`/cam1/whep/${guess}`)
          .set("Content-Type", "application/trickle-ice-sdpfrag")
          .send("a=end-of-candidates\r\n");
        assert.equal(patched.status, 404, `PATCH /cam1/whep/${guess}`);
      }
      assert.equal(viewers.size, 2, "both sessions live on");
      for (const viewer of viewers.viewers.values()) assert.deepEqual(viewer.fragments, []);

      // Their creators end them by the URL each was given.
      await request(server)
        .delete(first.headers.location ?? "")
        .expect(200);
      assert.match(played.body.location, /^\/cam1\/whep\/[\w-]{43,}$/);
      await request(server).delete(played.body.location).expect(200);
      assert.equal(viewers.size, 0);
    });
  });

  describe("who learns the TURN credentials (Link headers)", () => {
    /** Every header and the body, as one text to search (as sent: not JSON-escaped). */
    function everything(res: request.Response): string {
      const headers = Object.entries(res.headers).map(([name, value]) => `${name}: ${String(value)}`);
      return `${headers.join("\n")}\n${res.text ?? ""}`;
    }

    it("OPTIONS P/whep behind a viewer token: without the token no Link, with it the servers", async () => {
      const { app } = setup({ viewerToken: "tok-1" });
      const server = await listenLocal(app);
      const bare = await request(server).options("/cam1/whep");
      assert.equal(bare.status, 401);
      assert.equal(bare.headers.link, undefined);
      assert.ok(!everything(bare).includes(TURN_CREDENTIAL));
      const wrong = await request(server).options("/cam1/whep").set("Authorization", "Bearer tok-2");
      assert.equal(wrong.status, 401);
      assert.ok(!everything(wrong).includes(TURN_CREDENTIAL));
      const admitted = await request(server)
        .options("/cam1/whep")
        .set("Authorization", "Bearer tok-1")
        .expect(204);
      assert.ok((admitted.headers.link ?? "").includes(TURN_CREDENTIAL));
    });

    it("a preflight-shaped OPTIONS without httpNodeCors runs httpNodeMiddleware and gets a bare answer", async () => {
      let ran = 0;
      const gate: RequestHandler = (req, res, next) => {
        ran++;
        if (req.headers["x-gate"] === "open") {
          next();
          return;
        }
        res.statusCode = 403;
        res.end("closed");
      };
      const { app } = setup({ middleware: [gate] });
      const server = await listenLocal(app);
      const preflight = () =>
        request(server)
          .options("/cam1/whep")
          .set("Origin", "http://elsewhere.test")
          .set("Access-Control-Request-Method", "POST");
      const refused = await preflight();
      assert.equal(refused.status, 403, "httpNodeMiddleware ran and refused it");
      assert.equal(ran, 1);
      assert.ok(!everything(refused).includes(TURN_CREDENTIAL));
      const passed = await preflight().set("X-Gate", "open");
      assert.equal(passed.status, 204);
      assert.equal(passed.headers.link, undefined, "no ICE servers in a preflight's answer");
      assert.equal(passed.headers["accept-post"], undefined);
      assert.equal(passed.headers.allow, "POST, OPTIONS");
    });

    it("with httpNodeCors, a preflight is answered by CORS alone, without Link headers", async () => {
      const { app } = setup({ cors: { origin: "*" }, viewerToken: "tok-1" });
      const res = await request(await listenLocal(app))
        .options("/cam1/whep")
        .set("Origin", "http://elsewhere.test")
        .set("Access-Control-Request-Method", "POST");
      assert.equal(res.status, 204);
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.ok(!everything(res).includes(TURN_CREDENTIAL));
    });

    it("behind httpNodeAuth, which lets OPTIONS through unchecked, OPTIONS names no TURN credentials; the 201 does", async () => {
      const { app } = setup({ nodeAuth: true });
      const server = await listenLocal(app);
      const options = await request(server).options("/cam1/whep").expect(204);
      assert.equal(options.headers["accept-post"], "application/sdp");
      assert.ok(!everything(options).includes(TURN_CREDENTIAL));
      assert.match(options.headers.link ?? "", /^<stun:stun\.example\.net:3478>; rel="ice-server"$/);
      const post = await whepPost(server).expect(201);
      assert.ok((post.headers.link ?? "").includes(TURN_CREDENTIAL));
    });
  });

  describe("stats, unknown routes and methods", () => {
    it("GET P/stats is the viewer set's stats as JSON, each viewer without its id and address", async () => {
      const { app, viewers } = setup();
      viewers.kbps = 2100;
      await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      const res = await request(await listenLocal(app))
        .get("/cam1/stats")
        .expect(200);
      assert.match(res.headers["content-type"] ?? "", /^application\/json/);
      assert.deepEqual(res.body, { stream: { codec: "H264", kbps: 2100 }, viewers: [{}] });
    });

    it("404 JSON for paths under P that are not routes", async () => {
      const { app } = setup();
      // P/snapshot.jpg too, for a node that offers no snapshot.
      for (const path of ["/cam1/nothing", "/cam1/whep/a/b", "/cam1/stats/x", "/cam1/snapshot.jpg"]) {
        const res = await request(await listenLocal(app)).get(path);
        assert.equal(res.status, 404, path);
        assertErrorBody(res.body, /not found/);
      }
    });

    it("GET P/snapshot.jpg: the JPEG, or the snapshot's failure as JSON; any other error a 500", async () => {
      const jpeg = Buffer.from("ffd8ffd9", "hex");
      let next: () => Promise<Snapshot> = async () => ({
        jpeg,
        width: 1,
        height: 1,
        frameAgeMs: 0,
        decodeMs: 0,
        frames: 1,
      });
      const { app } = setup({ snapshot: () => next() });
      const server = await listenLocal(app);
      const ok = await request(server)
        .get("/cam1/snapshot.jpg")
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => done(null, Buffer.concat(chunks)));
        });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers["content-type"], "image/jpeg");
      assert.equal(ok.headers["cache-control"], "no-store");
      assert.deepEqual(ok.body, jpeg);
      next = () => Promise.reject(new SnapshotError("no-keyframe", "no keyframe received yet"));
      const waiting = await request(server).get("/cam1/snapshot.jpg");
      assert.equal(waiting.status, 503);
      assert.equal(waiting.headers["retry-after"], "1");
      assert.deepEqual(waiting.body, {
        error: "no snapshot",
        detail: "no keyframe received yet",
        code: "no-keyframe",
      });
      next = () => Promise.reject(new Error("boom"));
      assert.equal((await request(server).get("/cam1/snapshot.jpg")).status, 500);
    });

    it("GET P/live.mp4: a streaming fMP4 response behind the token and the middleware, counted in max viewers, gone when the client goes", async () => {
      const denied: RequestHandler = (req, res, next) => {
        if (req.headers["x-let-in"] === "yes") next();
        else {
          res.statusCode = 403;
          res.end();
        }
      };
      const { app, viewers } = setup({ viewerToken: "t0ken", middleware: [denied], maxViewers: 2 });
      const server = await listenLocal(app);
      assert.equal(
        (await request(server).get("/cam1/live.mp4").set("Authorization", "Bearer t0ken")).status,
        403,
      );
      assert.equal((await request(server).get("/cam1/live.mp4").set("X-Let-In", "yes")).status, 401);
      const open = () =>
        new Promise<IncomingMessage>((resolve, reject) => {
          const address = server.address() as AddressInfo;
          const req = http.get(
            {
              host: "127.0.0.1",
              port: address.port,
              path: "/cam1/live.mp4?token=t0ken",
              headers: { "X-Let-In": "yes" },
            },
            resolve,
          );
          req.on("error", reject);
        });
      const first = await open();
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers["content-type"], FAKE_LIVE_MIME);
      assert.equal(first.headers["cache-control"], "no-store");
      assert.equal(first.headers["x-accel-buffering"], "no");
      const [chunk] = (await once(first, "data")) as [Buffer];
      assert.equal(chunk.toString(), "fake fMP4");
      assert.equal(viewers.liveSinks.size, 1);
      // One place left of two: a WebRTC viewer takes it, and the next fMP4 viewer is refused.
      const offered = await request(server)
        .post("/cam1/offer?token=t0ken")
        .set("X-Let-In", "yes")
        .set("Authorization", "Bearer t0ken")
        .send({ type: "offer", sdp: FAKE_OFFER });
      assert.equal(offered.status, 200);
      const refused = await request(server)
        .get("/cam1/live.mp4")
        .set("X-Let-In", "yes")
        .set("Authorization", "Bearer t0ken");
      assert.equal(refused.status, 503);
      assert.equal(refused.body.code, "max-viewers");
      first.destroy();
      await waitFor(() => viewers.liveSinks.size === 0, 5000, "the sink to be removed");
    });

    it("GET P/live.mp4 before a stream: 503 no-stream as JSON", async () => {
      const { app } = setup({ stream: false });
      const res = await request(await listenLocal(app)).get("/cam1/live.mp4");
      assert.equal(res.status, 503);
      assert.equal(res.body.code, "no-stream");
    });

    it("405 with Allow for a method a route does not take", async () => {
      const { app } = setup();
      const cases: [string, string, string][] = [
        ["get", "/cam1/whep", "POST, OPTIONS"],
        ["get", "/cam1/offer", "POST, OPTIONS"],
        ["post", "/cam1/stats", "GET, HEAD, OPTIONS"],
        ["put", "/cam1/whep/abc", "PATCH, DELETE, OPTIONS"],
        ["delete", "/cam1", "GET, HEAD, OPTIONS"],
      ];
      for (const [method, path, allow] of cases) {
        const res = await (
          request(await listenLocal(app)) as unknown as Record<string, (p: string) => request.Test>
        )[method]!(path);
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.allow, allow);
        assertErrorBody(res.body, /method not allowed/);
      }
    });
  });

  describe("httpNodeCors and httpNodeMiddleware", () => {
    it("no CORS headers unless httpNodeCors is set", async () => {
      const { app } = setup();
      const res = await whepPost(await listenLocal(app)).set("Origin", "http://elsewhere.test");
      assert.equal(res.headers["access-control-allow-origin"], undefined);
    });

    it("answers preflights and exposes the WHEP headers with httpNodeCors set", async () => {
      const { app } = setup({ cors: { origin: "*", methods: "GET,POST,PATCH,DELETE" } });
      const preflight = await request(await listenLocal(app))
        .options("/cam1/whep")
        .set("Origin", "http://elsewhere.test")
        .set("Access-Control-Request-Method", "POST")
        .set("Access-Control-Request-Headers", "content-type");
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers["access-control-allow-origin"], "*");
      assert.equal(preflight.headers["access-control-allow-methods"], "GET,POST,PATCH,DELETE");
      assert.equal(preflight.headers["access-control-allow-headers"], "content-type");
      const post = await request(await listenLocal(app))
        .post("/cam1/whep")
        .set("Origin", "http://elsewhere.test")
        .set("Content-Type", "application/sdp")
        .send(FAKE_OFFER);
      assert.equal(post.status, 201);
      assert.equal(post.headers["access-control-allow-origin"], "*");
      assert.match(post.headers["access-control-expose-headers"] ?? "", /Location/);
    });

    it("runs httpNodeMiddleware before every route but not before preflights", async () => {
      const auth: RequestHandler = (req: IncomingMessage, res: ServerResponse, next) => {
        if (req.headers.authorization === "Bearer ok") {
          next();
          return;
        }
        res.statusCode = 401;
        res.end("no");
      };
      const { app } = setup({ middleware: [auth], cors: { origin: true } });
      assert.equal((await request(await listenLocal(app)).get("/cam1/stats")).status, 401);
      assert.equal(
        (
          await request(await listenLocal(app))
            .get("/cam1/stats")
            .set("Authorization", "Bearer ok")
        ).status,
        200,
      );
      const preflight = await request(await listenLocal(app))
        .options("/cam1/whep")
        .set("Origin", "http://elsewhere.test")
        .set("Access-Control-Request-Method", "POST");
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers["access-control-allow-origin"], "http://elsewhere.test");
    });

    it("a middleware that fails answers with a JSON 500", async () => {
      const failing: RequestHandler = (_req, _res, next) => next(new Error("no session store"));
      const { app } = setup({ middleware: [failing] });
      const res = await request(await listenLocal(app)).get("/cam1/stats");
      assert.equal(res.status, 500);
      assertErrorBody(res.body, /internal error/);
      assert.equal(res.body.detail, "no session store");
    });
  });
});
