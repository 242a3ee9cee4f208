-- Headless end-to-end driver: real Neovim, real server, a fixture with a known shape bug.
-- Environment: SHAPE_LSP_PY (python with shape_lsp), SHAPE_LSP_FIXTURE (file), SHAPE_LSP_OUT
-- (JSON results written here). Run by editors/nvim/test/run.sh and tests/editors/test_nvim.py.
local out_path = os.getenv("SHAPE_LSP_OUT")
local fixture = os.getenv("SHAPE_LSP_FIXTURE")
if not (out_path and fixture) then
  io.stderr:write("set SHAPE_LSP_OUT and SHAPE_LSP_FIXTURE (see editors/nvim/test/run.sh)\n")
  vim.cmd("cquit 2")
end
local python = os.getenv("SHAPE_LSP_PY") or "python3"
local timeout = tonumber(os.getenv("SHAPE_LSP_TIMEOUT") or "60000")

local results = { steps = {} }

local function write_results()
  local f = assert(io.open(out_path, "w"))
  f:write(vim.fn.json_encode(results))
  f:close()
end

local function step(name)
  table.insert(results.steps, name)
  write_results()
end

local function diag_list(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(out, {
      code = d.code or lsp.code,
      message = d.message,
      lnum = d.lnum,
      col = d.col,
      severity = d.severity,
      source = d.source or lsp.source,
    })
  end
  return out
end

local function find_line(bufnr, pattern)
  for i, text in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local s = text:find(pattern, 1, true)
    if s then
      return i - 1, s - 1
    end
  end
  error("pattern not in fixture: " .. pattern)
end

local function hover_at(bufnr, line, col)
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = col } }
  local resp = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, timeout) or {}
  for _, r in pairs(resp) do
    if r.result and r.result.contents then
      local c = r.result.contents
      if type(c) == "table" and c.value then
        return c.value
      elseif type(c) == "string" then
        return c
      end
    end
  end
  return nil
end

local function main()
  vim.cmd("filetype on")
  local shape = require("shape_lsp")
  shape.setup({
    cmd = { python, "-m", "shape_lsp", "serve" },
    settings = { verify = { device = "cpu", timeout = 120 } },
  })
  results.nvim = vim.version and tostring(vim.version().major .. "." .. vim.version().minor .. "." .. vim.version().patch)
  results.mode = shape.mode()
  step("setup")

  vim.cmd("edit " .. vim.fn.fnameescape(fixture))
  local buf = vim.api.nvim_get_current_buf()
  local win = vim.api.nvim_get_current_win()
  results.filetype = vim.bo[buf].filetype

  results.attached = vim.wait(timeout, function()
    return shape.get_client(buf) ~= nil and shape.get_client(buf).initialized ~= false
  end, 50)
  step("attached")

  results.got_diagnostics = vim.wait(timeout, function()
    return #vim.diagnostic.get(buf) > 0
  end, 50)
  results.diagnostics = diag_list(buf)
  step("diagnostics")

  -- Keymaps offered by setup (keymaps = "auto": on Neovim < 0.10) and the virtual text.
  local k = vim.fn.maparg("K", "n", false, true)
  results.keymap_K = { buffer = k.buffer, desc = k.desc }
  local client = shape.get_client(buf)
  local ns = vim.lsp.diagnostic.get_namespace(client.id)
  local cfg = vim.diagnostic.config(nil, ns) or {}
  local vt = cfg.virtual_text
  local first = results.diagnostics[1] and results.diagnostics[1].message or ""
  results.virtual_text = type(vt) == "table" and vt.format and vt.format({ message = first }) or vim.NIL
  results.first_message = first
  step("keymaps")

  -- Hovers: the layer that gets the bad shape (definition and call), a tensor, the model call.
  results.hovers = {}
  for _, spot in ipairs({
    { "self.head(x)", 5 },
    { "self.head = nn.Linear", 5 },
    { "x = self.features(x)", 0 },
    { "out = model(torch.randn", 0 },
  }) do
    local l, c = find_line(buf, spot[1])
    local text = hover_at(buf, l, c + spot[2])
    table.insert(results.hovers, { at = spot[1], line = l, col = c + spot[2], text = text or "" })
  end
  step("hover")

  -- Quick fix on the bare Sequential: ask for code actions on its line, apply "Insert ...
  -- Flatten()", and record the buffer text and the diagnostics that follow.
  local sl = find_line(buf, "seq = nn.Sequential(")
  local line_text = vim.api.nvim_buf_get_lines(buf, sl, sl + 1, false)[1]
  local ctx = {}
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = sl })) do
    -- Back to LSP form (as Neovim's own code-action request does).
    table.insert(ctx, {
      range = {
        start = { line = d.lnum, character = d.col },
        ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
      },
      message = d.message,
      severity = d.severity,
      code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
      source = d.source,
    })
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = sl, character = 0 }, ["end"] = { line = sl, character = #line_text } },
    context = { diagnostics = ctx },
  }
  local resp, req_err = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, timeout)
  results.action_error = req_err and tostring(req_err) or nil
  resp = resp or {}
  results.actions = {}
  local chosen
  for _, r in pairs(resp) do
    for _, a in ipairs(r.result or {}) do
      table.insert(results.actions, a.title)
      if not chosen and a.edit and a.title:find("Flatten", 1, true) then
        chosen = a
      end
    end
  end
  if chosen then
    vim.lsp.util.apply_workspace_edit(chosen.edit, "utf-16")
    results.applied = chosen.title
  end
  results.fixed_line = vim.api.nvim_buf_get_lines(buf, sl, sl + 1, false)[1]
  results.fix_cleared = vim.wait(timeout, function()
    for _, d in ipairs(vim.diagnostic.get(buf, { lnum = sl })) do
      if (d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)) == "SH101" then
        return false
      end
    end
    return true
  end, 50)
  step("code action")

  -- :ShapeSummary with the cursor inside class Net.
  local cl = find_line(buf, "class Net")
  vim.api.nvim_win_set_cursor(win, { cl + 2, 0 })
  vim.cmd("ShapeSummary")
  results.got_summary = vim.wait(timeout, function()
    return shape.last_summary ~= nil
  end, 50)
  if shape.last_summary and vim.api.nvim_buf_is_valid(shape.last_summary) then
    results.summary_lines = vim.api.nvim_buf_get_lines(shape.last_summary, 0, -1, false)
    results.summary_buftype = vim.bo[shape.last_summary].buftype
  end
  step("summary")

  -- :ShapeGraph with the cursor inside class Net; the opener copies the page where we can see it.
  vim.fn.win_gotoid(win)
  vim.api.nvim_win_set_cursor(win, { cl + 2, 0 })
  local copy = out_path .. ".graph.html"
  shape.config.graph_opener = { "sh", "-c", 'cp "$1" ' .. vim.fn.shellescape(copy), "sh" }
  vim.cmd("ShapeGraph")
  results.got_graph = vim.wait(timeout, function()
    return shape.last_graph ~= nil
  end, 50)
  results.graph = shape.last_graph
  vim.wait(5000, function()
    return vim.fn.filereadable(copy) == 1
  end, 50)
  results.graph_opened_copy = vim.fn.filereadable(copy) == 1 and table.concat(vim.fn.readfile(copy), "\n") or ""
  step("graph")

  -- :ShapeVerify Net from the fixture window.
  vim.fn.win_gotoid(win)
  vim.cmd("ShapeVerify Net")
  results.got_verify = vim.wait(math.max(timeout, 180000), function()
    return shape.last_verify ~= nil
  end, 100)
  results.verify = shape.last_verify
  vim.wait(2000, function()
    return false
  end, 100)
  results.diagnostics_after_verify = diag_list(buf)
  step("verify")

end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  results.error = tostring(err)
end
results.done = true
write_results()
-- Stop the server politely before leaving.
for _, client in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
  pcall(function()
    client.stop()
  end)
end
vim.wait(1000, function()
  return #((vim.lsp.get_clients or vim.lsp.get_active_clients)()) == 0
end, 50)
vim.cmd(ok and "qall!" or "cquit! 1")
