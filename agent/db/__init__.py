"""Database plumbing shared by the stores: SQLite, PostgreSQL, graph checkpoints."""
