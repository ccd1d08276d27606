#!/usr/bin/env python3
"""Golden webhook signatures from Retell's official Python SDK.

The signatures asserted in `crates/actions/src/voice/signature.rs`
(`golden_signatures_of_the_official_sdk`) were printed by this script with
the SDK pinned below; run it again to check them:

    python3 -m venv /tmp/retell-venv
    /tmp/retell-venv/bin/pip install retell-sdk==6.2.13
    /tmp/retell-venv/bin/python scripts/retell-golden.py

`retell.lib.webhook_auth.symmetric["sign"]` is what Retell's servers and the
SDK's `verify` agree on: `v=<unix ms>,d=<hex HMAC-SHA256(api key, body ++ ms)>`.
"""

import json

from retell.lib.webhook_auth import symmetric  # retell-sdk==6.2.13

CASES = [
    ("key_retell_golden_1", 1796385600000,
     json.dumps({"event": "call_started", "call": {"call_id": "call_golden_1", "call_status": "ongoing"}},
                separators=(",", ":"))),
    # Non-ASCII text: the SDK signs the UTF-8 bytes of the body.
    ("key_retell_golden_2", 1796385612345,
     '{"event":"call_ended","call":{"call_id":"c2","transcript":"Agent: Grüß Gott\\nUser: ¡hola!"}}'),
]

for key, ms, body in CASES:
    sig = symmetric["sign"](body, key, ms)

    assert symmetric["verify"](body, key, sig, {"timestamp": ms}), "the SDK accepts its own signature"
    print(json.dumps({"key": key, "timestamp": ms, "body": body, "signature": sig}, ensure_ascii=False))
