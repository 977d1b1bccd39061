"""The database: the store (connections, transactions, derived tables), its schema and migrations, quarters, backups."""
