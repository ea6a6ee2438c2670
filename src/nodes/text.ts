import { readFileSync } from "node:fs";
import path from "node:path";
import type { TextValues } from "./red";

function packageVersion(): string {
  // dist/src/nodes/text.js and src/nodes/text.ts both sit three folders below the package root.
  for (const up of ["../../..", "../.."]) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, up, "package.json"), "utf8")) as {
        version?: string;
      };
      if (pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return "0";
}

export const USER_AGENT = `node-red-rtsp-webrtc/${packageVersion()}`;

/** "2.1 Mbps", "640 kbps". */
export function describeRate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1_000_000) return `${(bitsPerSecond / 1_000_000).toFixed(1)} Mbps`;
  return `${Math.round(bitsPerSecond / 1000)} kbps`;
}

/** SDP names AAC by its RTP payload format; users know it as AAC. */
export function codecLabel(codec: string): string {
  return codec === "MPEG4-GENERIC" || codec === "MP4A-LATM" ? "AAC" : codec;
}

/**
 * A text of a node's message catalog, not yet in words: built where the runtime's language is not at
 * hand (parsing a configuration), put in words by the node with RED._.
 */
export interface CatalogText {
  readonly key: string;
  readonly values?: TextValues;
}
