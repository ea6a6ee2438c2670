/**
 * Query parameters that carry secrets. Some cameras and gateways take the password, a token or a
 * signed key in the URL instead of the user info: such values are masked wherever a URL is shown,
 * and rtsp-in keeps them in its credentials, the URL holding "***" in their place until it connects.
 * Matched without case; the editor (nodes/rtsp-in.html) keeps the same list.
 */
export const SECRET_PARAMETERS: readonly string[] = [
  "password",
  "passwd",
  "pass",
  "pwd",
  "passcode",
  "passphrase",
  "secret",
  "client_secret",
  "token",
  "access_token",
  "auth_token",
  "authtoken",
  "auth",
  "key",
  "apikey",
  "api_key",
  "api-key",
  "sig",
  "signature",
  "jwt",
];

export const MASK = "***";

/** `[?&;]name=value`: the separator and name, then the value up to the next separator or fragment. */
function secretPattern(): RegExp {
  return new RegExp(`([?&;](?:${SECRET_PARAMETERS.join("|")})=)([^&#;]*)`, "gi");
}

/** `text` with the value of every secret parameter written as "***". Pure text work: any string will do. */
export function maskQuerySecrets(text: string): string {
  return text.replace(secretPattern(), `$1${MASK}`);
}

/** "name=value" (as written, percent-encoding kept) for each secret parameter whose value is in `url`. */
export function querySecretsIn(url: string): string[] {
  const found: string[] = [];
  for (const [, head, value] of url.matchAll(secretPattern())) {
    if (value !== "" && value !== MASK) found.push(`${head!.slice(1)}${value}`);
  }
  return found;
}

/**
 * The URL to connect to: each secret parameter written "***" takes the next value `stored` ("name=value"
 * pairs joined by "&", as the editor saves them) has for its name. `missing` names those that found none.
 */
export function restoreQuerySecrets(
  url: string,
  stored: string | undefined,
): { url: string; missing: string[] } {
  const values = new Map<string, string[]>();
  for (const pair of (stored ?? "").split("&")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).toLowerCase();
    values.set(name, [...(values.get(name) ?? []), pair.slice(eq + 1)]);
  }
  const missing: string[] = [];
  const restored = url.replace(secretPattern(), (whole: string, head: string, value: string) => {
    if (value !== MASK) return whole;
    const name = head.slice(1, -1);
    const next = values.get(name.toLowerCase())?.shift();
    if (next === undefined) {
      missing.push(name);
      return whole;
    }
    return `${head}${next}`;
  });
  return { url: restored, missing };
}

/** The values of "name=value" pairs, as written and percent-decoded: what must never be shown. */
export function secretValues(pairs: readonly string[]): string[] {
  const values: string[] = [];
  for (const pair of pairs) {
    const value = pair.slice(pair.indexOf("=") + 1);
    if (value === "" || value === MASK) continue;
    values.push(value);
    try {
      values.push(decodeURIComponent(value));
    } catch {
      // not percent-encoding: the value as written is all there is
    }
  }
  return values;
}
