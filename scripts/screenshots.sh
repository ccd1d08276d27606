#!/usr/bin/env bash
# The screenshots of docs/ (README, docs/web.md): the main pages of the web
# UI on the demo data, signed in as admin@org1.example, at 1440 and 375 px,
# taken by Debian's chromium through chromedriver (WebDriver over HTTP,
# spoken by python3's standard library).
#
#   scripts/screenshots.sh [OUT_DIR]        # default docs/screenshots
#
# Runs `neuracrm demo` (release build) on a fresh demo database in a
# temporary directory, so the pictures show the demo as a newcomer sees it.
# Needs chromium, chromium-driver, curl and python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/docs/screenshots}"
mkdir -p "$OUT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -q -p neuracrm --manifest-path "$ROOT/Cargo.toml"
BIN="$CARGO_TARGET_DIR/release/neuracrm"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
DRIVER_PORT="$(free_port)"
export NEURACRM_LOG=warn
(cd "$WORK" && "$BIN" demo --db "sqlite://$WORK/demo.db" --bind "127.0.0.1:$PORT" >"$WORK/demo.log" 2>&1) &
DEMO=$!
chromedriver --port="$DRIVER_PORT" >"$WORK/driver.log" 2>&1 &
DRIVER=$!
trap 'kill $DEMO $DRIVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/demo.log" >&2; exit 1; }
# The demo's first scoring batch and forecast cycle run as it starts.
sleep 5

python3 - "$PORT" "$DRIVER_PORT" "$OUT" <<'PY'
import base64, json, sys, time, urllib.request

port, driver, out = sys.argv[1], sys.argv[2], sys.argv[3]
base = f"http://127.0.0.1:{port}"
wd = f"http://127.0.0.1:{driver}"

def call(method, path, body=None):
    req = urllib.request.Request(wd + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())["value"]

def browser(width, height):
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--window-size={width},{height}", "--hide-scrollbars"]
    options = {"binary": "/usr/bin/chromium", "args": args}
    if width < 500:
        # Headless Chromium keeps a window at least 500 px wide: a phone's
        # viewport is emulated instead (its width, CSS pixels, touch).
        options["mobileEmulation"] = {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2, "touch": True}}
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": options}}}
    return call("POST", "/session", caps)["sessionId"]

def go(s, path):
    call("POST", f"/session/{s}/url", {"url": base + path})
    time.sleep(0.8)  # htmx and the live stream settle

def element(s, css):
    e = call("POST", f"/session/{s}/element", {"using": "css selector", "value": css})
    return next(iter(e.values()))

def sign_in(s):
    go(s, "/login")
    call("POST", f"/session/{s}/element/{element(s, 'input[name=email]')}/value", {"text": "admin@org1.example"})
    call("POST", f"/session/{s}/element/{element(s, 'input[name=password]')}/value", {"text": "neuracrm-demo"})
    call("POST", f"/session/{s}/element/{element(s, 'form button[type=submit]')}/click", {})
    time.sleep(1)

def shot(s, name):
    png = base64.b64decode(call("GET", f"/session/{s}/screenshot"))
    open(f"{out}/{name}.png", "wb").write(png)
    print(f"{out}/{name}.png")

for width, height, pages in [
    (1440, 900, ["dashboard", "leads", "lead", "contacts", "contact", "deals", "forecast", "sentiment", "settings"]),
    (375, 812, ["dashboard", "lead", "deals"]),
]:
    s = browser(width, height)
    sign_in(s)
    for page in pages:
        if page == "dashboard":
            go(s, "/")
        elif page == "lead":
            go(s, "/leads?status=qualified&sort=score&order=desc")
            href = call("POST", f"/session/{s}/execute/sync",
                        {"script": "return document.querySelector('#leads tbody a').getAttribute('href')", "args": []})
            go(s, href)
        elif page == "contact":
            go(s, "/contacts")
            href = call("POST", f"/session/{s}/execute/sync",
                        {"script": "return document.querySelector('main tbody a').getAttribute('href')", "args": []})
            go(s, href)
        else:
            go(s, "/" + page)
        shot(s, f"{page}-{width}")
    call("DELETE", f"/session/{s}")
PY
