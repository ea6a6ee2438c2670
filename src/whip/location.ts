/**
 * The resource a 201's Location names (RFC 9725 §4.2: it may be relative, and is then resolved
 * against the endpoint's URL); undefined when there is none, or it is not an http(s) URL.
 */
export function resourceUrl(location: string | undefined, endpoint: URL): URL | undefined {
  const text = location?.trim() ?? "";
  if (text === "") return undefined;
  let url: URL;
  try {
    url = new URL(text, endpoint);
  } catch {
    return undefined;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
}
