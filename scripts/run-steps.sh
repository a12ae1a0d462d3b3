#!/usr/bin/env bash
# run-steps.sh STEP...: run `make STEP` for each step in order, print a timing line per step,
# stop at the first failing step and exit with its status. Used by `make test`.
set -uo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

MAKE_CMD="${MAKE:-make}"
total_started=$SECONDS
timings=()

summary() {
    log "timings:"
    printf '%s\n' "${timings[@]}"
    log "total: $((SECONDS - total_started))s"
}

for step in "$@"; do
    log "===== step $step ====="
    started=$SECONDS
    "$MAKE_CMD" --no-print-directory -C "$ROOT" "$step"
    rc=$?
    elapsed=$((SECONDS - started))
    if [ "$rc" -ne 0 ]; then
        timings+=("  $(printf '%-12s' "$step") FAILED  ${elapsed}s (exit $rc)")
        log "step $step FAILED after ${elapsed}s (exit $rc)"
        summary
        exit "$rc"
    fi
    timings+=("  $(printf '%-12s' "$step") ok      ${elapsed}s")
    log "step $step ok in ${elapsed}s"
done
summary
log "all steps passed: $*"
