import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { hostHeaderAddress, requestLocalAddresses, unmapped } from "../../../src/http/request-address";

function request(localAddress: string | undefined, host?: string): IncomingMessage {
  return {
    socket: { localAddress },
    headers: host === undefined ? {} : { host },
  } as unknown as IncomingMessage;
}

describe("request addresses", () => {
  it("unwraps IPv4-mapped IPv6 addresses, and leaves others alone", () => {
    assert.equal(unmapped("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(unmapped("::FFFF:10.0.0.2"), "10.0.0.2");
    assert.equal(unmapped("::1"), "::1");
    assert.equal(unmapped("10.0.0.2"), "10.0.0.2");
  });

  it("the Host header's IPv4 literal, with or without a port; nothing for names and IPv6", () => {
    assert.equal(hostHeaderAddress("192.0.2.7:1880"), "192.0.2.7");
    assert.equal(hostHeaderAddress("192.0.2.7"), "192.0.2.7");
    assert.equal(hostHeaderAddress("camera.example:1880"), undefined);
    assert.equal(hostHeaderAddress("[::1]:1880"), undefined);
    assert.equal(hostHeaderAddress("999.1.1.1"), undefined);
    assert.equal(hostHeaderAddress(undefined), undefined);
  });

  it("the socket's local IPv4 address and the Host literal, each once", () => {
    assert.deepEqual(requestLocalAddresses(request("::ffff:172.17.0.2", "192.0.2.7:1880")), [
      "172.17.0.2",
      "192.0.2.7",
    ]);
    assert.deepEqual(requestLocalAddresses(request("127.0.0.1", "127.0.0.1:1880")), ["127.0.0.1"]);
    assert.deepEqual(requestLocalAddresses(request("::1", "[::1]:1880")), []);
    assert.deepEqual(requestLocalAddresses(request(undefined, "localhost:1880")), []);
  });
});
