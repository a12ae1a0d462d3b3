#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection, offline-safe and without ignore entries
# (a non-empty tests/sanity/ignore-*.txt fails the run before ansible-test starts).
#
# ansible-test needs the collection under .../ansible_collections/smgr/server_manager and only
# considers version-controlled content, so the git-tracked (and staged) files are copied fresh
# into .build/sanity/ansible_collections/smgr/server_manager on every run. Untracked files are
# not tested: `git add` a new file to have it checked. The copy gets an empty git repository of
# its own (ansible-test would otherwise walk up to this repository, where .build/ is ignored).
#
# ansible-test creates one virtualenv per sanity test and bootstraps pip in it from a
# downloaded get-pip.py; install_pip_bootstrap (common.sh) puts a local stand-in in its cache.
# HOME points at .cache/ansible-test-home so neither that nor the cached sanity virtualenvs
# touch the user's home.
#
# Extra arguments are passed to ansible-test (e.g. --test pep8, -v).
# SANITY_SKIP="test1 test2" adds --skip-test for each (none is needed here).
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
use_venv

PYTHON_VERSION="${SANITY_PYTHON:-3.11}"
dest_root="$BUILD/sanity"
dest="$dest_root/ansible_collections/smgr/server_manager"
log_file="$BUILD/logs/sanity.log"

# Policy: no sanity ignore entries. Fail before running when an ignore file has any.
ignore_entries="$(cat "$ROOT"/tests/sanity/ignore-*.txt 2>/dev/null | grep -vE '^[[:space:]]*(#|$)' || true)"
if [ -n "$ignore_entries" ]; then
    printf '%s\n' "$ignore_entries" >&2
    die "tests/sanity/ignore-*.txt has entries; fix the code instead (this project allows none)"
fi

copy_tracked_tree "$dest_root"
install_pip_bootstrap

skip_args=()
for test in ${SANITY_SKIP:-}; do
    skip_args+=(--skip-test "$test")
    warn "skipping sanity test $test (SANITY_SKIP)"
done

mkdir -p "$(dirname "$log_file")"
log "ansible-test sanity --local --python $PYTHON_VERSION (log: $log_file)"
rc=0
(
    cd "$dest"
    unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
    HOME="$ANSIBLE_TEST_HOME" ansible-test sanity --local --python "$PYTHON_VERSION" --color no "${skip_args[@]}" "$@"
) 2>&1 | tee "$log_file" || rc=$?

ran="$(sed -n "s/^Running sanity test [\"']\([^\"']*\)[\"'].*/\1/p" "$log_file" | tr '\n' ' ')"
log "sanity tests run: ${ran:-none}"
if [ "$rc" -ne 0 ]; then
    die "ansible-test sanity failed (exit $rc); see $log_file"
fi
log "ansible-test sanity passed"
