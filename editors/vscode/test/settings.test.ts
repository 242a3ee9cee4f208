import { describe, expect, it } from "vitest";
import { needsRestart, serverArgs, toServerSettings, trustedValue, type ConfigLike } from "../src/settings";

function cfg(values: Record<string, unknown>, global: Record<string, unknown> = {}): ConfigLike {
  return {
    get: <T>(k: string) => values[k] as T | undefined,
    inspect: <T>(k: string) => ({ globalValue: global[k] as T | undefined, workspaceValue: values[k] as T | undefined }),
  };
}

describe("toServerSettings", () => {
  it("sends nothing the user did not set (pyproject settings stay in force)", () => {
    expect(toServerSettings(cfg({}))).toEqual({});
    // A value that only comes from the contributed default is not "set".
    const defaults: ConfigLike = {
      get: <T>(k: string) => ({ inlayHints: true, debounceMs: 0 })[k as "inlayHints"] as T,
      inspect: <T>(k: string) => ({ defaultValue: ({ inlayHints: true } as Record<string, unknown>)[k] as T }),
    };
    expect(toServerSettings(defaults)).toEqual({});
  });

  it("counts a user-level value as set", () => {
    expect(toServerSettings(cfg({}, {}))).toEqual({});
    const user: ConfigLike = { get: <T>() => false as T, inspect: <T>() => ({ globalValue: false as T }) };
    expect(toServerSettings(user).inlayHints).toBe(false);
  });

  it("maps every server setting, camelCase, with the verify table nested", () => {
    const s = toServerSettings(
      cfg({
        inlayHints: false,
        debounceMs: 250,
        ignore: ["sh113", "SH114"],
        severity: { SH114: "Error", sh113: "off" },
        symbols: { batch: "N", channels: "Ch" },
        inputShapes: { Net: [[2, 3, 32, 32]], Seq: [4, "T", 16] },
        "verify.python": "/opt/py/bin/python",
        "verify.device": "meta",
        "verify.timeout": 5,
        "verify.dims": { B: 2, H: 32 },
      }),
    );
    expect(s).toEqual({
      inlayHints: false,
      debounceMs: 250,
      ignore: ["SH113", "SH114"],
      severity: { SH114: "error", SH113: "off" },
      symbols: { batch: "N", channels: "Ch" },
      inputShapes: { Net: [[2, 3, 32, 32]], Seq: [[4, "T", 16]] },
      verify: { python: "/opt/py/bin/python", device: "meta", timeout: 5, dims: { B: 2, H: 32 } },
    });
  });

  it("never sends the client-only keys", () => {
    const s = toServerSettings(cfg({ python: "/x/python", serverArgs: ["-v"], "trace.server": "verbose", debounceMs: 10 }));
    expect(s).toEqual({ debounceMs: 10 });
    expect(JSON.stringify(s)).not.toContain("/x/python");
  });

  it("drops values the server would reject instead of sending them", () => {
    const s = toServerSettings(
      cfg({
        inlayHints: "yes",
        debounceMs: 99999,
        ignore: ["SH113", "nope", 3],
        severity: { SH101: "fatal", XX1: "error" },
        symbols: { batch: "not an id", colour: "K" },
        inputShapes: { Bad: "2,3", Empty: [], Mixed: [[1, 2], "x"] },
        "verify.python": "   ",
        "verify.device": "tpu",
        "verify.timeout": -1,
        "verify.dims": { B: 0, H: 2.5, W: 8 },
      }),
    );
    expect(s.inlayHints).toBeUndefined();
    expect(s.debounceMs).toBe(5000);
    expect(s.ignore).toEqual(["SH113"]);
    expect(s.severity).toEqual({});
    expect(s.symbols).toEqual({});
    expect(s.inputShapes).toEqual({});
    expect(s.verify).toEqual({ dims: { W: 8 } });
  });

  it("expands the verify interpreter path", () => {
    const s = toServerSettings(cfg({ "verify.python": "${workspaceFolder}/.venv/bin/python" }), (p) =>
      p.replace("${workspaceFolder}", "/ws"),
    );
    expect(s.verify?.python).toBe("/ws/.venv/bin/python");
  });
});

describe("restricted settings", () => {
  it("uses the workspace value only in a trusted workspace", () => {
    const c = cfg({ python: "/ws/evil/python" }, { python: "/usr/bin/python3.12" });
    expect(trustedValue(c, "python", true)).toBe("/ws/evil/python");
    expect(trustedValue(c, "python", false)).toBe("/usr/bin/python3.12");
  });

  it("serverArgs keeps strings and respects trust", () => {
    const c = cfg({ serverArgs: ["--log-file", 3, "/tmp/x"] }, { serverArgs: ["-v"] });
    expect(serverArgs(c, true)).toEqual(["--log-file", "/tmp/x"]);
    expect(serverArgs(c, false)).toEqual(["-v"]);
  });

  it("restarts on any shape-lsp setting change only", () => {
    expect(needsRestart((s) => s === "shape-lsp")).toBe(true);
    expect(needsRestart((s) => s === "python")).toBe(false);
  });
});
