// VS Code client for the shape-lsp language server (`python -m shape_lsp serve`, stdio).
import { execFile } from "node:child_process";
import * as os from "node:os";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import {
  allowCommand,
  commandArgs,
  describeVerifyResult,
  enclosingClass,
  SUMMARY_COMMAND,
  VERIFY_COMMAND,
  VERIFIED_NOTIFICATION,
  isVerifyStarted,
} from "./commands";
import {
  classifyProbe,
  expandPath,
  Interpreter,
  PROBE_CODE,
  PythonExtensionApi,
  resolveInterpreter,
  serverCommand,
} from "./interpreter";
import { GRAPH_COMMAND, GraphResult, graphArgs, graphHtml, makeNonce } from "./graph";
import { needsRestart, serverArgs, toServerSettings, trustedValue } from "./settings";

const SECTION = "shape-lsp";
let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let restarting: Promise<void> = Promise.resolve();

function workspaceFolderPath(): string | undefined {
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = (active && vscode.workspace.getWorkspaceFolder(active)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.fsPath;
}

function currentSettings() {
  return toServerSettings(vscode.workspace.getConfiguration(SECTION), (p) => expandPath(p, workspaceFolderPath()));
}

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!ext) return undefined;
  try {
    return ext.isActive ? ext.exports : await ext.activate();
  } catch (e) {
    output.appendLine(`Python extension did not activate: ${String(e)}`);
    return undefined;
  }
}

async function interpreter(): Promise<Interpreter> {
  const trusted = vscode.workspace.isTrusted;
  const cfg = vscode.workspace.getConfiguration(SECTION);
  return resolveInterpreter({
    setting: trustedValue<string>(cfg, "python", trusted),
    pythonApi: trusted ? await pythonApi() : undefined,
    usePythonExtension: trusted,
    workspaceFolder: workspaceFolderPath(),
    resource: vscode.window.activeTextEditor?.document.uri,
  });
}

/** The process environment and working directory for the server and the probe. */
function processOptions(): { cwd: string; env: NodeJS.ProcessEnv } {
  if (vscode.workspace.isTrusted) {
    return { cwd: workspaceFolderPath() ?? os.homedir(), env: { ...process.env } };
  }
  // Untrusted: keep the workspace off sys.path so a planted `shape_lsp/` folder is never imported.
  return { cwd: os.tmpdir(), env: { ...process.env, PYTHONSAFEPATH: "1" } };
}

function probe(interp: Interpreter): Promise<ReturnType<typeof classifyProbe>> {
  const [cmd, ...lead] = interp.command;
  const { cwd, env } = processOptions();
  return new Promise((resolve) => {
    execFile(cmd, [...lead, "-c", PROBE_CODE], { cwd, env, timeout: 30000 }, (error, stdout, stderr) => {
      resolve(classifyProbe(error as { code?: unknown } | null, String(stdout), String(stderr)));
    });
  });
}

function setStatus(text: string, tooltip: string, error = false): void {
  status.text = text;
  status.tooltip = tooltip;
  status.backgroundColor = error ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  status.show();
}

async function offerInstall(interp: Interpreter): Promise<void> {
  const py = interp.command.join(" ");
  const choice = await vscode.window.showWarningMessage(
    `Shape LSP: ${py} cannot import shape_lsp. Install it with: ${py} -m pip install shape-lsp`,
    "Install shape-lsp",
    "Choose interpreter",
  );
  if (choice === "Choose interpreter") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "shape-lsp.python");
    return;
  }
  if (choice !== "Install shape-lsp") return;
  const [cmd, ...lead] = interp.command;
  const args = [...lead, "-m", "pip", "install", "--upgrade", "shape-lsp"];
  output.appendLine(`$ ${cmd} ${args.join(" ")}`);
  output.show(true);
  const ok = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "Installing shape-lsp…" },
    () =>
      new Promise<boolean>((resolve) => {
        const child = execFile(cmd, args, { ...processOptions(), timeout: 600000 }, (error) => resolve(!error));
        child.stdout?.on("data", (d) => output.append(String(d)));
        child.stderr?.on("data", (d) => output.append(String(d)));
      }),
  );
  if (ok) {
    void vscode.window.showInformationMessage("Shape LSP: installed; starting the server.");
    await restart();
  } else {
    void vscode.window.showErrorMessage("Shape LSP: pip install failed; see the output channel.");
  }
}

async function start(): Promise<void> {
  const interp = await interpreter();
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const { command, args } = serverCommand(interp, serverArgs(cfg, vscode.workspace.isTrusted));
  output.appendLine(`Interpreter (${interp.source}): ${interp.command.join(" ")}`);
  setStatus("$(sync~spin) shape-lsp", "Starting the shape-lsp server…");

  const probed = await probe(interp);
  if (!probed.ok) {
    output.appendLine(`Server probe failed (${probed.reason}): ${probed.detail}`);
    setStatus("$(error) shape-lsp", `shape-lsp is not available: ${probed.reason}. Click for the log.`, true);
    if (probed.reason === "missing-module") {
      void offerInstall(interp);
    } else if (probed.reason === "no-interpreter") {
      void vscode.window
        .showErrorMessage(`Shape LSP: cannot run "${interp.command[0]}". Set shape-lsp.python to a Python 3.11+ interpreter.`, "Open settings")
        .then((c) => c && vscode.commands.executeCommand("workbench.action.openSettings", "shape-lsp.python"));
    } else {
      void vscode.window.showErrorMessage(`Shape LSP: the server cannot start (${probed.reason}); see the output channel.`);
    }
    return;
  }
  output.appendLine(`shape-lsp ${probed.version ?? ""} found; starting: ${command} ${args.join(" ")}`);

  const { cwd, env } = processOptions();
  const serverOptions: ServerOptions = { command, args, options: { cwd, env } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
      // Jupyter notebook cells: synced as LSP 3.17 notebook documents, the code cells
      // analysed together in cell order (the server advertises notebookDocumentSync).
      { notebook: "jupyter-notebook", language: "python" },
    ],
    initializationOptions: currentSettings(),
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    middleware: {
      // The server asks for the `shape-lsp` section: answer with the server keys only.
      workspace: {
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) return result;
          return params.items.map((item, i) =>
            item.section === SECTION ? currentSettings() : result[i],
          );
        },
      },
      // Code lenses and other server-sent `shape-lsp.verify` commands obey workspace trust too.
      executeCommand: async (cmd, cmdArgs, next) => {
        const gate = allowCommand(cmd, vscode.workspace.isTrusted);
        if (!gate.ok) {
          void vscode.window.showWarningMessage(gate.message);
          return undefined;
        }
        const result = await next(cmd, cmdArgs);
        if (cmd === VERIFY_COMMAND) reportVerify(result);
        return result;
      },
      provideCodeLenses: async (document, token, next) => {
        const lenses = await next(document, token);
        if (!lenses || vscode.workspace.isTrusted) return lenses;
        return lenses.filter((l) => l.command?.command !== VERIFY_COMMAND);
      },
    },
  };
  client = new LanguageClient(SECTION, "Shape LSP", serverOptions, clientOptions);
  // `shape-lsp.verify` answers at once ({status: "started"}); the result comes later.
  client.onNotification(VERIFIED_NOTIFICATION, (result: unknown) => reportVerify(result));
  client.onDidChangeState((e) => {
    if (e.newState === State.Running) {
      setStatus("$(pulse) shape-lsp", `shape-lsp ${probed.version ?? ""} running on ${interp.command.join(" ")}\nClick for the log.`);
    } else if (e.newState === State.Stopped) {
      setStatus("$(circle-slash) shape-lsp", "shape-lsp stopped. Click for the log.", true);
    }
  });
  try {
    await client.start();
  } catch (e) {
    output.appendLine(`Server failed to start: ${String(e)}`);
    setStatus("$(error) shape-lsp", "shape-lsp failed to start. Click for the log.", true);
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop(5000);
    } catch (e) {
      output.appendLine(`Error stopping the server: ${String(e)}`);
    }
  }
}

function restart(): Promise<void> {
  restarting = restarting.then(async () => {
    output.appendLine("Restarting the server…");
    await stop();
    await start();
  });
  return restarting;
}

function reportVerify(result: unknown): void {
  if (isVerifyStarted(result)) {
    output.appendLine(`verify started: ${JSON.stringify(result)}`);
    return; // the server reports progress, then sends shape-lsp/verified
  }
  const { ok, text } = describeVerifyResult(result);
  output.appendLine(`verify result: ${JSON.stringify(result)}`);
  if (ok) void vscode.window.showInformationMessage(text);
  else void vscode.window.showWarningMessage(text);
}

async function runServerCommand(command: string, args: unknown[]): Promise<unknown> {
  if (!client || !client.isRunning()) {
    void vscode.window.showErrorMessage("Shape LSP: the server is not running (see the output channel).");
    return undefined;
  }
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

function editorTarget(): { uri: string; model?: string } | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "python") {
    void vscode.window.showInformationMessage("Shape LSP: open a Python file first.");
    return undefined;
  }
  const lines = editor.document.getText().split(/\r?\n/);
  return { uri: editor.document.uri.toString(), model: enclosingClass(lines, editor.selection.active.line) };
}

async function verifyCommand(): Promise<void> {
  const gate = allowCommand(VERIFY_COMMAND, vscode.workspace.isTrusted);
  if (!gate.ok) {
    void vscode.window.showWarningMessage(gate.message);
    return;
  }
  const target = editorTarget();
  if (!target) return;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `Verifying ${target.model ?? "models"}…` },
    async () => {
      try {
        reportVerify(await runServerCommand(VERIFY_COMMAND, commandArgs(target.uri, target.model)));
      } catch (e) {
        void vscode.window.showErrorMessage(`Shape LSP: verify failed: ${String(e)}`);
      }
    },
  );
}

async function summaryCommand(): Promise<void> {
  const target = editorTarget();
  if (!target) return;
  let result: unknown;
  try {
    result = await runServerCommand(SUMMARY_COMMAND, commandArgs(target.uri, target.model));
  } catch (e) {
    void vscode.window.showErrorMessage(`Shape LSP: summary failed: ${String(e)}`);
    return;
  }
  const r = (result ?? {}) as { markdown?: string; text?: string; error?: string };
  const content = r.markdown || r.text;
  if (!content) {
    void vscode.window.showInformationMessage(`Shape LSP: no model summary${r.error ? ` (${r.error})` : " for this file"}.`);
    return;
  }
  const doc = await vscode.workspace.openTextDocument({ language: "markdown", content });
  try {
    await vscode.commands.executeCommand("markdown.showPreview", doc.uri);
  } catch {
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }
}

// "Show model graph": one webview beside the code, redrawn as the document changes.
interface GraphView {
  panel: vscode.WebviewPanel;
  uri: vscode.Uri;
  model?: string;
  timer?: NodeJS.Timeout;
  seq: number;
}
let graph: GraphView | undefined;

async function refreshGraph(): Promise<void> {
  const g = graph;
  if (!g) return;
  const seq = ++g.seq;
  let result: GraphResult;
  try {
    result = ((await runServerCommand(GRAPH_COMMAND, graphArgs(g.uri.toString(), g.model))) ?? {}) as GraphResult;
  } catch (e) {
    result = { error: `shape-lsp.graph failed: ${String(e)}` };
  }
  if (graph !== g || seq !== g.seq) return; // closed, or a newer redraw is on its way
  if (result.model) g.panel.title = `Graph: ${result.model}`;
  g.panel.webview.html = graphHtml(result, { nonce: makeNonce(), cspSource: g.panel.webview.cspSource });
}

async function revealLine(uri: vscode.Uri, line: number): Promise<void> {
  const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  const editor =
    shown ??
    (await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { viewColumn: vscode.ViewColumn.One }));
  const pos = new vscode.Position(Math.max(0, line - 1), 0);
  editor.selection = new vscode.Selection(pos, pos);
  editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  if (shown) await vscode.window.showTextDocument(shown.document, { viewColumn: shown.viewColumn, preserveFocus: false });
}

async function graphCommand(): Promise<void> {
  const target = editorTarget();
  const editor = vscode.window.activeTextEditor;
  if (!target || !editor) return;
  if (!graph) {
    const panel = vscode.window.createWebviewPanel(
      "shape-lsp.graph",
      "Model graph",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [] },
    );
    const g: GraphView = { panel, uri: editor.document.uri, model: target.model, seq: 0 };
    graph = g;
    panel.webview.onDidReceiveMessage((msg: { type?: string; line?: unknown }) => {
      if (msg?.type === "reveal" && typeof msg.line === "number") void revealLine(g.uri, msg.line);
    });
    panel.onDidDispose(() => {
      if (g.timer) clearTimeout(g.timer);
      if (graph === g) graph = undefined;
    });
  } else {
    graph.uri = editor.document.uri;
    graph.model = target.model;
    graph.panel.reveal(vscode.ViewColumn.Beside, true);
  }
  await refreshGraph();
}

function graphFollowsEdits(e: vscode.TextDocumentChangeEvent): void {
  const g = graph;
  if (!g || e.document.uri.toString() !== g.uri.toString()) return;
  if (g.timer) clearTimeout(g.timer);
  g.timer = setTimeout(() => void refreshGraph(), 400);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Shape LSP");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = "shape-lsp.showOutput";
  status.name = "Shape LSP";
  context.subscriptions.push(
    output,
    status,
    vscode.commands.registerCommand("shape-lsp.verifyShapes", verifyCommand),
    vscode.commands.registerCommand("shape-lsp.showSummary", summaryCommand),
    vscode.commands.registerCommand("shape-lsp.showGraph", graphCommand),
    vscode.workspace.onDidChangeTextDocument(graphFollowsEdits),
    { dispose: () => graph?.panel.dispose() },
    vscode.commands.registerCommand("shape-lsp.restartServer", restart),
    vscode.commands.registerCommand("shape-lsp.showOutput", () => output.show()),
  );

  let timer: NodeJS.Timeout | undefined;
  const restartSoon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void restart(), 500);
  };
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (needsRestart((s) => e.affectsConfiguration(s))) restartSoon();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(restartSoon),
    { dispose: () => timer && clearTimeout(timer) },
  );
  const py = await pythonApi();
  const onEnv = (py?.environments as { onDidChangeActiveEnvironmentPath?: vscode.Event<unknown> } | undefined)
    ?.onDidChangeActiveEnvironmentPath;
  if (onEnv) {
    context.subscriptions.push(
      onEnv(() => {
        if (!vscode.workspace.getConfiguration(SECTION).get<string>("python")) restartSoon();
      }),
    );
  }
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}
