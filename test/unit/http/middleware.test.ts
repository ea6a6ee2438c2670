import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { middlewareFrom, runMiddleware } from "../../../src/http/middleware";
import type { RequestHandler } from "../../../src/http/router";

const req = {} as IncomingMessage;
const res = {} as ServerResponse;

function run(handlers: RequestHandler[]): { outcome: string; order: string[] } {
  const order: string[] = [];
  let outcome = "pending";
  runMiddleware(
    handlers.map((handler, i) => (rq, rs, next) => {
      order.push(String(i));
      handler(rq, rs, next);
    }),
    req,
    res,
    () => {
      outcome = "done";
    },
    (err) => {
      outcome = `failed: ${err instanceof Error ? err.message : String(err)}`;
    },
  );
  return { outcome, order };
}

describe("http/middleware", () => {
  it("middlewareFrom: a function, an array of functions, or nothing", () => {
    const a: RequestHandler = (_q, _s, next) => next();
    assert.deepEqual(middlewareFrom(a), [a]);
    assert.deepEqual(middlewareFrom([a, "junk", a]), [a, a]);
    assert.deepEqual(middlewareFrom(undefined), []);
    assert.deepEqual(middlewareFrom({}), []);
  });

  it("runs the handlers in order, then done", () => {
    const pass: RequestHandler = (_q, _s, next) => next();
    assert.deepEqual(run([pass, pass, pass]), { outcome: "done", order: ["0", "1", "2"] });
    assert.deepEqual(run([]), { outcome: "done", order: [] });
  });

  it("stops where a handler answers by itself", () => {
    const answer: RequestHandler = () => {};
    const pass: RequestHandler = (_q, _s, next) => next();
    assert.deepEqual(run([pass, answer, pass]), { outcome: "pending", order: ["0", "1"] });
  });

  it("next(err) and a throw end in failed; next('route') goes on", () => {
    const fail: RequestHandler = (_q, _s, next) => next(new Error("denied"));
    const boom: RequestHandler = () => {
      throw new Error("boom");
    };
    const route: RequestHandler = (_q, _s, next) => next("route");
    assert.equal(run([fail]).outcome, "failed: denied");
    assert.equal(run([boom]).outcome, "failed: boom");
    assert.equal(run([route]).outcome, "done");
  });

  it("a handler calling next twice moves the chain on once", () => {
    let calls = 0;
    const twice: RequestHandler = (_q, _s, next) => {
      next();
      next();
    };
    const count: RequestHandler = (_q, _s, next) => {
      calls += 1;
      next();
    };
    assert.equal(run([twice, count]).outcome, "done");
    assert.equal(calls, 1);
  });
});
