import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import request from "supertest";
import type { CorsOptions } from "../../../src/http/cors";
import { type Endpoint, type RequestHandler, registerEndpoint } from "../../../src/http/router";
import { StreamEndpoint, type ViewerHost } from "../../../src/http/stream-endpoint";
import { summarizeStream, type ViewerSetStats } from "../../../src/http/stream-summary";
import { wallSubpath } from "../../../src/http/wall";
import type { StreamSourceState } from "../../../src/webrtc/viewer-set";
import { closeLocalServers, type ExpressApp, expressApp, listenLocal } from "../../helpers/express-app";
import { FAKE_OFFER, FakeViewerSet, fakeStream } from "../../helpers/fake-viewer-set";

/** A viewer set that only reports the stats it is given. */
function statsOnly(stats: ViewerSetStats): ViewerHost {
  return {
    addViewer: () => Promise.reject(new Error("not in this test")),
    viewerOf: () => undefined,
    takeEnded: () => false,
    addIceCandidates: () => Promise.reject(new Error("not in this test")),
    removeViewer: () => Promise.reject(new Error("not in this test")),
    addLiveViewer: () => {
      throw new Error("not in this test");
    },
    stats: () => stats,
  };
}

function live(viewers: number, kbps = 1500): ViewerSetStats {
  return {
    stream: { codec: "H264", width: 1280, height: 720, kbps, sourceState: "receiving" },
    viewers: Array.from({ length: viewers }, (_, i) => ({ id: `v${i}` })),
  };
}

interface Access {
  cors?: CorsOptions;
  middleware?: RequestHandler[];
}

function stream(path: string, title: string, stats: ViewerSetStats, access: Access = {}): StreamEndpoint {
  return new StreamEndpoint({ path, title, viewers: statsOnly(stats), ...access });
}

function register(app: ExpressApp, path: string, endpoint: Endpoint): () => void {
  const registration = registerEndpoint(app, path, endpoint);
  assert.ok("unregister" in registration, `registered ${path}`);
  return registration.unregister;
}

/** The wall page's config: where it reads the list. */
function pageConfig(html: string): { listUrl: string; refreshMs: number } {
  const match = /<script type="application\/json" id="wall-config">([^<]*)<\/script>/.exec(html);
  assert.ok(match, "config element");
  return JSON.parse(match[1]!);
}

const bearer: RequestHandler = (req: IncomingMessage, res: ServerResponse, next) => {
  if (req.headers.authorization === "Bearer ok") {
    next();
    return;
  }
  res.statusCode = 401;
  res.end("no");
};

describe("http/wall", () => {
  afterEach(closeLocalServers);

  describe("wallSubpath", () => {
    it("is the wall page at /webrtc and its list at /webrtc/streams, case-insensitively", () => {
      assert.equal(wallSubpath("/webrtc"), "");
      assert.equal(wallSubpath("/WebRTC"), "");
      assert.equal(wallSubpath("/webrtc/streams"), "/streams");
      assert.equal(wallSubpath("/WEBRTC/Streams"), "/streams");
    });

    it("is nothing for any other path", () => {
      for (const path of ["", "/", "/webrtcx", "/webrtc/stream", "/webrtc/streams/x", "/x/webrtc"]) {
        assert.equal(wallSubpath(path), undefined, path);
      }
    });
  });

  describe("summarizeStream", () => {
    it("a stream whose video arrives is live, with its picture, rate and viewer count", () => {
      assert.deepEqual(summarizeStream("/cam1", "Door", live(3, 2140.6)), {
        path: "/cam1",
        title: "Door",
        state: "live",
        viewers: 3,
        codec: "H264",
        width: 1280,
        height: 720,
        kbps: 2141,
      });
    });

    it("waiting before the first video, stalled after a gap", () => {
      const state = (sourceState?: StreamSourceState) =>
        summarizeStream("/c", "c", { stream: { sourceState }, viewers: [] }).state;
      assert.equal(state("waiting"), "waiting");
      assert.equal(state(undefined), "waiting");
      assert.equal(state("stalled"), "stalled");
      assert.equal(state("receiving"), "live");
    });

    it("leaves out what is not known yet", () => {
      assert.deepEqual(summarizeStream("/c", "c", {}), {
        path: "/c",
        title: "c",
        state: "waiting",
        viewers: 0,
      });
      assert.deepEqual(
        summarizeStream("/c", "c", { stream: { width: 640, height: 0, kbps: 0, codec: "" }, viewers: [] }),
        { path: "/c", title: "c", state: "waiting", viewers: 0 },
      );
    });
  });

  describe("StreamEndpoint.describe", () => {
    it("is the node's title and its viewer set's viewers", async () => {
      const app = expressApp();
      const viewers = new FakeViewerSet();
      viewers.stream = fakeStream();
      const endpoint = new StreamEndpoint({ path: "/cam1", title: "Front door", viewers });
      register(app, "/cam1", endpoint);
      assert.deepEqual(endpoint.describe(), {
        path: "/cam1",
        title: "Front door",
        state: "waiting",
        viewers: 0,
        codec: "H264",
      });
      await request(await listenLocal(app))
        .post("/cam1/offer")
        .send({ type: "offer", sdp: FAKE_OFFER })
        .expect(200);
      assert.equal(endpoint.describe()?.viewers, 1);
    });

    it("carries the httpNodeCors and httpNodeMiddleware it runs behind", () => {
      const cors = { origin: "*" };
      const endpoint = stream("/cam1", "c", {}, { cors, middleware: [bearer] });
      assert.equal(endpoint.access.cors, cors);
      assert.deepEqual(endpoint.access.middleware, [bearer]);
    });
  });

  describe("GET <root>/webrtc/streams", () => {
    it("lists every registered stream by path, with its link, state and viewers", async () => {
      const app = expressApp();
      register(
        app,
        "/cam2",
        stream("/cam2", "camera 2", { stream: { sourceState: "waiting" }, viewers: [] }),
      );
      register(app, "/cam10", stream("/cam10", "camera 10", live(0)));
      register(app, "/cam1", stream("/cam1", "camera 1", live(1)));
      register(
        app,
        "/cam3",
        stream("/cam3", "camera 3", { stream: { codec: "H265", sourceState: "stalled" }, viewers: [{}, {}] }),
      );
      const res = await request(await listenLocal(app))
        .get("/webrtc/streams")
        .expect(200);
      assert.match(res.headers["content-type"] ?? "", /^application\/json/);
      assert.equal(res.headers["cache-control"], "no-store");
      assert.deepEqual(res.body, [
        {
          path: "/cam1",
          url: "/cam1",
          title: "camera 1",
          state: "live",
          viewers: 1,
          codec: "H264",
          width: 1280,
          height: 720,
          kbps: 1500,
        },
        {
          path: "/cam2",
          url: "/cam2",
          title: "camera 2",
          state: "waiting",
          viewers: 0,
          codec: null,
          width: null,
          height: null,
          kbps: null,
        },
        {
          path: "/cam3",
          url: "/cam3",
          title: "camera 3",
          state: "stalled",
          viewers: 2,
          codec: "H265",
          width: null,
          height: null,
          kbps: null,
        },
        {
          path: "/cam10",
          url: "/cam10",
          title: "camera 10",
          state: "live",
          viewers: 0,
          codec: "H264",
          width: 1280,
          height: 720,
          kbps: 1500,
        },
      ]);
    });

    it("is empty, and the page says so, once the last stream is removed", async () => {
      const app = expressApp();
      const unregister = register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      const server = await listenLocal(app);
      assert.equal((await request(server).get("/webrtc/streams").expect(200)).body.length, 1);
      unregister();
      assert.deepEqual((await request(server).get("/webrtc/streams").expect(200)).body, []);
      const page = await request(server).get("/webrtc").expect(200);
      assert.ok(page.text.includes("No webrtc-out nodes deployed"));
    });

    it("leaves out endpoints that do not describe themselves, or fail to", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      register(app, "/plain", { handle: (_req, res) => res.end("plain") });
      register(app, "/broken", {
        handle: (_req, res) => res.end("broken"),
        describe() {
          throw new Error("no stats");
        },
      });
      register(app, "/starting", { handle: (_req, res) => res.end("starting"), describe: () => undefined });
      const res = await request(await listenLocal(app))
        .get("/webrtc/streams")
        .expect(200);
      assert.deepEqual(
        res.body.map((s: { path: string }) => s.path),
        ["/cam1"],
      );
    });

    it("lists a stream under the path it is registered at", async () => {
      const app = expressApp();
      register(app, "/door", stream("/elsewhere", "door", live(0)));
      const res = await request(await listenLocal(app))
        .get("/webrtc/streams")
        .expect(200);
      assert.equal(res.body[0].path, "/door");
      assert.equal(res.body[0].url, "/door");
    });
  });

  describe("GET <root>/webrtc", () => {
    it("serves the self-contained wall page, reading the list from the same router", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      const server = await listenLocal(app);
      for (const url of ["/webrtc", "/webrtc/", "/WebRTC?x=1"]) {
        const res = await request(server).get(url).expect(200);
        assert.match(res.headers["content-type"] ?? "", /^text\/html; charset=utf-8/, url);
        assert.equal(res.headers["cache-control"], "no-store");
        assert.deepEqual(pageConfig(res.text), { listUrl: "/webrtc/streams", refreshMs: 2000 });
      }
    });

    it("carries a strict Content-Security-Policy: its own inline script and style, frames of its origin", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      const res = await request(await listenLocal(app))
        .get("/webrtc")
        .expect(200);
      const policy = res.headers["content-security-policy"] ?? "";
      const hashOf = (text: string) =>
        `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
      const script = /<script>([\s\S]*?)<\/script>/.exec(res.text)?.[1] ?? "";
      const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)?.[1] ?? "";
      assert.equal(
        policy,
        `default-src 'none'; script-src ${hashOf(script)}; style-src ${hashOf(style)}; connect-src 'self'; ` +
          "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
      );
    });

    it("links carry httpNodeRoot when httpNode is mounted under it", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(1)));
      register(app, "/site/door", stream("/site/door", "door", live(0)));
      const root = expressApp();
      root.use("/api", app);
      const server = await listenLocal(root);
      const page = await request(server).get("/api/webrtc").expect(200);
      assert.equal(pageConfig(page.text).listUrl, "/api/webrtc/streams");
      const list = await request(server).get("/api/webrtc/streams").expect(200);
      assert.deepEqual(
        list.body.map((s: { url: string }) => s.url),
        ["/api/cam1", "/api/site/door"],
      );
      // The links reach the streams' own pages.
      const player = await request(server).get("/api/cam1?embed=1").expect(200);
      assert.ok(player.text.includes('data-embed="1"'));
      await request(server).get("/webrtc").expect(404);
    });

    it("HEAD answers like GET; OPTIONS tells the methods; others get 405", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      const server = await listenLocal(app);
      for (const url of ["/webrtc", "/webrtc/streams"]) {
        const head = await request(server).head(url).expect(200);
        assert.equal(head.text, undefined);
        const options = await request(server).options(url).expect(204);
        assert.equal(options.headers.allow, "GET, HEAD, OPTIONS");
        const post = await request(server).post(url).send("x").expect(405);
        assert.equal(post.headers.allow, "GET, HEAD, OPTIONS");
        assert.equal(post.body.error, "method not allowed");
      }
    });
  });

  describe("who holds /webrtc", () => {
    it("a webrtc-out at path webrtc takes /webrtc and everything under it", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      register(app, "/webrtc", stream("/webrtc", "The webrtc camera", live(0)));
      const server = await listenLocal(app);
      const page = await request(server).get("/webrtc").expect(200);
      assert.ok(page.text.includes("<title>The webrtc camera</title>"), "the node's player page");
      assert.ok(!page.text.includes("wall-config"));
      const list = await request(server).get("/webrtc/streams").expect(404);
      assert.equal(list.body.detail, "nothing at /webrtc/streams");
    });

    it("the wall comes back when that node is removed", async () => {
      const app = expressApp();
      const unregister = register(app, "/webrtc", stream("/webrtc", "The webrtc camera", live(0)));
      const server = await listenLocal(app);
      await request(server).get("/webrtc/streams").expect(404);
      unregister();
      assert.deepEqual((await request(server).get("/webrtc/streams").expect(200)).body, []);
    });

    it("a webrtc-out at webrtc/streams takes the list path only", async () => {
      const app = expressApp();
      register(app, "/webrtc/streams", stream("/webrtc/streams", "streams camera", live(0)));
      const server = await listenLocal(app);
      const list = await request(server).get("/webrtc/streams").expect(200);
      assert.ok(list.text.includes("<title>streams camera</title>"));
      const wall = await request(server).get("/webrtc").expect(200);
      assert.ok(wall.text.includes("wall-config"));
    });

    it("other paths under /webrtc pass on to the rest of httpNode", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      app.get("/webrtc/other", (_req, res) => res.end("http-in"));
      const server = await listenLocal(app);
      assert.equal((await request(server).get("/webrtc/other").expect(200)).text, "http-in");
      await request(server).get("/webrtc/nothing").expect(404);
    });

    it("no wall until an endpoint has told the httpNodeCors and httpNodeMiddleware to run it behind", async () => {
      const app = expressApp();
      const plain = register(app, "/plain", { handle: (_req, res) => res.end("plain") });
      const server = await listenLocal(app);
      await request(server).get("/webrtc").expect(404);
      await request(server).get("/webrtc/streams").expect(404);
      plain();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      await request(server).get("/webrtc/streams").expect(200);
    });
  });

  describe("switched off (settings.js webrtcOut.wall: false)", () => {
    it("passes /webrtc and /webrtc/streams on to the rest of httpNode, while the streams are served", async () => {
      const app = expressApp();
      const off = { enabled: false, frameAncestors: [] };
      const endpoint = new StreamEndpoint({ path: "/cam1", title: "camera 1", viewers: statsOnly(live(0)) });
      const registration = registerEndpoint(app, "/cam1", {
        handle: (req, res, subpath) => endpoint.handle(req, res, subpath),
        describe: () => endpoint.describe(),
        access: endpoint.access,
        wall: off,
      });
      assert.ok("unregister" in registration);
      app.get("/webrtc", (_req, res) => res.end("an http-in route"));
      const server = await listenLocal(app);
      assert.equal((await request(server).get("/webrtc").expect(200)).text, "an http-in route");
      await request(server).get("/webrtc/streams").expect(404);
      await request(server).get("/cam1/stats").expect(200);
      // Still off once the last stream is gone.
      registration.unregister();
      await request(server).get("/webrtc/streams").expect(404);
    });
  });

  describe("httpNodeCors and httpNodeMiddleware", () => {
    it("run in front of the wall and its list as in front of the streams' routes", async () => {
      const app = expressApp();
      const unregister = register(
        app,
        "/cam1",
        stream("/cam1", "camera 1", live(0), { cors: { origin: "*" }, middleware: [bearer] }),
      );
      const server = await listenLocal(app);
      for (const url of ["/webrtc", "/webrtc/streams", "/cam1/stats"]) {
        assert.equal((await request(server).get(url)).status, 401, url);
        const ok = await request(server)
          .get(url)
          .set("Origin", "http://elsewhere.test")
          .set("Authorization", "Bearer ok")
          .expect(200);
        assert.equal(ok.headers["access-control-allow-origin"], "*", url);
      }
      // Still behind them once the last stream is gone.
      unregister();
      assert.equal((await request(server).get("/webrtc/streams")).status, 401);
      assert.deepEqual(
        (await request(server).get("/webrtc/streams").set("Authorization", "Bearer ok").expect(200)).body,
        [],
      );
    });

    it("a preflight is answered by CORS alone, without the middleware", async () => {
      const app = expressApp();
      register(
        app,
        "/cam1",
        stream("/cam1", "camera 1", live(0), { cors: { origin: true }, middleware: [bearer] }),
      );
      const preflight = await request(await listenLocal(app))
        .options("/webrtc/streams")
        .set("Origin", "http://elsewhere.test")
        .set("Access-Control-Request-Method", "GET");
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers["access-control-allow-origin"], "http://elsewhere.test");
    });

    it("no CORS headers unless httpNodeCors is set", async () => {
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0)));
      const res = await request(await listenLocal(app))
        .get("/webrtc/streams")
        .set("Origin", "http://elsewhere.test")
        .expect(200);
      assert.equal(res.headers["access-control-allow-origin"], undefined);
    });

    it("a middleware that fails answers with a JSON 500", async () => {
      const failing: RequestHandler = (_req, _res, next) => next(new Error("no session store"));
      const app = expressApp();
      register(app, "/cam1", stream("/cam1", "camera 1", live(0), { middleware: [failing] }));
      const res = await request(await listenLocal(app))
        .get("/webrtc")
        .expect(500);
      assert.deepEqual(res.body, { error: "internal error", detail: "no session store" });
    });
  });
});
