// A small stand-in for the `vscode` module (aliased in vitest.config.ts). Tests mutate `state`.
import { vi } from "vitest";

const fresh = () => ({
  isTrusted: true,
  config: {} as Record<string, unknown>,
  globalConfig: {} as Record<string, unknown>,
  activeEditor: undefined as unknown,
  extensions: {} as Record<string, unknown>,
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  warnings: [] as string[],
  infos: [] as string[],
  errors: [] as string[],
  opened: [] as { language?: string; content?: string }[],
  executed: [] as { command: string; args: unknown[] }[],
  panels: [] as FakePanel[],
  changeListeners: [] as ((e: unknown) => void)[],
  visibleEditors: [] as unknown[],
});

/** A webview panel that records what the extension does with it. */
export class FakePanel {
  title: string;
  disposed = false;
  revealed = 0;
  messageHandler: ((msg: unknown) => void) | undefined;
  disposeHandler: (() => void) | undefined;
  webview = {
    html: "",
    cspSource: "vscode-resource:",
    onDidReceiveMessage: (h: (msg: unknown) => void) => {
      this.messageHandler = h;
      return disposable;
    },
  };
  constructor(
    public viewType: string,
    title: string,
    public column: unknown,
    public options: unknown,
  ) {
    this.title = title;
  }
  onDidDispose(h: () => void) {
    this.disposeHandler = h;
    return disposable;
  }
  reveal() {
    this.revealed++;
  }
  dispose() {
    this.disposed = true;
    this.disposeHandler?.();
  }
}
// Kept on globalThis so that vi.resetModules() (a fresh extension per test) shares it.
const g = globalThis as { __vscodeMockState?: ReturnType<typeof fresh> };
export const state = (g.__vscodeMockState ??= fresh());

export function resetState(): void {
  state.isTrusted = true;
  state.config = {};
  state.globalConfig = {};
  state.activeEditor = undefined;
  state.extensions = {};
  state.commands.clear();
  state.warnings = [];
  state.infos = [];
  state.errors = [];
  state.opened = [];
  state.executed = [];
  state.panels = [];
  state.changeListeners = [];
  state.visibleEditors = [];
}

function section(prefix: string) {
  const key = (k: string) => `${prefix}.${k}`;
  return {
    get: <T>(k: string, dflt?: T): T | undefined => (key(k) in state.config ? (state.config[key(k)] as T) : dflt),
    inspect: <T>(k: string) => ({
      defaultValue: undefined as T | undefined,
      globalValue: state.globalConfig[key(k)] as T | undefined,
      workspaceValue: state.config[key(k)] as T | undefined,
    }),
    has: (k: string) => key(k) in state.config,
    update: vi.fn(),
  };
}

const disposable = { dispose: () => undefined };
const event = () => disposable;

export const workspace = {
  get isTrusted() {
    return state.isTrusted;
  },
  workspaceFolders: [{ uri: { fsPath: "/ws", toString: () => "file:///ws" }, name: "ws", index: 0 }],
  getWorkspaceFolder: () => workspace.workspaceFolders[0],
  getConfiguration: (prefix: string) => section(prefix),
  onDidChangeConfiguration: vi.fn(event),
  onDidGrantWorkspaceTrust: vi.fn(event),
  onDidChangeTextDocument: vi.fn((h: (e: unknown) => void) => {
    state.changeListeners.push(h);
    return disposable;
  }),
  openTextDocument: vi.fn(async (opts: { language?: string; content?: string }) => {
    state.opened.push(opts);
    return { uri: { toString: () => "untitled:Untitled-1" } };
  }),
};

export const window = {
  get activeTextEditor() {
    return state.activeEditor;
  },
  createOutputChannel: vi.fn(() => ({ appendLine: vi.fn(), append: vi.fn(), show: vi.fn(), dispose: vi.fn() })),
  createStatusBarItem: vi.fn(() => ({ show: vi.fn(), hide: vi.fn(), dispose: vi.fn(), text: "", tooltip: "" })),
  showWarningMessage: vi.fn(async (m: string) => {
    state.warnings.push(m);
    return undefined;
  }),
  showInformationMessage: vi.fn(async (m: string) => {
    state.infos.push(m);
    return undefined;
  }),
  showErrorMessage: vi.fn(async (m: string) => {
    state.errors.push(m);
    return undefined;
  }),
  showTextDocument: vi.fn(async () => undefined),
  get visibleTextEditors() {
    return state.visibleEditors;
  },
  createWebviewPanel: vi.fn((viewType: string, title: string, column: unknown, options: unknown) => {
    const p = new FakePanel(viewType, title, column, options);
    state.panels.push(p);
    return p;
  }),
  withProgress: vi.fn(async (_opts: unknown, task: () => Promise<unknown>) => task()),
};

export const commands = {
  registerCommand: vi.fn((id: string, fn: (...args: unknown[]) => unknown) => {
    state.commands.set(id, fn);
    return disposable;
  }),
  executeCommand: vi.fn(async (command: string, ...args: unknown[]) => {
    state.executed.push({ command, args });
    return undefined;
  }),
};

export const extensions = {
  getExtension: (id: string) => state.extensions[id],
};

export class ThemeColor {
  constructor(public id: string) {}
}
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export class Position {
  constructor(
    public line: number,
    public character: number,
  ) {}
}
export class Range {
  constructor(
    public start: Position,
    public end: Position,
  ) {}
}
export class Selection extends Range {
  constructor(
    public anchor: Position,
    public active: Position,
  ) {
    super(anchor, active);
  }
}
export enum TextEditorRevealType {
  Default = 0,
  InCenter = 1,
  InCenterIfOutsideViewport = 2,
  AtTop = 3,
}
