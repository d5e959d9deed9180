// Builds the served agent and the loader from their sources: `make agent` (npm ci, then this
// script).
//   src/rum.js (readable, commented) -> static/rumvault/rum-<version>.js (minified by terser)
//   src/loader.js -> loader.min.js, the code of the inline tag (browser_agent/agent.py)
// Each output's first line names its source's SHA-256, so a test can tell a stale build
// without npm (tests/browser_agent/test_agent_file.py).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { minify } from "terser";

async function build(sourcePath, targetPath, preamble) {
  const source = readFileSync(new URL(sourcePath, import.meta.url), "utf8");
  const digest = createHash("sha256").update(source).digest("hex");
  const result = await minify(source, {
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: false, preamble: preamble(source, digest) },
  });
  const target = new URL(targetPath(source), import.meta.url);
  writeFileSync(target, result.code + "\n");
  console.log(`${target.pathname}: ${result.code.length} bytes`);
}

const version = (source) => /var VERSION = "([0-9.]+)";/.exec(source)[1];
await build(
  "./src/rum.js",
  (source) => `./static/rumvault/rum-${version(source)}.js`,
  (source, digest) => `/*! rumvault browser agent ${version(source)} | docs/browser-agent.md | source sha256:${digest} */`,
);
await build("./src/loader.js", () => "./loader.min.js", (source, digest) => `/*! rumvault loader | source sha256:${digest} */`);
