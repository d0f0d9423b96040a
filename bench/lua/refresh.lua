-- POST /api/v1/auth/refresh with one refresh chain per connection (make bench: the refresh case).
--
-- Every refresh rotates the session's refresh token, and presenting a rotated one again is taken as theft
-- (401 token_reused, the session ends). So each token is sent exactly once: a thread keeps a queue of the
-- tokens it may send (one per connection, read from $BENCH_TOKENS/tokens-<thread>.txt), request() takes the
-- oldest, response() puts the new one from the answer at the back. Each connection has one request in
-- flight, so the queue never runs dry while every answer carries a token. A chain whose answer is lost (a
-- socket error) is gone; if all of a thread's are, it sends a request that fails, counted as an error.
-- BENCH_REFRESH_MODE=cookie: the token travels in the taskdesk_refresh cookie, with X-Refresh-Mode: cookie.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

function init(args)
  queue, head, tail = {}, 1, 0
  mode = os.getenv("BENCH_REFRESH_MODE") or "body"
  -- wrk builds one request of its first thread, right after init, to check it, and never sends it: that
  -- one must not use up a token (the chain would be lost and a connection left without one).
  verifying = thread_number == 1
  for line in io.lines(os.getenv("BENCH_TOKENS") .. "/tokens-" .. thread_number .. ".txt") do
    if line ~= "" then
      tail = tail + 1
      queue[tail] = line
    end
  end
end

function request()
  local headers = { ["Content-Type"] = "application/json" }
  if head > tail then
    return wrk.format("POST", wrk.path, headers, "{}")
  end
  local token = queue[head]
  if verifying then
    verifying = false
  else
    queue[head] = nil
    head = head + 1
  end
  if mode == "cookie" then
    headers["X-Refresh-Mode"] = "cookie"
    headers["Cookie"] = "taskdesk_refresh=" .. token
    return wrk.format("POST", wrk.path, headers, "{}")
  end
  return wrk.format("POST", wrk.path, headers, '{"refresh": "' .. token .. '"}')
end

function response(status, headers, body)
  local token
  if mode == "cookie" then
    local cookie = headers["Set-Cookie"] or headers["set-cookie"] or ""
    token = cookie:match("taskdesk_refresh=([^;]+)")
  elseif body then
    token = body:match('"refresh"%s*:%s*"([^"]+)"')
  end
  if token then
    tail = tail + 1
    queue[tail] = token
  end
end
