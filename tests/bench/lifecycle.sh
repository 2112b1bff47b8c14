#!/usr/bin/env bash
# make bench: lifecycle benchmarks in an isolated runtime dir; results in
# build/bench/lifecycle.json. Not a test: it reports, it does not judge.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/qlaunch-bench.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
cleanup() { "$top/qlaunch" kill tiny >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$top/build/bench"
# the same VM (named after the file) with aio=threads, QEMU's default, as
# the reference for a restore's aio=auto
mkdir -p "$work/threads"
sed 's/^\[disk data\]/[disk data]\naio=threads/' "$top/profiles/tiny.ini" > "$work/threads/tiny.ini"
"$top/build/tests/bench-lifecycle" "$top/qlaunch" tiny "$top/build/bench/lifecycle.json" \
    "$work/threads/tiny.ini"
echo "results: build/bench/lifecycle.json build/bench/snapshot.json"
