"""Background jobs: the worker, its heartbeat, retries, periodic jobs and the staff's view of the queue.

The queue itself is django-tasks' API (`@task`, `.enqueue()`) over django-tasks-db's table, so enqueueing
is an INSERT in the caller's transaction. What the library leaves out is here, and imports no app: crash
recovery, retries with growing delays, a dead state, periodic jobs (named by dotted path in
`settings.PERIODIC_JOBS`) and the heartbeat behind `/health/worker`.
"""
