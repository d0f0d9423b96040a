-- A request with a method and a body (make bench: the create case), from the environment.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
end
wrk.headers["Content-Type"] = "application/json"
