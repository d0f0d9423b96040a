"""Reads of the tasks app, by concept: `tasks` and `projects`, each scoped to the caller."""
