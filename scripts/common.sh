# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source it; do not run it.
# Sets ROOT (the repository root, which is the collection root) and VENV.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SMGR_VENV:-$ROOT/.venv}"
BUILD="$ROOT/.build"
# Collection search path in which smgr.server_manager resolves to this work tree.
COLLECTIONS_PATH="$BUILD/collections"
export ROOT VENV BUILD COLLECTIONS_PATH

log() { printf '%s\n' "[$(basename "$0")] $*"; }
warn() { printf '%s\n' "[$(basename "$0")] WARNING: $*" >&2; }
die() {
    printf '%s\n' "[$(basename "$0")] ERROR: $*" >&2
    exit 1
}

# Put the project virtualenv first on PATH; fail with a hint when it is missing.
use_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        die "virtualenv $VENV is missing: run 'make setup' first"
    fi
    export PATH="$VENV/bin:$PATH"
    export VIRTUAL_ENV="$VENV"
}

# Podman reads this file for runtime and ulimit settings that work on this kind of host.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/tests/containers.conf}"

# HOME for ansible-test: its cache (pip bootstrap, sanity virtualenvs) stays in the project.
ANSIBLE_TEST_HOME="$ROOT/.cache/ansible-test-home"

# copy_tracked_tree DEST_ROOT: fresh copy of the git-tracked (and staged) files of the work
# tree, as they are on disk, into DEST_ROOT/ansible_collections/smgr/server_manager, where
# ansible-test can run. The copy gets an empty git repository of its own: ansible-test would
# otherwise walk up to this repository, where .build/ is ignored, and see no files at all;
# in the empty repository every copied file is "untracked", which ansible-test includes.
copy_tracked_tree() {
    local dest_root="$1"
    local dest="$dest_root/ansible_collections/smgr/server_manager"
    local list="$dest_root.files"
    rm -rf "$dest_root"
    mkdir -p "$dest"
    local count=0 path
    while IFS= read -r -d '' path; do
        # A tracked file deleted in the work tree is not part of what would be committed.
        if [ -e "$ROOT/$path" ] || [ -L "$ROOT/$path" ]; then
            printf '%s\0' "$path"
            count=$((count + 1))
        fi
    done < <(git -C "$ROOT" ls-files -z --cached) >"$list"
    tar -C "$ROOT" --null -T "$list" -c | tar -C "$dest" -x
    rm -f "$list"
    git -C "$dest" init -q
    log "copied $count tracked files to $dest"
}

# ansible-test bootstraps pip in each virtualenv it creates by running get-pip.py, downloaded
# from the internet unless a copy is in its cache. Put a stand-in there: it installs the pip
# wheel bundled with CPython (ensurepip, no network), then the pinned pip from the package
# index when that is reachable. Needs the virtualenv on PATH (use_venv).
install_pip_bootstrap() {
    local requirements_py pip_version cache
    requirements_py="$(python -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))')"
    pip_version="$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" "$requirements_py" | head -n1)"
    [ -n "$pip_version" ] || die "cannot find the pip version ansible-test bootstraps in $requirements_py"
    cache="$ANSIBLE_TEST_HOME/.ansible/test/cache"
    mkdir -p "$cache"
    cat >"$cache/get_pip_${pip_version//./_}.py" <<'PY'
"""Offline stand-in for get-pip.py, used by ansible-test's pip bootstrap (see scripts/run-sanity.sh).

ansible-test runs this with arguments like: --disable-pip-version-check pip==X --no-setuptools --no-wheel
"""

import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
# The pip wheel bundled with CPython: no network needed.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
try:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *args])
except subprocess.CalledProcessError:
    print(f"get-pip stand-in: could not install {args}; keeping the bundled pip", file=sys.stderr)
PY
}
