#!/usr/bin/env bash
# Run the integration targets under tests/integration/targets/ (see tests/integration/README.md).
#
#   - A target with a runme.sh is run directly from the work tree: `bash runme.sh` in the
#     target directory, with the project virtualenv first on PATH and the environment below.
#   - A target without runme.sh (role style: tasks/main.yml) is run by
#     `ansible-test integration --local` from a fresh copy of the git-tracked files in
#     .build/integration/ansible_collections/smgr/server_manager (all such targets in one call).
#
# Environment given to runme.sh:
#   ANSIBLE_COLLECTIONS_PATH   .build/collections (smgr.server_manager is this work tree)
#   ANSIBLE_PYTHON_INTERPRETER the virtualenv's python, unless already set
#   OUTPUT_DIR                 an empty directory for the target's scratch files (removed afterwards)
#   SMGR_ROOT                  the repository root
#
# Arguments (or INTEGRATION_TARGETS="a b"): run only these targets. Targets whose `aliases`
# file lists `disabled` are skipped. Every target runs; the exit code is non-zero if any failed.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
use_venv

targets_dir="$ROOT/tests/integration/targets"
log_dir="$BUILD/logs/integration"
mkdir -p "$log_dir"

selected=("$@")
if [ "${#selected[@]}" -eq 0 ] && [ -n "${INTEGRATION_TARGETS:-}" ]; then
    read -r -a selected <<<"$INTEGRATION_TARGETS"
fi

is_selected() {
    local name="$1" want
    [ "${#selected[@]}" -eq 0 ] && return 0
    for want in "${selected[@]}"; do
        [ "$want" = "$name" ] && return 0
    done
    return 1
}

has_alias() {
    [ -f "$1/aliases" ] && grep -qE "^[[:space:]]*$2([[:space:]]|/|\$)" "$1/aliases"
}

runme_targets=()
role_targets=()
if [ -d "$targets_dir" ]; then
    for dir in "$targets_dir"/*/; do
        [ -d "$dir" ] || continue
        dir="${dir%/}"
        name="$(basename "$dir")"
        is_selected "$name" || continue
        if has_alias "$dir" disabled; then
            log "skipping $name (aliases: disabled)"
            continue
        fi
        if [ -f "$dir/runme.sh" ]; then
            runme_targets+=("$name")
        elif [ -f "$dir/tasks/main.yml" ] || [ -f "$dir/tasks/main.yaml" ]; then
            role_targets+=("$name")
        else
            warn "ignoring $name: neither runme.sh nor tasks/main.yml"
        fi
    done
fi

passed=0
failed=0
failed_names=()
summary=()

record() { # name rc seconds
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("  ok     $1 (${3}s)")
    else
        failed=$((failed + 1))
        failed_names+=("$1")
        summary+=("  FAILED $1 (${3}s, exit $2)")
    fi
}

run_runme_target() {
    local name="$1" dir="$targets_dir/$1" out rc=0 started=$SECONDS
    out="$(mktemp -d "$BUILD/integration-output.$name.XXXXXX")"
    log "=== $name (runme.sh) — log: $log_dir/$name.log"
    (
        cd "$dir"
        export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"
        export ANSIBLE_PYTHON_INTERPRETER="${ANSIBLE_PYTHON_INTERPRETER:-$VENV/bin/python}"
        export OUTPUT_DIR="$out" SMGR_ROOT="$ROOT"
        bash ./runme.sh
    ) </dev/null 2>&1 | tee "$log_dir/$name.log" || rc=$?
    rm -rf "$out"
    record "$name" "$rc" "$((SECONDS - started))"
}

run_role_targets() {
    local rc=0 started=$SECONDS dest_root="$BUILD/integration"
    log "=== ${role_targets[*]} (ansible-test integration --local) — log: $log_dir/ansible-test.log"
    copy_tracked_tree "$dest_root"
    install_pip_bootstrap
    (
        cd "$dest_root/ansible_collections/smgr/server_manager"
        unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
        HOME="$ANSIBLE_TEST_HOME" ansible-test integration --local --python 3.11 --color no \
            --allow-destructive --continue-on-error "${role_targets[@]}"
    ) </dev/null 2>&1 | tee "$log_dir/ansible-test.log" || rc=$?
    record "ansible-test[${role_targets[*]}]" "$rc" "$((SECONDS - started))"
}

if [ "${#runme_targets[@]}" -eq 0 ] && [ "${#role_targets[@]}" -eq 0 ]; then
    log "no integration targets to run"
    exit 0
fi

for name in "${runme_targets[@]}"; do
    run_runme_target "$name"
done
if [ "${#role_targets[@]}" -gt 0 ]; then
    run_role_targets
fi

log "integration summary:"
printf '%s\n' "${summary[@]}"
echo "integration: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    die "integration targets failed: ${failed_names[*]}"
fi
