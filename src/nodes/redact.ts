import { maskUrl } from "../rtsp/url";

/** Text safe for status, logs and events: URLs masked, and the password itself never spelled out. */
export function redact(text: string, password: string | undefined): string {
  let safe = maskUrl(text);
  // A very short password would mask ordinary letters; the URL masking covers those in practice.
  if (password && password.length >= 4) safe = safe.split(password).join("***");
  if (password && password.length >= 4) {
    const encoded = encodeURIComponent(password);
    if (encoded !== password) safe = safe.split(encoded).join("***");
  }
  return safe;
}
