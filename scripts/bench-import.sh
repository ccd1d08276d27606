#!/usr/bin/env bash
# CSV import benchmark: a background import of ROWS contacts (default
# 1,000,000, about 53 MB, under the 64 MiB `max_import_bytes`) through the
# API against a release `neuracrm serve` on a fresh SQLite database, next to
# a baseline measured in the same run: the in-request path (the one
# transaction of a `200` import), with files of 4,500 rows just under the
# 256 KiB `import_in_request_max_bytes`, 90,000 rows before the background
# import and 90,000 after it, into another organization. Prints rows/s of
# each (the background import's from the start of its upload to its last
# commit) and their ratio.
#
#   scripts/bench-import.sh [ROWS] [DATABASE_URL]
#
# DATABASE_URL defaults to a new SQLite file in a temporary directory (a
# PostgreSQL URL works too; use an empty database). BASELINE_FILES (default
# 20) sets how many in-request files are sent before and after. Needs curl
# and python3.
set -euo pipefail
ROWS="${1:-1000000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
DB="${2:-sqlite://$WORK/bench.db}"

# NEURACRM_BIN: measure that binary instead of building this tree's.
if [ -n "${NEURACRM_BIN:-}" ]; then
  BIN="$NEURACRM_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  cargo build --release -q -p neuracrm --manifest-path "$ROOT/Cargo.toml"
  BIN="$CARGO_TARGET_DIR/release/neuracrm"
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export NEURACRM_JWT_SECRET="bench-$(date +%s%N)-not-a-production-secret"
export NEURACRM_LOG=warn NEURACRM_SCHEDULER=false
"$BIN" serve --db "$DB" --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

python3 - "$PORT" "$ROWS" "$WORK" "$(echo "$DB" | sed 's#://[^@]*@#://***@#')" "${BASELINE_FILES:-20}" <<'PY'
import http.client, json, os, sys, time

port, rows, work, db = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
files = int(sys.argv[5])

def call(method, path, body=None, token=None, ctype="application/json", length=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    headers = {"content-type": ctype}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if length is not None:
        headers["content-length"] = str(length)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    out = (r.status, json.loads(data) if data else None, r.getheader("location"))
    c.close()
    return out

def tenant(name):
    email = f"admin@{name}.bench.example"
    password = "correct horse battery staple 42"
    st, body, _ = call("POST", "/api/auth/register", json.dumps({
        "organization_name": name, "name": "Importer", "email": email, "password": password}))
    assert st == 201, (st, body)
    st, body, _ = call("POST", "/api/auth/login", json.dumps({"email": email, "password": password}))
    assert st == 200, (st, body)
    return body["access_token"]

def csv_file(path, start, n):
    with open(path, "w") as f:
        f.write("first_name,email,company\n")
        for i in range(start, start + n):
            f.write(f"Person{i},person{i}@example.com,Company {i}\n")
    return os.path.getsize(path)

# Baseline: the in-request path, files just under 256 KiB, before and after
# the background import (other work on the machine moves both).
base_token = tenant("baseline")
small_rows = 4_500
small = os.path.join(work, "small.csv")
done_small = 0

def baseline():
    global done_small
    elapsed = 0.0
    for _ in range(files):
        size = csv_file(small, done_small, small_rows)
        done_small += small_rows
        assert size <= 256 * 1024, size
        with open(small, "rb") as f:
            t0 = time.monotonic()
            st, body, _ = call("POST", "/api/import/contacts", f, base_token, "text/csv", size)
            elapsed += time.monotonic() - t0
        assert st == 200 and body["created"] == small_rows, (st, body)
    return small_rows * files / elapsed

before = baseline()

# The background import.
token = tenant("big")
big = os.path.join(work, "big.csv")
size = csv_file(big, 0, rows)
with open(big, "rb") as f:
    t0 = time.monotonic()
    st, body, location = call("POST", "/api/import/contacts", f, token, "text/csv", size)
    uploaded = time.monotonic() - t0
assert st == 202, (st, body)
progress = []  # (seconds since the upload began, rows read)
while True:
    st, body, _ = call("GET", location, token=token)
    assert st == 200, (st, body)
    progress.append((time.monotonic() - t0, body["rows_read"]))
    if body["status"] in ("completed", "failed"):
        break
    time.sleep(0.1)
total = time.monotonic() - t0
assert body["status"] == "completed" and body["created"] == rows, body
rate = rows / total
after = baseline()
base_rate = (before + after) / 2
print(f"database: {db}")
print(f"in-request imports (baseline): {files} x {small_rows:,} rows before, and again after: "
      f"{before:,.0f} and {after:,.0f} rows/s")
print(f"background import: {rows:,} rows, {size / 1e6:.1f} MB: upload {uploaded:.1f} s, "
      f"all written after {total:.1f} s: {rate:,.0f} rows/s")
print(f"ratio to the in-request path (mean of before and after): {rate / base_rate:.2f}")
# Rows/s over each fifth of the import (does it slow down as tables grow?).
marks, out = [rows * k // 5 for k in range(1, 6)], []
last_t, last_n = uploaded, 0
for at, n in progress:
    if marks and n >= marks[0]:
        out.append(f"{(n - last_n) / max(at - last_t, 1e-9):,.0f}")
        last_t, last_n = at, n
        while marks and n >= marks[0]:
            marks.pop(0)
print("background rows/s by fifth of the import: " + ", ".join(out))
PY
