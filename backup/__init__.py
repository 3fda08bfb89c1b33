"""Backup and restore of a Lincah installation (README "Backup and restore"): consistent
snapshots of every SQLite database, the data directories and the keys; restores that
verify before they write; scheduled backups; key rotation."""
