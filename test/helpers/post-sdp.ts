import type { Server } from "node:http";
import request from "supertest";

/** supertest parses no application/sdp: the answer's body is collected as text. */
function readText(response: request.Response, done: (err: Error | null, body: string) => void): void {
  let text = "";
  response.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  response.on("end", () => done(null, text));
}

/** A WHEP POST of `sdp` to `path` on `server` (or a base URL); more headers may be set on what it returns. */
export function postSdp(server: Server | string, path: string, sdp: string): request.Test {
  return request(server)
    .post(path)
    .set("Content-Type", "application/sdp")
    .send(sdp)
    .buffer(true)
    .parse(readText);
}
