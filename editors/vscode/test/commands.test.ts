import { describe, expect, it } from "vitest";
import {
  allowCommand,
  classNames,
  commandArgs,
  describeVerifyResult,
  enclosingClass,
  UNTRUSTED_MESSAGE,
} from "../src/commands";

const SRC = `import torch
from torch import nn


class Net(nn.Module):
    """A model."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        # comment at a lower indent
        return self.fc(x)


model = Net()

class Other(nn.Module):
    class Inner:
        x = 1
    def forward(self, x):
        return x
`.split("\n");

describe("enclosingClass", () => {
  it("finds the class around a method body line", () => {
    expect(enclosingClass(SRC, 9)).toBe("Net"); // self.fc = ...
    expect(enclosingClass(SRC, 13)).toBe("Net"); // return self.fc(x)
  });
  it("counts the class line itself", () => {
    expect(enclosingClass(SRC, 4)).toBe("Net");
  });
  it("uses the enclosing block for blank lines inside the class", () => {
    expect(enclosingClass(SRC, 10)).toBe("Net");
  });
  it("returns nothing at module level", () => {
    expect(enclosingClass(SRC, 0)).toBeUndefined();
    expect(enclosingClass(SRC, 16)).toBeUndefined(); // model = Net()
  });
  it("prefers the innermost class and leaves it by indentation", () => {
    expect(enclosingClass(SRC, 20)).toBe("Inner");
    expect(enclosingClass(SRC, 22)).toBe("Other");
  });
  it("clamps a cursor past the end", () => {
    expect(enclosingClass(SRC, 999)).toBe("Other");
  });
  it("lists classes", () => {
    expect(classNames(SRC)).toEqual(["Net", "Other", "Inner"]);
  });
});

describe("commandArgs", () => {
  it("passes the model name only when there is one", () => {
    expect(commandArgs("file:///a.py", "Net")).toEqual(["file:///a.py", "Net"]);
    expect(commandArgs("file:///a.py")).toEqual(["file:///a.py"]);
  });
});

describe("allowCommand (workspace trust)", () => {
  it("refuses verify in an untrusted workspace", () => {
    expect(allowCommand("shape-lsp.verify", false)).toEqual({ ok: false, message: UNTRUSTED_MESSAGE });
  });
  it("allows verify when trusted and the summary always", () => {
    expect(allowCommand("shape-lsp.verify", true)).toEqual({ ok: true });
    expect(allowCommand("shape-lsp.summary", false)).toEqual({ ok: true });
  });
});

describe("describeVerifyResult", () => {
  it("reads the server's {status, message, model, findings}", () => {
    expect(describeVerifyResult({ status: "ok", message: "2 models ran", model: "Net", findings: [] })).toEqual({
      ok: true,
      text: "Shape LSP: verify Net: 2 models ran",
    });
    expect(describeVerifyResult({ status: "mismatch", message: "", findings: [{}, {}] })).toEqual({
      ok: false,
      text: "Shape LSP: verify mismatch (2 findings in Problems)",
    });
    expect(describeVerifyResult({ status: "error", message: "document not open: x" }).ok).toBe(false);
  });
  it("copes with other shapes", () => {
    expect(describeVerifyResult({ ok: true }).ok).toBe(true);
    expect(describeVerifyResult({ error: "RuntimeError: boom" }).ok).toBe(false);
    expect(describeVerifyResult(null).ok).toBe(true);
  });
});
