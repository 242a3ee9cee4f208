// The "Show model graph" webview: pure helpers (the HTML, click-to-line), no editor needed.

export const GRAPH_COMMAND = "shape-lsp.graph";
export const GRAPH_DEPTH = 3;

/** What the server's `shape-lsp.graph` command answers. */
export interface GraphResult {
  model?: string;
  models?: string[];
  version?: number;
  depth?: number | null;
  svg?: string | null;
  mermaid?: string;
  dot?: string;
  error?: string;
  nodes?: { id: string; line: number; name: string; status: string }[];
}

/** The `shape-lsp.graph` arguments. */
export function graphArgs(uri: string, model?: string, depth: number = GRAPH_DEPTH): [Record<string, unknown>] {
  return [model ? { uri, model, depth } : { uri, depth }];
}

/** The 1-based line a box's SVG id (`L<line>_n<id>`) points at; undefined for none. */
export function lineOfNode(id: string): number | undefined {
  const m = /^L(\d+)_n\d+$/.exec(id);
  if (!m) return undefined;
  const line = Number(m[1]);
  return line > 0 ? line : undefined;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The SVG without anything active in it (Graphviz emits none; the labels come from user code). */
export function sanitizeSvg(svg: string): string {
  return svg
    .replace(/<script[\s\S]*?<\/script>/gi, "")
    .replace(/<foreignObject[\s\S]*?<\/foreignObject>/gi, "")
    .replace(/\son[a-z]+\s*=\s*("[^"]*"|'[^']*')/gi, "")
    .replace(/(xlink:)?href\s*=\s*("javascript:[^"]*"|'javascript:[^']*')/gi, "");
}

export function makeNonce(random: () => number = Math.random): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; i < 32; i++) out += chars.charAt(Math.floor(random() * chars.length));
  return out;
}

/** The webview page: the SVG (or the Mermaid text and how to get Graphviz), a click handler that
 * asks the extension to reveal a box's line, and a strict content security policy. */
export function graphHtml(result: GraphResult, opts: { nonce: string; cspSource: string }): string {
  const title = result.model ? `${escapeHtml(result.model)}` : "Model graph";
  const depth = result.depth === null || result.depth === undefined ? "all" : String(result.depth);
  const others = (result.models ?? []).filter((m) => m !== result.model);
  const also = others.length ? ` · also in this file: ${others.map(escapeHtml).join(", ")}` : "";
  let body: string;
  if (result.svg) {
    body = `<div id="graph">${sanitizeSvg(result.svg)}</div>`;
  } else if (result.mermaid) {
    body =
      `<p class="note">${escapeHtml(result.error ?? "No SVG")}</p>` +
      `<p class="note">The graph as Mermaid text:</p><pre>${escapeHtml(result.mermaid)}</pre>`;
  } else {
    body = `<p class="note">${escapeHtml(result.error ?? "No model to draw in this file.")}</p>`;
  }
  const csp = [
    "default-src 'none'",
    `img-src ${opts.cspSource} data:`,
    `style-src ${opts.cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${opts.nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${title}</title>
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0.5em 1em; }
#graph svg { max-width: 100%; height: auto; background: #fff; border-radius: 4px; }
#graph g.node { cursor: pointer; }
.head { color: var(--vscode-descriptionForeground); margin-bottom: 0.5em; }
pre { white-space: pre-wrap; }
.note { color: var(--vscode-descriptionForeground); }
</style></head>
<body>
<div class="head"><b>${title}</b> · depth ${depth} · click a box to go to its line${also}</div>
${body}
<script nonce="${opts.nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener("click", (e) => {
  const g = e.target instanceof Element ? e.target.closest("g.node") : null;
  const m = g ? /^L(\\d+)_n\\d+$/.exec(g.id) : null;
  if (m && Number(m[1]) > 0) vscode.postMessage({ type: "reveal", line: Number(m[1]) });
});
</script>
</body></html>
`;
}
