import { maskUrl } from "../rtsp/url";

/** Below this length a password is not searched for: it would mask ordinary words ("admin", "1234" stay visible in URLs' masking anyway). */
const SHORTEST_SEARCHED = 4;

/** Every spelling of a secret that may turn up in text: as typed, and percent-encoded (either hex case). */
function spellings(secret: string): string[] {
  const encoded = encodeURIComponent(secret);
  return [...new Set([secret, encoded, encoded.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())])];
}

/**
 * Text safe for status, logs and events: URLs masked (user:***@, password=***), and each of the
 * secrets (the credentials' password, a password from the URL) never spelled out, in any spelling.
 */
export function redact(text: string, ...secrets: readonly (string | undefined)[]): string {
  let safe = maskUrl(text);
  const searched = secrets
    .filter((s): s is string => s !== undefined && s.length >= SHORTEST_SEARCHED)
    .flatMap(spellings)
    .sort((a, b) => b.length - a.length);
  for (const secret of searched) safe = safe.split(secret).join("***");
  return safe;
}
