"""Cross-cutting HTTP plumbing: the error shape and its handler, middleware, pagination, throttling,
negotiation, input helpers, client addresses, health views. It imports no app."""
