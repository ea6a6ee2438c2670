import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { applyCors, type CorsOptions, corsOptionsFrom } from "../../../src/http/cors";

interface Outcome {
  headers: Record<string, string>;
  status: number;
  ended: boolean;
  preflightAnswered: boolean | undefined;
}

/** Runs applyCors on a fake request and response and reports what it set. */
function run(
  options: CorsOptions | undefined,
  method: string,
  requestHeaders: Record<string, string>,
): Outcome {
  const headers: Record<string, string> = {};
  const outcome: Outcome = { headers, status: 200, ended: false, preflightAnswered: undefined };
  const res = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = String(value);
    },
    getHeader(name: string) {
      return headers[name.toLowerCase()];
    },
    set statusCode(code: number) {
      outcome.status = code;
    },
    end() {
      outcome.ended = true;
    },
  } as unknown as ServerResponse;
  const req = { method, headers: requestHeaders } as unknown as IncomingMessage;
  applyCors(options, req, res, (answered) => {
    outcome.preflightAnswered = answered;
  });
  return outcome;
}

const ORIGIN = "http://dash.local";
const PREFLIGHT = {
  origin: ORIGIN,
  "access-control-request-method": "POST",
  "access-control-request-headers": "content-type",
};

describe("http/cors", () => {
  it("sets nothing without options", () => {
    const out = run(undefined, "GET", { origin: ORIGIN });
    assert.deepEqual(out.headers, {});
    assert.equal(out.preflightAnswered, false);
  });

  it("origin '*' (the cors package's default) on a simple request, exposing the WHEP headers", () => {
    const out = run({}, "POST", { origin: ORIGIN });
    assert.equal(out.headers["access-control-allow-origin"], "*");
    assert.equal(out.headers["access-control-expose-headers"], "Location,ETag,Link,Accept-Patch,Accept-Post");
    assert.equal(out.headers.vary, undefined);
    assert.equal(out.preflightAnswered, false);
    assert.equal(out.ended, false);
  });

  it("answers a preflight with 204, the methods and the requested headers", () => {
    const out = run({ origin: "*", methods: ["GET", "POST"], maxAge: 600 }, "OPTIONS", PREFLIGHT);
    assert.equal(out.status, 204);
    assert.equal(out.ended, true);
    assert.equal(out.preflightAnswered, true);
    assert.equal(out.headers["access-control-allow-methods"], "GET,POST");
    assert.equal(out.headers["access-control-allow-headers"], "content-type");
    assert.equal(out.headers["access-control-max-age"], "600");
    assert.equal(out.headers.vary, "Access-Control-Request-Headers");
  });

  it("configured allowed headers replace the requested ones", () => {
    const out = run({ allowedHeaders: ["Content-Type", "Authorization"] }, "OPTIONS", PREFLIGHT);
    assert.equal(out.headers["access-control-allow-headers"], "Content-Type,Authorization");
  });

  it("origin true reflects the request's origin; credentials are allowed when asked", () => {
    const out = run({ origin: true, credentials: true }, "GET", { origin: ORIGIN });
    assert.equal(out.headers["access-control-allow-origin"], ORIGIN);
    assert.equal(out.headers["access-control-allow-credentials"], "true");
    assert.equal(out.headers.vary, "Origin");
  });

  it("a RegExp or a list allows only matching origins", () => {
    assert.equal(
      run({ origin: /\.local$/ }, "GET", { origin: ORIGIN }).headers["access-control-allow-origin"],
      ORIGIN,
    );
    assert.equal(
      run({ origin: /\.example$/ }, "GET", { origin: ORIGIN }).headers["access-control-allow-origin"],
      undefined,
    );
    assert.equal(
      run({ origin: ["http://a.test", ORIGIN] }, "GET", { origin: ORIGIN }).headers[
        "access-control-allow-origin"
      ],
      ORIGIN,
    );
    assert.equal(
      run({ origin: false }, "GET", { origin: ORIGIN }).headers["access-control-allow-origin"],
      undefined,
    );
  });

  it("a fixed string origin is sent as it is", () => {
    const out = run({ origin: "http://only.test" }, "GET", { origin: ORIGIN });
    assert.equal(out.headers["access-control-allow-origin"], "http://only.test");
  });

  it("an origin function decides through its callback", () => {
    const allow: CorsOptions = { origin: (origin, cb) => cb(null, origin === ORIGIN) };
    assert.equal(run(allow, "GET", { origin: ORIGIN }).headers["access-control-allow-origin"], ORIGIN);
    assert.equal(
      run(allow, "GET", { origin: "http://x.test" }).headers["access-control-allow-origin"],
      undefined,
    );
    const failing: CorsOptions = { origin: (_origin, cb) => cb(new Error("no")) };
    assert.equal(run(failing, "GET", { origin: ORIGIN }).headers["access-control-allow-origin"], undefined);
  });

  it("corsOptionsFrom: an options object, true for defaults, else nothing", () => {
    assert.deepEqual(corsOptionsFrom({ origin: "*" }), { origin: "*" });
    assert.deepEqual(corsOptionsFrom(true), {});
    assert.equal(corsOptionsFrom(undefined), undefined);
    assert.equal(corsOptionsFrom(false), undefined);
    assert.equal(corsOptionsFrom("*"), undefined);
  });
});
