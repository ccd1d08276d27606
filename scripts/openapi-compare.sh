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
# A target directory of its own for the base: sharing one lets cargo reuse
# the base's build of a workspace crate for the working tree (same path
# inside a different checkout), which then fails to compile.
target="${CARGO_TARGET_DIR:-$PWD/target}"
(cd "$work/base" && CARGO_TARGET_DIR="$target/openapi-base" cargo run -q --locked -p neuracrm-server --example openapi) | jq -S . > "$work/before.json"
CARGO_TARGET_DIR="$target" cargo run -q --locked -p neuracrm-server --example openapi | jq -S . > "$work/after.json"
if diff -u "$work/before.json" "$work/after.json"; then
  echo "the OpenAPI documents of $base and the working tree are the same"
else
  exit 1
fi
