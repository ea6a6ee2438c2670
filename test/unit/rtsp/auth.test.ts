import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type AuthChallenge,
  Authenticator,
  DigestVerifier,
  digestResponse,
  formatWwwAuthenticate,
  parseAuthorization,
  parseWwwAuthenticate,
  pickChallenge,
} from "../../../src/rtsp/auth";
import { RtspError } from "../../../src/rtsp/errors";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** The parameters of an Authorization value, to check them without depending on their order. */
function params(authorization: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)=("((?:[^"\\]|\\.)*)"|[^,\s]+)/g;
  for (let m = re.exec(authorization); m; m = re.exec(authorization)) {
    out[m[1]!] = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[2]!;
  }
  return out;
}

describe("rtsp/auth", () => {
  describe("parseWwwAuthenticate", () => {
    it("reads a Hikvision-style Digest challenge", () => {
      assert.deepEqual(
        parseWwwAuthenticate([
          'Digest realm="IP Camera(12345)", nonce="4e4449334d7a4e6a4d6a4d3a31323a3334", stale="FALSE"',
        ]),
        [
          {
            scheme: "digest",
            realm: "IP Camera(12345)",
            nonce: "4e4449334d7a4e6a4d6a4d3a31323a3334",
            stale: false,
          },
        ],
      );
    });

    it("reads the RFC 7616 challenges from several headers", () => {
      const headers = [
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
          'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
          'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
      ];
      const common = {
        scheme: "digest",
        realm: "http-auth@example.org",
        qop: ["auth", "auth-int"],
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      };
      assert.deepEqual(parseWwwAuthenticate(headers), [
        { ...common, algorithm: "SHA-256" },
        { ...common, algorithm: "MD5" },
      ]);
    });

    it("splits several challenges in one header, commas in quoted strings kept", () => {
      assert.deepEqual(
        parseWwwAuthenticate([
          'Digest realm="cam, lobby", nonce="a,b", qop="auth", algorithm="sha-256", Basic realm="cam, lobby"',
        ]),
        [
          { scheme: "digest", realm: "cam, lobby", nonce: "a,b", qop: ["auth"], algorithm: "SHA-256" },
          { scheme: "basic", realm: "cam, lobby" },
        ],
      );
    });

    it("ignores unknown schemes and reads tight spacing", () => {
      assert.deepEqual(
        parseWwwAuthenticate([
          "Negotiate",
          'NTLM, Bearer realm="api", Digest realm="r",nonce="752a62306daf32b4",opaque="",stale=TRUE,algorithm=md5-sess',
          "Negotiate YIIB==",
        ]),
        [
          {
            scheme: "digest",
            realm: "r",
            nonce: "752a62306daf32b4",
            opaque: "",
            stale: true,
            algorithm: "MD5-sess",
          },
        ],
      );
    });

    it("unescapes quoted pairs and gives an empty realm when there is none", () => {
      assert.deepEqual(parseWwwAuthenticate(['Digest realm="a \\"b\\"", nonce="n"', "Basic"]), [
        { scheme: "digest", realm: 'a "b"', nonce: "n" },
        { scheme: "basic", realm: "" },
      ]);
      assert.deepEqual(parseWwwAuthenticate([]), []);
      assert.deepEqual(parseWwwAuthenticate([""]), []);
    });
  });

  describe("pickChallenge", () => {
    const basic: AuthChallenge = { scheme: "basic", realm: "r" };
    const digestMd5: AuthChallenge = { scheme: "digest", realm: "r", nonce: "n" };
    const digestSha: AuthChallenge = { scheme: "digest", realm: "r", nonce: "n", algorithm: "SHA-256" };

    it("prefers Digest SHA-256, then Digest MD5, then Basic", () => {
      assert.equal(pickChallenge([basic, digestMd5, digestSha]), digestSha);
      assert.equal(pickChallenge([basic, digestMd5]), digestMd5);
      assert.equal(pickChallenge([basic]), basic);
      assert.equal(pickChallenge([]), undefined);
    });

    it("picks from a parsed Digest-and-Basic header", () => {
      const picked = pickChallenge(parseWwwAuthenticate(['Basic realm="x", Digest realm="x", nonce="y"']));
      assert.equal(picked?.scheme, "digest");
    });

    it("skips what it cannot answer", () => {
      const sha512: AuthChallenge = { scheme: "digest", realm: "r", nonce: "n", algorithm: "SHA-512-256" };
      const authInt: AuthChallenge = { scheme: "digest", realm: "r", nonce: "n", qop: ["auth-int"] };
      const noNonce: AuthChallenge = { scheme: "digest", realm: "r" };
      assert.equal(pickChallenge([sha512, authInt, noNonce, basic]), basic);
      assert.equal(pickChallenge([sha512, authInt, noNonce]), undefined);
    });

    it("prefers plain over -sess for the same hash", () => {
      const sess: AuthChallenge = {
        scheme: "digest",
        realm: "r",
        nonce: "n",
        algorithm: "MD5-sess",
        qop: ["auth"],
      };
      assert.equal(pickChallenge([sess, digestMd5]), digestMd5);
      assert.equal(pickChallenge([sess, basic]), sess);
    });
  });

  describe("Authenticator", () => {
    const rfc7616 = {
      realm: "http-auth@example.org",
      qop: ["auth", "auth-int"],
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    };
    const rfc7616Cnonce = () => "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    it("matches the RFC 7616 §3.9.1 MD5 example", () => {
      const a = new Authenticator(
        "Mufasa",
        "Circle of Life",
        { scheme: "digest", algorithm: "MD5", ...rfc7616 },
        rfc7616Cnonce,
      );
      assert.equal(
        a.authorization("GET", "/dir/index.html"),
        'Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
          'uri="/dir/index.html", response="8ca523f5e9506fed4657c9700eebdbec", algorithm=MD5, ' +
          'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001, ' +
          'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"',
      );
    });

    it("matches the RFC 7616 §3.9.1 SHA-256 example", () => {
      const a = new Authenticator(
        "Mufasa",
        "Circle of Life",
        { scheme: "digest", algorithm: "SHA-256", ...rfc7616 },
        rfc7616Cnonce,
      );
      const p = params(a.authorization("GET", "/dir/index.html"));
      assert.equal(p.response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
      assert.equal(p.algorithm, "SHA-256");
      assert.equal(p.nc, "00000001");
      assert.equal(p.qop, "auth");
    });

    it("matches the RFC 2617 §3.5 example", () => {
      const [challenge] = parseWwwAuthenticate([
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
          'opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      ]);
      const a = new Authenticator("Mufasa", "Circle Of Life", challenge!, () => "0a4f113b");
      assert.equal(
        a.authorization("GET", "/dir/index.html"),
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
          'uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", ' +
          'opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001, cnonce="0a4f113b"',
      );
    });

    // The response printed in RFC 2069 §2.4 (e966c932...) is wrong; this is the value from its errata.
    it("uses the RFC 2069 form without qop (RFC 2069 §2.4 example, as corrected by its errata)", () => {
      const a = new Authenticator("Mufasa", "CircleOfLife", {
        scheme: "digest",
        realm: "testrealm@host.com",
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        opaque: "5ccc069c403ebaf9f0171e9517f40e41",
      });
      assert.equal(
        a.authorization("GET", "/dir/index.html"),
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
          'uri="/dir/index.html", response="1949323746fe6a43ef61f9606e7febea", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      );
    });

    it("answers a Hikvision-style challenge for an RTSP request", () => {
      const [challenge] = parseWwwAuthenticate([
        'Digest realm="IP Camera(12345)", nonce="4e44493", stale="FALSE"',
      ]);
      const a = new Authenticator("admin", "12345", challenge!);
      const uri = "rtsp://192.168.1.64:554/Streaming/Channels/101";
      const ha1 = md5("admin:IP Camera(12345):12345");
      const ha2 = md5(`DESCRIBE:${uri}`);
      assert.equal(
        a.authorization("DESCRIBE", uri),
        `Digest username="admin", realm="IP Camera(12345)", nonce="4e44493", uri="${uri}", response="${md5(`${ha1}:4e44493:${ha2}`)}"`,
      );
    });

    it("counts nc up and draws a cnonce per request", () => {
      let n = 0;
      const a = new Authenticator(
        "u",
        "p",
        { scheme: "digest", realm: "r", nonce: "N", qop: ["auth"] },
        () => `c${++n}`,
      );
      const first = params(a.authorization("OPTIONS", "rtsp://h:554/s"));
      const second = params(a.authorization("DESCRIBE", "rtsp://h:554/s"));
      assert.deepEqual(
        [first.nc, first.cnonce, second.nc, second.cnonce],
        ["00000001", "c1", "00000002", "c2"],
      );
      const ha1 = md5("u:r:p");
      assert.equal(second.response, md5(`${ha1}:N:00000002:c2:auth:${md5("DESCRIBE:rtsp://h:554/s")}`));
    });

    it("draws random 32-hex-digit cnonces by default", () => {
      const a = new Authenticator("u", "p", { scheme: "digest", realm: "r", nonce: "N", qop: ["auth"] });
      const c1 = params(a.authorization("OPTIONS", "*")).cnonce;
      const c2 = params(a.authorization("OPTIONS", "*")).cnonce;
      assert.match(c1 ?? "", /^[0-9a-f]{32}$/);
      assert.notEqual(c1, c2);
    });

    it("computes MD5-sess with the session key", () => {
      const a = new Authenticator(
        "u",
        "p",
        { scheme: "digest", realm: "r", nonce: "N", qop: ["auth"], algorithm: "MD5-sess" },
        () => "C",
      );
      const p = params(a.authorization("PLAY", "rtsp://h/s"));
      const ha1 = md5(`${md5("u:r:p")}:N:C`);
      assert.equal(p.response, md5(`${ha1}:N:00000001:C:auth:${md5("PLAY:rtsp://h/s")}`));
      assert.equal(p.algorithm, "MD5-sess");
    });

    it("quotes user names and realms with quotes in them", () => {
      const a = new Authenticator('a"b', "p", { scheme: "digest", realm: 'x "y"', nonce: "N" });
      const value = a.authorization("OPTIONS", "*");
      assert.match(value, /^Digest username="a\\"b", realm="x \\"y\\"", /);
      assert.equal(params(value).response, md5(`${md5('a"b:x "y":p')}:N:${md5("OPTIONS:*")}`));
    });

    it("writes Basic as base64 of user:password in UTF-8", () => {
      const basic: AuthChallenge = { scheme: "basic", realm: "r" };
      assert.equal(
        new Authenticator("Aladdin", "open sesame", basic).authorization("DESCRIBE", "*"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
      );
      assert.equal(
        new Authenticator("test", "123£", basic).authorization("OPTIONS", "*"),
        "Basic dGVzdDoxMjPCow==",
      );
    });

    it("refuses challenges it cannot answer", () => {
      assert.throws(
        () =>
          new Authenticator("u", "p", { scheme: "digest", realm: "r", nonce: "n", algorithm: "SHA-512-256" }),
        (err: unknown) =>
          err instanceof RtspError && err.code === "unsupported" && /SHA-512-256/.test(err.message),
      );
      assert.throws(
        () => new Authenticator("u", "p", { scheme: "digest", realm: "r" }),
        (err: unknown) => err instanceof RtspError && err.code === "unsupported",
      );
    });
  });

  describe("digestResponse", () => {
    it("computes the RFC 2617 §3.5 example, and the RFC 2069 form without nc", () => {
      const input = {
        username: "Mufasa",
        realm: "testrealm@host.com",
        password: "Circle Of Life",
        method: "GET",
        uri: "/dir/index.html",
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      };
      assert.equal(
        digestResponse({ ...input, nc: "00000001", cnonce: "0a4f113b" }),
        "6629fae49393a05397450978507c4ef1",
      );
      const ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life");
      assert.equal(digestResponse(input), md5(`${ha1}:${input.nonce}:${md5("GET:/dir/index.html")}`));
    });

    it("computes the RFC 7616 §3.9.1 SHA-256 example", () => {
      const response = digestResponse({
        algorithm: "SHA-256",
        username: "Mufasa",
        realm: "http-auth@example.org",
        password: "Circle of Life",
        method: "GET",
        uri: "/dir/index.html",
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc: "00000001",
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
      });
      assert.equal(response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    });
  });

  describe("parseAuthorization", () => {
    it("reads the scheme and quoted, escaped and token auth-params", () => {
      const credentials = parseAuthorization('Digest username="a\\"b", qop=auth, nc=00000001 ,realm="x, y"');
      assert.equal(credentials?.scheme, "digest");
      assert.deepEqual(
        [...(credentials?.params ?? [])],
        [
          ["username", 'a"b'],
          ["qop", "auth"],
          ["nc", "00000001"],
          ["realm", "x, y"],
        ],
      );
      assert.equal(parseAuthorization("Basic YWxpY2U6czNjcmV0")?.scheme, "basic");
      assert.equal(parseAuthorization(""), undefined);
    });
  });

  describe("formatWwwAuthenticate", () => {
    it("writes a Digest challenge byte for byte, and reads back as it was", () => {
      const challenge: AuthChallenge = {
        scheme: "digest",
        realm: 'cam "1"',
        nonce: "abc",
        opaque: "o",
        algorithm: "MD5",
        qop: ["auth"],
        stale: true,
      };
      const text = formatWwwAuthenticate(challenge);
      assert.equal(
        text,
        'Digest realm="cam \\"1\\"", nonce="abc", opaque="o", algorithm=MD5, qop="auth", stale=true',
      );
      assert.deepEqual(parseWwwAuthenticate([text]), [challenge]);
      assert.equal(
        formatWwwAuthenticate({ scheme: "digest", realm: "r", nonce: "n", algorithm: "MD5", qop: ["auth"] }),
        'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"',
      );
      assert.equal(formatWwwAuthenticate({ scheme: "basic", realm: "peer" }), 'Basic realm="peer"');
    });
  });

  describe("DigestVerifier", () => {
    const verifier = new DigestVerifier({ username: "alice", password: "s3cret", realm: "camera" });
    const uri = "rtsp://127.0.0.1:8554/demo";
    const [challenge] = parseWwwAuthenticate([verifier.challenge()]);
    const nonce = challenge?.nonce ?? "";
    const qop = { nc: "00000001", cnonce: "abcdef" };
    const answer = { username: "alice", realm: "camera", password: "s3cret", method: "DESCRIBE", uri, nonce };
    const good = {
      username: "alice",
      realm: "camera",
      nonce,
      uri,
      response: digestResponse({ ...answer, ...qop }),
      algorithm: "MD5",
      qop: "auth",
      ...qop,
    };

    function authorization(fields: Record<string, string>): string {
      const quoted = ["username", "realm", "nonce", "uri", "response", "cnonce"];
      const parts = Object.entries(fields).map(([name, value]) =>
        quoted.includes(name) ? `${name}="${value}"` : `${name}=${value}`,
      );
      return `Digest ${parts.join(", ")}`;
    }

    it("offers MD5 with qop=auth and a fresh nonce each time", () => {
      assert.match(
        verifier.challenge(),
        /^Digest realm="camera", nonce="[0-9a-f]{56}", algorithm=MD5, qop="auth"$/,
      );
      assert.deepEqual(challenge, {
        scheme: "digest",
        realm: "camera",
        nonce,
        algorithm: "MD5",
        qop: ["auth"],
      });
      assert.notEqual(parseWwwAuthenticate([verifier.challenge()])[0]?.nonce, nonce);
    });

    it("accepts what the client's Authenticator answers, with qop=auth and without", () => {
      for (const qopOffered of [["auth"], undefined]) {
        const offered: AuthChallenge = {
          scheme: "digest",
          realm: "camera",
          nonce,
          ...(qopOffered ? { qop: qopOffered } : {}),
        };
        const client = new Authenticator("alice", "s3cret", offered);
        assert.equal(verifier.verify("DESCRIBE", uri, client.authorization("DESCRIBE", uri)), "ok");
      }
      assert.equal(verifier.verify("DESCRIBE", uri, authorization(good)), "ok");
    });

    it("says missing without a Digest Authorization", () => {
      assert.equal(verifier.verify("DESCRIBE", uri, undefined), "missing");
      assert.equal(verifier.verify("DESCRIBE", uri, ""), "missing");
      assert.equal(verifier.verify("DESCRIBE", uri, "Basic YWxpY2U6czNjcmV0"), "missing");
    });

    it("refuses a wrong password, user, method, uri, realm, algorithm, qop or a forged nonce", () => {
      const forgedNonce = `${nonce.slice(0, 24)}${"0".repeat(32)}`;
      const cases: ReadonlyArray<readonly [string, string, Record<string, string>]> = [
        ["DESCRIBE", uri, { ...good, response: digestResponse({ ...answer, ...qop, password: "guess" }) }],
        ["DESCRIBE", uri, { ...good, username: "bob" }],
        ["SETUP", uri, good],
        ["DESCRIBE", `${uri}/trackID=0`, good],
        ["DESCRIBE", uri, { ...good, realm: "elsewhere" }],
        ["DESCRIBE", uri, { ...good, algorithm: "SHA-256" }],
        ["DESCRIBE", uri, { ...good, qop: "auth-int" }],
        ["DESCRIBE", uri, { ...good, nc: "1" }],
        [
          "DESCRIBE",
          uri,
          {
            ...good,
            nonce: forgedNonce,
            response: digestResponse({ ...answer, ...qop, nonce: forgedNonce }),
          },
        ],
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

    it("refuses a nonce another verifier issued", () => {
      const other = new DigestVerifier({ username: "alice", password: "s3cret", realm: "camera" });
      const otherNonce = parseWwwAuthenticate([other.challenge()])[0]?.nonce ?? "";
      const response = digestResponse({ ...answer, ...qop, nonce: otherNonce });
      assert.equal(
        verifier.verify("DESCRIBE", uri, authorization({ ...good, nonce: otherNonce, response })),
        "invalid",
      );
    });
  });
});
