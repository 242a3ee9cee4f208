// package.json contributes what the extension code and the server expect.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { toServerSettings } from "../src/settings";

const pkg = JSON.parse(readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
const props: Record<string, { default?: unknown; markdownDescription?: string; description?: string }> =
  pkg.contributes.configuration.properties;

const SERVER_KEYS = ["inlayHints", "debounceMs", "ignore", "severity", "symbols", "inputShapes", "verify.python", "verify.device", "verify.timeout", "verify.dims"];
const CLIENT_KEYS = ["python", "serverArgs", "trace.server"];

describe("package.json", () => {
  it("contributes every server setting and the client ones, each described with a default", () => {
    expect(Object.keys(props).sort()).toEqual([...SERVER_KEYS, ...CLIENT_KEYS].map((k) => `shape-lsp.${k}`).sort());
    for (const [key, p] of Object.entries(props)) {
      expect(p.markdownDescription ?? p.description, key).toBeTruthy();
      expect(p, key).toHaveProperty("default");
    }
  });

  it("maps each server setting to the server's key when set", () => {
    const values: Record<string, unknown> = {
      inlayHints: false,
      debounceMs: 10,
      ignore: ["SH113"],
      severity: { SH101: "hint" },
      symbols: { batch: "N" },
      inputShapes: { Net: [[1, 2]] },
      "verify.python": "/p",
      "verify.device": "cpu",
      "verify.timeout": 3,
      "verify.dims": { B: 2 },
    };
    const s = toServerSettings({ get: <T>(k: string) => values[k] as T });
    for (const key of SERVER_KEYS) {
      const [a, b] = key.split(".");
      const v = b ? (s as Record<string, Record<string, unknown>>)[a]?.[b] : (s as Record<string, unknown>)[a];
      expect(v, key).toBeDefined();
    }
  });

  it("defaults match the server's defaults", () => {
    expect(props["shape-lsp.inlayHints"].default).toBe(true);
    expect(props["shape-lsp.debounceMs"].default).toBe(0);
    expect(props["shape-lsp.verify.device"].default).toBe("auto");
    expect(props["shape-lsp.verify.timeout"].default).toBe(60);
    expect(props["shape-lsp.symbols"].default).toEqual({ batch: "B", channels: "C", height: "H", width: "W", length: "L", depth: "D", time: "T" });
  });

  it("declares limited support for untrusted workspaces and restricts the interpreter settings", () => {
    const u = pkg.capabilities.untrustedWorkspaces;
    expect(u.supported).toBe("limited");
    expect(u.restrictedConfigurations.sort()).toEqual(["shape-lsp.python", "shape-lsp.serverArgs", "shape-lsp.verify.python"]);
  });

  it("contributes the three user commands, bundles to dist/ and targets VS Code ^1.82", () => {
    const ids = pkg.contributes.commands.map((c: { command: string }) => c.command);
    expect(ids).toEqual(
      expect.arrayContaining(["shape-lsp.verifyShapes", "shape-lsp.showSummary", "shape-lsp.showGraph", "shape-lsp.restartServer"]),
    );
    // Never the server's own ids: vscode-languageclient registers those itself.
    expect(ids).not.toContain("shape-lsp.verify");
    expect(ids).not.toContain("shape-lsp.summary");
    expect(ids).not.toContain("shape-lsp.graph");
    expect(pkg.main).toBe("./dist/extension.js");
    expect(pkg.engines.vscode).toBe("^1.82.0");
    expect(pkg.dependencies["vscode-languageclient"]).toMatch(/^9\./);
  });
});
