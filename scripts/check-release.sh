#!/usr/bin/env bash
# `make release`: the release artifact as users get it, tested.
#  1. `ansible-galaxy collection build` makes the tarball (build_ignore keeps build, bench and cache output out:
#     checked here member by member), and its size is reported.
#  2. It is installed into an empty collections path; `ansible-doc` runs on every module, filter and the role
#     from there.
#  3. The example profile converges on this machine from the installed copy (not the checkout), under a prefix,
#     twice: the second run must change nothing.
#  4. `ansible-builder create` makes the execution environment's build context (ee/execution-environment.yml),
#     which is checked; `ansible-builder introspect` of the installed copy must report the collection's Python
#     requirements and bindep.txt. Building the image needs a registry and is not done here.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
cd "$ROOT"

VENV_BIN="$ROOT/.venv/bin"
export PATH="$VENV_BIN:$PATH"
WORK="$ROOT/.build/release"
rm -rf "$WORK"
mkdir -p "$WORK"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0

version="$("$VENV_BIN/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')"
tarball="$WORK/smgr-server_manager-$version.tar.gz"

# --- 1. build -------------------------------------------------------------------------------------
log "building the collection tarball (version $version)"
ansible-galaxy collection build --output-path "$WORK" --force >"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "ansible-galaxy collection build failed"; }
[ -f "$tarball" ] || die "no $tarball"
tar -tzf "$tarball" >"$WORK/members.txt"
unwanted="$(grep -E '^(\.build|\.venv|\.cache|\.ci|\.git|\.pytest_cache|\.ruff_cache|\.hypothesis|bench|demo-out|tests/output)(/|$)|__pycache__|\.pyc$|(^|/)\.coverage' "$WORK/members.txt" || true)"
[ -z "$unwanted" ] || die "the tarball holds build, bench or cache output:
$(printf '%s\n' "$unwanted" | head -20)"
for needed in MANIFEST.json FILES.json README.md CHANGELOG.md meta/runtime.yml \
    meta/execution-environment.yml meta/ee-requirements.txt bindep.txt roles/smgr/tasks/main.yml; do
    grep -qx -- "$needed" "$WORK/members.txt" || die "the tarball lacks $needed"
done
size="$(stat -c %s "$tarball")"
log "tarball $(basename "$tarball"): $((size / 1024)) KiB, $(wc -l <"$WORK/members.txt") members"

# --- 2. install and ansible-doc -------------------------------------------------------------------
installed="$WORK/collections"
# Only the empty path: the checkout's link (make's ANSIBLE_COLLECTIONS_PATH) would make the install a no-op.
export ANSIBLE_COLLECTIONS_PATH="$installed"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
ansible-galaxy collection install --force "$tarball" -p "$installed" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; die "ansible-galaxy collection install failed"; }
collection_dir="$installed/ansible_collections/smgr/server_manager"
[ -f "$collection_dir/MANIFEST.json" ] || die "not installed in $collection_dir"
checked=0
for module in "$collection_dir"/plugins/modules/*.py; do
    name="smgr.server_manager.$(basename "$module" .py)"
    ansible-doc -t module "$name" >"$WORK/doc.txt" 2>&1 || { cat "$WORK/doc.txt" >&2; die "ansible-doc $name failed"; }
    checked=$((checked + 1))
done
for doc in "$collection_dir"/plugins/filter/*.yml; do
    name="smgr.server_manager.$(basename "$doc" .yml)"
    ansible-doc -t filter "$name" >"$WORK/doc.txt" 2>&1 || { cat "$WORK/doc.txt" >&2; die "ansible-doc $name failed"; }
    checked=$((checked + 1))
done
ansible-doc -t role smgr.server_manager.smgr >"$WORK/doc.txt" 2>&1 ||
    { cat "$WORK/doc.txt" >&2; die "ansible-doc -t role smgr.server_manager.smgr failed"; }
checked=$((checked + 1))
grep -q "$collection_dir" <(ansible-doc -t module smgr.server_manager.smgr_backup 2>&1 | head -3) ||
    die "ansible-doc did not read the installed copy"
log "ansible-doc: $checked modules, filters and roles from the installed copy"

# --- 3. converge the example profile from the installed copy -------------------------------------
prefix="$WORK/prefix"
mkdir -p "$prefix"
cat >"$WORK/vars.yml" <<VARS
---
smgr_prefix: "$prefix"
smgr_install_packages: false
smgr_migrate_tui: false
ansible_become: false
ansible_python_interpreter: "$VENV_BIN/python"
# the example keeps the SMTP password in vault; the converge sends no mail
vault_smgr_smtp_password: release-check-placeholder
VARS
for run in first second; do
    (cd "$WORK" && ansible-playbook -i "$ROOT/examples/inventory" -e "@$WORK/vars.yml" --limit localhost \
        smgr.server_manager.site) >"$WORK/converge-$run.log" 2>&1 ||
        { tail -n 40 "$WORK/converge-$run.log" >&2; die "the $run converge from the installed copy failed"; }
done
grep -q 'changed=0' <(grep -E '^localhost +:' "$WORK/converge-second.log") ||
    { grep -B2 '^changed:' "$WORK/converge-second.log" >&2; die "the second converge changed something"; }
[ -x "$prefix/opt/server-manager/bin/smgr" ] || die "the converge installed no runner"
# Only the installed copy is on the collections path (no checkout, no system path, run outside the checkout).
found="$(cd "$WORK" || exit 1; ansible-galaxy collection list smgr.server_manager 2>/dev/null | grep -E '^# /')" ||
    true
[ "$found" = "# $installed/ansible_collections" ] || die "the collection was found elsewhere too: $found"
log "example profile converged from the installed copy; the second run changed nothing"

# --- 4. the execution environment ----------------------------------------------------------------
ee_file="$ROOT/ee/execution-environment.yml"
grep -qF "smgr-server_manager-$version.tar.gz" "$ee_file" ||
    die "$ee_file does not name the tarball of version $version"
context="$WORK/ee-context"
ansible-builder create -f "$ee_file" -c "$context" >"$WORK/ee.log" 2>&1 ||
    { cat "$WORK/ee.log" >&2; die "ansible-builder create failed"; }
[ -f "$context/Containerfile" ] || die "ansible-builder made no Containerfile"
cmp -s "$context/_build/collections/$(basename "$tarball")" "$tarball" ||
    die "the build context does not hold the release tarball"
grep -qF "smgr-server_manager-$version.tar.gz" "$context/_build/requirements.yml" ||
    die "the build context's requirements.yml does not install the collection"
grep -qF "COPY _build/collections/" "$context/Containerfile" || die "the Containerfile does not copy the tarball"
ansible-builder introspect --sanitize "$installed" >"$WORK/introspect.txt" 2>&1 ||
    { cat "$WORK/introspect.txt" >&2; die "ansible-builder introspect failed"; }
while read -r requirement; do
    grep -qiF -- "$requirement" "$WORK/introspect.txt" ||
        die "introspect of the installed collection does not list $requirement (meta/execution-environment.yml)"
done < <(grep -vE '^\s*(#|$)' meta/ee-requirements.txt; grep -vE '^\s*(#|$)' bindep.txt | cut -d' ' -f1)
log "execution environment: build context in $context, the collection's requirements introspected"
log "release $version checked: $tarball ($((size / 1024)) KiB)"
