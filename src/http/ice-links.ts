import type { IceServer } from "../webrtc/ice-config";

/** Characters an HTTP header value cannot hold; a server whose text has one is left out rather than mangled. */
function unfitForHeader(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code > 0xff) return true;
  }
  return false;
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The WHEP `Link` header values announcing the ICE servers (as RFC 9725 defines them for WHIP):
 * `<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`.
 * A server whose URL cannot sit inside <…> (spaces, angle brackets), or whose text a header cannot carry, is
 * left out.
 */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  const links: string[] = [];
  for (const server of servers) {
    if (!server.urls || /[\s<>]/.test(server.urls) || unfitForHeader(server.urls)) continue;
    if (unfitForHeader(server.username ?? "") || unfitForHeader(server.credential ?? "")) continue;
    let link = `<${server.urls}>; rel="ice-server"`;
    if (server.username !== undefined && server.credential !== undefined) {
      link += `; username=${quoted(server.username)}; credential=${quoted(server.credential)}; credential-type="password"`;
    }
    links.push(link);
  }
  return links;
}
