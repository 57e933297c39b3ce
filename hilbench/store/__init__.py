"""The lab's results store: an index of run directories in a database (SQLite by default, PostgreSQL for a lab).

The run directory stays the source of truth; the store only answers questions across runs (docs/store.md)."""
