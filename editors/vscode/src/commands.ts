// Command helpers that do not need a running editor: finding the model class under the cursor,
// building the executeCommand arguments, and the workspace-trust gate for verify.

/** The name of the innermost `class` whose body (by indentation) contains line `line`. */
export function enclosingClass(lines: readonly string[], line: number): string | undefined {
  let limit = Number.POSITIVE_INFINITY;
  for (let i = Math.min(line, lines.length - 1); i >= 0; i--) {
    const text = lines[i];
    const stripped = text.trim();
    if (stripped === "" || stripped.startsWith("#")) continue;
    const indent = text.length - text.trimStart().length;
    if (indent >= limit) continue;
    const m = /^\s*class\s+([A-Za-z_][A-Za-z0-9_]*)\s*[(:]/.exec(text);
    if (m) return m[1];
    limit = indent;
    if (indent === 0) break;
  }
  return undefined;
}

/** The model classes defined in a file (top level or nested), in order. */
export function classNames(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of lines) {
    const m = /^\s*class\s+([A-Za-z_][A-Za-z0-9_]*)\s*[(:]/.exec(text);
    if (m) out.push(m[1]);
  }
  return out;
}

/** `[uri]` or `[uri, modelName]`, as `shape-lsp.verify` and `shape-lsp.summary` take them. */
export function commandArgs(uri: string, model?: string): [string] | [string, string] {
  return model ? [uri, model] : [uri];
}

export const VERIFY_COMMAND = "shape-lsp.verify";
export const SUMMARY_COMMAND = "shape-lsp.summary";
export const UNTRUSTED_MESSAGE =
  "Shape LSP: \"Verify shapes\" runs your model code, so it is disabled in untrusted workspaces. Trust this workspace to use it.";

/** Whether a server command may run now: verify only in a trusted workspace. */
export function allowCommand(command: string, isTrusted: boolean): { ok: true } | { ok: false; message: string } {
  if (command === VERIFY_COMMAND && !isTrusted) return { ok: false, message: UNTRUSTED_MESSAGE };
  return { ok: true };
}

/** The notification that carries a verify result once the run is over. */
export const VERIFIED_NOTIFICATION = "shape-lsp/verified";

/** The server's immediate answer to `shape-lsp.verify` (the result follows as a notification). */
export function isVerifyStarted(result: unknown): boolean {
  return typeof result === "object" && result !== null && (result as Record<string, unknown>).status === "started";
}

/** A one-line description of a verify result (`{status, message, model, findings}`). */
export function describeVerifyResult(result: unknown): { ok: boolean; text: string } {
  if (result === null || result === undefined) return { ok: true, text: "Shape LSP: verify finished." };
  if (typeof result === "string") return { ok: true, text: `Shape LSP: ${result}` };
  if (typeof result !== "object") return { ok: true, text: `Shape LSP: verify returned ${String(result)}` };
  const r = result as Record<string, unknown>;
  let ok: boolean;
  if (typeof r.status === "string") ok = ["ok", "pass", "passed", "verified"].includes(r.status.toLowerCase());
  else if (typeof r.ok === "boolean") ok = r.ok;
  else ok = !r.error;
  const findings = Array.isArray(r.findings) ? r.findings.length : 0;
  const msg = [r.message, r.error].find((v) => typeof v === "string" && v.length > 0) as string | undefined;
  const who = typeof r.model === "string" && r.model ? `${r.model}: ` : "";
  const status = typeof r.status === "string" ? r.status : ok ? "ok" : "failed";
  const tail = findings ? ` (${findings} finding${findings === 1 ? "" : "s"} in Problems)` : "";
  return { ok, text: `Shape LSP: verify ${who}${msg ?? status}${tail}` };
}
