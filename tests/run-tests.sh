#!/usr/bin/env bash
# Runs test programs (GTest binaries with --tap, or *.sh TAP scripts), shows
# their output and ends with "N passed, N failed". Exit 1 on any failure,
# including a program that crashed or exited non-zero without a failed test.
set -u
label=$1; shift
pass=0; fail=0; skip=0; broken=(); times=()
for t in "$@"; do
    echo "# ---- $t"
    log=$(mktemp)
    t0=$SECONDS
    if [[ $t == *.sh ]]; then bash "$t" >"$log" 2>&1; rc=$?
    else "$t" --tap >"$log" 2>&1; rc=$?; fi
    times+=("$((SECONDS - t0)) s $t")
    cat "$log"
    p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
    s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | tr -d ' ')
    f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
    rm -f "$log"
    pass=$((pass + p - s)); skip=$((skip + s)); fail=$((fail + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail=$((fail + 1)); broken+=("$t (exit $rc)")
    fi
done
# What each program took, so a suite that grows slow is seen (CI's budget).
for x in "${times[@]}"; do echo "# time: $x"; done
for b in "${broken[@]}"; do echo "# BROKEN: $b"; done
echo "# $label:"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
