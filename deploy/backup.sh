#!/usr/bin/env bash
# Back up a hallq database (业务数据要时时备份): SQLite with its online backup, PostgreSQL with pg_dump.
# Usage: backup.sh DATABASE_URL_OR_SQLITE_FILE BACKUP_DIR    (run from cron or a systemd timer)
set -euo pipefail
umask 077  # backups hold every resident's ticket: the service user's alone
src="$1"; dest="$2"
mkdir -p "$dest"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
case "$src" in
  postgresql*)
    url="${src/postgresql+psycopg2/postgresql}"
    pg_dump --format=custom --file "$dest/hallq-$stamp.dump" "$url"
    ;;
  *)
    file="${src#sqlite:///}"
    python3 - "$file" "$dest/hallq-$stamp.db" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.execute("PRAGMA integrity_check").fetchone()
dst.close(); src.close()
PY
    ;;
esac
echo "backup written to $dest (stamp $stamp)"
