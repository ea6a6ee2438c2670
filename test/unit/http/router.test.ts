import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import request from "supertest";
import {
  type Endpoint,
  normalizeEndpointPath,
  registerEndpoint,
  registeredPaths,
  slugPath,
} from "../../../src/http/router";
import { closeLocalServers, expressApp, listenLocal, mountedLayers } from "../../helpers/express-app";

/** Answers with what it was given, so a test sees the subpath the router computed. */
function echo(name: string): Endpoint {
  return {
    handle(req: IncomingMessage, res: ServerResponse, subpath: string) {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ name, subpath, method: req.method, url: req.url }));
    },
  };
}

function registered(result: ReturnType<typeof registerEndpoint>): { unregister(): void } {
  assert.ok("unregister" in result, "registered");
  return result;
}

describe("http/router", () => {
  afterEach(closeLocalServers);

  describe("normalizeEndpointPath", () => {
    it("adds the leading slash, drops trailing and doubled ones", () => {
      assert.equal(normalizeEndpointPath("cam1"), "/cam1");
      assert.equal(normalizeEndpointPath("/cam1/"), "/cam1");
      assert.equal(normalizeEndpointPath(" //site//door/ "), "/site/door");
      assert.equal(normalizeEndpointPath("a-b_c.d~e"), "/a-b_c.d~e");
    });

    it("refuses empty paths, dot segments and characters that need escaping", () => {
      for (const bad of [
        "",
        "/",
        "  ",
        "/a/../b",
        "/./a",
        "my cam",
        "cam?x=1",
        "cam#1",
        "cäm",
        "a%20b",
        "<x>",
      ]) {
        assert.equal(normalizeEndpointPath(bad), undefined, bad);
      }
    });
  });

  describe("slugPath", () => {
    it("makes a path from a node name", () => {
      assert.equal(slugPath("Front door (4K)"), "/front-door-4k");
      assert.equal(slugPath("  Caméra Entrée "), "/camera-entree");
      assert.equal(slugPath("前门"), undefined);
      assert.equal(slugPath(""), undefined);
    });
  });

  describe("dispatch", () => {
    it("hands the subpath under a registered path to its endpoint, query string aside", async () => {
      const app = expressApp();
      registered(registerEndpoint(app, "/cam1", echo("one")));
      const cases: [string, string][] = [
        ["/cam1", ""],
        ["/cam1/", ""],
        ["/cam1?embed=1", ""],
        ["/cam1/offer", "/offer"],
        ["/cam1/whep/AbC-12", "/whep/AbC-12"],
        ["/CAM1/stats", "/stats"],
        ["/cam1/whep/x?y=/z", "/whep/x"],
      ];
      for (const [url, subpath] of cases) {
        const res = await request(await listenLocal(app))
          .get(url)
          .expect(200);
        assert.equal(res.body.name, "one", url);
        assert.equal(res.body.subpath, subpath, url);
      }
    });

    it("passes other paths on to the rest of httpNode (http-in routes, 404)", async () => {
      const app = expressApp();
      registered(registerEndpoint(app, "/cam1", echo("one")));
      app.get("/other", (_req, res) => res.end("http-in"));
      assert.equal(
        (
          await request(await listenLocal(app))
            .get("/other")
            .expect(200)
        ).text,
        "http-in",
      );
      await request(await listenLocal(app))
        .get("/cam10")
        .expect(404);
      await request(await listenLocal(app))
        .get("/")
        .expect(404);
    });

    it("a longer registered path wins over its prefix", async () => {
      const app = expressApp();
      registered(registerEndpoint(app, "/site", echo("site")));
      registered(registerEndpoint(app, "/site/door", echo("door")));
      assert.equal((await request(await listenLocal(app)).get("/site/door/offer")).body.name, "door");
      assert.equal((await request(await listenLocal(app)).get("/site/door/offer")).body.subpath, "/offer");
      assert.equal((await request(await listenLocal(app)).get("/site/stats")).body.name, "site");
      assert.equal((await request(await listenLocal(app)).get("/site/doorbell")).body.subpath, "/doorbell");
    });

    it("an endpoint that throws answers 500 with a JSON body", async () => {
      const app = expressApp();
      registered(
        registerEndpoint(app, "/boom", {
          handle() {
            throw new Error("kaput");
          },
        }),
      );
      const res = await request(await listenLocal(app))
        .get("/boom")
        .expect(500);
      assert.deepEqual(res.body, { error: "internal error", detail: "kaput" });
    });
  });

  describe("registration", () => {
    it("a second endpoint on a taken path gets a conflict, case-insensitively", () => {
      const app = expressApp();
      const first = registered(registerEndpoint(app, "/cam1", echo("one")));
      assert.deepEqual(registerEndpoint(app, "/cam1", echo("two")), { conflict: true });
      assert.deepEqual(registerEndpoint(app, "/CAM1", echo("two")), { conflict: true });
      first.unregister();
      registered(registerEndpoint(app, "/Cam1", echo("two")));
      assert.deepEqual(registeredPaths(app), ["/Cam1"]);
    });

    it("a stale unregister does not remove the endpoint that took the path after it", async () => {
      const app = expressApp();
      const first = registered(registerEndpoint(app, "/cam1", echo("one")));
      first.unregister();
      registered(registerEndpoint(app, "/cam1", echo("two")));
      first.unregister();
      assert.equal(
        (
          await request(await listenLocal(app))
            .get("/cam1")
            .expect(200)
        ).body.name,
        "two",
      );
    });

    it("mounts one handler per app, however many endpoints come and go", async () => {
      const app = expressApp();
      registered(registerEndpoint(app, "/warm", echo("warm"))).unregister();
      const layers = mountedLayers(app);
      assert.ok(layers > 0);
      for (let i = 0; i < 20; i++) {
        const a = registered(registerEndpoint(app, `/cam${i}`, echo("a")));
        const b = registered(registerEndpoint(app, `/other${i}`, echo("b")));
        a.unregister();
        b.unregister();
      }
      assert.equal(mountedLayers(app), layers);
      assert.deepEqual(registeredPaths(app), []);
      await request(await listenLocal(app))
        .get("/cam3")
        .expect(404);
    });

    it("keeps the endpoints of different apps (runtimes) apart", async () => {
      const one = expressApp();
      const two = expressApp();
      registered(registerEndpoint(one, "/cam", echo("one")));
      registered(registerEndpoint(two, "/cam", echo("two")));
      assert.equal((await request(await listenLocal(one)).get("/cam")).body.name, "one");
      assert.equal((await request(await listenLocal(two)).get("/cam")).body.name, "two");
    });
  });
});
