import assert from "node:assert/strict";
import type tls from "node:tls";
import {
  checkServerCertificate,
  describeCertificateProblem,
  parseFingerprint,
  tlsConnectOptions,
} from "../../../src/rtsp/tls-options";

const HEX = "0123456789abcdef".repeat(4);
const CANONICAL = HEX.toUpperCase().match(/../g)!.join(":");
const OTHER = CANONICAL.replace(/^01/, "FF");

/** What checkServerCertificate reads from a TLSSocket after the handshake. */
function fakeSocket(authorized: boolean, authorizationError: string | undefined, fingerprint256?: string) {
  return {
    authorized,
    authorizationError,
    getPeerCertificate: () => (fingerprint256 === undefined ? {} : { fingerprint256 }),
  } as unknown as tls.TLSSocket;
}

describe("rtsp/tls-options", () => {
  describe("parseFingerprint", () => {
    it("reads the forms people copy, giving Node's AB:CD:… form", () => {
      assert.equal(parseFingerprint(CANONICAL), CANONICAL);
      assert.equal(parseFingerprint(CANONICAL.toLowerCase()), CANONICAL);
      assert.equal(parseFingerprint(HEX), CANONICAL);
      assert.equal(parseFingerprint(CANONICAL.replace(/:/g, " ")), CANONICAL);
      assert.equal(parseFingerprint(CANONICAL.replace(/:/g, "-")), CANONICAL);
      assert.equal(parseFingerprint(`  sha256 Fingerprint=${CANONICAL}\n`), CANONICAL);
      assert.equal(parseFingerprint(`SHA256:${HEX}`), CANONICAL);
      assert.equal(parseFingerprint(`SHA-256 ${HEX}`), CANONICAL);
    });

    it("refuses anything but 32 bytes of hex", () => {
      assert.equal(parseFingerprint(""), undefined);
      assert.equal(parseFingerprint(HEX.slice(2)), undefined);
      assert.equal(parseFingerprint(`${HEX}00`), undefined);
      assert.equal(parseFingerprint(HEX.replace("a", "g")), undefined);
      assert.equal(parseFingerprint(CANONICAL.slice(0, 59)), undefined); // a SHA-1 length
      assert.equal(parseFingerprint(`0${HEX.slice(1)}x`), undefined);
    });
  });

  describe("tlsConnectOptions", () => {
    it("sends SNI for names, not for addresses, and leaves the decision to checkServerCertificate", () => {
      const byName = tlsConnectOptions({ secure: true, hostname: "cam.example", port: 322, path: "/" });
      assert.deepEqual(byName, {
        host: "cam.example",
        port: 322,
        servername: "cam.example",
        rejectUnauthorized: false,
      });
      const byAddress = tlsConnectOptions({ secure: true, hostname: "127.0.0.1", port: 8322, path: "/" });
      assert.equal(byAddress.servername, undefined);
      assert.equal(byAddress.rejectUnauthorized, false);
    });
  });

  describe("checkServerCertificate", () => {
    it("accepts a certificate Node verified, by default", () => {
      assert.equal(checkServerCertificate(fakeSocket(true, undefined, OTHER), {}), undefined);
    });

    it("refuses an unverified one by default, naming the problem and the fingerprint to pin", () => {
      const error = checkServerCertificate(fakeSocket(false, "DEPTH_ZERO_SELF_SIGNED_CERT", CANONICAL), {});
      assert.ok(error);
      assert.equal(error.code, "auth");
      assert.match(error.message, /^TLS certificate not trusted: self-signed certificate; /);
      assert.ok(error.message.includes(CANONICAL));
    });

    it("accepts an unverified one when told to accept self-signed certificates", () => {
      const socket = fakeSocket(false, "DEPTH_ZERO_SELF_SIGNED_CERT", CANONICAL);
      assert.equal(checkServerCertificate(socket, { acceptSelfSigned: true }), undefined);
    });

    it("with a pin, accepts exactly the pinned certificate, verified or not", () => {
      for (const pin of [CANONICAL, HEX, CANONICAL.toLowerCase()]) {
        assert.equal(
          checkServerCertificate(fakeSocket(false, "DEPTH_ZERO_SELF_SIGNED_CERT", CANONICAL), {
            fingerprint: pin,
          }),
          undefined,
        );
      }
    });

    it("with a pin, refuses any other certificate, even a verified one, and says which it got", () => {
      for (const socket of [
        fakeSocket(true, undefined, OTHER),
        fakeSocket(false, "DEPTH_ZERO_SELF_SIGNED_CERT", OTHER),
      ]) {
        const error = checkServerCertificate(socket, { fingerprint: CANONICAL, acceptSelfSigned: true });
        assert.ok(error);
        assert.equal(
          error.message,
          `TLS certificate fingerprint mismatch: the camera presented SHA-256 ${OTHER}, the node expects ${CANONICAL}`,
        );
      }
    });

    it("fails closed on a pin that is not a fingerprint, and ignores an empty one", () => {
      const error = checkServerCertificate(fakeSocket(true, undefined, CANONICAL), { fingerprint: "12:34" });
      assert.ok(error);
      assert.match(error.message, /not a SHA-256 fingerprint/);
      assert.equal(
        checkServerCertificate(fakeSocket(true, undefined, CANONICAL), { fingerprint: "  " }),
        undefined,
      );
    });
  });

  describe("describeCertificateProblem", () => {
    it("puts Node's codes in words, and passes unknown ones through", () => {
      assert.equal(describeCertificateProblem("CERT_HAS_EXPIRED"), "the certificate has expired");
      assert.equal(
        describeCertificateProblem("ERR_TLS_CERT_ALTNAME_INVALID"),
        "the certificate is made out to another host name or address",
      );
      assert.equal(
        describeCertificateProblem("UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
        "signed by an authority this machine does not trust",
      );
      assert.equal(describeCertificateProblem("SOMETHING_NEW"), "SOMETHING_NEW");
      assert.equal(describeCertificateProblem(undefined), "the certificate could not be verified");
      assert.equal(
        describeCertificateProblem(Object.assign(new Error("x"), { code: "CERT_HAS_EXPIRED" })),
        "the certificate has expired",
      );
    });
  });
});
