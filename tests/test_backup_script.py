"""deploy/backup.sh keeps the database password off pg_dump's command line (where `ps` shows it)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_password_reaches_pg_dump_in_its_environment_not_its_arguments(tmp_path):
    # A pg_dump that writes down how it was called, and writes a dump so that the script completes.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen"
    fake = bin_dir / "pg_dump"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$SEEN.args"\nprintf "%s" "${PGPASSWORD-}" > "$SEEN.password"\n'
                    'while [ $# -gt 0 ]; do [ "$1" = --file ] && echo dump > "$2"; shift; done\n')
    fake.chmod(0o755)
    env_file = tmp_path / "crm.env"
    env_file.write_text("CRM_DATABASE_URL=postgresql+psycopg://crm:s%40cret:x@db.internal:5433/crm?sslmode=require\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CRM_", "PG"))}
    env.update(CRM_CONFIG_FILE=str(env_file), SEEN=str(seen), PATH=f"{bin_dir}:{os.environ['PATH']}")

    done = subprocess.run([str(ROOT / "deploy" / "backup.sh"), str(tmp_path / "backups")], env=env,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).read_text() == "dump\n"
    args = Path(f"{seen}.args").read_text()
    assert "s@cret" not in args and "s%40cret" not in args
    assert "postgresql://crm@db.internal:5433/crm?sslmode=require" in args.splitlines()
    assert Path(f"{seen}.password").read_text() == "s@cret:x"
