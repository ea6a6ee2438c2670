import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inlineHash } from "../../../src/http/html";
import { fillTemplate, pagesDir, readPageFiles } from "../../../src/http/page-files";

describe("http/page-files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "page-files-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function page(name: string, files: { html?: string; js?: string; css?: string }): void {
    writeFileSync(path.join(dir, `${name}.html`), files.html ?? "<title>{{title}}</title>");
    writeFileSync(path.join(dir, `${name}.js`), files.js ?? "void 0;\n");
    writeFileSync(path.join(dir, `${name}.css`), files.css ?? "body { margin: 0; }\n");
  }

  it("reads a page's three files and hashes its script and style as they are", () => {
    page("p", { js: "window.x = 1;\n", css: "p { color: red; }\n" });
    const files = readPageFiles("p", dir);
    assert.equal(files.html, "<title>{{title}}</title>");
    assert.equal(files.script, "window.x = 1;\n");
    assert.equal(files.scriptHash, inlineHash("window.x = 1;\n"));
    assert.equal(files.styleHash, inlineHash("p { color: red; }\n"));
  });

  it("refuses a script or style that would end its inline element early", () => {
    page("s", { js: 'var s = "</SCRIPT>";\n' });
    assert.throws(() => readPageFiles("s", dir), /s\.js holds "<\/script"/);
    page("c", { js: "var c = 1; <!-- x\n" });
    assert.throws(() => readPageFiles("c", dir), /c\.js holds/);
    page("t", { css: "p::after { content: '</style>'; }\n" });
    assert.throws(() => readPageFiles("t", dir), /t\.css holds "<\/style"/);
  });

  it("says which file is missing", () => {
    writeFileSync(path.join(dir, "m.html"), "");
    assert.throws(() => readPageFiles("m", dir), /m\.js/);
  });

  it("finds the shipped pages from the compiled module's folder and from the package root", () => {
    const found = pagesDir();
    assert.equal(path.basename(found), "pages");
    assert.equal(pagesDir(path.resolve(found, "../../..")), found);
    assert.throws(() => pagesDir(dir), /src[/\\]http[/\\]pages is not found above/);
  });

  it("a page with its folder under a package.json is found there", () => {
    mkdirSync(path.join(dir, "src", "http", "pages"), { recursive: true });
    writeFileSync(path.join(dir, "package.json"), "{}");
    mkdirSync(path.join(dir, "dist", "src", "http"), { recursive: true });
    assert.equal(pagesDir(path.join(dir, "dist", "src", "http")), path.join(dir, "src", "http", "pages"));
  });

  describe("fillTemplate", () => {
    it("fills each slot, as often as it is named", () => {
      assert.equal(
        fillTemplate("<h1>{{t}}</h1><p>{{t}}{{u}}</p>", { t: "A", u: "B" }),
        "<h1>A</h1><p>AB</p>",
      );
    });

    it("reads what a slot brings as text, never as a slot or a section", () => {
      const html = fillTemplate("<title>{{title}}</title><script>{{script}}</script>", {
        title: "{{script}} {{#x}}",
        script: "run()",
      });
      assert.equal(html, "<title>{{script}} {{#x}}</title><script>run()</script>");
    });

    it("keeps a section when told so and drops it otherwise", () => {
      const template = "<body{{#embed}} data-embed{{/embed}}>{{#full}}<nav>{{n}}</nav>{{/full}}</body>";
      assert.equal(
        fillTemplate(template, { n: "x" }, { embed: false, full: true }),
        "<body><nav>x</nav></body>",
      );
      assert.equal(
        fillTemplate(template, { n: "x" }, { embed: true, full: false }),
        "<body data-embed></body>",
      );
    });

    it("throws on a slot or a section it is not given", () => {
      assert.throws(() => fillTemplate("{{a}}{{b}}", { a: "" }), /slot \{\{b\}\} is not given/);
      assert.throws(() => fillTemplate("{{#s}}x{{/s}}", {}), /section \{\{#s\}\} is not given/);
    });
  });
});
