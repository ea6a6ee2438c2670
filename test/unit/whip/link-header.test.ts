import assert from "node:assert/strict";
import { iceServersFromLinks, parseLinks } from "../../../src/whip/link-header";
import { resourceUrl } from "../../../src/whip/location";

describe("whip: Link headers (RFC 9725 §4.6)", () => {
  it("reads the RFC's example: a STUN server and a TURN server with its credentials", () => {
    const header =
      '<stun:stun.example.net>; rel="ice-server", ' +
      '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"';
    assert.deepEqual(iceServersFromLinks(header), [
      { urls: "stun:stun.example.net" },
      { urls: "turn:turn.example.net?transport=udp", username: "user", credential: "myPassword" },
    ]);
  });

  it("keeps commas and semicolons inside quotes and angle brackets, and unescapes quoted pairs", () => {
    const header =
      '<turns:t.example.net:443?transport=tcp>; rel="ice-server"; username="a,b;c"; credential="q\\"x"';
    assert.deepEqual(iceServersFromLinks(header), [
      { urls: "turns:t.example.net:443?transport=tcp", username: "a,b;c", credential: 'q"x' },
    ]);
  });

  it("takes rel as a list, case-insensitively, and unquoted values", () => {
    assert.deepEqual(iceServersFromLinks("<stuns:s.example.net>; REL=ICE-Server"), [
      { urls: "stuns:s.example.net" },
    ]);
    assert.deepEqual(iceServersFromLinks('<stun:a.example.net>; rel="other ice-server"'), [
      { urls: "stun:a.example.net" },
    ]);
  });

  it("skips other relations, non-ICE targets and malformed values", () => {
    const header = [
      '</whip/resource/1/layer>; rel="urn:ietf:params:whip:ext:example:simulcast"',
      '<https://example.net/>; rel="ice-server"',
      'stun:no-brackets.example.net; rel="ice-server"',
      "<stun:norel.example.net>",
      '<stun:ok.example.net>; rel="ice-server"',
    ].join(", ");
    assert.deepEqual(iceServersFromLinks(header), [{ urls: "stun:ok.example.net" }]);
    assert.deepEqual(iceServersFromLinks(undefined), []);
    assert.deepEqual(iceServersFromLinks(""), []);
  });

  it("parses parameters: the first of a repeated name wins, a name without a value is empty", () => {
    const [link] = parseLinks('<x:y>; rel="a"; rel="b"; flag; ; =v');
    assert.equal(link?.target, "x:y");
    assert.deepEqual(
      [...(link?.params ?? [])],
      [
        ["rel", "a"],
        ["flag", ""],
      ],
    );
  });
});

describe("whip: the resource's Location", () => {
  const endpoint = new URL("https://sfu.example.net:8443/whip/endpoint/cam1?room=2");

  it("resolves a relative Location against the endpoint, keeps an absolute one", () => {
    assert.equal(
      resourceUrl("/whip/resource/abc", endpoint)?.href,
      "https://sfu.example.net:8443/whip/resource/abc",
    );
    assert.equal(resourceUrl("abc", endpoint)?.href, "https://sfu.example.net:8443/whip/endpoint/abc");
    assert.equal(
      resourceUrl("../resource/x", endpoint)?.href,
      "https://sfu.example.net:8443/whip/resource/x",
    );
    assert.equal(
      resourceUrl(" http://other.example.net/r/1 ", endpoint)?.href,
      "http://other.example.net/r/1",
    );
  });

  it("has none for a missing, empty or non-http Location", () => {
    assert.equal(resourceUrl(undefined, endpoint), undefined);
    assert.equal(resourceUrl("  ", endpoint), undefined);
    assert.equal(resourceUrl("mailto:a@b", endpoint), undefined);
    assert.equal(resourceUrl("http://[bad", endpoint), undefined);
  });
});
