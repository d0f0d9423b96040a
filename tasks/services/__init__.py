"""Writes of the tasks app, by concept: `tasks` (tasks, trash, bulk, idempotent create), `projects`
(projects, members and roles, invitations), `demo` (demo data in bulk, for load tests)."""
