import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  classifyProbe,
  expandPath,
  resolveInterpreter,
  serverCommand,
  type PythonExtensionApi,
} from "../src/interpreter";

const newApi = (p: string, exe?: string): PythonExtensionApi => ({
  environments: {
    getActiveEnvironmentPath: () => ({ path: p }),
    resolveEnvironment: async () => (exe ? { executable: { uri: { fsPath: exe } } } : undefined),
  },
});

describe("resolveInterpreter", () => {
  it("prefers the shape-lsp.python setting", async () => {
    const i = await resolveInterpreter({ setting: "/opt/py/bin/python", pythonApi: newApi("/other"), usePythonExtension: true });
    expect(i).toEqual({ command: ["/opt/py/bin/python"], source: "setting" });
  });

  it("expands ${workspaceFolder} and ~ in the setting", async () => {
    const a = await resolveInterpreter({ setting: "${workspaceFolder}/.venv/bin/python", usePythonExtension: false, workspaceFolder: "/ws" });
    expect(a.command).toEqual(["/ws/.venv/bin/python"]);
    const b = await resolveInterpreter({ setting: "~/venv/bin/python", usePythonExtension: false });
    expect(b.command).toEqual([path.join(os.homedir(), "venv/bin/python")]);
  });

  it("uses the Python extension's resolved environment", async () => {
    const i = await resolveInterpreter({ pythonApi: newApi("/ws/.venv", "/ws/.venv/bin/python"), usePythonExtension: true });
    expect(i).toEqual({ command: ["/ws/.venv/bin/python"], source: "python-extension" });
  });

  it("falls back to the active path when it cannot be resolved", async () => {
    const i = await resolveInterpreter({ pythonApi: newApi("/usr/bin/python3.12"), usePythonExtension: true });
    expect(i.command).toEqual(["/usr/bin/python3.12"]);
  });

  it("uses the legacy execution details API", async () => {
    const api: PythonExtensionApi = { settings: { getExecutionDetails: () => ({ execCommand: ["conda", "run", "-n", "ml", "python"] }) } };
    const i = await resolveInterpreter({ pythonApi: api, usePythonExtension: true });
    expect(i).toEqual({ command: ["conda", "run", "-n", "ml", "python"], source: "python-extension" });
    expect(serverCommand(i)).toEqual({ command: "conda", args: ["run", "-n", "ml", "python", "-m", "shape_lsp", "serve"] });
  });

  it("survives a throwing Python extension", async () => {
    const api = { environments: { getActiveEnvironmentPath: () => { throw new Error("not ready"); } } } as PythonExtensionApi;
    const i = await resolveInterpreter({ pythonApi: api, usePythonExtension: true, platform: "linux" });
    expect(i).toEqual({ command: ["python3"], source: "default" });
  });

  it("ignores the Python extension when told to (untrusted workspace)", async () => {
    const i = await resolveInterpreter({ pythonApi: newApi("/ws/.venv", "/ws/.venv/bin/python"), usePythonExtension: false, platform: "linux" });
    expect(i).toEqual({ command: ["python3"], source: "default" });
  });

  it("defaults to python3, or python on Windows", async () => {
    expect((await resolveInterpreter({ usePythonExtension: true, platform: "linux" })).command).toEqual(["python3"]);
    expect((await resolveInterpreter({ usePythonExtension: true, platform: "win32" })).command).toEqual(["python"]);
  });
});

describe("serverCommand", () => {
  it("appends serve and the extra arguments", () => {
    expect(serverCommand({ command: ["/p/python"], source: "setting" }, ["--log-file", "x"])).toEqual({
      command: "/p/python",
      args: ["-m", "shape_lsp", "serve", "--log-file", "x"],
    });
  });
});

describe("expandPath", () => {
  it("expands env vars and resolves relative paths against the workspace", () => {
    expect(expandPath("${env:VENV}/bin/python", "/ws", { VENV: "/v" })).toBe("/v/bin/python");
    expect(expandPath(".venv/bin/python", "/ws")).toBe("/ws/.venv/bin/python");
    expect(expandPath("python3.12", "/ws")).toBe("python3.12");
  });
});

describe("classifyProbe", () => {
  it("reads the version on success", () => {
    expect(classifyProbe(null, "0.1.0\n", "")).toEqual({ ok: true, version: "0.1.0" });
  });
  it("recognises a missing module (offer pip install)", () => {
    const r = classifyProbe({ code: 1 }, "", "Traceback...\nModuleNotFoundError: No module named 'shape_lsp'\n");
    expect(r).toMatchObject({ ok: false, reason: "missing-module" });
  });
  it("recognises a missing interpreter", () => {
    expect(classifyProbe({ code: "ENOENT" }, "", "")).toMatchObject({ ok: false, reason: "no-interpreter" });
  });
  it("reports anything else as other", () => {
    expect(classifyProbe({ code: 1 }, "", "ImportError: libcst broke")).toMatchObject({ ok: false, reason: "other" });
  });
});
