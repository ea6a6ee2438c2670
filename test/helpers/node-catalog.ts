import path from "node:path";
import type { NodeAPI, TextValues } from "../../src/nodes/red";

/** The nodes of this package, each with its message catalog nodes/locales/<lang>/<node>.json. */
export type NodeName = "rtsp-in" | "rtp-fanout" | "webrtc-out" | "snapshot" | "mp4-record" | "whip-out";
export const NODE_NAMES: readonly NodeName[] = [
  "rtsp-in",
  "rtp-fanout",
  "webrtc-out",
  "snapshot",
  "mp4-record",
  "whip-out",
];
export const LANGUAGES = ["en-US", "zh-CN"] as const;
export type Language = (typeof LANGUAGES)[number];

/** dist/test/helpers → the package root. */
export const PACKAGE_ROOT = path.join(__dirname, "../../..");
export const LOCALES = path.join(PACKAGE_ROOT, "nodes/locales");

/** The part of Node-RED's i18n (@node-red/util) that the runtime puts behind RED._. */
interface NodeRedI18n {
  init(settings: { lang?: string }): void;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  readonly i: {
    loadLanguages(languages: readonly string[]): Promise<unknown>;
    getFixedT(language: string, namespace: string): (key: string, values?: TextValues) => string;
  };
}

const { i18n } = require("@node-red/util") as { i18n: NodeRedI18n };

const loaded = new Map<NodeName, Promise<void>>();

/** The node's catalog as Node-RED registers it (its own namespace), in both languages. */
function load(node: NodeName): Promise<void> {
  let done = loaded.get(node);
  if (!done) {
    // Does nothing when a runtime of this process initialised it first.
    i18n.init({});
    done = i18n
      .registerMessageCatalog(namespace(node), LOCALES, `${node}.json`)
      .then(() => i18n.i.loadLanguages([...LANGUAGES]))
      .then(() => undefined);
    loaded.set(node, done);
  }
  return done;
}

function namespace(node: NodeName): string {
  return `catalog-test/${node}`;
}

export type Translate = (key: string, values?: TextValues) => string;

/** RED._ as the runtime gives it to `node`: the key looked up in the node's catalog, in `language`. */
export async function translator(node: NodeName, language: Language = "en-US"): Promise<Translate> {
  await load(node);
  const t = i18n.i.getFixedT(language, namespace(node));
  return (key, values) => t(key, values);
}

/**
 * A node module as Node-RED loads it, but with RED._ reading the node's real catalog (en-US). The test
 * helper's own RED._ hands the key back unchanged, so statuses and warnings would read as keys. Each
 * module gets a RED of its own, as in Node-RED, where each node set's RED._ knows its namespace.
 */
export function withCatalog(
  node: NodeName,
  register: (RED: NodeAPI) => void,
): (RED: NodeAPI) => Promise<void> {
  return async (RED) => {
    const text = await translator(node);
    register(Object.create(RED, { _: { value: text } }) as NodeAPI);
  };
}
