#!/usr/bin/env bash
# API load benchmark: wrk against a release `neuracrm serve` on an existing
# database (seed it first; see docs/operations.md, "Benchmarks"). Prints requests/s and
# p50/p99 latency for the lead list (with a filter) and a single lead read,
# each next to `/healthz` measured in the same run, which costs neither a
# token check nor a query: the ratio is what auth and the database cost.
#
#   scripts/bench-api.sh sqlite:///path/to/big.db [seconds] [connections] [threads]
#
# Needs wrk (Debian: apt-get install wrk). Logs in as admin@org1.example.
set -euo pipefail
DB="${1:?usage: bench-api.sh DATABASE_URL [seconds] [connections] [threads]}"
SECS="${2:-15}"
CONNS="${3:-32}"
THREADS="${4:-1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
command -v wrk >/dev/null || { echo "bench-api.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

# NEURACRM_BIN: measure that binary instead of building this tree's (to
# compare two builds on the same data).
if [ -n "${NEURACRM_BIN:-}" ]; then
  BIN="$NEURACRM_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  cargo build --release -q -p neuracrm --manifest-path "$ROOT/Cargo.toml"
  BIN="$CARGO_TARGET_DIR/release/neuracrm"
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
export NEURACRM_JWT_SECRET="bench-$(date +%s%N)-not-a-production-secret"
export NEURACRM_LOG=warn NEURACRM_SCHEDULER=false
export NEURACRM_LOGIN_ATTEMPTS_PER_IP=1000000 NEURACRM_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000
"$BIN" serve --db "$DB" --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 240); do curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "$BASE/readyz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
TOKEN="$(curl -fsS -X POST "$BASE/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@org1.example","password":"neuracrm-demo"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
# The id range of org 1's leads, for random single reads.
IDS="$(curl -fsS "$BASE/api/leads?limit=1&sort=created_at&order=asc" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')"
IDE="$(curl -fsS "$BASE/api/leads?limit=1&sort=created_at&order=desc" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')"
cat >"$WORK/one.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/leads/" .. math.random($IDS, $IDE), {["authorization"] = "Bearer $TOKEN"})
end
LUA

run() { # name, then wrk arguments
  local name="$1"; shift
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$@" >"$WORK/$name.txt"
  python3 - "$WORK/$name.txt" "$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, u = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{sys.argv[2]:<28} {rps:>10.0f} req/s   p50 {ms(p['50']):7.2f} ms   p99 {ms(p['99']):7.2f} ms"
      + (f"   NON-2XX: {non2xx.group(1)}" if non2xx else ""))
open(sys.argv[1] + ".rps", "w").write(str(rps))
PY
}
echo "wrk: $THREADS thread(s), $CONNS connections, ${SECS}s each, against $(echo "$DB" | sed 's#://[^@]*@#://***@#')"
run healthz "$BASE/healthz"
run list -H "authorization: Bearer $TOKEN" "$BASE/api/leads?limit=50&status=qualified"
run single -s "$WORK/one.lua" "$BASE"
python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
r = {n: float(open(f"{w}/{n}.txt.rps").read()) for n in ("healthz", "list", "single")}
print(f"ratio to /healthz: list {r['list']/r['healthz']:.2f}, single read {r['single']/r['healthz']:.2f}")
PY
