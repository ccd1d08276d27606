#!/usr/bin/env bash
# Compares the OpenAPI document of the working tree with the one of another
# revision (default: 3b6fa67, the last commit before the server's layout change), so a
# refactoring can show that it describes the same operations, parameters and
# schemas.
#
#   scripts/openapi-compare.sh [REV]
#
# Prints a unified diff of the two documents with keys sorted (empty: the
# same) and exits 1 when they differ. Needs jq. The example that prints the
# document is `crates/server/examples/openapi.rs`; REV must have it.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-3b6fa6747192da0db5e9c8969d89d155dcc2bbb1}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add -q --detach "$work/base" "$base"
# One target directory for both builds: the dependencies build once. Cargo
# gives a workspace crate the same artifact names in both checkouts, so the
# crates that differ are cleaned before each build (else the second build
# may take the first one's artifacts for its own, and compare REV with itself).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
changed=()
for dir in $( { git diff --name-only "$base" -- crates; git ls-files --others --exclude-standard -- crates; } | cut -d/ -f2 | sort -u); do
  name="$(sed -n 's/^name = "\(.*\)"/\1/p' "crates/$dir/Cargo.toml" 2>/dev/null | head -1)"
  [ -n "$name" ] && changed+=(-p "$name")
done
clean() { if [ ${#changed[@]} -gt 0 ]; then cargo clean -q "${changed[@]}" || true; fi; }
(cd "$work/base" && clean && cargo run -q --locked -p neuracrm-server --example openapi) | jq -S . > "$work/before.json"
clean
cargo run -q --locked -p neuracrm-server --example openapi | jq -S . > "$work/after.json"
if diff -u "$work/before.json" "$work/after.json"; then
  echo "the OpenAPI documents of $base and the working tree are the same"
else
  exit 1
fi
