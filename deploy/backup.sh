#!/usr/bin/env bash
# One backup of the Outlet CRM database into DIR (default /var/backups/outlet-crm); backups older than
# CRM_BACKUP_KEEP_DAYS (14) are removed. It reads the app's own settings (CRM_CONFIG_FILE, then the
# environment), so it backs up the database the web and the scheduler use.
#   PostgreSQL: pg_dump custom format  -> crm-YYYYmmdd-HHMMSS.dump     (restore: pg_restore, see docs)
#   SQLite:     the online backup API   -> crm-YYYYmmdd-HHMMSS.sqlite3 (same as sqlite3's .backup)
# Prints the file it wrote; exits non-zero when anything failed (nothing half-written is left).
set -euo pipefail
dir=${1:-/var/backups/outlet-crm}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${CRM_PYTHON:-$root/.venv/bin/python}
# A PostgreSQL URL comes back as libpq's "postgresql://" without its password, and the password on a
# line of its own: pg_dump gets it in PGPASSWORD, never on its command line (which `ps` shows anyone).
settings=$(cd "$root" && "$python" -c 'from crm.config import read_settings as r; s = r()
url, password = s.get("CRM_DATABASE_URL", ""), ""
if url.startswith("postgresql"):
    from sqlalchemy.engine import URL, make_url
    u = make_url(url)
    password = u.password or ""
    url = URL.create("postgresql", u.username, None, u.host, u.port, u.database, u.query).render_as_string(False)
print(url); print(s.get("CRM_BACKUP_KEEP_DAYS", "14")); print(password)')
url=$(printf '%s\n' "$settings" | sed -n 1p)
keep_days=$(printf '%s\n' "$settings" | sed -n 2p)
password=$(printf '%s\n' "$settings" | sed -n 3p)
unset settings
case "$keep_days" in ''|*[!0-9]*) echo "backup: CRM_BACKUP_KEEP_DAYS must be a number of days" >&2; exit 2 ;; esac
[ -n "$url" ] || { echo "backup: CRM_DATABASE_URL is not set (CRM_CONFIG_FILE=${CRM_CONFIG_FILE:-unset})" >&2; exit 2; }
umask 077
target=""
trap '[ -z "$target" ] || rm -f "$target.partial"' EXIT
mkdir -p "$dir"
stamp=$(date +%Y%m%d-%H%M%S)
case "$url" in
  postgresql*)
    target="$dir/crm-$stamp.dump"
    if [ -n "$password" ]; then export PGPASSWORD="$password"; fi
    pg_dump --format=custom --no-owner --file "$target.partial" --dbname "$url"
    ;;
  sqlite:///*)
    target="$dir/crm-$stamp.sqlite3"
    "$python" - "${url#sqlite:///}" "$target.partial" <<'PY'
import sqlite3, sys
# Read-only: a wrong path fails instead of creating an empty database.
source = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
copy = sqlite3.connect(sys.argv[2])
with copy:
    source.backup(copy)
PY
    ;;
  *) echo "backup: cannot back up $url (only PostgreSQL and SQLite)" >&2; exit 2 ;;
esac
mv "$target.partial" "$target"
find "$dir" -maxdepth 1 -name 'crm-*' -mtime +"$keep_days" -delete
echo "$target"
