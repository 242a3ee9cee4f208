// Maps the VS Code `shape-lsp.*` settings to what the server reads (initializationOptions and
// workspace/configuration). Client-only keys (python, serverArgs, trace) are never sent: the
// server reports unknown keys as problems.

/** The subset of vscode.WorkspaceConfiguration used here (so tests can pass a plain object). */
export interface ConfigLike {
  get<T>(key: string): T | undefined;
  inspect?<T>(key: string):
    | { defaultValue?: T; globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T }
    | undefined;
}

export type Level = "error" | "warning" | "information" | "hint" | "off";
const LEVELS: readonly string[] = ["error", "warning", "information", "hint", "off"];
const DEVICES: readonly string[] = ["auto", "cpu", "cuda", "mps", "meta"];
const CODE = /^SH\d{3}$/i;
export const DEFAULT_SYMBOLS: Record<string, string> = {
  batch: "B",
  channels: "C",
  height: "H",
  width: "W",
  length: "L",
  depth: "D",
  time: "T",
};

/**
 * What the server gets. Only settings the user set explicitly are sent: the server layers the
 * client's settings over `[tool.shape-lsp]` in pyproject.toml, so sending defaults would hide
 * the project's own configuration.
 */
export interface ServerSettings {
  inlayHints?: boolean;
  debounceMs?: number;
  ignore?: string[];
  severity?: Record<string, Level>;
  symbols?: Record<string, string>;
  inputShapes?: Record<string, (number | string)[][]>;
  verify?: {
    python?: string;
    device?: string;
    timeout?: number;
    dims?: Record<string, number>;
  };
}

/** Keys of the `shape-lsp` section that only the client uses. */
export const CLIENT_ONLY_KEYS = ["python", "serverArgs", "trace"] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function dimList(v: unknown): (number | string)[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  if (!v.every((d) => (typeof d === "number" && Number.isInteger(d)) || typeof d === "string")) {
    return undefined;
  }
  return v as (number | string)[];
}

/** Whether the user set `key` anywhere (user, workspace, folder, language scope). */
export function isSet(cfg: ConfigLike, key: string): boolean {
  if (!cfg.inspect) return cfg.get(key) !== undefined;
  const i = cfg.inspect<unknown>(key) as Record<string, unknown> | undefined;
  if (!i) return false;
  return Object.entries(i).some(([k, v]) => k !== "key" && k !== "defaultValue" && !k.startsWith("defaultLanguage") && v !== undefined);
}

/**
 * The server settings from a `shape-lsp` configuration: the explicitly set keys, camelCase, with
 * the verify.* keys nested. Values the server would reject are dropped here (the server falls back
 * to pyproject or its defaults), so a typo in settings.json never stops the server.
 */
export function toServerSettings(cfg: ConfigLike, expand: (p: string) => string = (p) => p): ServerSettings {
  const get = (key: string): unknown => (isSet(cfg, key) ? cfg.get<unknown>(key) : undefined);
  const inlay = get("inlayHints");
  const debounce = get("debounceMs");
  const ignore = get("ignore");
  const severity = get("severity");
  const symbols = get("symbols");
  const shapes = get("inputShapes");
  const vPython = get("verify.python");
  const vDevice = get("verify.device");
  const vTimeout = get("verify.timeout");
  const vDims = get("verify.dims");

  const out: ServerSettings = {};
  if (typeof inlay === "boolean") out.inlayHints = inlay;
  if (typeof debounce === "number" && Number.isFinite(debounce)) {
    out.debounceMs = Math.min(5000, Math.max(0, Math.round(debounce)));
  }
  if (Array.isArray(ignore)) {
    out.ignore = [...new Set(ignore.filter((c): c is string => typeof c === "string" && CODE.test(c)).map((c) => c.toUpperCase()))];
  }
  if (isRecord(severity)) {
    out.severity = {};
    for (const [code, level] of Object.entries(severity)) {
      if (CODE.test(code) && typeof level === "string" && LEVELS.includes(level.toLowerCase())) {
        out.severity[code.toUpperCase()] = level.toLowerCase() as Level;
      }
    }
  }
  if (isRecord(symbols)) {
    out.symbols = {};
    for (const [role, name] of Object.entries(symbols)) {
      if (role in DEFAULT_SYMBOLS && typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        out.symbols[role] = name;
      }
    }
  }
  if (isRecord(shapes)) {
    out.inputShapes = {};
    for (const [model, spec] of Object.entries(shapes)) {
      const single = dimList(spec);
      if (single) {
        out.inputShapes[model] = [single];
      } else if (Array.isArray(spec) && spec.length > 0) {
        const lists = spec.map(dimList);
        if (lists.every((l) => l !== undefined)) out.inputShapes[model] = lists as (number | string)[][];
      }
    }
  }
  const verify: NonNullable<ServerSettings["verify"]> = {};
  if (typeof vPython === "string" && vPython.trim() !== "") verify.python = expand(vPython.trim());
  if (typeof vDevice === "string" && DEVICES.includes(vDevice)) verify.device = vDevice;
  if (typeof vTimeout === "number" && vTimeout > 0) verify.timeout = vTimeout;
  if (isRecord(vDims)) {
    verify.dims = {};
    for (const [dim, n] of Object.entries(vDims)) {
      if (typeof n === "number" && Number.isInteger(n) && n > 0) verify.dims[dim] = n;
    }
  }
  if (Object.keys(verify).length > 0) out.verify = verify;
  return out;
}

/**
 * A restricted setting's value: in an untrusted workspace only the user (global) value counts,
 * whatever the workspace's .vscode/settings.json says.
 */
export function trustedValue<T>(cfg: ConfigLike, key: string, trusted: boolean): T | undefined {
  if (trusted || !cfg.inspect) return cfg.get<T>(key);
  const info = cfg.inspect<T>(key);
  return info?.globalValue ?? info?.defaultValue;
}

/** Extra server arguments (strings only). */
export function serverArgs(cfg: ConfigLike, trusted: boolean): string[] {
  const v = trustedValue<unknown>(cfg, "serverArgs", trusted);
  return Array.isArray(v) ? v.filter((a): a is string => typeof a === "string") : [];
}

/** Whether a configuration change needs a server restart (any `shape-lsp.*` change does). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return affects("shape-lsp");
}
