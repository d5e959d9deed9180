// Builds the served agent from its source: `make agent` (npm ci, then this script).
// src/rum.js (readable, commented) -> static/rumvault/rum-<version>.js (minified by terser).
// The output's first line names the source's SHA-256, so a test can tell a stale build
// without npm (tests/browser_agent/test_agent_file.py).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { minify } from "terser";

const source = readFileSync(new URL("./src/rum.js", import.meta.url), "utf8");
const version = /var VERSION = "([0-9.]+)";/.exec(source)[1];
const digest = createHash("sha256").update(source).digest("hex");
const result = await minify(source, {
  ecma: 2020,
  compress: { passes: 2 },
  mangle: true,
  format: {
    comments: false,
    preamble: `/*! rumvault browser agent ${version} | docs/browser-agent.md | source sha256:${digest} */`,
  },
});
const target = new URL(`./static/rumvault/rum-${version}.js`, import.meta.url);
writeFileSync(target, result.code + "\n");
console.log(`${target.pathname}: ${result.code.length} bytes`);
