import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { PassThrough, Readable } from "node:stream";
import {
  BODY_LIMIT_BYTES,
  BODY_TIMEOUT_MS,
  mediaType,
  readBody,
  readTextBody,
  requireMediaType,
} from "../../../src/http/body";
import { HttpError } from "../../../src/http/http-error";

/** A request stream that delivers `chunks` with the given headers. */
function fakeRequest(chunks: (Buffer | string)[], headers: Record<string, string> = {}): IncomingMessage {
  const stream = Readable.from(chunks, { objectMode: false }) as unknown as IncomingMessage;
  stream.headers = headers;
  return stream;
}

async function ended(req: IncomingMessage): Promise<IncomingMessage> {
  req.resume();
  await new Promise((resolve) => req.on("end", resolve));
  return req;
}

async function rejectsWith(promise: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof HttpError);
    assert.equal(err.httpStatus, status);
    assert.match(err.message, message);
    return true;
  });
}

describe("http/body", () => {
  it("mediaType: lower-cased, parameters dropped, '' when absent", () => {
    assert.equal(
      mediaType(fakeRequest([], { "content-type": "Application/SDP; charset=utf-8" })),
      "application/sdp",
    );
    assert.equal(mediaType(fakeRequest([])), "");
  });

  it("requireMediaType: 415 naming the expected and the actual type", () => {
    assert.doesNotThrow(() =>
      requireMediaType(fakeRequest([], { "content-type": "application/sdp" }), "application/sdp"),
    );
    assert.throws(
      () => requireMediaType(fakeRequest([], { "content-type": "text/plain" }), "application/sdp"),
      (err: unknown) =>
        err instanceof HttpError &&
        err.httpStatus === 415 &&
        err.detail === "expected Content-Type: application/sdp, got text/plain",
    );
    assert.throws(
      () => requireMediaType(fakeRequest([]), "application/json"),
      (err: unknown) => err instanceof HttpError && /got none$/.test(err.detail),
    );
  });

  it("reads a body in pieces, exactly", async () => {
    const body = await readBody(
      fakeRequest([Buffer.from("v=0\r\n"), "o=- 1 1", Buffer.from(" IN IP4 127.0.0.1\r\n")]),
    );
    assert.equal(body.toString(), "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n");
  });

  it("the limit is 64 KiB: exactly the limit passes, one byte more is a 413", async () => {
    assert.equal(BODY_LIMIT_BYTES, 65536);
    const full = await readBody(fakeRequest([Buffer.alloc(40_000), Buffer.alloc(25_536)]));
    assert.equal(full.length, 65536);
    await rejectsWith(
      readBody(fakeRequest([Buffer.alloc(40_000), Buffer.alloc(25_537)])),
      413,
      /body too large/,
    );
  });

  it("a declared Content-Length over the limit is refused before reading", async () => {
    const req = fakeRequest([Buffer.alloc(10)], { "content-length": "70000" });
    await rejectsWith(readBody(req), 413, /body too large/);
  });

  it("a custom limit applies", async () => {
    await rejectsWith(readBody(fakeRequest(["12345"]), 4), 413, /body too large/);
    assert.equal((await readBody(fakeRequest(["1234"]), 4)).toString(), "1234");
  });

  it("takes a body a middleware already parsed: Buffer, string or JSON object", async () => {
    const asBuffer = await ended(fakeRequest(["ignored"]));
    (asBuffer as IncomingMessage & { body?: unknown }).body = Buffer.from("raw");
    assert.equal((await readBody(asBuffer)).toString(), "raw");

    const asString = await ended(fakeRequest(["ignored"]));
    (asString as IncomingMessage & { body?: unknown }).body = "v=0";
    assert.equal((await readBody(asString)).toString(), "v=0");

    const asObject = await ended(fakeRequest(["ignored"]));
    (asObject as IncomingMessage & { body?: unknown }).body = { type: "offer", sdp: "v=0" };
    assert.deepEqual(JSON.parse((await readBody(asObject)).toString()), { type: "offer", sdp: "v=0" });

    const tooBig = await ended(fakeRequest(["ignored"]));
    (tooBig as IncomingMessage & { body?: unknown }).body = "x".repeat(70_000);
    await rejectsWith(readBody(tooBig), 413, /body too large/);
  });

  it("readTextBody: 400 for bytes that are not UTF-8 text", async () => {
    assert.equal(await readTextBody(fakeRequest([Buffer.from("a=ice-ufrag:é", "utf8")])), "a=ice-ufrag:é");
    await rejectsWith(readTextBody(fakeRequest([Buffer.from([0x76, 0x3d, 0xff, 0xfe])])), 400, /bad body/);
    await rejectsWith(readTextBody(fakeRequest([Buffer.from("v=0\0")])), 400, /bad body/);
  });

  it("a stream error is a 400", async () => {
    const req = new Readable({
      read() {
        this.destroy(new Error("aborted"));
      },
    }) as unknown as IncomingMessage;
    req.headers = {};
    await rejectsWith(readBody(req), 400, /request aborted/);
  });

  it("readBody: a body that stops arriving is a 408 after the timeout, and the request is dropped", async () => {
    const stream = new PassThrough() as unknown as IncomingMessage & PassThrough;
    stream.headers = { "content-length": "100" };
    stream.write("v=0\r\n");
    await rejectsWith(readBody(stream, BODY_LIMIT_BYTES, 50), 408, /request timeout/);
    await assert.rejects(readBody(stream, BODY_LIMIT_BYTES, 50), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.headers.Connection, "close");
      assert.match(err.detail, /0\.05 s/);
      return true;
    });
  });

  it("BODY_TIMEOUT_MS: 10 s for a whole body, not Node's 300 s", () => {
    assert.equal(BODY_TIMEOUT_MS, 10_000);
  });
});
