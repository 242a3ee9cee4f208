// activate() end to end against the mocked vscode module and a fake LanguageClient.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { resetState, state } from "./vscode-mock";

const created: FakeClient[] = [];
const execCalls: { cmd: string; args: string[]; env?: NodeJS.ProcessEnv; cwd?: string }[] = [];
let probeStderr = "";

class FakeClient {
  started = false;
  requests: { command: string; arguments: unknown[] }[] = [];
  reply: unknown = { status: "ok", message: "forward ran", model: "Net", findings: [] };
  constructor(
    public id: string,
    public name: string,
    public serverOptions: { command: string; args: string[]; options: { cwd: string; env: NodeJS.ProcessEnv } },
    public clientOptions: { initializationOptions: unknown; middleware: Record<string, any>; documentSelector: unknown[] },
  ) {
    created.push(this);
  }
  notifications = new Map<string, (params: unknown) => void>();
  onDidChangeState() {
    return { dispose() {} };
  }
  onNotification(method: string, handler: (params: unknown) => void) {
    this.notifications.set(method, handler);
    return { dispose() {} };
  }
  async start() {
    this.started = true;
  }
  async stop() {
    this.started = false;
  }
  isRunning() {
    return this.started;
  }
  async sendRequest(_type: unknown, params: { command: string; arguments: unknown[] }) {
    this.requests.push(params);
    return params.command === "shape-lsp.summary" ? { markdown: "| layer | out |\n|---|---|\n| fc | [B, 10] |", text: "fc [B, 10]" } : this.reply;
  }
}

vi.mock("vscode-languageclient/node", () => ({
  LanguageClient: FakeClient,
  ExecuteCommandRequest: { type: "workspace/executeCommand" },
  RevealOutputChannelOn: { Never: 4 },
  State: { Stopped: 1, Running: 2, Starting: 3 },
}));

vi.mock("node:child_process", () => ({
  execFile: (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string }, cb: (e: unknown, o: string, s: string) => void) => {
    execCalls.push({ cmd, args, env: opts.env, cwd: opts.cwd });
    if (probeStderr) cb({ code: 1 }, "", probeStderr);
    else cb(null, "0.1.0\n", "");
    return { stdout: null, stderr: null };
  },
}));

const NET = ["import torch", "from torch import nn", "", "class Net(nn.Module):", "    def forward(self, x):", "        return x", ""];

function editor(line: number) {
  return {
    document: { languageId: "python", uri: { toString: () => "file:///ws/model.py" }, getText: () => NET.join("\n") },
    selection: { active: { line } },
  };
}

async function activate() {
  vi.resetModules();
  const ext = await import("../src/extension");
  const context = { subscriptions: [] as unknown[] };
  await ext.activate(context as never);
  return ext;
}

describe("extension", () => {
  beforeEach(() => {
    resetState();
    created.length = 0;
    execCalls.length = 0;
    probeStderr = "";
  });

  it("registers the commands and starts the server with settings as initializationOptions", async () => {
    state.config = { "shape-lsp.python": "/opt/py/bin/python", "shape-lsp.ignore": ["SH113"], "shape-lsp.serverArgs": ["--log-file", "/tmp/l"] };
    await activate();
    expect([...state.commands.keys()]).toEqual(
      expect.arrayContaining(["shape-lsp.verifyShapes", "shape-lsp.showSummary", "shape-lsp.restartServer"]),
    );
    expect(created).toHaveLength(1);
    const c = created[0];
    expect(c.serverOptions.command).toBe("/opt/py/bin/python");
    expect(c.serverOptions.args).toEqual(["-m", "shape_lsp", "serve", "--log-file", "/tmp/l"]);
    expect(c.clientOptions.initializationOptions).toEqual({ ignore: ["SH113"] });
    expect(JSON.stringify(c.clientOptions.initializationOptions)).not.toContain("/opt/py");
    expect(c.started).toBe(true);
  });

  it("serves Python files and the Python cells of Jupyter notebooks", async () => {
    await activate();
    expect(created[0].clientOptions.documentSelector).toEqual(
      expect.arrayContaining([
        { scheme: "file", language: "python" },
        { notebook: "jupyter-notebook", language: "python" },
      ]),
    );
  });

  it("Verify shapes sends the document URI and the class under the cursor", async () => {
    await activate();
    state.activeEditor = editor(5);
    await state.commands.get("shape-lsp.verifyShapes")!();
    expect(created[0].requests).toEqual([{ command: "shape-lsp.verify", arguments: ["file:///ws/model.py", "Net"] }]);
    expect(state.infos).toContain("Shape LSP: verify Net: forward ran");
  });

  it("Verify shapes that answers at once shows the result when the notification comes", async () => {
    await activate();
    state.activeEditor = editor(5);
    created[0].reply = { status: "started", token: "t1", model: "Net" };
    await state.commands.get("shape-lsp.verifyShapes")!();
    expect(state.infos.concat(state.warnings).some((m) => /verify/.test(m))).toBe(false);
    created[0].notifications.get("shape-lsp/verified")!({ status: "mismatch", message: "1 mismatch", model: "Net", findings: [{}], token: "t1" });
    expect(state.warnings).toContain("Shape LSP: verify Net: 1 mismatch (1 finding in Problems)");
  });

  it("Verify shapes at module level sends only the URI", async () => {
    await activate();
    state.activeEditor = editor(0);
    await state.commands.get("shape-lsp.verifyShapes")!();
    expect(created[0].requests[0].arguments).toEqual(["file:///ws/model.py"]);
  });

  it("refuses verify in an untrusted workspace, for the command and for code lenses", async () => {
    state.isTrusted = false;
    await activate();
    state.activeEditor = editor(5);
    await state.commands.get("shape-lsp.verifyShapes")!();
    expect(created[0].requests).toEqual([]);
    expect(state.warnings[0]).toMatch(/untrusted/);

    const next = vi.fn(async () => "ran");
    const mw = created[0].clientOptions.middleware;
    expect(await mw.executeCommand("shape-lsp.verify", ["file:///ws/model.py", "Net"], next)).toBeUndefined();
    expect(next).not.toHaveBeenCalled();
    expect(await mw.executeCommand("shape-lsp.summary", ["file:///ws/model.py"], next)).toBe("ran");

    const lenses = [{ command: { command: "shape-lsp.verify" } }, { command: { command: "other" } }];
    expect(await mw.provideCodeLenses({}, {}, async () => lenses)).toEqual([lenses[1]]);
  });

  it("untrusted: ignores workspace interpreter settings and keeps the workspace off sys.path", async () => {
    state.isTrusted = false;
    state.config = { "shape-lsp.python": "/ws/evil/python" };
    await activate();
    const c = created[0];
    expect(c.serverOptions.command).toBe(process.platform === "win32" ? "python" : "python3");
    expect(c.serverOptions.options.env.PYTHONSAFEPATH).toBe("1");
    expect(c.serverOptions.options.cwd).not.toBe("/ws");
  });

  it("Show model summary opens the markdown table", async () => {
    await activate();
    state.activeEditor = editor(4);
    await state.commands.get("shape-lsp.showSummary")!();
    expect(created[0].requests[0]).toEqual({ command: "shape-lsp.summary", arguments: ["file:///ws/model.py", "Net"] });
    expect(state.opened[0]).toMatchObject({ language: "markdown" });
    expect(state.opened[0].content).toContain("| fc | [B, 10] |");
    expect(state.executed.map((e) => e.command)).toContain("markdown.showPreview");
  });

  it("answers workspace/configuration with the server keys only", async () => {
    state.config = { "shape-lsp.python": "/p", "shape-lsp.debounceMs": 100 };
    await activate();
    const mw = created[0].clientOptions.middleware;
    const res = await mw.workspace.configuration(
      { items: [{ section: "shape-lsp" }, { section: "other" }] },
      {},
      async () => [{ python: "/p", debounceMs: 100 }, { x: 1 }],
    );
    expect(res[0]).toMatchObject({ debounceMs: 100 });
    expect(res[0]).not.toHaveProperty("python");
    expect(res[1]).toEqual({ x: 1 });
  });

  it("offers pip install when the module is missing and does not start the client", async () => {
    probeStderr = "ModuleNotFoundError: No module named 'shape_lsp'";
    await activate();
    expect(created).toHaveLength(0);
    await Promise.resolve();
    expect(state.warnings.some((w) => /cannot import shape_lsp\. Install it with: .* -m pip install shape-lsp/.test(w))).toBe(true);
  });

  it("Show model graph opens the SVG beside the code, follows edits and jumps to a box's line", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      await activate();
      const ed = { ...editor(4), viewColumn: 1, revealRange: vi.fn() } as Record<string, unknown>;
      state.activeEditor = ed;
      state.visibleEditors = [ed];
      const c = created[0];
      c.reply = { model: "Net", models: ["Net"], depth: 3, svg: '<svg><g id="L6_n2" class="node"><text>fc</text></g></svg>' };
      await state.commands.get("shape-lsp.showGraph")!();
      expect(c.requests.at(-1)).toEqual({ command: "shape-lsp.graph", arguments: [{ uri: "file:///ws/model.py", model: "Net", depth: 3 }] });
      const panel = state.panels[0];
      expect(panel.column).toMatchObject({ viewColumn: -2, preserveFocus: true }); // ViewColumn.Beside
      expect(panel.options).toMatchObject({ enableScripts: true });
      expect(panel.webview.html).toContain('<g id="L6_n2" class="node">');
      expect(panel.title).toBe("Graph: Net");

      // an edit of the same document redraws (debounced), an edit elsewhere does not
      c.reply = { model: "Net", models: ["Net"], depth: 3, svg: '<svg><g id="L7_n2" class="node"></g></svg>' };
      const before = c.requests.length;
      for (const h of state.changeListeners) h({ document: { uri: { toString: () => "file:///ws/other.py" } } });
      for (const h of state.changeListeners) h({ document: { uri: { toString: () => "file:///ws/model.py" } } });
      for (const h of state.changeListeners) h({ document: { uri: { toString: () => "file:///ws/model.py" } } });
      await vi.advanceTimersByTimeAsync(500);
      expect(c.requests.length).toBe(before + 1);
      expect(panel.webview.html).toContain("L7_n2");

      // a click on a box reveals its (1-based) line in the editor
      panel.messageHandler!({ type: "reveal", line: 7 });
      await vi.advanceTimersByTimeAsync(0);
      expect((ed.selection as { start: { line: number } }).start.line).toBe(6);
      expect(ed.revealRange).toHaveBeenCalled();

      // a second invocation reuses the panel; closing it stops the redraws
      await state.commands.get("shape-lsp.showGraph")!();
      expect(state.panels).toHaveLength(1);
      panel.dispose();
      const after = c.requests.length;
      for (const h of state.changeListeners) h({ document: { uri: { toString: () => "file:///ws/model.py" } } });
      await vi.advanceTimersByTimeAsync(500);
      expect(c.requests.length).toBe(after);
    } finally {
      vi.useRealTimers();
    }
  });

  it("restarts the server", async () => {
    await activate();
    await state.commands.get("shape-lsp.restartServer")!();
    expect(created).toHaveLength(2);
    expect(created[0].started).toBe(false);
    expect(created[1].started).toBe(true);
  });
});
