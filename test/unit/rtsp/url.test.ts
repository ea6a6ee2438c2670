import assert from "node:assert/strict";
import { RtspError } from "../../../src/rtsp/errors";
import { formatRtspUrl, maskUrl, parseRtspUrl, resolveControl } from "../../../src/rtsp/url";

function assertBadUrl(input: string, message: RegExp): void {
  assert.throws(
    () => parseRtspUrl(input),
    (err: unknown) => err instanceof RtspError && err.code === "bad-url" && message.test(err.message),
  );
}

describe("rtsp/url", () => {
  describe("parseRtspUrl", () => {
    it("reads a host name with the default port and path", () => {
      assert.deepEqual(parseRtspUrl("rtsp://camera.local/stream1"), {
        secure: false,
        hostname: "camera.local",
        port: 554,
        path: "/stream1",
      });
    });

    it("reads an IPv4 address, a port and a query", () => {
      assert.deepEqual(parseRtspUrl("rtsp://192.168.1.64:8554/cam/realmonitor?channel=1&subtype=0"), {
        secure: false,
        hostname: "192.168.1.64",
        port: 8554,
        path: "/cam/realmonitor?channel=1&subtype=0",
      });
    });

    it("reads IPv6 literals without their brackets", () => {
      assert.deepEqual(parseRtspUrl("rtsp://[::1]:8554/live"), {
        secure: false,
        hostname: "::1",
        port: 8554,
        path: "/live",
      });
      const u = parseRtspUrl("rtsp://admin:pw@[fe80::1%25eth0]/x");
      assert.equal(u.hostname, "fe80::1%eth0");
      assert.equal(formatRtspUrl(u), "rtsp://[fe80::1%25eth0]:554/x");
      assert.equal(u.port, 554);
      assert.equal(u.username, "admin");
    });

    it("defaults rtsps to port 322 and keeps an explicit one", () => {
      assert.equal(parseRtspUrl("rtsps://cam/s").port, 322);
      assert.equal(parseRtspUrl("rtsps://cam/s").secure, true);
      assert.equal(parseRtspUrl("RTSPS://cam:7441/s").port, 7441);
      assert.equal(parseRtspUrl("rtsp://cam:/s").port, 554);
    });

    it("gives at least / as path, and / before a bare query", () => {
      assert.equal(parseRtspUrl("rtsp://cam").path, "/");
      assert.equal(parseRtspUrl("rtsp://cam:554").path, "/");
      assert.equal(parseRtspUrl("rtsp://cam?channel=1").path, "/?channel=1");
      assert.equal(parseRtspUrl("rtsp://cam:10554?a=/b").path, "/?a=/b");
    });

    it("drops a fragment and encodes spaces", () => {
      assert.equal(parseRtspUrl("rtsp://cam/my stream#frag").path, "/my%20stream");
      assert.equal(parseRtspUrl("  rtsp://cam/s  ").path, "/s");
    });

    it("percent-decodes the user name and password", () => {
      const u = parseRtspUrl("rtsp://user%3Aname:p%40ss%3Aw%2Frd@10.0.0.2/live");
      assert.equal(u.username, "user:name");
      assert.equal(u.password, "p@ss:w/rd");
      assert.equal(u.hostname, "10.0.0.2");
    });

    it("takes the last @ before the path, so raw @ # ? in passwords work", () => {
      const u = parseRtspUrl("rtsp://admin:p@ss#1?x@192.168.0.10:554/h264");
      assert.equal(u.username, "admin");
      assert.equal(u.password, "p@ss#1?x");
      assert.equal(u.hostname, "192.168.0.10");
      assert.equal(u.path, "/h264");
    });

    it("keeps a password that is not valid percent-encoding as written", () => {
      assert.equal(parseRtspUrl("rtsp://u:100%zz@cam/").password, "100%zz");
    });

    it("reads a user without password and an empty password", () => {
      const user = parseRtspUrl("rtsp://viewer@cam/");
      assert.equal(user.username, "viewer");
      assert.equal("password" in user, false);
      assert.equal(parseRtspUrl("rtsp://viewer:@cam/").password, "");
    });

    it("rejects URLs that are not RTSP", () => {
      assertBadUrl("http://cam/stream", /^not an RTSP URL: http:\/\/ \(use rtsp:\/\/ or rtsps:\/\/\)$/);
      assertBadUrl("192.168.1.2/stream", /must start with rtsp:\/\/ or rtsps:\/\//);
      assertBadUrl("", /^the URL is empty$/);
      assertBadUrl("   ", /^the URL is empty$/);
      assertBadUrl("rtsp:cam/stream", /must start with rtsp:\/\//);
    });

    it("rejects a missing host, bad ports and garbage", () => {
      assertBadUrl("rtsp:///stream", /^the URL has no host$/);
      assertBadUrl("rtsp://user:pw@/stream", /^the URL has no host$/);
      assertBadUrl("rtsp://cam:0/s", /^bad port "0"/);
      assertBadUrl("rtsp://cam:65536/s", /^bad port "65536"/);
      assertBadUrl("rtsp://cam:80a/s", /^bad port "80a"/);
      assertBadUrl("rtsp://[::1/s", /unclosed "\["/);
      assertBadUrl("rtsp://[zz]/s", /is not an IPv6 address/);
      assertBadUrl("rtsp://[::1]x/s", /after the IPv6 address/);
      assertBadUrl("rtsp://::1/s", /must be written in brackets/);
      assertBadUrl("rtsp://ca m/s", /is not a valid host name/);
      assertBadUrl("rtsp://cam/s\r\nX: y", /control characters/);
    });

    it("does not echo a password containing a raw slash", () => {
      assert.throws(
        () => parseRtspUrl("rtsp://admin:se/cret@cam/s"),
        (err: unknown) =>
          err instanceof RtspError &&
          err.code === "bad-url" &&
          err.message ===
            'cannot read the host and port: a "/" in the user name or password must be written %2F',
      );
      assertBadUrl("rtsp://admin:se/cret@cam/s", /^cannot read the host and port/);
      assert.throws(
        () => parseRtspUrl("rtsp://admin:8554x/cret@cam/s"),
        (err: unknown) => err instanceof RtspError && !err.message.includes("8554x"),
      );
    });
  });

  describe("formatRtspUrl", () => {
    it("always writes the port and never the credentials", () => {
      assert.equal(
        formatRtspUrl(parseRtspUrl("rtsp://admin:secret@cam.local/Streaming/Channels/101")),
        "rtsp://cam.local:554/Streaming/Channels/101",
      );
      assert.equal(formatRtspUrl(parseRtspUrl("rtsps://cam/s")), "rtsps://cam:322/s");
      assert.equal(
        formatRtspUrl(parseRtspUrl("rtsp://192.168.1.64:8554/cam/realmonitor?channel=1&subtype=0")),
        "rtsp://192.168.1.64:8554/cam/realmonitor?channel=1&subtype=0",
      );
    });

    it("puts IPv6 literals in brackets", () => {
      assert.equal(formatRtspUrl(parseRtspUrl("rtsp://[::1]:8554/live")), "rtsp://[::1]:8554/live");
    });

    it("round-trips its own output", () => {
      for (const text of ["rtsp://cam:554/", "rtsps://[2001:db8::5]:322/a/b?c=d", "rtsp://h:8554/x%20y"]) {
        assert.equal(formatRtspUrl(parseRtspUrl(text)), text);
      }
    });

    it("adds the leading / to a path given without one", () => {
      assert.equal(formatRtspUrl({ secure: false, hostname: "h", port: 1, path: "" }), "rtsp://h:1/");
      assert.equal(formatRtspUrl({ secure: false, hostname: "h", port: 1, path: "?a=1" }), "rtsp://h:1/?a=1");
    });
  });

  describe("maskUrl", () => {
    it("replaces the password and keeps the user", () => {
      assert.equal(maskUrl("rtsp://admin:secret@cam/s"), "rtsp://admin:***@cam/s");
      assert.equal(maskUrl("rtsp://admin:p@ss@cam:554/s"), "rtsp://admin:***@cam:554/s");
    });

    it("leaves URLs without a password alone", () => {
      assert.equal(maskUrl("rtsp://cam/s"), "rtsp://cam/s");
      assert.equal(maskUrl("rtsp://viewer@cam/s"), "rtsp://viewer@cam/s");
      assert.equal(maskUrl("rtsp://cam/a@b:c"), "rtsp://cam/a@b:c");
    });

    it("masks password query parameters", () => {
      assert.equal(
        maskUrl("rtsp://cam/test?user=tmp&password=BagRep1&channel=1"),
        "rtsp://cam/test?user=tmp&password=***&channel=1",
      );
      assert.equal(maskUrl("rtsp://cam/?PWD=x;y=1"), "rtsp://cam/?PWD=***;y=1");
    });

    it("masks secrets in query parameters of other names, in any case, up to the next & ; or #", () => {
      const cases: [string, string][] = [
        ["rtsp://cam/live?token=abc.DEF-123&channel=1", "rtsp://cam/live?token=***&channel=1"],
        ["rtsp://cam/live?channel=1&KEY=0a1b2c#frag", "rtsp://cam/live?channel=1&KEY=***#frag"],
        ["rtsp://cam/live?passcode=4321;stream=main", "rtsp://cam/live?passcode=***;stream=main"],
        ["rtsp://cam/live?Pwd=x&pass=y&passwd=z", "rtsp://cam/live?Pwd=***&pass=***&passwd=***"],
        ["rtsp://cam/s?auth=YWRtaW46MTIzNA%3D%3D", "rtsp://cam/s?auth=***"],
        ["rtsp://cam/s?secret=s&client_secret=c", "rtsp://cam/s?secret=***&client_secret=***"],
        [
          "rtsp://cam/s?access_token=a&auth_token=b&authtoken=c&jwt=d",
          "rtsp://cam/s?access_token=***&auth_token=***&authtoken=***&jwt=***",
        ],
        ["rtsp://cam/s?apikey=a&api_key=b&api-key=c", "rtsp://cam/s?apikey=***&api_key=***&api-key=***"],
        ["rtsp://cam/s?sig=a1&signature=b2&expires=99", "rtsp://cam/s?sig=***&signature=***&expires=99"],
        ["rtsp://cam/s?passphrase=long%20one", "rtsp://cam/s?passphrase=***"],
        ["rtsp://u:pw@cam/s?token=t", "rtsp://u:***@cam/s?token=***"],
        ["rtsp://cam/s?token=", "rtsp://cam/s?token=***"],
      ];
      for (const [input, masked] of cases) assert.equal(maskUrl(input), masked, input);
    });

    it("leaves parameters alone whose names only contain a secret's name", () => {
      for (const url of [
        "rtsp://cam/s?keyint=10&monkey=1&tokens=2&passthrough=1",
        "rtsp://cam/s?x-token=1&authority=cam&signatures=0",
        "rtsp://cam/token=abc",
        "rtsp://cam/s?channel=1&subtype=0",
      ]) {
        assert.equal(maskUrl(url), url);
      }
    });

    it("masks a password with a raw slash up to the last @, not a port before a path with @", () => {
      assert.equal(maskUrl("rtsp://admin:se/cret@cam/s"), "rtsp://admin:***@cam/s");
      assert.equal(maskUrl("rtsp://admin:p@ss/w0rd@cam:554/s"), "rtsp://admin:***@cam:554/s");
      assert.equal(maskUrl("rtsp://admin:pa/ss@cam/s?pwd=x"), "rtsp://admin:***@cam/s?pwd=***");
      assert.equal(maskUrl("rtsp://cam:554/a@b"), "rtsp://cam:554/a@b");
      assert.equal(maskUrl("rtsp://cam:/a@b"), "rtsp://cam:/a@b");
    });

    it("works on strings that do not parse", () => {
      assert.equal(maskUrl("rtsp://u:pw@[::1"), "rtsp://u:***@[::1");
      assert.equal(maskUrl("admin:hunter2@10.0.0.1/live"), "admin:***@10.0.0.1/live");
      assert.equal(maskUrl("http://u:p@h:99999/"), "http://u:***@h:99999/");
      assert.equal(maskUrl(""), "");
    });
  });

  describe("resolveControl", () => {
    const base = "rtsp://192.168.1.99:554/path/";

    it("returns the base for *, empty and missing controls", () => {
      assert.equal(resolveControl(base, "*"), base);
      assert.equal(resolveControl(base, ""), base);
      assert.equal(resolveControl(base, "  "), base);
    });

    it("takes absolute controls as they are", () => {
      assert.equal(
        resolveControl(base, "rtsp://10.0.0.5/other/trackID=7"),
        "rtsp://10.0.0.5/other/trackID=7",
      );
      assert.equal(resolveControl(base, "RTSPS://h/t"), "RTSPS://h/t");
    });

    it("appends a relative control after a /", () => {
      assert.equal(resolveControl(base, "trackID=5"), "rtsp://192.168.1.99:554/path/trackID=5");
      assert.equal(resolveControl("rtsp://h/s", "trackID=1"), "rtsp://h/s/trackID=1");
      assert.equal(resolveControl("rtsp://h:554/sub/path", "track1"), "rtsp://h:554/sub/path/track1");
    });

    it("appends after the query, as cameras expect", () => {
      assert.equal(
        resolveControl("rtsp://192.168.1.99:554/test?user=tmp&channel=1&stream=0.sdp", "trackID=5"),
        "rtsp://192.168.1.99:554/test?user=tmp&channel=1&stream=0.sdp/trackID=5",
      );
      assert.equal(
        resolveControl("rtsp://h:554/cam/realmonitor?channel=1&subtype=0", "trackID=0"),
        "rtsp://h:554/cam/realmonitor?channel=1&subtype=0/trackID=0",
      );
    });

    it("appends a query control without a /", () => {
      assert.equal(resolveControl("rtsp://h:554/test", "?ctype=video"), "rtsp://h:554/test?ctype=video");
      assert.equal(resolveControl("rtsp://h:554/", "?ctype=video"), "rtsp://h:554/?ctype=video");
    });

    it("puts a path-absolute control on the base's host", () => {
      assert.equal(resolveControl("rtsp://h:554", "/test"), "rtsp://h:554/test");
      assert.equal(resolveControl("rtsp://h:554/a/b?c", "/media/1"), "rtsp://h:554/media/1");
    });

    it("never lets credentials through", () => {
      assert.equal(resolveControl("rtsp://admin:pw@h/s/", "trackID=1"), "rtsp://h/s/trackID=1");
      assert.equal(resolveControl("rtsp://admin:pw@h/s/", "*"), "rtsp://h/s/");
      assert.equal(resolveControl("rtsp://h/s/", "rtsp://admin:pw@h/s/t"), "rtsp://h/s/t");
      assert.equal(resolveControl("rtsp://a:p@ss@h:1/s", "/x"), "rtsp://h:1/x");
    });
  });
});
