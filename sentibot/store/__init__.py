"""The SQLite history: schema, connection, writes and subscribers."""
