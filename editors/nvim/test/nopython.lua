-- Driver: setup() with an interpreter that cannot import shape_lsp (SHAPE_LSP_BAD_PY): the
-- plugin must say which interpreter it tried and how to install, and start nothing.
local out_path = assert(os.getenv("SHAPE_LSP_OUT"))
local results = { notes = {} }
vim.notify = function(msg, level)
  table.insert(results.notes, { msg = msg, level = level })
end
local ok, err = pcall(function()
  vim.cmd("filetype on")
  local shape = require("shape_lsp")
  shape.setup({ python = os.getenv("SHAPE_LSP_BAD_PY") })
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("SHAPE_LSP_FIXTURE")))
  vim.wait(1000, function() return false end, 50)
  results.attached = shape.get_client(0) ~= nil
end)
if not ok then
  results.error = tostring(err)
end
local f = assert(io.open(out_path, "w"))
f:write(vim.fn.json_encode(results))
f:close()
vim.cmd("qall!")
