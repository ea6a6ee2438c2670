import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../../helpers/node-red-process";

const SRC = path.join(packageRoot(), "src");

/** Rooms no other room may import: the HTTP routes and the Node-RED adapters sit on top of the rest. */
const UPPER_ROOMS = new Set(["http", "nodes"]);

/** Every TypeScript source under src/, as a path relative to src/ with "/" separators. */
function sources(dir = SRC): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sources(full));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) files.push(relative(full));
  }
  return files;
}

function relative(file: string): string {
  return path.relative(SRC, file).split(path.sep).join("/");
}

/**
 * The module specifiers a source names: import and export … from statements (type-only ones too: a
 * cycle of types is still a cycle a reader has to untangle), side-effect imports, import() and require().
 */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) found.push(match[1] ?? "");
  }
  return found;
}

/** The source file a relative specifier names, relative to src/; undefined when it names none. */
function resolveSource(from: string, specifier: string): string | undefined {
  const base = path.resolve(SRC, path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) {
    if (existsSync(candidate)) return relative(candidate);
  }
  return undefined;
}

/** src/ as a graph: each source and the sources it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources()) {
    const targets: string[] = [];
    for (const specifier of specifiers(readFileSync(path.join(SRC, file), "utf8"))) {
      if (!specifier.startsWith(".")) continue;
      if (specifier.endsWith(".json")) continue;
      const target = resolveSource(file, specifier);
      assert.ok(target, `${file} imports ${specifier}, which names no source under src/`);
      targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The folder right under src/ a source lives in ("http", "webrtc"…); "" for src/index.ts. */
function roomOf(file: string): string {
  const slash = file.indexOf("/");
  return slash < 0 ? "" : file.slice(0, slash);
}

/** Every import cycle among `files`, each as the path that closes it ("a → b → a"). */
function cycles(graph: ReadonlyMap<string, readonly string[]>, files: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (!files.has(target)) continue;
      const at = stack.indexOf(target);
      if (at >= 0) found.push([...stack.slice(at), target].join(" → "));
      else if (!done.has(target)) visit(target);
    }
    stack.pop();
    done.add(file);
  };
  for (const file of [...files].sort()) if (!done.has(file)) visit(file);
  return found;
}

describe("imports between the rooms of src/", () => {
  const graph = importGraph();

  it("reads the imports of every source (an empty graph would pass anything)", () => {
    assert.ok(graph.size > 50, `${graph.size} sources`);
    assert.ok(graph.get("http/stream-endpoint.ts")?.includes("http/http-error.ts"));
    assert.ok(graph.get("nodes/webrtc-out.ts")?.includes("webrtc/stream-viewers.ts"));
  });

  it("src/http has no import cycle, nor has any other room, nor the rooms among them", () => {
    assert.deepEqual(cycles(graph, new Set(graph.keys())), []);
  });

  it("only src/nodes imports src/nodes, and only src/http and src/nodes import src/http", () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = roomOf(file);
      for (const target of targets) {
        const to = roomOf(target);
        if (to === from || !UPPER_ROOMS.has(to)) continue;
        if (to === "nodes" || !UPPER_ROOMS.has(from)) wrong.push(`${file} → ${target}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
