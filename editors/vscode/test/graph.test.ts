import { describe, expect, it } from "vitest";
import { escapeHtml, graphArgs, graphHtml, lineOfNode, makeNonce, sanitizeSvg } from "../src/graph";

const SVG = `<svg width="100pt" height="80pt"><g id="graph0" class="graph"><g id="L12_n3" class="node"><title>n3</title><text>fc1: Linear</text></g><g id="L0_n0" class="node"><text>input</text></g></g></svg>`;

describe("graph webview", () => {
  it("maps a box id to its line", () => {
    expect(lineOfNode("L12_n3")).toBe(12);
    expect(lineOfNode("L0_n0")).toBeUndefined();
    expect(lineOfNode("graph0")).toBeUndefined();
  });
  it("builds the command arguments", () => {
    expect(graphArgs("file:///a.py", "Net")).toEqual([{ uri: "file:///a.py", model: "Net", depth: 3 }]);
    expect(graphArgs("file:///a.py")).toEqual([{ uri: "file:///a.py", depth: 3 }]);
  });
  it("puts the SVG inline under a strict CSP with a nonce'd click handler", () => {
    const nonce = makeNonce(() => 0.5);
    const html = graphHtml({ model: "Net", models: ["Net", "Block"], depth: 3, svg: SVG }, { nonce, cspSource: "vscode-resource:" });
    expect(html).toContain('<g id="L12_n3" class="node">');
    expect(html).toContain(`script-src 'nonce-${nonce}'`);
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain("also in this file: Block");
    expect(html).toContain('postMessage({ type: "reveal"');
    // the regex in the page's script matches the ids the server emits
    const script = html.slice(html.indexOf("<script"), html.indexOf("</script>"));
    const re = new RegExp(/\/(\^L.*\$)\//.exec(script)![1].replace(/\\\\/g, "\\"));
    expect(re.exec("L12_n3")?.[1]).toBe("12");
  });
  it("falls back to the Mermaid text with the install hint", () => {
    const html = graphHtml(
      { model: "Net", svg: null, mermaid: "flowchart TB\n  n1[\"a<b\"]", error: "Graphviz's `dot` is needed for SVG" },
      { nonce: "x", cspSource: "s" },
    );
    expect(html).toContain("Graphviz's `dot` is needed for SVG");
    expect(html).toContain("flowchart TB");
    expect(html).toContain("a&lt;b");
  });
  it("says when there is nothing to draw", () => {
    expect(graphHtml({ error: "no model to draw in this file" }, { nonce: "x", cspSource: "s" })).toContain("no model to draw");
  });
  it("strips anything active from the SVG", () => {
    const bad = `<svg><script>alert(1)</script><g onclick="x()"><a xlink:href="javascript:alert(1)">t</a></g></svg>`;
    const clean = sanitizeSvg(bad);
    expect(clean).not.toMatch(/script|onclick|javascript:/);
    expect(escapeHtml('<"&>')).toBe("&lt;&quot;&amp;&gt;");
  });
});
