#!/usr/bin/env bash
# Runs the production steps of docs/operations.md on this machine, for real, and checks each one:
# a fresh PostgreSQL database, the env file (secret key written once), migrations, outlet -> team ->
# users, the questionnaire, Redis, gunicorn with 2 workers and one scheduler started from the systemd
# units' own ExecStart lines, /healthz, a sign-in over HTTP with its CSRF token, a backup, its restore
# into a second database, the upgrade step again (a no-op), a rollback rehearsal on the copy, Redis down.
# One line per step; exit status 0 only when every step passed. Everything it started is stopped and
# everything it created (databases, files) removed, also on failure.
#
# Needs: the project's .venv (make install), PostgreSQL on PGHOST:PGPORT where PGUSER may create
# databases without a password (default 127.0.0.1:5432, postgres), redis-server, redis-cli, curl.
#   deploy/check-production.sh            PRODCHECK_DB=name to choose the database name
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
DB=${PRODCHECK_DB:-crm_prodcheck_$$}
RESTORED=${DB}_restored
# Only the env file configures the app here, as under systemd: forget any CRM_* of the caller.
for name in $(compgen -e | grep '^CRM_' || true); do unset "$name"; done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/outlet-crm-prodcheck.XXXXXX")
ENV_FILE=$WORK/crm.env
WEB_PID="" SCHED_PID="" REDIS_PID=""
DB_CREATED=""

START=$SECONDS
ok() { printf 'ok    %3ss  %s\n' "$((SECONDS - START))" "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  for log in "$WORK"/*.log; do [ -s "$log" ] && { echo "----- last lines of $(basename "$log")"; tail -n 25 "$log"; }; done
  exit 1
}
stop_pid() {  # stop one process we started, by its id; wait until it is gone
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null; return 1
}
cleanup() {
  stop_pid "$WEB_PID"; stop_pid "$SCHED_PID"; stop_pid "$REDIS_PID"
  if [ -n "$DB_CREATED" ]; then
    # Both at once: each DROP DATABASE waits for a checkpoint, and one checkpoint can serve both.
    dropdb --if-exists "$DB" 2>/dev/null & local first=$!
    dropdb --if-exists "$RESTORED" 2>/dev/null
    wait "$first"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
crm() { (cd "$ROOT" && CRM_CONFIG_FILE="$ENV_FILE" "$VENV/bin/flask" --app wsgi "$@"); }
set_setting() {  # KEY VALUE: replace or add one line of the env file
  grep -v "^$1=" "$ENV_FILE" > "$ENV_FILE.new"; printf '%s=%s\n' "$1" "$2" >> "$ENV_FILE.new"
  mv "$ENV_FILE.new" "$ENV_FILE"
}
sql() { psql -X -q -t -A -d "$1" -c "$2"; }
unit_command() {  # the ExecStart of a unit, with this checkout instead of /opt/outlet-crm
  sed -n 's/^ExecStart=//p' "$ROOT/deploy/$1" | sed "s#/opt/outlet-crm#$ROOT#g; s#127.0.0.1:8000#127.0.0.1:$WEB_PORT#g"
}
wait_for() {  # SECONDS COMMAND...: retry until the command succeeds
  local seconds=$1; shift
  for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}
http() { curl -s -o "$WORK/body" -w '%{http_code}' -b "$WORK/cookies" -c "$WORK/cookies" "$@"; }
sign_in() {  # USERNAME PASSWORD -> prints the status code of the POST
  rm -f "$WORK/cookies"
  http "$BASE/login" >/dev/null
  local token
  token=$(sed -n 's/.*name="csrf_token" type="hidden" value="\([^"]*\)".*/\1/p' "$WORK/body" | head -n 1)
  [ -n "$token" ] || token=$(grep -o 'name="csrf_token"[^>]*' "$WORK/body" | sed -n 's/.*value="\([^"]*\)".*/\1/p' | head -n 1)
  # Over https, Flask-WTF also checks that the Referer is this site (nginx passes the browser's).
  http -D "$WORK/headers" -e "https://127.0.0.1:$WEB_PORT/login" --data-urlencode "csrf_token=$token" --data-urlencode "username=$1" \
       --data-urlencode "password=$2" "$BASE/login"
}

# 1. The tools.
for tool in psql createdb dropdb pg_dump pg_restore redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || fail "tools: $tool is not installed"
done
[ -x "$VENV/bin/flask" ] && [ -x "$VENV/bin/gunicorn" ] || fail "tools: $VENV has no flask/gunicorn (make install)"
ok "tools: PostgreSQL client, redis-server, curl, flask and gunicorn in $VENV"

# 2. A fresh PostgreSQL database.
dropdb --if-exists "$DB" 2>/dev/null
createdb "$DB" 2>"$WORK/createdb.log" || fail "database: createdb $DB on $PGHOST:$PGPORT ($(cat "$WORK/createdb.log"))"
DB_CREATED=1
ok "database: created $DB on $PGHOST:$PGPORT"

# 3. The env file, from the example; the secret key written once.
WEB_PORT=$(free_port); REDIS_PORT=$(free_port)
while [ "$REDIS_PORT" = "$WEB_PORT" ]; do REDIS_PORT=$(free_port); done
BASE=http://127.0.0.1:$WEB_PORT
install -m 600 "$ROOT/deploy/crm.env.example" "$ENV_FILE"
set_setting CRM_DATABASE_URL "postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB"
set_setting CRM_BASE_URL "$BASE"
set_setting CRM_RATELIMIT_STORAGE_URI "redis://127.0.0.1:$REDIS_PORT/0"
set_setting CRM_SMTP_HOST ""            # no SMTP server here: emails wait in the outbox
set_setting CRM_TRUSTED_PROXIES 1       # curl plays nginx: X-Forwarded-Proto: https
set_setting CRM_REMINDER_EVERY_SECONDS 2  # the scheduler runs a slot within seconds
for _ in 1 2; do  # the documented line, run twice: the key must not change
  grep -q '^CRM_SECRET_KEY=' "$ENV_FILE" || echo "CRM_SECRET_KEY=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))')" >> "$ENV_FILE"
  sed -n 's/^CRM_SECRET_KEY=//p' "$ENV_FILE" >> "$WORK/keys"
done
[ "$(sort -u "$WORK/keys" | wc -l)" -eq 1 ] && [ "$(grep -c '^CRM_SECRET_KEY=' "$ENV_FILE")" -eq 1 ] \
  || fail "env file: the secret key line changed the key when run again"
ok "env file: $ENV_FILE from deploy/crm.env.example; secret key written once (kept when run again)"

# 4. Migrations.
crm db upgrade >"$WORK/upgrade.log" 2>&1 || fail "db upgrade"
HEAD=$(sql "$DB" "SELECT version_num FROM alembic_version")
[ -n "$HEAD" ] || fail "db upgrade: no alembic_version"
ok "db upgrade: schema at $HEAD"

# 5. Outlet -> team -> users, without prompts; a manager without a team is refused.
PASSWORD=prodcheck-pass-123
export CRM_NEW_USER_PASSWORD=$PASSWORD
crm create-outlet --bank 工商银行 --branch 朝阳支行 --city 北京 >"$WORK/setup.log" 2>&1 || fail "create-outlet"
crm create-team 一部 >>"$WORK/setup.log" 2>&1 || fail "create-team"
crm create-user --username admin --display-name 合规 --email "" --role admin >>"$WORK/setup.log" 2>&1 || fail "create-user admin"
crm create-user --username lead --display-name 李团队长 --email "" --role lead --team 一部 >>"$WORK/setup.log" 2>&1 \
  || fail "create-user lead"
crm create-user --username wang --display-name 王经理 --email "" --role manager --team 一部 --outlet "工商银行 朝阳支行" \
  >>"$WORK/setup.log" 2>&1 || fail "create-user manager"
if crm create-user --username zhao --display-name 赵经理 --email "" --role manager >>"$WORK/setup.log" 2>&1; then
  fail "create-user: a manager without a team was accepted"
fi
unset CRM_NEW_USER_PASSWORD
[ "$(sql "$DB" "SELECT count(*) FROM users u JOIN teams t ON t.id = u.team_id WHERE u.role IN ('lead','manager')")" = 2 ] \
  || fail "setup: the lead and the manager are not in their team"
ok "setup: outlet, team, admin, lead and manager created; a manager without a team refused"

# 6. The questionnaire.
crm load-questionnaire >"$WORK/questionnaire.log" 2>&1 || fail "load-questionnaire"
[ "$(sql "$DB" "SELECT count(*) FROM questionnaires")" -ge 1 ] || fail "load-questionnaire: nothing in the database"
ok "load-questionnaire: $(tail -n 1 "$WORK/questionnaire.log")"

# 7. Redis, gunicorn (2 workers) and the scheduler, as the systemd units start them.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
wait_for 20 redis-cli -p "$REDIS_PORT" ping || fail "redis: did not answer on port $REDIS_PORT"
ok "redis: running on port $REDIS_PORT"
(cd "$ROOT" && export CRM_CONFIG_FILE="$ENV_FILE" && exec $(unit_command outlet-crm-web.service)) >"$WORK/web.log" 2>&1 &
WEB_PID=$!
wait_for 60 curl -sf "$BASE/healthz" || fail "gunicorn: /healthz did not answer on port $WEB_PORT within 60 s"
WORKERS=$(ps -o pid= --ppid "$WEB_PID" | wc -l)
[ "$WORKERS" -eq 2 ] || fail "gunicorn: $WORKERS workers instead of 2"
ok "gunicorn: master $WEB_PID with $WORKERS workers on $BASE (ExecStart of outlet-crm-web.service)"
(cd "$ROOT" && export CRM_CONFIG_FILE="$ENV_FILE" PYTHONUNBUFFERED=1 && exec $(unit_command outlet-crm-scheduler.service)) \
  >"$WORK/scheduler.log" 2>&1 &
SCHED_PID=$!
reminders_ran() { [ "$(sql "$DB" "SELECT count(*) FROM job_runs WHERE job = 'send-reminders' AND finished_at IS NOT NULL")" -ge 1 ]; }
wait_for 60 reminders_ran || fail "scheduler: no send-reminders run finished within 60 s"
kill -0 "$SCHED_PID" 2>/dev/null || fail "scheduler: the process exited"
grep -q "CRM_SMTP_HOST is not set" "$WORK/scheduler.log" || fail "scheduler: no warning about the missing SMTP server"
ok "scheduler: running (pid $SCHED_PID), ran send-reminders, warned that SMTP is not set"

# 8. The health check.
code=$(http "$BASE/healthz")
[ "$code" = 200 ] && grep -q '"status": *"ok"' "$WORK/body" && grep -q '"ratelimit": *"ok"' "$WORK/body" \
  || fail "healthz: $code $(cat "$WORK/body")"
ok "healthz: 200 $(tr -d ' \n' < "$WORK/body")"

# 9. Sign in over HTTP with the CSRF token, as behind nginx (X-Forwarded-Proto: https).
export CURL_HOME=$WORK
printf 'header = "X-Forwarded-Proto: https"\n' > "$WORK/.curlrc"
code=$(sign_in wang "$PASSWORD")
[ "$code" = 303 ] || fail "sign-in: POST /login answered $code, not 303"
grep -qi '^set-cookie: session=.*; Secure' "$WORK/headers" || fail "sign-in: the session cookie is not Secure"
code=$(http -L "$BASE/")
[ "$code" = 200 ] && grep -q '王经理' "$WORK/body" || fail "sign-in: the start page answered $code without the user's name"
code=$(sign_in admin wrong-password-0)
[ "$code" = 422 ] || fail "sign-in: a wrong password answered $code, not 422"
# Throttling counts in the database every web process shares; Redis keeps only the per-address flood guard.
[ "$(sql "$DB" "SELECT count(*) FROM sign_in_attempts WHERE username_key = 'admin' AND NOT succeeded")" = 1 ] \
  || fail "sign-in: the failed attempt is not in sign_in_attempts"
redis-cli -p "$REDIS_PORT" --scan --pattern '*auth.login*' | grep -q . || fail "sign-in: the flood guard did not count in Redis"
ok "sign-in: manager signed in over HTTP (303, Secure cookie, start page); failed attempt recorded (database) and counted (Redis)"

# 10. Backup with the documented script (pg_dump), restore into a second database, compare rows.
BACKUP=$(CRM_CONFIG_FILE="$ENV_FILE" "$ROOT/deploy/backup.sh" "$WORK/backups" 2>"$WORK/backup.log") || fail "backup: $(cat "$WORK/backup.log")"
[ -s "$BACKUP" ] || fail "backup: $BACKUP is empty"
ok "backup: $(basename "$BACKUP") ($(wc -c < "$BACKUP") bytes)"
createdb "$RESTORED" && pg_restore --no-owner --exit-on-error --dbname "$RESTORED" "$BACKUP" 2>"$WORK/restore.log" \
  || fail "restore: pg_restore into $RESTORED ($(cat "$WORK/restore.log"))"
for table in users teams outlets questionnaires alembic_version; do
  a=$(sql "$DB" "SELECT count(*) FROM $table"); b=$(sql "$RESTORED" "SELECT count(*) FROM $table")
  [ "$a" = "$b" ] || fail "restore: $table has $b rows in the copy, $a in the original"
done
[ "$(sql "$RESTORED" "SELECT string_agg(username, ',' ORDER BY username) FROM users")" = "admin,lead,wang" ] \
  || fail "restore: the copy does not have the three users"
ok "restore: $RESTORED has the same users, teams, outlets, questionnaires and schema version"

# 11. Upgrade again (backup first, as documented): nothing to do, same version.
CRM_CONFIG_FILE="$ENV_FILE" "$ROOT/deploy/backup.sh" "$WORK/backups" >/dev/null 2>>"$WORK/backup.log" || fail "upgrade: backup before it"
crm db upgrade >"$WORK/upgrade2.log" 2>&1 || fail "upgrade: db upgrade again"
[ "$(sql "$DB" "SELECT version_num FROM alembic_version")" = "$HEAD" ] || fail "upgrade: the version changed"
crm db current 2>/dev/null | grep -q "$HEAD (head)" || fail "upgrade: db current does not say $HEAD (head)"
ok "upgrade: db upgrade again is a no-op ($HEAD (head))"

# 12. Rollback rehearsal on the restored copy: one revision down and up again.
rollback() { (cd "$ROOT" && CRM_CONFIG_FILE="$ENV_FILE" CRM_DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$RESTORED" \
  "$VENV/bin/flask" --app wsgi db "$@"); }
rollback downgrade -- -1 >"$WORK/rollback.log" 2>&1 || fail "rollback: db downgrade -1 on the copy"
DOWN=$(sql "$RESTORED" "SELECT version_num FROM alembic_version")
[ "$DOWN" != "$HEAD" ] || fail "rollback: the version did not change"
rollback upgrade >>"$WORK/rollback.log" 2>&1 || fail "rollback: db upgrade after the downgrade"
[ "$(sql "$RESTORED" "SELECT version_num FROM alembic_version")" = "$HEAD" ] || fail "rollback: not back at $HEAD"
ok "rollback: on the copy, $HEAD -> ${DOWN:-base} -> $HEAD"

# 13. Redis down: sign-in still works, /healthz says degraded (200).
stop_pid "$REDIS_PID" || fail "redis: did not stop"
REDIS_PID=""
code=$(sign_in lead "$PASSWORD")
[ "$code" = 303 ] || fail "redis down: sign-in answered $code, not 303"
code=$(http "$BASE/healthz")
[ "$code" = 200 ] && grep -q '"status": *"degraded"' "$WORK/body" && grep -q '"ratelimit": *"unreachable"' "$WORK/body" \
  || fail "redis down: healthz answered $code $(cat "$WORK/body")"
grep -q "falling back to in-memory storage" "$WORK/web.log" || fail "redis down: no warning in the web's log"
ok "redis down: lead signed in (303), warning logged; healthz 200 $(tr -d ' \n' < "$WORK/body")"

# 14. Stop everything.
stop_pid "$SCHED_PID" || fail "stop: the scheduler did not stop on SIGTERM"
SCHED_PID=""
stop_pid "$WEB_PID" || fail "stop: gunicorn did not stop on SIGTERM"
WEB_PID=""
ok "stop: gunicorn and the scheduler stopped on SIGTERM; databases and files are removed next"
echo "all production steps passed"
