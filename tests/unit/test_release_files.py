# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release's metadata agrees with itself: versions, the EE's requirements, galaxy.yml (make release builds
and tests the artifact itself)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            found[name.strip().lower()] = version.strip()
    return found


def test_ee_requirements_match_the_controller_pins():
    controller = pins(ROOT / "requirements.txt")
    ee = pins(ROOT / "meta" / "ee-requirements.txt")
    assert ee, "meta/ee-requirements.txt pins nothing"
    for name, version in ee.items():
        assert controller.get(name) == version, name
    assert set(controller) - set(ee) == {"ansible-core", "pyyaml"}  # the EE's base brings both


def test_ee_metadata_and_definition_name_existing_files_and_this_version():
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    for key in ("python", "system"):
        assert (ROOT / meta["dependencies"][key]).is_file(), key
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    definition = (ROOT / "ee" / "execution-environment.yml").read_text()
    assert f"smgr-server_manager-{galaxy['version']}.tar.gz" in definition
    core = pins(ROOT / "requirements.txt")["ansible-core"]
    assert f"ansible-core=={core}" in definition


def test_galaxy_metadata_is_complete():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    for key in ("repository", "documentation", "issues", "homepage", "description", "license", "readme"):
        assert galaxy.get(key), key
    assert galaxy["dependencies"] == {}
    assert len(galaxy["tags"]) >= 5 and all(tag.islower() for tag in galaxy["tags"])
    for ignored in (".build", ".venv", "bench", "demo-out", "tests/output"):
        assert ignored in galaxy["build_ignore"], ignored
