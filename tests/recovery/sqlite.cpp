// SQLite backups (being written).
