#!/usr/bin/env bash
# Run every Molecule scenario under extensions/molecule/ (a directory with a molecule.yml),
# each with `molecule test -s NAME` from extensions/. No scenario: nothing to do (success).
#
# Before the scenarios run, the container image localhost/smgr-debian12 is built (or found
# up to date) by scripts/build-test-image.sh when any scenario mentions it
# (smgr-debian12 or SMGR_TEST_IMAGE).
#
# Environment given to the scenarios:
#   CONTAINERS_CONF            tests/containers.conf (runc, lowered ulimits, host network)
#   SMGR_TEST_IMAGE            localhost/smgr-debian12:latest
#   ANSIBLE_COLLECTIONS_PATH   .build/collections (smgr.server_manager is this work tree)
#   SMGR_ROOT                  the repository root
#
# Arguments (or MOLECULE_SCENARIOS="a b"): run only these scenarios. Every scenario runs;
# the exit code is non-zero if any failed.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
use_venv

extensions="$ROOT/extensions"
log_dir="$BUILD/logs/molecule"
export SMGR_TEST_IMAGE="${SMGR_TEST_IMAGE:-localhost/smgr-debian12:latest}"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"
export SMGR_ROOT="$ROOT"
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

selected=("$@")
if [ "${#selected[@]}" -eq 0 ] && [ -n "${MOLECULE_SCENARIOS:-}" ]; then
    read -r -a selected <<<"$MOLECULE_SCENARIOS"
fi

scenarios=()
if [ "${#selected[@]}" -gt 0 ]; then
    for name in "${selected[@]}"; do
        [ -f "$extensions/molecule/$name/molecule.yml" ] || die "no Molecule scenario $name (extensions/molecule/$name/molecule.yml)"
        scenarios+=("$name")
    done
else
    for file in "$extensions"/molecule/*/molecule.yml; do
        [ -f "$file" ] || continue
        scenarios+=("$(basename "$(dirname "$file")")")
    done
fi

if [ "${#scenarios[@]}" -eq 0 ]; then
    log "no Molecule scenarios under extensions/molecule/: nothing to run"
    exit 0
fi

for name in "${scenarios[@]}"; do
    if grep -rqsE 'smgr-debian12|SMGR_TEST_IMAGE' "$extensions/molecule/$name"; then
        "$ROOT/scripts/build-test-image.sh"
        break
    fi
done

mkdir -p "$log_dir"
passed=0
failed=0
failed_names=()
summary=()
for name in "${scenarios[@]}"; do
    started=$SECONDS
    rc=0
    log "=== molecule test -s $name — log: $log_dir/$name.log"
    (cd "$extensions" && molecule test -s "$name") </dev/null 2>&1 | tee "$log_dir/$name.log" || rc=$?
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("  ok     $name ($((SECONDS - started))s)")
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        summary+=("  FAILED $name ($((SECONDS - started))s, exit $rc)")
    fi
done

log "molecule summary:"
printf '%s\n' "${summary[@]}"
echo "molecule: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    die "Molecule scenarios failed: ${failed_names[*]}"
fi
