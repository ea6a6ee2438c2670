import { type IceServer, iceServersFromText } from "../webrtc/ice-config";
import { parseEndpoint } from "../whip/publisher";
import type { NodeDef } from "./red";
import type { CatalogText } from "./text";

export interface WhipOutDef extends NodeDef {
  /** The WHIP endpoint URL. */
  endpoint?: string;
  /** STUN/TURN URLs separated by spaces, commas or new lines. */
  iceServers?: string;
  startMode?: "deploy" | "command";
}

/** Kept in Node-RED's credentials store: never in the flow, a log, a status or a message. */
export interface WhipOutCredentials {
  token?: string;
  turnUser?: string;
  turnPassword?: string;
}

export interface WhipOutSettings {
  readonly topic: string;
  /** Undefined when the URL is missing or not http(s) (see `problem`). */
  readonly endpoint: string | undefined;
  /** The endpoint's host, the only part of it a status shows. */
  readonly host: string;
  readonly token: string | undefined;
  readonly iceServers: IceServer[];
  readonly startOnDeploy: boolean;
  /** What keeps the node from publishing (no URL, a bad URL). */
  readonly problem: CatalogText | undefined;
  /** Warnings about ignored entries. */
  readonly warnings: CatalogText[];
  /** Every secret, for redaction. */
  readonly secrets: string[];
}

/** The node's settings from its flow definition and credentials; never throws, reports problems instead. */
export function parseWhipOutConfig(
  def: WhipOutDef,
  credentials: WhipOutCredentials | undefined,
): WhipOutSettings {
  const warnings: CatalogText[] = [];
  const written = (def.endpoint ?? "").trim();
  let endpoint: string | undefined;
  let host = "";
  let problem: CatalogText | undefined;
  if (written === "") problem = { key: "whip-out.status.no-endpoint" };
  else {
    try {
      const url = parseEndpoint(written);
      endpoint = url.href;
      host = url.host;
    } catch {
      problem = { key: "whip-out.status.bad-endpoint" };
    }
  }
  const token = credentials?.token?.trim() || undefined;
  const turnUser = credentials?.turnUser || undefined;
  const turnPassword = credentials?.turnPassword || undefined;
  const { servers: iceServers, rejected } = iceServersFromText(def.iceServers, turnUser, turnPassword);
  for (const url of rejected) warnings.push({ key: "whip-out.warnings.ice-server", values: { url } });
  return {
    topic: (def.name ?? "").trim() || host || "whip-out",
    endpoint,
    host,
    token,
    iceServers,
    startOnDeploy: def.startMode !== "command",
    problem,
    warnings,
    secrets: [token, turnPassword].filter((s): s is string => s !== undefined),
  };
}
