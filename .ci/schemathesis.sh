#!/usr/bin/env bash
# Property-based API check: schemathesis generates requests from
# /api/openapi.json and checks that no response is a 5xx and that every
# documented response matches its schema.
#
# Installs schemathesis into a venv under $HOME/.cache/neuracrm-ci on first
# use, starts the server on a temporary SQLite file and a free port, registers
# a user, and runs a bounded number of examples per operation. Exits non-zero
# on any failure. Env: MAX_EXAMPLES (default 20), SCHEMATHESIS_VERSION.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CACHE="$HOME/.cache/neuracrm-ci"
VENV="$CACHE/venv"
MAX_EXAMPLES="${MAX_EXAMPLES:-20}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"

if [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "schemathesis.sh: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
DB="sqlite://$WORK/schemathesis.db"
export NEURACRM_JWT_SECRET="schemathesis-$(date +%s%N)-not-a-production-secret"
# Schemathesis sends many logins; keep the limiter out of its way (429 is
# still documented and checked by the API tests).
export NEURACRM_LOGIN_ATTEMPTS_PER_IP=100000
export NEURACRM_LOGIN_ATTEMPTS_PER_ACCOUNT=100000
export NEURACRM_REGISTRATIONS_PER_IP=100000
export NEURACRM_LOG=warn

# The CLI (package `neuracrm`) when it exists, else the server's example
# (SCHEMATHESIS_SERVER=example forces the example).
if [ "${SCHEMATHESIS_SERVER:-cli}" != example ] && cargo metadata --no-deps --format-version 1 2>/dev/null | grep -q '"name":"neuracrm"'; then
    cargo build -q -p neuracrm
    cargo run -q -p neuracrm -- serve --db "$DB" --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
else
    cargo build -q -p neuracrm-server --example serve
    cargo run -q -p neuracrm-server --example serve -- "$DB" "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
fi
SERVER_PID=$!

for _ in $(seq 1 120); do
    if curl -fsS "$BASE/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "schemathesis.sh: the server exited:" >&2
        cat "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.5
done
curl -fsS "$BASE/readyz" >/dev/null || { echo "schemathesis.sh: server not ready" >&2; cat "$WORK/server.log" >&2; exit 1; }

EMAIL="schemathesis@example.com"
# Not built from the e-mail or the name (the password policy refuses those).
PASSWORD="fuzzing is a fine way to spend a night"
curl -fsS -X POST "$BASE/api/auth/register" -H 'content-type: application/json' \
    -d "{\"organization_name\":\"Schemathesis\",\"name\":\"ST\",\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" >/dev/null
TOKEN="$(curl -fsS -X POST "$BASE/api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

# A few records so that generated ids sometimes hit something.
curl -fsS -X POST "$BASE/api/contacts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"first_name":"Ada","email":"ada@example.com"}' >/dev/null

set +e
# GET /api/events is a Server-Sent Events stream that stays open until the
# client leaves: every generated request would hang until the run's timeout.
# Its auth, filter validation and tenancy are covered by the API tests
# (crates/server/tests/api/events.rs). POST /api/auth/logout would end the
# session of the one token every other request uses (covered by
# crates/server/tests/api/sessions.rs).
# A fixed seed makes the run reproducible (SCHEMATHESIS_SEED=... to explore
# others). With a random one, schemathesis 4.32.5 on Python 3.11 sometimes
# stops with an internal error of its own ("AST constructor recursion depth
# mismatch", raised by hypothesis while describing a strategy during the
# coverage phase of POST /api/import/contacts): a tool failure, not a
# finding about the API, and it made CI fail at random.
timeout 280 "$VENV/bin/schemathesis" run "$BASE/api/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --seed "${SCHEMATHESIS_SEED:-79924628916802973525467292980830139469}" \
    --exclude-path /api/events \
    --exclude-path /api/auth/logout \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --workers 2 \
    --no-color
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
    echo "schemathesis.sh: FAILED (exit $STATUS); server log tail:" >&2
    tail -n 50 "$WORK/server.log" >&2
    exit "$STATUS"
fi
echo "schemathesis.sh: passed"
