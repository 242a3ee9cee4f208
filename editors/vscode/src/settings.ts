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

export interface ServerSettings {
  inlayHints: boolean;
  debounceMs: number;
  ignore: string[];
  severity: Record<string, Level>;
  symbols: Record<string, string>;
  inputShapes: Record<string, (number | string)[][]>;
  verify: {
    python?: string;
    device: string;
    timeout: number;
    dims: Record<string, number>;
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

/**
 * The server settings from a `shape-lsp` configuration. Values the server would reject are
 * dropped here (the server falls back to its defaults), so a typo in settings.json never
 * stops the server from starting.
 */
export function toServerSettings(cfg: ConfigLike, expand: (p: string) => string = (p) => p): ServerSettings {
  const inlay = cfg.get<unknown>("inlayHints");
  const debounce = cfg.get<unknown>("debounceMs");
  const ignore = cfg.get<unknown>("ignore");
  const severity = cfg.get<unknown>("severity");
  const symbols = cfg.get<unknown>("symbols");
  const shapes = cfg.get<unknown>("inputShapes");
  const vPython = cfg.get<unknown>("verify.python");
  const vDevice = cfg.get<unknown>("verify.device");
  const vTimeout = cfg.get<unknown>("verify.timeout");
  const vDims = cfg.get<unknown>("verify.dims");

  const out: ServerSettings = {
    inlayHints: typeof inlay === "boolean" ? inlay : true,
    debounceMs:
      typeof debounce === "number" && Number.isFinite(debounce)
        ? Math.min(5000, Math.max(0, Math.round(debounce)))
        : 0,
    ignore: Array.isArray(ignore)
      ? [...new Set(ignore.filter((c): c is string => typeof c === "string" && CODE.test(c)).map((c) => c.toUpperCase()))]
      : [],
    severity: {},
    symbols: { ...DEFAULT_SYMBOLS },
    inputShapes: {},
    verify: {
      device: typeof vDevice === "string" && DEVICES.includes(vDevice) ? vDevice : "auto",
      timeout: typeof vTimeout === "number" && vTimeout > 0 ? vTimeout : 60,
      dims: {},
    },
  };
  if (isRecord(severity)) {
    for (const [code, level] of Object.entries(severity)) {
      if (CODE.test(code) && typeof level === "string" && LEVELS.includes(level.toLowerCase())) {
        out.severity[code.toUpperCase()] = level.toLowerCase() as Level;
      }
    }
  }
  if (isRecord(symbols)) {
    for (const [role, name] of Object.entries(symbols)) {
      if (role in DEFAULT_SYMBOLS && typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        out.symbols[role] = name;
      }
    }
  }
  if (isRecord(shapes)) {
    for (const [model, spec] of Object.entries(shapes)) {
      const single = dimList(spec);
      if (single && !single.some(Array.isArray)) {
        out.inputShapes[model] = [single];
      } else if (Array.isArray(spec) && spec.length > 0) {
        const lists = spec.map(dimList);
        if (lists.every((l) => l !== undefined)) out.inputShapes[model] = lists as (number | string)[][];
      }
    }
  }
  if (typeof vPython === "string" && vPython.trim() !== "") out.verify.python = expand(vPython.trim());
  if (isRecord(vDims)) {
    for (const [dim, n] of Object.entries(vDims)) {
      if (typeof n === "number" && Number.isInteger(n) && n > 0) out.verify.dims[dim] = n;
    }
  }
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
