import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  LANGUAGES,
  LOCALES,
  NODE_NAMES,
  type NodeName,
  PACKAGE_ROOT,
  translator,
} from "../../helpers/node-catalog";

type Catalog = { [key: string]: string | Catalog };

function catalog(node: NodeName, language: string): Catalog {
  return JSON.parse(readFileSync(path.join(LOCALES, language, `${node}.json`), "utf8")) as Catalog;
}

/** "a.b.c" → text, for every text of the catalog. */
function flatten(tree: Catalog, prefix = ""): Map<string, string> {
  const texts = new Map<string, string>();
  for (const [name, value] of Object.entries(tree)) {
    const key = prefix + name;
    if (typeof value === "string") texts.set(key, value);
    else for (const [k, v] of flatten(value, `${key}.`)) texts.set(k, v);
  }
  return texts;
}

function placeholders(text: string): string[] {
  return [...new Set(text.match(/__[A-Za-z]+__/g) ?? [])].sort();
}

/** Where keys are used: the runtime's node adapters and the editor's HTML (data-i18n, this._, RED._). */
function sources(): { file: string; text: string }[] {
  const files = [
    ...readdirSync(path.join(PACKAGE_ROOT, "src/nodes"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join("src/nodes", f)),
    ...readdirSync(path.join(PACKAGE_ROOT, "nodes"))
      .filter((f) => f.endsWith(".html"))
      .map((f) => path.join("nodes", f)),
  ];
  return files.map((file) => ({ file, text: readFileSync(path.join(PACKAGE_ROOT, file), "utf8") }));
}

/** Whole keys written in quotes, or after data-i18n's "[placeholder]"; file names are not keys. */
function keysUsed(text: string): string[] {
  const pattern =
    /["'\]]((?:rtsp-in|rtp-fanout|webrtc-out|snapshot|mp4-record|whip-out)(?:\.[A-Za-z0-9_-]+)+)(?=["';])/g;
  return [...text.matchAll(pattern)]
    .map((m) => m[1]!)
    .filter((key) => !/\.(js|json|html|svg|ts|png)$/.test(key));
}

/** The editor reads palette.label.<category> from the catalog of a node in that category. */
function categoryOf(node: NodeName): string | undefined {
  const html = readFileSync(path.join(PACKAGE_ROOT, "nodes", `${node}.html`), "utf8");
  return /category:\s*"([^"]+)"/.exec(html)?.[1];
}

describe("nodes/locales: the message catalogs", () => {
  const used = new Map<string, string[]>();
  before(() => {
    for (const { file, text } of sources()) {
      for (const key of keysUsed(text)) used.set(key, [...(used.get(key) ?? []), file]);
    }
  });

  for (const node of NODE_NAMES) {
    describe(node, () => {
      const en = flatten(catalog(node, "en-US"));

      it("en-US and zh-CN have the same keys, each with the same __placeholders__", () => {
        for (const language of LANGUAGES) {
          const texts = flatten(catalog(node, language));
          assert.deepEqual([...texts.keys()].sort(), [...en.keys()].sort(), language);
          for (const [key, text] of texts) {
            assert.deepEqual(placeholders(text), placeholders(en.get(key)!), `${language} ${key}`);
          }
        }
      });

      it("every key is used: by the runtime, by the editor, or (palette.label.<category>) by Node-RED", () => {
        const category = categoryOf(node);
        const unused = [...en.keys()].filter((key) => !used.has(key) && key !== `palette.label.${category}`);
        assert.deepEqual(unused, []);
      });

      it("every key the code uses is in the catalog", () => {
        const missing = [...used.entries()]
          .filter(([key]) => key.startsWith(`${node}.`) && !en.has(key))
          .map(([key, files]) => `${key} (${files.join(", ")})`);
        assert.deepEqual(missing, []);
      });
    });
  }

  it("Node-RED's i18n puts the values in, in either language", async () => {
    const english = await translator("rtsp-in", "en-US");
    const chinese = await translator("rtsp-in", "zh-CN");
    const values = { seconds: 4, reason: "connection refused" };
    assert.equal(english("rtsp-in.status.retrying", values), "retry in 4 s: connection refused");
    assert.equal(chinese("rtsp-in.status.retrying", values), "4 秒后重试：connection refused");
  });
});
