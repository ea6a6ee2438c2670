import assert from "node:assert/strict";
import { RtspError } from "../../../src/rtsp/errors";
import { RtspHeaders } from "../../../src/rtsp/headers";
import { encodeRequest, encodeResponse, reasonPhrase } from "../../../src/rtsp/message";

function isProtocolError(err: unknown): boolean {
  return err instanceof RtspError && err.code === "protocol";
}

describe("rtsp/message", () => {
  describe("encodeRequest", () => {
    it("writes a request without body byte for byte", () => {
      const headers = new RtspHeaders([
        ["CSeq", "2"],
        ["User-Agent", "node-red-rtsp-webrtc"],
        ["Accept", "application/sdp"],
      ]);
      const bytes = encodeRequest({ method: "DESCRIBE", url: "rtsp://cam:554/s", headers });
      assert.equal(
        bytes.toString("latin1"),
        "DESCRIBE rtsp://cam:554/s RTSP/1.0\r\nCSeq: 2\r\nUser-Agent: node-red-rtsp-webrtc\r\nAccept: application/sdp\r\n\r\n",
      );
    });

    it("adds Content-Length after the headers for a body", () => {
      const body = Buffer.from("packets_received\r\n");
      const headers = new RtspHeaders([
        ["CSeq", "9"],
        ["Content-Type", "text/parameters"],
      ]);
      const bytes = encodeRequest({ method: "GET_PARAMETER", url: "rtsp://cam:554/s/", headers, body });
      assert.deepEqual(
        bytes,
        Buffer.concat([
          Buffer.from(
            "GET_PARAMETER rtsp://cam:554/s/ RTSP/1.0\r\nCSeq: 9\r\nContent-Type: text/parameters\r\n" +
              "Content-Length: 18\r\n\r\n",
          ),
          body,
        ]),
      );
    });

    it("replaces a caller's Content-Length with the real one, and omits it for an empty body", () => {
      const headers = new RtspHeaders([
        ["content-length", "999"],
        ["CSeq", "1"],
      ]);
      assert.equal(
        encodeRequest({ method: "OPTIONS", url: "*", headers, body: Buffer.alloc(0) }).toString(),
        "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n",
      );
      assert.equal(
        encodeRequest({ method: "SET_PARAMETER", url: "*", headers, body: Buffer.from("a: b") }).toString(),
        "SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 4\r\n\r\na: b",
      );
    });

    it("writes header values as UTF-8", () => {
      const headers = new RtspHeaders([["User-Agent", "caméra"]]);
      const bytes = encodeRequest({ method: "OPTIONS", url: "*", headers });
      assert.deepEqual(
        bytes.subarray(-11),
        Buffer.from([0x63, 0x61, 0x6d, 0xc3, 0xa9, 0x72, 0x61, 0x0d, 0x0a, 0x0d, 0x0a]),
      );
    });

    it("refuses line breaks that would inject headers", () => {
      const ok = new RtspHeaders([["CSeq", "1"]]);
      assert.throws(
        () => encodeRequest({ method: "OPTIONS", url: "rtsp://h/\r\nX: 1", headers: ok }),
        isProtocolError,
      );
      assert.throws(() => encodeRequest({ method: "OPT\nIONS", url: "*", headers: ok }), isProtocolError);
      const bad = new RtspHeaders([["User-Agent", "a\r\nSession: 1"]]);
      assert.throws(() => encodeRequest({ method: "OPTIONS", url: "*", headers: bad }), isProtocolError);
    });
  });

  describe("encodeResponse", () => {
    it("writes CSeq first, then the headers and the body", () => {
      const body = Buffer.from("v=0\r\n");
      const headers = new RtspHeaders([["Content-Type", "application/sdp"]]);
      const bytes = encodeResponse({ statusCode: 200, statusText: "OK", headers, body, cseq: "2" });
      assert.equal(
        bytes.toString(),
        "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n",
      );
    });

    it("does not repeat a CSeq the headers already hold", () => {
      const headers = new RtspHeaders([["CSeq", "7"]]);
      const bytes = encodeResponse({
        statusCode: 454,
        statusText: "Session Not Found",
        headers,
        body: Buffer.alloc(0),
        cseq: "7",
      });
      assert.equal(bytes.toString(), "RTSP/1.0 454 Session Not Found\r\nCSeq: 7\r\n\r\n");
    });

    it("writes the reason phrase a server answers with", () => {
      const bytes = encodeResponse({
        statusCode: 461,
        statusText: reasonPhrase(461),
        headers: new RtspHeaders([["Server", "cam"]]),
        body: Buffer.alloc(0),
        cseq: "3",
      });
      assert.equal(bytes.toString(), "RTSP/1.0 461 Unsupported Transport\r\nCSeq: 3\r\nServer: cam\r\n\r\n");
      assert.equal(reasonPhrase(505), "RTSP Version not supported");
      assert.equal(reasonPhrase(599), "Unknown");
    });
  });
});
