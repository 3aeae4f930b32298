#!/usr/bin/env bash
# `--reset` empties the store in place. Another process that already has the
# SQLite file open (the query container beside storage in one pod) must then
# read the new run's rows on its open connection: when --reset deleted the
# file, that process kept the deleted one (old rows, or "disk I/O error" when
# it raced the new file's creation: helm_chart failed so in CI). A file that
# is not SQLite at all is still replaced.
source "$(dirname "$0")/../lib/common.sh"
DB=$WORK/run.db
write_config "$WORK/run.yaml" "$DB" <<YAML
YAML
sed -i 's/^  kind: .*/  kind: motion/' "$WORK/run.yaml"
"$WEAVER" run -q --reset -c "$WORK/run.yaml" --max-frames 300 2> "$WORK/first.log" || { cat "$WORK/first.log"; fail "first run"; }

# The reader: one connection opened before the reset run and kept across it.
python3 - "$WEAVER" "$WORK/run.yaml" "$DB" "$WORK/second.log" <<'PY' || fail "a connection open across --reset"
import sqlite3, subprocess, sys
weaver, cfg, db, log = sys.argv[1:]
count = "SELECT count(*) FROM people_present"
held = sqlite3.connect(db)
before = held.execute(count).fetchone()[0]
assert before > 0, "the first run stored no rows"
with open(log, "w") as err:
    subprocess.run([weaver, "run", "-q", "--reset", "-c", cfg, "--max-frames", "60"], stderr=err, check=True)
fresh = sqlite3.connect(db).execute(count).fetchone()[0]
seen = held.execute(count).fetchone()[0]
print(f"people_present rows: {before} before, {fresh} after the reset run (new connection), {seen} on the held one")
assert fresh < before, (before, fresh)
assert seen == fresh, f"the held connection reads {seen} rows, a new one {fresh}: the reset replaced the file"
events = sqlite3.connect(db).execute("SELECT coalesce(min(id), 1) FROM events").fetchone()[0]
assert events == 1, f"event ids continue from the old store ({events})"
PY

# Not an SQLite file: --reset replaces it (with a warning); without --reset
# the run refuses it and leaves it as it was.
printf 'not a database, but long enough to have a header\n' > "$DB"
rm -f "$DB-wal" "$DB-shm"
if "$WEAVER" run -q -c "$WORK/run.yaml" --max-frames 10 2> "$WORK/refused.log"; then fail "a non-database file was used"; fi
grep -q "not a database" "$WORK/refused.log" || { cat "$WORK/refused.log"; fail "refusal names the cause"; }
grep -q "^not a database" "$DB" || fail "the refused file was changed"
"$WEAVER" run -q --reset -c "$WORK/run.yaml" --max-frames 60 2> "$WORK/replaced.log" \
  || { cat "$WORK/replaced.log"; fail "--reset over a non-database file"; }
grep -q "is not an SQLite database; --reset removes it" "$WORK/replaced.log" || { cat "$WORK/replaced.log"; fail "warning"; }
[ "$(sqlite3 "$DB" "SELECT max(version) FROM schema_version")" -ge 1 ] || fail "no store after the replacement"
echo "ok: --reset empties in place; a non-database file is replaced"
