"""The soak (`make soak`): the production configuration under mixed load for minutes, its processes killed
every 30 s, then a reconciliation of what the clients were told against what the database and the mail
server hold. See docs/operations.md#soak-test and `python -m soak --help`."""
