import assert from "node:assert/strict";
import { DigestVerifier, digestResponse, parseAuthParams } from "../../../src/demo/digest-auth";

function challengeOf(verifier: DigestVerifier): Map<string, string> {
  const header = verifier.challenge();
  assert.match(header, /^Digest /);
  const params = parseAuthParams(header.slice("Digest ".length));
  assert.ok(params);
  return params;
}

function authorization(
  fields: Record<string, string>,
  quoted = ["username", "realm", "nonce", "uri", "response", "cnonce"],
) {
  const parts = Object.entries(fields).map(([name, value]) =>
    quoted.includes(name) ? `${name}="${value}"` : `${name}=${value}`,
  );
  return `Digest ${parts.join(", ")}`;
}

describe("digest auth", () => {
  it("computes the RFC 2617 3.5 example response", () => {
    const response = digestResponse({
      username: "Mufasa",
      realm: "testrealm@host.com",
      password: "Circle Of Life",
      method: "GET",
      uri: "/dir/index.html",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      qop: { nc: "00000001", cnonce: "0a4f113b" },
    });
    assert.equal(response, "6629fae49393a05397450978507c4ef1");
  });

  it("parses quoted, escaped and token auth-params", () => {
    const params = parseAuthParams('username="a\\"b", qop=auth, nc=00000001 ,realm="x, y"');
    assert.deepEqual(
      [...(params ?? [])],
      [
        ["username", 'a"b'],
        ["qop", "auth"],
        ["nc", "00000001"],
        ["realm", "x, y"],
      ],
    );
    assert.equal(parseAuthParams('username="unterminated'), undefined);
    assert.equal(parseAuthParams("novalue"), undefined);
  });

  describe("DigestVerifier", () => {
    const verifier = new DigestVerifier({ username: "alice", password: "s3cret" });
    const uri = "rtsp://127.0.0.1:8554/demo";
    const challenge = challengeOf(verifier);
    const nonce = challenge.get("nonce")!;
    const realm = challenge.get("realm")!;
    const qop = { nc: "00000001", cnonce: "abcdef" };
    const good = {
      username: "alice",
      realm,
      nonce,
      uri,
      response: digestResponse({
        username: "alice",
        realm,
        password: "s3cret",
        method: "DESCRIBE",
        uri,
        nonce,
        qop,
      }),
      algorithm: "MD5",
      qop: "auth",
      ...qop,
    };

    it("offers MD5 with qop=auth", () => {
      assert.equal(challenge.get("algorithm"), "MD5");
      assert.equal(challenge.get("qop"), "auth");
      assert.notEqual(challengeOf(verifier).get("nonce"), nonce);
    });

    it("accepts a correct qop=auth answer and an RFC 2069 answer without qop", () => {
      assert.equal(verifier.verify("DESCRIBE", uri, authorization(good)), "ok");
      const legacy = digestResponse({
        username: "alice",
        realm,
        password: "s3cret",
        method: "DESCRIBE",
        uri,
        nonce,
      });
      assert.equal(
        verifier.verify(
          "DESCRIBE",
          uri,
          authorization({ username: "alice", realm, nonce, uri, response: legacy }),
        ),
        "ok",
      );
    });

    it("says missing without a Digest Authorization", () => {
      assert.equal(verifier.verify("DESCRIBE", uri, undefined), "missing");
      assert.equal(verifier.verify("DESCRIBE", uri, "Basic YWxpY2U6czNjcmV0"), "missing");
    });

    it("refuses a wrong password, user, method, uri, realm, algorithm, qop or a forged nonce", () => {
      const wrongPassword = digestResponse({
        username: "alice",
        realm,
        password: "guess",
        method: "DESCRIBE",
        uri,
        nonce,
        qop,
      });
      const forgedNonce = `${nonce.slice(0, 24)}${"0".repeat(32)}`;
      const forged = digestResponse({
        username: "alice",
        realm,
        password: "s3cret",
        method: "DESCRIBE",
        uri,
        nonce: forgedNonce,
        qop,
      });
      const cases: ReadonlyArray<readonly [string, string, Record<string, string>]> = [
        ["DESCRIBE", uri, { ...good, response: wrongPassword }],
        ["DESCRIBE", uri, { ...good, username: "bob" }],
        ["SETUP", uri, good],
        ["DESCRIBE", `${uri}/trackID=0`, good],
        ["DESCRIBE", uri, { ...good, realm: "elsewhere" }],
        ["DESCRIBE", uri, { ...good, algorithm: "SHA-256" }],
        ["DESCRIBE", uri, { ...good, qop: "auth-int" }],
        ["DESCRIBE", uri, { ...good, nc: "1" }],
        ["DESCRIBE", uri, { ...good, nonce: forgedNonce, response: forged }],
      ];
      for (const [method, requestUri, fields] of cases) {
        assert.equal(
          verifier.verify(method, requestUri, authorization(fields)),
          "invalid",
          JSON.stringify(fields),
        );
      }
      const { cnonce: _dropped, ...withoutCnonce } = good;
      assert.equal(verifier.verify("DESCRIBE", uri, authorization(withoutCnonce)), "invalid");
      assert.equal(verifier.verify("DESCRIBE", uri, "Digest garbage"), "invalid");
    });

    it("refuses a nonce another camera issued", () => {
      const other = new DigestVerifier({ username: "alice", password: "s3cret" });
      const otherNonce = challengeOf(other).get("nonce")!;
      const response = digestResponse({
        username: "alice",
        realm,
        password: "s3cret",
        method: "DESCRIBE",
        uri,
        nonce: otherNonce,
        qop,
      });
      assert.equal(
        verifier.verify("DESCRIBE", uri, authorization({ ...good, nonce: otherNonce, response })),
        "invalid",
      );
    });
  });
});
