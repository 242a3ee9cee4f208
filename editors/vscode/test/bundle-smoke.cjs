// Loads the packaged bundle (dist/extension.js) with a stub `vscode` module: catches bundling
// mistakes (a dependency left external, a top-level crash) that the unit tests cannot see.
const Module = require("node:module");
const path = require("node:path");
const origResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "vscode") return "vscode";
  return origResolve.call(this, request, ...rest);
};
// Every member of the stub is a class whose static members are stubs again (the client
// subclasses vscode classes and reads enums at load time).
const stub = () => new Proxy(class {}, { get: (target, key) => (key in target ? target[key] : stub()) });
require.cache.vscode = { id: "vscode", filename: "vscode", loaded: true, exports: new Proxy({}, { get: () => stub() }) };
const ext = require(path.join(__dirname, "..", "dist", "extension.js"));
for (const name of ["activate", "deactivate"]) {
  if (typeof ext[name] !== "function") {
    console.error(`dist/extension.js does not export ${name}()`);
    process.exit(1);
  }
}
console.log("dist/extension.js loads and exports activate/deactivate");
