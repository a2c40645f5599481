-- wrk script: GET /cache/g<N> for N cycling through BENCH_KEYS keys stored beforehand.
local token = os.getenv("BENCH_TOKEN")
local keys = tonumber(os.getenv("BENCH_KEYS") or "1000")
local i = 0
local headers = {}
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
local requests = {}

init = function(args)
  for n = 0, keys - 1 do
    requests[n] = wrk.format("GET", "/cache/g" .. n, headers)
  end
  i = math.random(0, keys - 1)
end

request = function()
  i = (i + 1) % keys
  return requests[i]
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
