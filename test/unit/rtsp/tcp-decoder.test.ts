import assert from "node:assert/strict";
import { RtspError } from "../../../src/rtsp/errors";
import { TcpDecoder, type TcpItem } from "../../../src/rtsp/tcp-decoder";

/** An RFC 2326 §10.12 interleaved frame. */
function frame(channel: number, data: Buffer): Buffer {
  const head = Buffer.from([0x24, channel, 0, 0]);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** Distinct, recognisable payload bytes (which include "$" and letters, as real RTP does). */
function payload(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

/** Items as plain data, so deepEqual compares exactly what a caller sees. */
function plain(item: TcpItem): unknown {
  switch (item.type) {
    case "interleaved":
      return { type: "interleaved", channel: item.channel, data: item.data.toString("hex") };
    case "response": {
      const r = item.response;
      return {
        type: "response",
        statusCode: r.statusCode,
        statusText: r.statusText,
        headers: [...r.headers.entries()],
        body: r.body.toString("latin1"),
      };
    }
    case "request": {
      const r = item.request;
      return {
        type: "request",
        method: r.method,
        url: r.url,
        headers: [...r.headers.entries()],
        body: r.body?.toString("latin1"),
      };
    }
  }
}

function decodeChunks(chunks: Buffer[], decoder = new TcpDecoder()): unknown[] {
  return chunks.flatMap((c) => decoder.push(c)).map(plain);
}

function byteByByte(stream: Buffer): Buffer[] {
  return Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
}

function isError(code: string, message?: string): (err: unknown) => boolean {
  return (err) =>
    err instanceof RtspError && err.code === code && (message === undefined || err.message === message);
}

const OPTIONS_REPLY =
  "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY\r\n\r\n";
const SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
const DESCRIBE_REPLY =
  "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://cam:554/s/\r\nContent-Type: application/sdp\r\n" +
  `Content-Length: ${SDP.length}\r\n\r\n${SDP}`;

const OPTIONS_ITEM = {
  type: "response",
  statusCode: 200,
  statusText: "OK",
  headers: [
    ["CSeq", "1"],
    ["Public", "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY"],
  ],
  body: "",
};
const DESCRIBE_ITEM = {
  type: "response",
  statusCode: 200,
  statusText: "OK",
  headers: [
    ["CSeq", "2"],
    ["Content-Base", "rtsp://cam:554/s/"],
    ["Content-Type", "application/sdp"],
    ["Content-Length", String(SDP.length)],
  ],
  body: SDP,
};

describe("rtsp/tcp-decoder", () => {
  describe("messages", () => {
    it("decodes a reply without body", () => {
      assert.deepEqual(decodeChunks([Buffer.from(OPTIONS_REPLY)]), [OPTIONS_ITEM]);
    });

    it("decodes a reply with a body", () => {
      assert.deepEqual(decodeChunks([Buffer.from(DESCRIBE_REPLY)]), [DESCRIBE_ITEM]);
    });

    it("decodes an error reply with a reason of several words", () => {
      const reply =
        'RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm="IP Camera(1)", nonce="ab"\r\n\r\n';
      assert.deepEqual(decodeChunks([Buffer.from(reply)]), [
        {
          type: "response",
          statusCode: 401,
          statusText: "Unauthorized",
          headers: [
            ["CSeq", "3"],
            ["WWW-Authenticate", 'Digest realm="IP Camera(1)", nonce="ab"'],
          ],
          body: "",
        },
      ]);
    });

    it("decodes requests the server sends", () => {
      const stream =
        "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nANNOUNCE rtsp://cam/s RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 4\r\n\r\nabcd";
      assert.deepEqual(decodeChunks([Buffer.from(stream)]), [
        { type: "request", method: "OPTIONS", url: "*", headers: [["CSeq", "1"]], body: "" },
        {
          type: "request",
          method: "ANNOUNCE",
          url: "rtsp://cam/s",
          headers: [
            ["CSeq", "2"],
            ["Content-Length", "4"],
          ],
          body: "abcd",
        },
      ]);
    });

    it("reads bare LF line ends, folded headers and a missing reason", () => {
      const reply = "RTSP/1.0 200\nCSeq: 5\nX-Long: a\n  b\nno colon here\nSession:12;timeout=60  \n\n";
      assert.deepEqual(decodeChunks([Buffer.from(reply)]), [
        {
          type: "response",
          statusCode: 200,
          statusText: "",
          headers: [
            ["CSeq", "5"],
            ["X-Long", "a b"],
            ["Session", "12;timeout=60"],
          ],
          body: "",
        },
      ]);
    });

    it("keeps UTF-8 header values", () => {
      const reply = Buffer.from(
        'RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm="摄像机"\r\n\r\n',
        "utf8",
      );
      const [item] = decodeChunks([reply]) as Array<{ headers: string[][] }>;
      assert.equal(item!.headers[0]![1], 'Digest realm="摄像机"');
    });

    it("skips blank lines between messages without counting them as garbage", () => {
      const decoder = new TcpDecoder();
      const items = decodeChunks([Buffer.from(`\r\n${OPTIONS_REPLY}\r\n\r\n${OPTIONS_REPLY}`)], decoder);
      assert.deepEqual(items, [OPTIONS_ITEM, OPTIONS_ITEM]);
      assert.equal(decoder.garbageBytes, 0);
    });

    it("gives each body its own exact buffer", () => {
      const [item] = new TcpDecoder().push(Buffer.from(DESCRIBE_REPLY + OPTIONS_REPLY));
      assert.equal(item?.type, "response");
      const body = item.type === "response" ? item.response.body : Buffer.alloc(1);
      assert.equal(body.byteOffset, 0);
      assert.equal(body.buffer.byteLength, SDP.length);
    });
  });

  describe("interleaved frames", () => {
    const rtp = payload(300, 1);
    const rtcp = payload(28, 2);
    const stream = Buffer.concat([
      frame(0, rtp),
      Buffer.from(DESCRIBE_REPLY),
      frame(1, rtcp),
      frame(0, Buffer.alloc(0)),
      frame(2, payload(5, 3)),
    ]);
    const expected = [
      { type: "interleaved", channel: 0, data: rtp.toString("hex") },
      DESCRIBE_ITEM,
      { type: "interleaved", channel: 1, data: rtcp.toString("hex") },
      { type: "interleaved", channel: 0, data: "" },
      { type: "interleaved", channel: 2, data: payload(5, 3).toString("hex") },
    ];

    it("decodes frames and a reply between them in one read", () => {
      assert.deepEqual(decodeChunks([stream]), expected);
    });

    it("decodes the same whatever byte the read is split at", () => {
      for (let at = 0; at <= stream.length; at++) {
        const items = decodeChunks([stream.subarray(0, at), stream.subarray(at)]);
        assert.deepEqual(items, expected, `split at ${at}`);
      }
    });

    it("decodes the same with every pair of split points in the frame and reply heads", () => {
      const edges = [0, 1, 2, 3, 4, 5, 303, 304, 305, 306, 310, 320, 400, 420];
      for (const a of edges) {
        for (const b of edges) {
          if (b <= a) continue;
          const items = decodeChunks([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
          assert.deepEqual(items, expected, `split at ${a} and ${b}`);
        }
      }
    });

    it("decodes the same one byte at a time", () => {
      assert.deepEqual(decodeChunks(byteByByte(stream)), expected);
    });

    it("decodes the same from merged reads of several streams", () => {
      const three = Buffer.concat([stream, stream, stream]);
      assert.deepEqual(decodeChunks([three.subarray(0, 700), three.subarray(700)]), [
        ...expected,
        ...expected,
        ...expected,
      ]);
    });

    it("hands out frames that own exactly their bytes", () => {
      const decoder = new TcpDecoder();
      const read = Buffer.concat([frame(0, payload(1200, 4)), frame(0, payload(1300, 5)).subarray(0, 100)]);
      const first = decoder.push(read);
      const second = decoder.push(frame(0, payload(1300, 5)).subarray(100));
      for (const item of [...first, ...second]) {
        assert.equal(item.type, "interleaved");
        if (item.type !== "interleaved") continue;
        assert.equal(item.data.byteOffset, 0);
        assert.equal(item.data.buffer.byteLength, item.data.length);
      }
      assert.deepEqual(
        [...first, ...second].map((i) => (i.type === "interleaved" ? i.data.length : -1)),
        [1200, 1300],
      );
      read.fill(0);
      assert.deepEqual(first[0]?.type === "interleaved" && first[0].data, payload(1200, 4));
    });

    it("accepts any channel, even one no SETUP asked for", () => {
      assert.deepEqual(decodeChunks([frame(255, Buffer.from("zz")), frame(200, Buffer.from("y"))]), [
        { type: "interleaved", channel: 255, data: "7a7a" },
        { type: "interleaved", channel: 200, data: "79" },
      ]);
    });

    it("decodes a 65535-byte frame arriving in small reads", () => {
      const big = frame(0, payload(65535, 6));
      const chunks = [];
      for (let i = 0; i < big.length; i += 1000) chunks.push(big.subarray(i, i + 1000));
      assert.deepEqual(decodeChunks(chunks), [
        { type: "interleaved", channel: 0, data: payload(65535, 6).toString("hex") },
      ]);
    });
  });

  describe("resynchronisation", () => {
    it("skips garbage between frames and counts it", () => {
      const garbage = Buffer.from([0x00, 0x01, 0x7f, 0x61, 0x62, 0xff, 0x10]);
      const decoder = new TcpDecoder();
      const items = decodeChunks(
        [Buffer.concat([frame(0, Buffer.from("a")), garbage, frame(1, Buffer.from("b"))])],
        decoder,
      );
      assert.deepEqual(items, [
        { type: "interleaved", channel: 0, data: "61" },
        { type: "interleaved", channel: 1, data: "62" },
      ]);
      assert.equal(decoder.garbageBytes, garbage.length);
      decoder.reset();
      assert.equal(decoder.garbageBytes, 0);
    });

    it('takes a "$" in garbage for a frame, as the spec\'s framing demands', () => {
      const decoder = new TcpDecoder();
      const stream = Buffer.concat([
        Buffer.from([0x01, 0x24, 0x07, 0x00, 0x02, 0xaa, 0xbb]),
        Buffer.from(OPTIONS_REPLY),
      ]);
      assert.deepEqual(decodeChunks([stream], decoder), [
        { type: "interleaved", channel: 7, data: "aabb" },
        OPTIONS_ITEM,
      ]);
      assert.equal(decoder.garbageBytes, 1);
    });

    it("skips capital letters that start no request line", () => {
      const garbage = "\x00GARBAGE\x00OPTIONS\x00PLAY rtsp\x01 SETUP rtsp://h/ RTSP/2.0\r\nX";
      const decoder = new TcpDecoder();
      const stream = Buffer.concat([Buffer.from(garbage, "latin1"), Buffer.from(OPTIONS_REPLY)]);
      assert.deepEqual(decodeChunks([stream], decoder), [OPTIONS_ITEM]);
      assert.equal(decoder.garbageBytes, garbage.length); // CR LF count too unless they sit where an item starts
    });

    it("finds a reply after garbage, split at every byte", () => {
      const stream = Buffer.concat([
        Buffer.from("\x00\x07junk\xfe", "latin1"),
        Buffer.from(OPTIONS_REPLY),
        frame(0, Buffer.from("x")),
      ]);
      for (let at = 0; at <= stream.length; at++) {
        const decoder = new TcpDecoder();
        const items = decodeChunks([stream.subarray(0, at), stream.subarray(at)], decoder);
        assert.deepEqual(
          items,
          [OPTIONS_ITEM, { type: "interleaved", channel: 0, data: "78" }],
          `split at ${at}`,
        );
        assert.equal(decoder.garbageBytes, 7, `split at ${at}`);
      }
    });

    it("stays linear on long garbage made of candidate bytes", () => {
      const decoder = new TcpDecoder();
      const garbage = Buffer.alloc(1 << 20, "A");
      const items: TcpItem[] = [];
      for (let i = 0; i < garbage.length; i += 1400)
        items.push(...decoder.push(garbage.subarray(i, i + 1400)));
      items.push(...decoder.push(Buffer.from(" \x00")));
      items.push(...decoder.push(frame(0, Buffer.from("ok"))));
      assert.deepEqual(items.map(plain), [{ type: "interleaved", channel: 0, data: "6f6b" }]);
      assert.equal(decoder.garbageBytes, garbage.length + 2);
    });
  });

  describe("errors", () => {
    it("refuses a reply header over 64 KiB and stays failed until reset", () => {
      const decoder = new TcpDecoder();
      const huge = Buffer.from(`RTSP/1.0 200 OK\r\nX-Pad: ${"a".repeat(70000)}\r\n\r\n`);
      assert.throws(() => decoder.push(huge), isError("too-large", "RTSP reply header over 64 KiB"));
      assert.throws(() => decoder.push(Buffer.from(OPTIONS_REPLY)), isError("too-large"));
      decoder.reset();
      assert.deepEqual(decodeChunks([Buffer.from(OPTIONS_REPLY)], decoder), [OPTIONS_ITEM]);
    });

    it("refuses an unterminated header as soon as it passes the limit", () => {
      const decoder = new TcpDecoder({ maxHeaderBytes: 100 });
      const head = Buffer.from(`RTSP/1.0 200 OK\r\nX-Pad: ${"a".repeat(200)}`);
      assert.deepEqual(decoder.push(head.subarray(0, 100)), []);
      assert.throws(
        () => decoder.push(head.subarray(100, 101)),
        isError("too-large", "RTSP reply header over 100 bytes"),
      );
    });

    it("accepts a header block of exactly the limit", () => {
      const decoder = new TcpDecoder({ maxHeaderBytes: OPTIONS_REPLY.length });
      assert.deepEqual(decodeChunks(byteByByte(Buffer.from(OPTIONS_REPLY)), decoder), [OPTIONS_ITEM]);
      const over = new TcpDecoder({ maxHeaderBytes: OPTIONS_REPLY.length - 1 });
      assert.throws(() => over.push(Buffer.from(OPTIONS_REPLY)), isError("too-large"));
    });

    it("refuses a request header over the limit too", () => {
      const decoder = new TcpDecoder({ maxHeaderBytes: 1024 });
      const request = Buffer.from(`ANNOUNCE rtsp://h/${"p".repeat(2000)} RTSP/1.0\r\n\r\n`);
      assert.throws(() => decoder.push(request), isError("too-large", "RTSP request header over 1 KiB"));
      const unterminated = new TcpDecoder({ maxHeaderBytes: 1024 });
      assert.deepEqual(unterminated.push(request.subarray(0, 1024)), []);
      assert.throws(
        () => unterminated.push(request.subarray(1024, 1100)),
        isError("too-large", "RTSP request line over 1 KiB"),
      );
    });

    it("refuses bogus Content-Length values", () => {
      for (const value of ["abc", "-5", "12x", ""]) {
        const reply = Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: ${value}\r\n\r\n`);
        assert.throws(
          () => new TcpDecoder().push(reply),
          isError("protocol", `bad Content-Length "${value}"`),
          value,
        );
      }
    });

    it("refuses a body over the limit before reading it", () => {
      const reply = Buffer.from("RTSP/1.0 200 OK\r\nContent-Length: 2097152\r\n\r\n");
      assert.throws(
        () => new TcpDecoder().push(reply),
        isError("too-large", "RTSP body of 2097152 bytes is over the 1 MiB limit"),
      );
      assert.throws(
        () => new TcpDecoder({ maxBodyBytes: 10 }).push(Buffer.from(DESCRIBE_REPLY)),
        isError("too-large"),
      );
    });

    it("refuses a bad status line", () => {
      assert.throws(
        () => new TcpDecoder().push(Buffer.from("RTSP/1.0 OK\r\n\r\n")),
        isError("protocol", 'bad RTSP status line "RTSP/1.0 OK"'),
      );
    });

    it("recognises an HTTP server", () => {
      const reply = Buffer.from("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n");
      const message = "not an RTSP server (got HTTP/1.1 400 Bad Request)";
      assert.throws(() => new TcpDecoder().push(reply), isError("protocol", message));
      const decoder = new TcpDecoder();
      assert.throws(
        () => {
          for (const b of byteByByte(reply)) decoder.push(b);
        },
        isError("protocol", message),
      );
    });

    it("quotes at most 200 bytes of a foreign first line", () => {
      const line = `HTTP/1.0 200 ${"x".repeat(300)}`;
      assert.throws(
        () => new TcpDecoder().push(Buffer.from(line)),
        isError("protocol", `not an RTSP server (got ${line.slice(0, 200)})`),
      );
    });
  });

  describe("server role", () => {
    const server = () =>
      new TcpDecoder({ role: "server", maxHeaderBytes: 16 * 1024, maxBodyBytes: 64 * 1024 });
    const versions = (chunks: Buffer[], decoder = server()) =>
      chunks
        .flatMap((c) => decoder.push(c))
        .map((item) => (item.type === "request" ? item.version : item.type));

    it("decodes a client's requests with their version, headers as sent and body", () => {
      const wire = Buffer.from(
        "OPTIONS rtsp://127.0.0.1:8554/demo RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf59.27.100\r\n\r\n" +
          "GET_PARAMETER rtsp://h/demo RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 5\r\n\r\nhello",
      );
      const expected = [
        {
          type: "request",
          method: "OPTIONS",
          url: "rtsp://127.0.0.1:8554/demo",
          headers: [
            ["CSeq", "1"],
            ["User-Agent", "Lavf59.27.100"],
          ],
          body: "",
        },
        {
          type: "request",
          method: "GET_PARAMETER",
          url: "rtsp://h/demo",
          headers: [
            ["CSeq", "7"],
            ["Content-Length", "5"],
          ],
          body: "hello",
        },
      ];
      assert.deepEqual(decodeChunks([wire], server()), expected);
      assert.deepEqual(decodeChunks(byteByByte(wire), server()), expected);
      assert.deepEqual(versions([wire]), ["RTSP/1.0", "RTSP/1.0"]);
    });

    it("takes a bare path, folded and repeated headers, frames between requests", () => {
      const rtcp = frame(1, Buffer.alloc(8, 0x81));
      const wire = Buffer.concat([
        rtcp,
        Buffer.from(
          "SETUP /demo/trackID=0 RTSP/1.0\nCSeq: 2\nX-A: 1\nX-A: 2\nTransport: RTP/AVP;\n unicast\n\n",
        ),
        rtcp,
      ]);
      const items = [...server().push(wire.subarray(0, 6)), ...server().push(Buffer.alloc(0))];
      assert.equal(items.length, 0);
      const decoder = server();
      const all = [...decoder.push(wire.subarray(0, 6)), ...decoder.push(wire.subarray(6))];
      assert.deepEqual(all.map(plain), [
        { type: "interleaved", channel: 1, data: "81".repeat(8) },
        {
          type: "request",
          method: "SETUP",
          url: "/demo/trackID=0",
          headers: [
            ["CSeq", "2"],
            ["X-A", "1"],
            ["X-A", "2"],
            ["Transport", "RTP/AVP; unicast"],
          ],
          body: "",
        },
        { type: "interleaved", channel: 1, data: "81".repeat(8) },
      ]);
      const request = all[1]!.type === "request" ? all[1]!.request : undefined;
      assert.deepEqual(request?.headers.getAll("x-a"), ["1", "2"]);
    });

    it("reads any token as a method, for the server to answer 501", () => {
      const wire = Buffer.from("__proto__ * RTSP/1.0\r\nCSeq: 3\r\n\r\nx-Long.Method~ * RTSP/1.0\r\n\r\n");
      const methods = server()
        .push(wire)
        .map((item) => (item.type === "request" ? item.request.method : item.type));
      assert.deepEqual(methods, ["__proto__", "x-Long.Method~"]);
    });

    it("reads another RTSP version as a request, for the server to answer 505", () => {
      const wire = Buffer.from("OPTIONS * RTSP/2.0\r\nCSeq: 4\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 5\r\n\r\n");
      assert.deepEqual(versions([wire]), ["RTSP/2.0", "RTSP/1.0"]);
      assert.deepEqual(versions(byteByByte(wire)), ["RTSP/2.0", "RTSP/1.0"]);
    });

    it("refuses what is not a request with the status to answer: 413 for a body over the limit, 400 else", () => {
      const cases: ReadonlyArray<readonly [string, string, number]> = [
        ["\x16\x03\x01 hello\r\n\r\n", "not an RTSP request (got ??? hello)", 400],
        ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an RTSP request (got GET / HTTP/1.1)", 400],
        ["RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", "not an RTSP request (got RTSP/1.0 200 OK)", 400],
        ["OPTIONS * HTTP/1.1\r\nCSeq: 1\r\n\r\n", "not an RTSP request (got OPTIONS * HTTP/1.1)", 400],
        [
          "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nbroken header line\r\n\r\n",
          'bad header line "broken header line"',
          400,
        ],
        ["OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -3\r\n\r\n", 'bad Content-Length "-3"', 400],
        [
          "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 70000\r\n\r\n",
          "RTSP body of 70000 bytes is over the 64 KiB limit",
          413,
        ],
        [
          `OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ${"a".repeat(16 * 1024)}`,
          "RTSP request header over 16 KiB",
          400,
        ],
      ];
      for (const [wire, message, status] of cases) {
        const decoder = server();
        const { items, error } = decoder.pushUntilError(Buffer.from(wire, "latin1"));
        assert.deepEqual(items, [], wire.slice(0, 30));
        assert.equal(error?.message, message);
        assert.equal(error?.statusCode, status, wire.slice(0, 30));
        const again = decoder.pushUntilError(Buffer.from("OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n"));
        assert.deepEqual(again, { items: [], error }, "stays failed");
      }
    });

    it("hands back the requests a read held before the error, with it", () => {
      const decoder = server();
      const { items, error } = decoder.pushUntilError(
        Buffer.from("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
      );
      assert.deepEqual(items.map(plain), [
        { type: "request", method: "OPTIONS", url: "*", headers: [["CSeq", "1"]], body: "" },
      ]);
      assert.equal(error?.statusCode, 400);
      assert.throws(() => decoder.push(Buffer.alloc(0)), isError("protocol"));
    });

    it("leaves the client role as it was: garbage skipped, no status on errors, rtsp URLs only", () => {
      const client = new TcpDecoder();
      assert.deepEqual(client.push(Buffer.from("SETUP /demo RTSP/1.0\r\nCSeq: 2\r\n\r\n")), []);
      assert.ok(client.garbageBytes > 0);
      const { error } = new TcpDecoder().pushUntilError(
        Buffer.from("RTSP/1.0 200 OK\r\nContent-Length: x\r\n\r\n"),
      );
      assert.equal(error?.code, "protocol");
      assert.equal(error?.statusCode, undefined);
    });
  });

  describe("throughput", () => {
    /** Decodes about 10 MB of frames of the given sizes, read 1400 bytes at a time; prints MB/s, asserts only correctness. */
    function profile(label: string, sizes: number[]): void {
      const parts: Buffer[] = [];
      let payloadBytes = 0;
      for (let i = 0; payloadBytes < 10 * 1024 * 1024; i++) {
        const size = sizes[i % sizes.length]!;
        parts.push(frame(i % 4, payload(size, i)));
        payloadBytes += size;
      }
      const stream = Buffer.concat(parts);
      const reads: Buffer[] = [];
      for (let i = 0; i < stream.length; i += 1400) reads.push(stream.subarray(i, i + 1400));

      const decoder = new TcpDecoder();
      let decodedFrames = 0;
      let decodedBytes = 0;
      const started = process.hrtime.bigint();
      for (const read of reads) {
        for (const item of decoder.push(read)) {
          if (item.type !== "interleaved") continue;
          decodedFrames++;
          decodedBytes += item.data.length;
        }
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(
        `      TcpDecoder, ${label}: ${(stream.length / 1e6).toFixed(1)} MB, ${parts.length} frames in ` +
          `${(seconds * 1000).toFixed(0)} ms: ${(stream.length / 1e6 / seconds).toFixed(0)} MB/s`,
      );
      assert.equal(decodedFrames, parts.length);
      assert.equal(decodedBytes, payloadBytes);
      assert.equal(decoder.garbageBytes, 0);
    }

    it("decodes 10 MB of packet-sized frames in 1400-byte reads (prints MB/s)", function () {
      this.timeout(60000);
      profile("RTP-sized frames", [1200, 1388, 600, 1400, 90, 1024]);
    });

    it("decodes 10 MB of whole-NAL frames in 1400-byte reads (prints MB/s)", function () {
      this.timeout(60000);
      profile("40-64 KB frames", [40000, 65535, 52000]);
    });
  });
});
