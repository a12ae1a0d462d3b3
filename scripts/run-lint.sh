#!/usr/bin/env bash
# Run every linter, even after one fails, then report; non-zero if any failed.
#   ruff check, ruff format --check   plugins tests bench scripts (the Python in them)
#   ansible-lint                      .config/ansible-lint.yml (profile production, offline)
#   shell lint via shellcheck         scripts/*.sh, .ci/run, tests/integration/targets/*/runme.sh, the Mailcow and Docker stand-ins
#   antsibull-changelog lint          changelogs/fragments
set -uo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
use_venv
cd "$ROOT" || exit 1
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"

py_paths=()
for dir in plugins tests bench scripts; do
    [ -d "$dir" ] && py_paths+=("$dir")
done
shell_files=()
for file in scripts/*.sh .ci/run tests/integration/targets/*/runme.sh tests/support/mailcow/helper-scripts/*.sh tests/support/docker/docker; do
    [ -f "$file" ] && shell_files+=("$file")
done

failed=()
results=()
check() { # name command...
    local name="$1" started=$SECONDS rc=0
    shift
    log "--- $name: $*"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        results+=("  ok     $name ($((SECONDS - started))s)")
    else
        results+=("  FAILED $name ($((SECONDS - started))s, exit $rc)")
        failed+=("$name")
    fi
}

check ruff-check ruff check --no-cache "${py_paths[@]}"
check ruff-format ruff format --no-cache --check "${py_paths[@]}"
check ansible-lint ansible-lint -c .config/ansible-lint.yml --nocolor
if command -v shellcheck >/dev/null; then
    check shellcheck shellcheck -x "${shell_files[@]}"
else
    warn "shellcheck is not installed (make setup as root installs it); skipped"
fi
check changelog antsibull-changelog lint

log "lint summary:"
printf '%s\n' "${results[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    die "lint failed: ${failed[*]}"
fi
log "lint passed"
