-- POST /v1/events for bench/events.sh: each request a new event for one of
-- CUSTOMERS seeded customers (B-0 .. B-n), so the writer resolves many
-- customers per batch, as in production.
local customers = tonumber(os.getenv("CUSTOMERS") or "1000")
local n = 0

init = function(args)
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  n = n + 1
  local body = string.format(
    '{"type":"order.shipped","customer":"B-%d","data":{"order":"O-%d","total":%d}}',
    n % customers, n, n % 500)
  return wrk.format("POST", "/v1/events", nil, body)
end
