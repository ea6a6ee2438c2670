import assert from "node:assert/strict";
import { type ClientInput, MAX_HEADER_BYTES, RtspRequestReader } from "../../../src/demo/rtsp-request-reader";

const text = (value: string): Buffer => Buffer.from(value, "latin1");

function requestOf(input: ClientInput | undefined) {
  assert.equal(input?.kind, "request");
  return input.request;
}

describe("RtspRequestReader", () => {
  it("reads a request with lower-cased headers and an empty body", () => {
    const reader = new RtspRequestReader();
    const inputs = reader.push(
      text("OPTIONS rtsp://127.0.0.1:8554/demo RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf59.27.100\r\n\r\n"),
    );
    assert.equal(inputs.length, 1);
    const request = requestOf(inputs[0]);
    assert.equal(request.method, "OPTIONS");
    assert.equal(request.uri, "rtsp://127.0.0.1:8554/demo");
    assert.equal(request.cseq, "1");
    assert.deepEqual(
      [...request.headers],
      [
        ["cseq", "1"],
        ["user-agent", "Lavf59.27.100"],
      ],
    );
    assert.equal(request.body.length, 0);
  });

  it("reassembles requests split anywhere, reads bodies, and several requests from one chunk", () => {
    const wire = text(
      "GET_PARAMETER rtsp://h/demo RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 5\r\n\r\nhello" +
        "TEARDOWN rtsp://h/demo RTSP/1.0\nCSeq: 8\nSession: ABC\n\n",
    );
    for (let cut = 1; cut < wire.length; cut++) {
      const reader = new RtspRequestReader();
      const inputs = [...reader.push(wire.subarray(0, cut)), ...reader.push(wire.subarray(cut))];
      assert.equal(inputs.length, 2, `cut at ${cut}`);
      const first = requestOf(inputs[0]);
      assert.equal(first.body.toString(), "hello");
      const second = requestOf(inputs[1]);
      assert.equal(second.method, "TEARDOWN");
      assert.equal(second.headers.get("session"), "ABC");
    }
  });

  it("cuts interleaved frames out between requests, even split across chunks", () => {
    const reader = new RtspRequestReader();
    const rtcp = Buffer.concat([Buffer.from([0x24, 1, 0, 8]), Buffer.alloc(8, 0x81)]);
    const request = text("GET_PARAMETER * RTSP/1.0\r\nCSeq: 3\r\n\r\n");
    const wire = Buffer.concat([rtcp, request, rtcp]);
    const inputs = [...reader.push(wire.subarray(0, 6)), ...reader.push(wire.subarray(6))];
    assert.deepEqual(
      inputs.map((input) => input.kind),
      ["interleaved", "request", "interleaved"],
    );
    assert.deepEqual(inputs[0], { kind: "interleaved", channel: 1, data: Buffer.alloc(8, 0x81) });
    assert.deepEqual(inputs[2], inputs[0]);
  });

  it("joins repeated headers and folded lines", () => {
    const reader = new RtspRequestReader();
    const [input] = reader.push(
      text(
        "SETUP rtsp://h/demo/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nX-A: 1\r\nX-A: 2\r\nTransport: RTP/AVP;\r\n unicast\r\n\r\n",
      ),
    );
    const request = requestOf(input);
    assert.equal(request.headers.get("x-a"), "1, 2");
    assert.equal(request.headers.get("transport"), "RTP/AVP; unicast");
  });

  it("answers a request without CSeq or with another version, and reads on", () => {
    const reader = new RtspRequestReader();
    const inputs = reader.push(
      text(
        "OPTIONS * RTSP/1.0\r\n\r\nOPTIONS * RTSP/2.0\r\nCSeq: 4\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 5\r\n\r\n",
      ),
    );
    assert.deepEqual(inputs.slice(0, 2), [
      { kind: "invalid", status: 400, reason: "missing or bad CSeq" },
      { kind: "invalid", status: 505, reason: "unsupported version RTSP/2.0", cseq: "4" },
    ]);
    assert.equal(requestOf(inputs[2]).cseq, "5");
  });

  it("gives up on garbage, a bad Content-Length, an oversized body or header", () => {
    const cases: ReadonlyArray<readonly [Buffer, number]> = [
      [text("\x16\x03\x01 hello\r\n\r\n"), 400],
      [text("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 400],
      [text("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nbroken header line\r\n\r\n"), 400],
      [text("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -3\r\n\r\n"), 400],
      [text("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 70000\r\n\r\n"), 413],
      [text(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ${"a".repeat(MAX_HEADER_BYTES)}`), 400],
    ];
    for (const [wire, status] of cases) {
      const reader = new RtspRequestReader();
      const inputs = reader.push(wire);
      assert.equal(inputs.length, 1, wire.toString("latin1").slice(0, 30));
      assert.equal(inputs[0]!.kind, "error");
      assert.equal(inputs[0]!.kind === "error" && inputs[0]!.status, status);
      assert.deepEqual(reader.push(text("OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n")), []);
    }
  });
});
