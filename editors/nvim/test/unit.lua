-- Unit checks that need no server: the three start paths (0.11 vim.lsp.config, 0.8+ vim.lsp.start,
-- 0.7 start_client) with stubbed vim.lsp entry points, option handling and the class finder.
-- Writes JSON to SHAPE_LSP_OUT.
local out_path = os.getenv("SHAPE_LSP_OUT")
if not out_path then
  io.stderr:write("SHAPE_LSP_OUT not set\n")
  vim.cmd("cquit 2")
end
local R = { checks = {} }
local function check(name, ok, detail)
  table.insert(R.checks, { name = name, ok = ok and true or false, detail = detail and vim.inspect(detail) or nil })
end

local ok, err = pcall(function()
  vim.cmd("filetype on")
  local fresh = function()
    package.loaded["shape_lsp"] = nil
    return require("shape_lsp")
  end

  -- 0.11 path: vim.lsp.config + vim.lsp.enable.
  local saved_config, saved_enable = vim.lsp.config, vim.lsp.enable
  local got = {}
  vim.lsp.config = function(name, cfg) got.name, got.cfg = name, cfg end
  vim.lsp.enable = function(name) got.enabled = name end
  local m = fresh()
  m.setup({ mode = "config", python = "/venv/bin/python", settings = { ignore = { "SH113" } } })
  vim.lsp.config, vim.lsp.enable = saved_config, saved_enable
  check("config: registered and enabled", got.name == "shape_lsp" and got.enabled == "shape_lsp", got)
  check("config: cmd", vim.deep_equal(got.cfg.cmd, { "/venv/bin/python", "-m", "shape_lsp", "serve" }), got.cfg.cmd)
  check("config: filetypes + root markers", vim.deep_equal(got.cfg.filetypes, { "python" })
    and vim.tbl_contains(got.cfg.root_markers, "pyproject.toml") and got.cfg.root_dir == nil, got.cfg)
  check("config: settings section and init options",
    vim.deep_equal(got.cfg.settings, { ["shape-lsp"] = { ignore = { "SH113" } } })
      and vim.deep_equal(got.cfg.init_options, { ignore = { "SH113" } }), got.cfg.settings)
  check("commands created", vim.fn.exists(":ShapeVerify") == 2 and vim.fn.exists(":ShapeSummary") == 2)

  -- 0.8-0.10 path: vim.lsp.start(config, {bufnr}) on FileType.
  local started = {}
  local saved_start = vim.lsp.start
  vim.lsp.start = function(cfg, opts) table.insert(started, { cfg = cfg, opts = opts }) return 1 end
  m = fresh()
  m.setup({ mode = "start", cmd = { "srv" }, root_markers = { "pyproject.toml" } })
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir .. "/pkg", "p")
  vim.fn.writefile({ "[project]" }, dir .. "/pyproject.toml")
  vim.cmd("edit " .. dir .. "/pkg/m.py")
  vim.lsp.start = saved_start
  check("start: called on FileType python", #started == 1, started)
  if started[1] then
    check("start: root from markers", started[1].cfg.root_dir == dir, started[1].cfg.root_dir)
    check("start: bufnr passed", started[1].opts.bufnr == vim.api.nvim_get_current_buf(), started[1].opts)
    check("start: user list replaces default", vim.deep_equal(m.config.root_markers, { "pyproject.toml" }), m.config.root_markers)
    check("start: empty settings encode as an object",
      vim.fn.json_encode(started[1].cfg.init_options) == "{}", vim.fn.json_encode(started[1].cfg.init_options))
  end
  vim.cmd("bwipeout!")

  -- A non-Python buffer does not start anything.
  started = {}
  vim.lsp.start = function(cfg) table.insert(started, cfg) end
  vim.cmd("edit " .. dir .. "/notes.txt")
  vim.lsp.start = saved_start
  check("start: ignores other filetypes", #started == 0, started)
  vim.cmd("bwipeout!")

  -- The class finder (1-based lines).
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    "import torch", "", "class Net(nn.Module):", "    def forward(self, x):", "",
    "        # comment", "        return x", "", "model = Net()",
    "class Outer:", "    class Inner(Base):", "        y = 1", "    z = 2",
  })
  local cases = { { 1, nil }, { 3, "Net" }, { 5, "Net" }, { 7, "Net" }, { 9, nil }, { 12, "Inner" }, { 13, "Outer" } }
  for _, c in ipairs(cases) do
    local got_name = m.enclosing_class(buf, c[1])
    check("enclosing_class line " .. c[1], got_name == c[2], { want = c[2], got = got_name })
  end
  check("default python", m.cmd()[1] == "srv")
  m.config.cmd = nil
  m.config.python = nil
  check("default cmd ends with serve", m.cmd()[4] == "serve" and m.cmd()[2] == "-m", m.cmd())
end)
if not ok then
  R.error = tostring(err)
end
local f = assert(io.open(out_path, "w"))
f:write(vim.fn.json_encode(R))
f:close()
vim.cmd("qall!")
