// Which Python runs the server: the `shape-lsp.python` setting, else the interpreter the Python
// extension (ms-python.python) selected, else `python3` (`python` on Windows).
import * as os from "node:os";
import * as path from "node:path";

export type InterpreterSource = "setting" | "python-extension" | "default";

export interface Interpreter {
  /** The executable plus any leading arguments (e.g. `["py", "-3"]`). */
  command: string[];
  source: InterpreterSource;
}

/** The parts of the Python extension's API used here (both its new and legacy surfaces). */
export interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: unknown): { path: string } | undefined;
    resolveEnvironment?(
      env: { path: string } | string,
    ): Promise<{ executable?: { uri?: { fsPath: string } } } | undefined>;
  };
  settings?: {
    getExecutionDetails?(resource?: unknown): { execCommand?: string[] } | undefined;
  };
}

/** Expands `~`, `${workspaceFolder}`, `${userHome}` and `${env:NAME}` in a path setting. */
export function expandPath(value: string, workspaceFolder?: string, env: NodeJS.ProcessEnv = process.env): string {
  let v = value.trim();
  v = v.replace(/\$\{workspaceFolder\}/g, workspaceFolder ?? "");
  v = v.replace(/\$\{userHome\}/g, os.homedir());
  v = v.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? "");
  if (v === "~" || v.startsWith("~/") || v.startsWith("~\\")) v = path.join(os.homedir(), v.slice(1));
  if (workspaceFolder && !path.isAbsolute(v) && (v.includes("/") || v.includes("\\"))) {
    v = path.resolve(workspaceFolder, v);
  }
  return v;
}

export function defaultPython(platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? "python" : "python3";
}

/** The interpreter the Python extension selected for `resource`, if it tells us one. */
export async function fromPythonExtension(api: PythonExtensionApi | undefined, resource?: unknown): Promise<string[] | undefined> {
  if (!api) return undefined;
  try {
    const envs = api.environments;
    if (envs) {
      const active = envs.getActiveEnvironmentPath(resource);
      if (active?.path) {
        const resolved = envs.resolveEnvironment ? await envs.resolveEnvironment(active) : undefined;
        const exe = resolved?.executable?.uri?.fsPath;
        return [exe || active.path];
      }
    }
    const exec = api.settings?.getExecutionDetails?.(resource)?.execCommand;
    if (exec && exec.length > 0 && exec[0]) return exec;
  } catch {
    // A broken or still-activating Python extension must not stop the server.
  }
  return undefined;
}

export interface ResolveOptions {
  /** The `shape-lsp.python` setting (already restricted to the user value when untrusted). */
  setting?: string;
  /** The Python extension's API, when it is installed and activated. */
  pythonApi?: PythonExtensionApi;
  /** Whether to consult the Python extension (not in untrusted workspaces: it may pick a workspace venv). */
  usePythonExtension: boolean;
  workspaceFolder?: string;
  resource?: unknown;
  platform?: NodeJS.Platform;
}

export async function resolveInterpreter(opts: ResolveOptions): Promise<Interpreter> {
  const setting = opts.setting?.trim();
  if (setting) return { command: [expandPath(setting, opts.workspaceFolder)], source: "setting" };
  if (opts.usePythonExtension) {
    const fromExt = await fromPythonExtension(opts.pythonApi, opts.resource);
    if (fromExt) return { command: fromExt, source: "python-extension" };
  }
  return { command: [defaultPython(opts.platform)], source: "default" };
}

/** The full server command line: `<python> -m shape_lsp serve [extra args]`. */
export function serverCommand(interp: Interpreter, extraArgs: string[] = []): { command: string; args: string[] } {
  const [command, ...lead] = interp.command;
  return { command, args: [...lead, "-m", "shape_lsp", "serve", ...extraArgs] };
}

/** What a failed `import shape_lsp` probe means. */
export type ProbeResult =
  | { ok: true; version?: string }
  | { ok: false; reason: "missing-module" | "no-interpreter" | "old-python" | "other"; detail: string };

export function classifyProbe(error: { code?: unknown } | null, stdout: string, stderr: string): ProbeResult {
  if (!error) return { ok: true, version: stdout.trim() || undefined };
  if (error.code === "ENOENT") return { ok: false, reason: "no-interpreter", detail: stderr || "not found" };
  if (/ModuleNotFoundError: No module named '?shape_lsp/.test(stderr)) {
    return { ok: false, reason: "missing-module", detail: stderr.trim() };
  }
  if (/SyntaxError|requires Python|python_requires/i.test(stderr)) {
    return { ok: false, reason: "old-python", detail: stderr.trim() };
  }
  return { ok: false, reason: "other", detail: (stderr || stdout).trim() };
}

/** The probe's Python snippet (prints the installed version). */
export const PROBE_CODE = "import sys, shape_lsp; print(getattr(shape_lsp, '__version__', ''))";
