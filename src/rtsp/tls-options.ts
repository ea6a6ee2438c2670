import net from "node:net";
import type tls from "node:tls";
import { RtspError } from "./errors";
import type { RtspUrl } from "./url";

/** How an rtsps:// server's certificate earns trust. */
export interface TlsTrust {
  /**
   * Accept a certificate that no authority this machine trusts vouches for (self-signed, expired, made
   * out to another name): the link stays encrypted, but the camera is not authenticated. Default false.
   */
  readonly acceptSelfSigned?: boolean;
  /**
   * SHA-256 fingerprint of the one certificate to accept, in any form parseFingerprint reads. When set it
   * decides alone: a matching certificate is accepted even if self-signed, any other refused even if valid.
   */
  readonly fingerprint?: string;
}

const HEX_PAIRS = /^(?:[0-9A-F]{2}){32}$/;
/** What tools print before the hex: "SHA256:", "sha256 Fingerprint=", "SHA-256 ". */
const PREFIX = /^\s*sha-?256(?:\s*fingerprint)?\s*[:=]?\s*/i;

/**
 * The canonical "AB:CD:…" form (32 upper-case hex pairs joined by colons, as Node's fingerprint256 and
 * `openssl x509 -fingerprint -sha256` write it) of a fingerprint copied from anywhere: either case, with
 * colons, spaces, dashes or nothing between the pairs. Undefined when it is not 32 bytes of hex.
 */
export function parseFingerprint(text: string): string | undefined {
  const hex = text
    .replace(PREFIX, "")
    .replace(/[\s:-]/g, "")
    .toUpperCase();
  if (!HEX_PAIRS.test(hex)) return undefined;
  return hex.match(/../g)!.join(":");
}

/**
 * tls.connect options for `url`. Node's own verification runs as always (socket.authorized says how it
 * went), but the decision is left to checkServerCertificate, after the handshake and before any byte of
 * RTSP is written: only there is the server's certificate at hand to name in the refusal.
 */
export function tlsConnectOptions(url: RtspUrl): tls.ConnectionOptions {
  return {
    host: url.hostname,
    port: url.port,
    servername: net.isIP(url.hostname) ? undefined : url.hostname,
    rejectUnauthorized: false,
  };
}

const PROBLEMS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN:
    "self-signed certificate in the chain (an authority this machine does not trust)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "signed by an authority this machine does not trust",
  UNABLE_TO_GET_ISSUER_CERT: "signed by an authority this machine does not trust",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "signed by an authority this machine does not trust",
  CERT_HAS_EXPIRED: "the certificate has expired",
  CERT_NOT_YET_VALID: "the certificate is not valid yet (check this machine's clock)",
  ERR_TLS_CERT_ALTNAME_INVALID: "the certificate is made out to another host name or address",
  CERT_REVOKED: "the certificate has been revoked",
};

/** Node's authorizationError code in words a user can act on. */
export function describeCertificateProblem(code: string | Error | null | undefined): string {
  const text = code instanceof Error ? ((code as Error & { code?: string }).code ?? code.message) : code;
  if (!text) return "the certificate could not be verified";
  return PROBLEMS[text] ?? text;
}

/**
 * Whether the server behind a freshly connected TLS socket may be talked to: undefined when it may,
 * otherwise the RtspError (code "auth": it is the camera that failed to authenticate) saying why, with
 * the certificate's actual fingerprint for the user to check and copy into the pin.
 */
export function checkServerCertificate(socket: tls.TLSSocket, trust: TlsTrust): RtspError | undefined {
  const presented = socket.getPeerCertificate()?.fingerprint256;
  if (trust.fingerprint !== undefined && trust.fingerprint.trim() !== "") {
    const pin = parseFingerprint(trust.fingerprint);
    if (pin === undefined) {
      return new RtspError(
        "TLS certificate refused: the pinned fingerprint is not a SHA-256 fingerprint (32 bytes in hex, AB:CD:…)",
        "auth",
      );
    }
    if (presented === pin) return undefined;
    return new RtspError(
      `TLS certificate fingerprint mismatch: the camera presented SHA-256 ${presented ?? "(none)"}, the node expects ${pin}`,
      "auth",
    );
  }
  if (socket.authorized || trust.acceptSelfSigned === true) return undefined;
  const problem = describeCertificateProblem(socket.authorizationError);
  return new RtspError(
    `TLS certificate not trusted: ${problem}; the camera's SHA-256 fingerprint is ${presented ?? "(none)"} ` +
      "(accept self-signed certificates, or pin this fingerprint, if it is your camera's)",
    "auth",
  );
}
