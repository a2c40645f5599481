-- wrk script: PUT /cache/<unique key> with a distinct 1 KiB body each time (no two requests
-- store the same blob). Set BENCH_TOKEN in the environment; BENCH_AUTH=none sends no header.
local token = os.getenv("BENCH_TOKEN")
local filler = string.rep("x", 1000)
local counter = 0
local prefix = ""

-- LuaJIT's math.random starts from the same seed in every wrk process, so a prefix drawn from it
-- alone was the same in every run: each run (the warm-up rounds included) re-stored the keys of
-- the one before, which measured overwrites (and the compaction they cause), not new entries.
-- The prefix comes from /dev/urandom instead.
local function randomPrefix()
  local f = io.open("/dev/urandom", "rb")
  local b = f:read(8)
  f:close()
  return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function setup(thread)
  thread:set("prefix", randomPrefix())
end

function init(args)
  prefix = wrk.thread:get("prefix") or randomPrefix()
end

request = function()
  counter = counter + 1
  local body = string.format("%024d", counter) .. filler
  local headers = { ["Content-Type"] = "application/vnd.gradle.build-cache-artifact.v2" }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("PUT", "/cache/p" .. prefix .. "-" .. counter, headers, body)
end

local failed = 0
response = function(status, headers, body)
  if status ~= 201 and status ~= 200 and status ~= 204 then failed = failed + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
