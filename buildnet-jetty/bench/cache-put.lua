-- wrk script: PUT /cache/<unique key> with a distinct 1 KiB body each time (no two requests
-- store the same blob). Set BENCH_TOKEN in the environment; BENCH_AUTH=none sends no header.
local token = os.getenv("BENCH_TOKEN")
local filler = string.rep("x", 1000)
local counter = 0
local prefix = ""

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end

function init(args)
  prefix = wrk.thread:get("prefix") or tostring(math.random(1, 1000000000))
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
