"""Endpoints of the tasks app, by concept: `tasks` and `projects`."""
