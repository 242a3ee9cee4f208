-- shape-lsp client for Neovim: require("shape_lsp").setup({...})
--
-- Neovim 0.11+: vim.lsp.config / vim.lsp.enable. 0.8-0.10: vim.lsp.start on FileType.
-- 0.7: vim.lsp.start_client + vim.lsp.buf_attach_client on FileType (one client per root).
local M = {}

M.name = "shape_lsp"

local defaults = {
  -- Full command; default: { python, "-m", "shape_lsp", "serve" }.
  cmd = nil,
  -- Interpreter for the default cmd; default: $VIRTUAL_ENV/bin/python, else python3.
  python = nil,
  filetypes = { "python" },
  root_markers = { "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", ".git" },
  -- The `shape-lsp` settings section (camelCase keys: inlayHints, debounceMs, ignore, severity,
  -- symbols, inputShapes, verify). Sent as initializationOptions and workspace/configuration.
  settings = {},
  on_attach = nil,
  capabilities = nil,
  -- Turn on inlay hints when attaching (Neovim 0.10+).
  inlay_hints = true,
  -- Refresh code lenses ("Verify shapes") on attach and after edits.
  codelens = true,
  -- Create :ShapeVerify, :ShapeSummary and :ShapeGraph.
  commands = true,
  -- :ShapeGraph: how deep nested module calls are drawn (-1: all), and the command that opens
  -- the written HTML page (default: `open` on macOS, `cmd /c start` on Windows, else
  -- `xdg-open`; the page's path is appended). false: write the page, do not open it.
  graph_depth = 3,
  graph_opener = nil,
  -- Buffer-local LSP keymaps (K hover, [d ]d next/previous diagnostic, <C-w>d diagnostic
  -- float, gra code action, grs summary, grv verify). "auto": only on Neovim < 0.10, which
  -- maps none (K runs keywordprg, pydoc, there); true: always; false: never. A buffer-local
  -- mapping you made yourself is never replaced.
  keymaps = "auto",
  -- Virtual text shows each finding's first line (the message); the shape trace is in the
  -- float (<C-w>d / vim.diagnostic.open_float) and the hover.
  short_virtual_text = true,
  -- "auto", or force a start path: "config" (0.11+), "start" (0.8+), "start_client" (0.7+).
  mode = "auto",
}

M.config = vim.deepcopy(defaults)
M.last_verify = nil
M.last_summary = nil
M.last_graph = nil

local uv = vim.uv or vim.loop

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

local function notify(msg, level)
  vim.notify("shape-lsp: " .. msg, level or vim.log.levels.INFO)
end

local function default_python()
  local venv = vim.env.VIRTUAL_ENV
  if venv and venv ~= "" then
    local sep = package.config:sub(1, 1)
    local py = venv .. (sep == "\\" and "\\Scripts\\python.exe" or "/bin/python")
    if vim.fn.executable(py) == 1 then
      return py
    end
  end
  if vim.fn.executable("python3") == 1 then
    return "python3"
  end
  return "python"
end

local checked = {}

--- Whether the default command can start: `python` runs and imports shape_lsp. Otherwise
--- say which interpreter was tried and how to install into it (once per interpreter), instead
--- of Neovim's bare "exit code 1". A user-given `cmd` is not checked.
function M.check_python()
  if M.config.cmd then
    return true
  end
  local py = M.config.python or default_python()
  if checked[py] ~= nil then
    return checked[py]
  end
  local problem
  if vim.fn.executable(py) ~= 1 then
    problem = ("the Python interpreter %q was not found"):format(py)
  else
    vim.fn.system({ py, "-c", "import shape_lsp" })
    if vim.v.shell_error ~= 0 then
      problem = ("%q cannot import shape_lsp"):format(py)
    end
  end
  checked[py] = problem == nil
  if problem then
    local text = ("%s. Install it there with: %s -m pip install shape-lsp (or point setup({ python = ... }) at an interpreter that has it)"):format(problem, py)
    vim.schedule(function() -- not inside the FileType autocommand that asked
      notify(text, vim.log.levels.ERROR)
    end)
  end
  return checked[py]
end

--- The server command line.
function M.cmd()
  if M.config.cmd then
    return M.config.cmd
  end
  return { M.config.python or default_python(), "-m", "shape_lsp", "serve" }
end

--- The nearest directory at or above `path` holding one of the root markers.
function M.find_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir and dir ~= "" do
    for _, marker in ipairs(M.config.root_markers) do
      if uv.fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      break
    end
    dir = parent
  end
  return vim.fn.fnamemodify(path, ":p:h")
end

-- An empty Lua table encodes as a JSON list; send a JSON object instead.
local function as_object(t)
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end

local function enable_inlay_hints(bufnr)
  local ih = vim.lsp.inlay_hint
  if not ih then
    return
  end
  if type(ih) == "table" and ih.enable then
    -- 0.10+: enable(enable, filter); 0.10 pre-releases took (bufnr, enable).
    if not pcall(ih.enable, true, { bufnr = bufnr }) then
      pcall(ih.enable, bufnr, true)
    end
  elseif type(ih) == "function" then
    pcall(ih, bufnr, true)
  end
end

--- The first line of a diagnostic's message: what virtual text shows (the trace follows it).
function M.first_line(diagnostic)
  return (tostring(diagnostic.message or ""):gsub("\n.*$", ""))
end

local function short_virtual_text(client)
  local vt = vim.diagnostic.config().virtual_text
  if not vt then
    return -- the user turned virtual text off: leave it off
  end
  local opts = vim.tbl_extend("force", type(vt) == "table" and vt or {}, { format = M.first_line })
  local spaces = { vim.lsp.diagnostic.get_namespace(client.id) }
  if has("0.10") then
    table.insert(spaces, vim.lsp.diagnostic.get_namespace(client.id, true)) -- pulled
  end
  for _, ns in ipairs(spaces) do
    vim.diagnostic.config({ virtual_text = opts }, ns)
  end
end

--- The keymaps `setup` offers: { lhs, rhs, desc }.
function M.keymaps()
  local d = vim.diagnostic
  return {
    { "K", vim.lsp.buf.hover, "shape-lsp: hover (shapes)" },
    { "[d", d.goto_prev, "previous diagnostic" },
    { "]d", d.goto_next, "next diagnostic" },
    { "<C-w>d", d.open_float, "diagnostic with its shape trace" },
    { "gra", vim.lsp.buf.code_action, "code action (quick fix)" },
    { "grs", function() M.summary({}) end, "shape-lsp: model summary" },
    { "grg", function() M.graph({}) end, "shape-lsp: model graph" },
    { "grv", function() M.verify({}) end, "shape-lsp: verify shapes" },
  }
end

local function set_keymaps(bufnr)
  local want = M.config.keymaps
  if want == "auto" then
    want = not has("0.10")
  end
  if not want then
    return
  end
  for _, km in ipairs(M.keymaps()) do
    local existing = vim.fn.maparg(km[1], "n", false, true)
    if type(existing) ~= "table" or existing.buffer ~= 1 then
      vim.keymap.set("n", km[1], km[2], { buffer = bufnr, silent = true, desc = km[3] })
    end
  end
end

local function on_attach(client, bufnr)
  local caps = client.server_capabilities or {}
  set_keymaps(bufnr)
  if M.config.short_virtual_text then
    short_virtual_text(client)
  end
  if M.config.inlay_hints and caps.inlayHintProvider then
    enable_inlay_hints(bufnr)
  end
  if M.config.codelens and caps.codeLensProvider and vim.lsp.codelens then
    pcall(vim.lsp.codelens.refresh)
    local group = vim.api.nvim_create_augroup("shape_lsp_codelens_" .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
      group = group,
      buffer = bufnr,
      callback = function()
        pcall(vim.lsp.codelens.refresh)
      end,
    })
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

--- The client options shared by every start path.
function M.client_config(root_dir)
  local settings = as_object(M.config.settings)
  return {
    name = M.name,
    cmd = M.cmd(),
    root_dir = root_dir,
    filetypes = M.config.filetypes,
    settings = { ["shape-lsp"] = settings },
    init_options = settings,
    capabilities = M.config.capabilities or vim.lsp.protocol.make_client_capabilities(),
    on_attach = on_attach,
    handlers = {
      ["shape-lsp/verified"] = function(err, result)
        M.on_verified(err, result)
      end,
    },
  }
end

--- The shape-lsp client attached to `bufnr` (0: current buffer), if any.
function M.get_client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local clients
  if vim.lsp.get_clients then
    clients = vim.lsp.get_clients({ bufnr = bufnr })
  elseif has("0.8") then
    clients = vim.lsp.get_active_clients({ bufnr = bufnr })
  else
    clients = vim.tbl_values(vim.lsp.buf_get_clients(bufnr)) -- 0.7: a map id -> client
  end
  for _, client in ipairs(clients) do
    if client.name == M.name then
      return client
    end
  end
  return nil
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- The class whose body (by indentation) contains `line` (1-based) in `bufnr`.
function M.enclosing_class(bufnr, line)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, line, false)
  local limit = math.huge
  for i = #lines, 1, -1 do
    local text = lines[i]
    local stripped = vim.trim(text)
    if stripped ~= "" and stripped:sub(1, 1) ~= "#" then
      local indent = #text:match("^%s*")
      if indent < limit then
        local name = text:match("^%s*class%s+([%a_][%w_]*)%s*[%(:]")
        if name then
          return name
        end
        limit = indent
        if indent == 0 then
          break
        end
      end
    end
  end
  return nil
end

--- Run a server command on `bufnr` with `[uri, model?]`; calls `cb(err, result)`.
function M.execute(command, bufnr, model, cb)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = M.get_client(bufnr)
  if not client then
    notify("no shape-lsp server attached to this buffer", vim.log.levels.WARN)
    return false
  end
  local args = { vim.uri_from_bufnr(bufnr) }
  if model and model ~= "" then
    table.insert(args, model)
  end
  request(client, "workspace/executeCommand", { command = command, arguments = args }, function(err, result)
    cb(err, result)
  end, bufnr)
  return true
end

local function model_arg(opts)
  if opts and opts.args and opts.args ~= "" then
    return opts.args
  end
  return M.enclosing_class(0, vim.api.nvim_win_get_cursor(0)[1])
end

--- :ShapeVerify [Model]: run the model for real and compare shapes (the server publishes results).
-- The server answers `shape-lsp.verify` at once ({status = "started", token}) and sends the
-- result as a `shape-lsp/verified` notification when the run is over: Neovim never waits.
local function show_verify(result)
  M.last_verify = result or vim.empty_dict()
  local status = (result and result.status) or "done"
  local msg = (result and result.message) or ""
  if msg == vim.NIL then
    msg = ""
  end
  local n = (result and type(result.findings) == "table") and #result.findings or 0
  local text = ("verify %s%s%s"):format(status, msg ~= "" and (": " .. msg) or "", n > 0 and (" (" .. n .. " findings)") or "")
  notify(text, status == "ok" and vim.log.levels.INFO or vim.log.levels.WARN)
end

--- Handler of the server's `shape-lsp/verified` notification.
function M.on_verified(_, result)
  show_verify(result)
end

function M.verify(opts)
  local model = model_arg(opts)
  notify("verifying " .. (model or "models") .. "…")
  M.last_verify = nil
  return M.execute("shape-lsp.verify", 0, model, function(err, result)
    if err then
      M.last_verify = { error = err.message or tostring(err) }
      notify("verify failed: " .. (err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    if result and result.status == "started" then
      return -- the result follows as a notification
    end
    show_verify(result) -- an error at once, or a server that waits
  end)
end

--- Open a scratch buffer with `lines`.
function M.open_scratch(lines, name)
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, name)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "shape_lsp_summary"
  return buf
end

--- :ShapeSummary [Model]: the layer-by-layer table in a scratch buffer.
function M.summary(opts)
  local model = model_arg(opts)
  local src = vim.api.nvim_get_current_buf()
  return M.execute("shape-lsp.summary", src, model, function(err, result)
    if err then
      notify("summary failed: " .. (err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    local text = result and result.text or ""
    if text == "" or text == vim.NIL then
      notify("no model summary" .. ((result and type(result.error) == "string") and (": " .. result.error) or ""), vim.log.levels.WARN)
      return
    end
    M.last_summary = M.open_scratch(vim.split(text, "\n", { plain = true }), "shape-lsp://summary/" .. src)
  end)
end

--- The command that opens a file with the system's default application (the path is appended).
function M.opener()
  local o = M.config.graph_opener
  if o ~= nil then
    return o
  end
  if vim.fn.has("mac") == 1 then
    return { "open" }
  elseif vim.fn.has("win32") == 1 then
    return { "cmd", "/c", "start", "" }
  end
  return { "xdg-open" }
end

--- :ShapeGraph [Model]: the model's graph (shapes on the edges, the failing layer in red) as a
-- self-contained HTML page, written by the server and opened with the system's opener.
function M.graph(opts)
  local model = model_arg(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client then
    notify("no shape-lsp server attached to this buffer", vim.log.levels.WARN)
    return false
  end
  local arg = { uri = vim.uri_from_bufnr(bufnr), write = true, depth = M.config.graph_depth }
  if model and model ~= "" then
    arg.model = model
  end
  M.last_graph = nil
  request(client, "workspace/executeCommand", { command = "shape-lsp.graph", arguments = { arg } }, function(err, result)
    if err then
      M.last_graph = { error = err.message or tostring(err) }
      notify("graph failed: " .. (err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    if type(result) ~= "table" or type(result.path) ~= "string" then
      local why = (type(result) == "table" and type(result.error) == "string") and (": " .. result.error) or ""
      M.last_graph = { error = "no graph" .. why }
      notify("no graph" .. why, vim.log.levels.WARN)
      return
    end
    M.last_graph = { path = result.path, model = result.model }
    if type(result.error) == "string" then
      notify(result.error, vim.log.levels.WARN) -- no Graphviz: the page shows Mermaid text
    end
    local opener = M.opener()
    if opener then
      local cmd = vim.deepcopy(opener)
      table.insert(cmd, result.path)
      local ok, job = pcall(vim.fn.jobstart, cmd, { detach = true })
      M.last_graph.opened = ok and job > 0
      if not M.last_graph.opened then
        notify("could not run " .. table.concat(opener, " ") .. "; the graph is in " .. result.path, vim.log.levels.WARN)
        return
      end
    end
    notify("graph of " .. tostring(result.model) .. ": " .. result.path)
  end, bufnr)
  return true
end

local function create_commands()
  vim.api.nvim_create_user_command("ShapeVerify", M.verify, {
    nargs = "?",
    desc = "shape-lsp: run the model (under the cursor, or the named one) and check its shapes",
  })
  vim.api.nvim_create_user_command("ShapeSummary", M.summary, {
    nargs = "?",
    desc = "shape-lsp: layer-by-layer shape summary in a scratch buffer",
  })
  vim.api.nvim_create_user_command("ShapeGraph", M.graph, {
    nargs = "?",
    desc = "shape-lsp: the model's graph with shapes, opened in the browser",
  })
end

-- 0.7: one client per root directory, attached to each matching buffer.
local clients_by_root = {}

local function attach_legacy(bufnr)
  if not M.check_python() then
    return
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    path = vim.fn.getcwd() .. "/_"
  end
  local root = M.find_root(path)
  local id = clients_by_root[root]
  if not id or not vim.lsp.get_client_by_id(id) or vim.lsp.get_client_by_id(id).is_stopped() then
    local cfg = M.client_config(root)
    cfg.workspace_folders = { { uri = vim.uri_from_fname(root), name = root } }
    id = vim.lsp.start_client(cfg)
    if not id then
      notify("could not start " .. table.concat(cfg.cmd, " "), vim.log.levels.ERROR)
      return
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
end

local function attach_start(bufnr)
  if not M.check_python() then
    return
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  local root = M.find_root(path ~= "" and path or (vim.fn.getcwd() .. "/_"))
  vim.lsp.start(M.client_config(root), { bufnr = bufnr })
end

--- Which start path this Neovim uses: "config" (0.11+), "start" (0.8+) or "start_client" (0.7).
function M.mode()
  if M.config.mode and M.config.mode ~= "auto" then
    return M.config.mode
  end
  if vim.lsp.config and vim.lsp.enable and has("0.11") then
    return "config"
  elseif vim.lsp.start then
    return "start"
  end
  return "start_client"
end

function M.setup(opts)
  -- Shallow: a user's filetypes/root_markers list replaces the default one.
  M.config = vim.tbl_extend("force", vim.deepcopy(defaults), opts or {})
  if M.config.commands then
    create_commands()
  end
  local mode = M.mode()
  if mode == "config" then
    -- Checked when the first Python buffer opens (not at every start-up); Neovim starts the
    -- server itself, so a bad interpreter still fails there, but now with a clear message.
    vim.api.nvim_create_autocmd("FileType", {
      group = vim.api.nvim_create_augroup("shape_lsp_check", { clear = true }),
      pattern = M.config.filetypes,
      once = true,
      callback = function()
        M.check_python()
      end,
    })
    local cfg = M.client_config(nil)
    cfg.root_dir = nil
    cfg.root_markers = M.config.root_markers
    vim.lsp.config(M.name, cfg)
    vim.lsp.enable(M.name)
    return
  end
  local attach = mode == "start" and attach_start or attach_legacy
  local group = vim.api.nvim_create_augroup("shape_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(ev)
      attach(ev.buf)
    end,
  })
  -- Buffers opened before setup() ran.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(M.config.filetypes, vim.bo[buf].filetype) then
      attach(buf)
    end
  end
end

return M
