import {
  BINDING,
  fingerprintHolds,
  integrityHolds,
  readStun,
  type StunMessageInfo,
  splitIceUsername,
} from "./stun-check";

/** Why an inbound datagram or TCP connection was dropped; counted in SharedIcePort.stats(). */
export type DropReason =
  | "empty"
  | "unknown-kind"
  | "unknown-address"
  | "stun-malformed"
  | "stun-not-binding"
  | "stun-no-username"
  | "stun-unknown-ufrag"
  | "stun-bad-fingerprint"
  | "stun-bad-integrity"
  | "stun-unknown-transaction"
  | "stun-unexpected-class"
  | "tcp-not-stun-check"
  | "tcp-oversize"
  | "tcp-idle"
  | "tcp-closed-early"
  | "tcp-ip-cap"
  | "tcp-pending-cap"
  | "tcp-no-passive"
  | "closed";

/** The credentials a check must carry to reach `owner`. */
export interface CheckTarget<T> {
  readonly owner: T;
  /** The local ICE password as the HMAC key (short-term credentials: the password's bytes). */
  readonly key: Buffer;
}

/**
 * Decides whether `data` is an authenticated ICE connectivity check for one of ours: a binding
 * request whose USERNAME starts with a ufrag `lookup` knows, with a valid FINGERPRINT and a
 * MESSAGE-INTEGRITY made with that ufrag's password. Anything else gets a reason and no answer.
 */
export function authenticateCheck<T>(
  data: Buffer,
  info: StunMessageInfo,
  lookup: (ufrag: string) => CheckTarget<T> | undefined,
): T | DropReason {
  if (info.stunClass !== "request" || info.method !== BINDING) return "stun-not-binding";
  if (info.username === undefined) return "stun-no-username";
  const ufrags = splitIceUsername(info.username);
  if (ufrags === undefined) return "stun-no-username";
  const target = lookup(ufrags.local);
  if (target === undefined) return "stun-unknown-ufrag";
  if (!fingerprintHolds(data, info)) return "stun-bad-fingerprint";
  if (!integrityHolds(data, info, target.key)) return "stun-bad-integrity";
  return target.owner;
}

/** readStun, with its problems folded into one drop reason. */
export function readStunOrDrop(data: Buffer): StunMessageInfo | DropReason {
  const info = readStun(data);
  return typeof info === "string" ? "stun-malformed" : info;
}
