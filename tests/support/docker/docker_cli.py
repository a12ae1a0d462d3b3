# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the Docker CLI on a Mailcow or Nginx Proxy Manager host, for tests: Docker cannot run here.

Run through the ``docker`` script beside it (a link to that script, put first on PATH, is the "Docker CLI").
It keeps a small world in ``$DOCKER_STANDIN_WORLD`` (the script sets ``../world`` from the link's directory):
``world.json`` (networks, cached images, the registry when reachable, containers with their state, health
and mounts, faults) and ``volumes/<name>/`` (named volumes as directories). It answers the commands that
Mailcow's ``helper-scripts/backup_and_restore.sh`` and our health checks use, the way Docker answers them:

- ``volume ls -q -f name=RE``, ``network ls -q -f name=RE``, ``ps [-a] [-q] [-f name=RE]``: filters are
  regular expressions searched in the name, as Docker's are; nothing found prints nothing (exit 0), so an
  unquoted ``$(docker volume ls ...)`` in the script becomes an empty mount source;
- ``image inspect``, ``manifest inspect``, ``pull``: the registry is unreachable unless the world says
  otherwise (no network here), cached images answer ``image inspect``;
- ``run --name NAME [--rm] -v SRC:DST[:opts] ... IMAGE CMD``: the checks of ``docker run`` (empty mount
  source, unknown network, image neither cached nor pullable, a name already in use: exit 125 with Docker's
  messages), then CMD runs as the "container": its own session, so killing the client (a timeout) leaves it
  running and its name taken until it ends or ``rm -f`` removes it. CMD is interpreted with the container's
  mounts mapped onto the host: ``tar`` (GNU tar with names transformed so the archive holds the container
  paths, as ``tar -P`` in the container writes them), ``mariabackup --backup/--prepare`` (needs the
  project's MariaDB container running and the root password, writes ``xtrabackup_checkpoints``), ``chown``,
  ``rm``, ``shopt``, ``echo``, and ``sh -c``/``bash -c`` scripts of such commands joined by ``;`` (each runs
  whatever the previous one did, as in a shell);
- ``exec ID redis-cli ... save`` (writes the Redis volume's ``dump.rdb``), ``stop``, ``start``,
  ``rm [-f]``;
- ``compose [-f FILE] [--env-file FILE] [-p NAME] ps --format json | down | up -d`` for the project's
  containers (``ps`` prints one JSON object per line, as Compose 2.21 and later do).

Faults a test can set in world.json ``faults``: ``run_delay`` (seconds a container waits before its
command, to outlive a timeout), ``die_mid_write`` (an archive name: the container writing it stops half way,
exit 137, as when it is killed by the OOM killer), ``prepare_fails`` (mariabackup --prepare exits 1),
``dump_dies`` (the dump tool stops after its first row, exit 2).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress

EXIT_DAEMON = 125
WORLD = os.environ.get("DOCKER_STANDIN_WORLD", "")
STATE = os.path.join(WORLD, "world.json")


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


@contextmanager
def world(write: bool = False):
    with open(STATE + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(STATE) as handle:
            data = json.load(handle)
        yield data
        if write:
            temporary = STATE + ".tmp"
            with open(temporary, "w") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.replace(temporary, STATE)


def container_id(name: str) -> str:
    return hashlib.sha256(("container:" + name + str(time.time_ns())).encode()).hexdigest()[:12]


def volume_path(name: str) -> str:
    return os.path.join(WORLD, "volumes", name)


def list_options(args: list[str]) -> tuple[set[str], str | None]:
    """Flags (``q``, ``a``) and the ``name=`` filter of a listing command; short flags may be clustered
    (``-qf name=x``, ``-aqf name=x``), as the script writes them."""
    flags: set[str] = set()
    pattern = None
    index = 0
    while index < len(args):
        arg = args[index]
        value = None
        if arg.startswith("--filter="):
            value = arg.split("=", 1)[1]
        elif arg in ("--filter", "-f") or (arg.startswith("-") and not arg.startswith("--") and arg.endswith("f")):
            flags.update(arg[1:-1])
            index += 1
            value = args[index] if index < len(args) else ""
        elif arg in ("--quiet", "--all"):
            flags.add(arg[2])
        elif arg.startswith("-") and not arg.startswith("--"):
            flags.update(arg[1:])
        if value is not None and value.startswith("name="):
            pattern = value[len("name=") :]
        index += 1
    return flags, pattern


def matches(pattern: str | None, name: str) -> bool:
    return pattern is None or re.search(pattern, name) is not None


# --------------------------------------------------------------------------- listing commands


def cmd_volume(args: list[str]) -> int:
    if not args or args[0] != "ls":
        fail(f"docker volume: stand-in supports only 'ls', got {args}")
    flags, pattern = list_options(args[1:])
    root = os.path.join(WORLD, "volumes")
    for name in sorted(os.listdir(root)):
        if matches(pattern, name):
            print(name if "q" in flags else f"local     {name}")
    return 0


def cmd_network(args: list[str]) -> int:
    if not args or args[0] != "ls":
        fail(f"docker network: stand-in supports only 'ls', got {args}")
    flags, pattern = list_options(args[1:])
    with world() as data:
        for name, network_id in sorted(data["networks"].items()):
            if matches(pattern, name):
                print(network_id if "q" in flags else f"{network_id}   {name}   bridge    local")
    return 0


def cmd_ps(args: list[str]) -> int:
    flags, pattern = list_options(args)
    with world() as data:
        for name, container in sorted(data["containers"].items()):
            if ("a" in flags or container["state"] == "running") and matches(pattern, name):
                print(container["id"] if "q" in flags else f"{container['id']}   {container['image']}   {name}")
    return 0


def cmd_image(args: list[str]) -> int:
    if not args or args[0] != "inspect" or len(args) < 2:
        fail(f"docker image: stand-in supports only 'inspect IMAGE', got {args}")
    reference = args[1]
    with world() as data:
        digest = data["images"].get(reference)
    if digest is None:
        if not any(arg.startswith("--format") or arg == "-f" for arg in args):
            print("[]")  # without --format Docker prints an empty list, with it nothing
        fail(f"Error response from daemon: No such image: {reference}")
    repository = reference.rsplit(":", 1)[0]
    print(f"{repository}@{digest}")
    return 0


def _registry_error(reference: str) -> str:
    host = reference.split("/", 1)[0] if "/" in reference else "registry-1.docker.io"
    return f'Get "https://{host}/v2/": dial tcp: lookup {host}: Temporary failure in name resolution'


def cmd_manifest(args: list[str]) -> int:
    if not args or args[0] != "inspect" or len(args) < 2:
        fail(f"docker manifest: stand-in supports only 'inspect IMAGE', got {args}")
    with world() as data:
        digest = data.get("registry", {}).get(args[1])
    if digest is None:
        fail(_registry_error(args[1]))
    print(json.dumps({"schemaVersion": 2, "manifests": [{"digest": digest, "platform": {"architecture": "amd64"}}]}))
    return 0


def cmd_pull(args: list[str]) -> int:
    reference = args[-1]
    with world(write=True) as data:
        digest = data.get("registry", {}).get(reference)
        if digest is None:
            fail(f"Error response from daemon: {_registry_error(reference)}")
        data["images"][reference] = digest
    print(f"latest: Pulling from {reference}\nDigest: {digest}\nStatus: Downloaded newer image for {reference}")
    return 0


# --------------------------------------------------------------------------- containers


def _find(data: dict, key: str) -> str | None:
    """Container name for a name or an ID (prefix), as Docker resolves them."""
    if key in data["containers"]:
        return key
    for name, container in data["containers"].items():
        if container["id"].startswith(key):
            return name
    return None


def cmd_stop_start(verb: str, args: list[str]) -> int:
    if not args:
        fail(f"\"docker {verb}\" requires at least 1 argument.\nSee 'docker {verb} --help'.")
    status = 0
    with world(write=True) as data:
        for key in args:
            name = _find(data, key)
            if name is None:
                sys.stderr.write(f"Error response from daemon: No such container: {key}\n")
                status = 1
                continue
            data["containers"][name]["state"] = "running" if verb == "start" else "exited"
            print(key)
    return status


def cmd_rm(args: list[str]) -> int:
    force = any(arg in ("-f", "--force") for arg in args)
    names = [arg for arg in args if not arg.startswith("-")]
    status = 0
    for key in names:
        with world(write=True) as data:
            name = _find(data, key)
            if name is None:
                if not force:  # Docker 20.10 and later: rm -f of a missing container is no error
                    sys.stderr.write(f"Error response from daemon: No such container: {key}\n")
                    status = 1
                continue
            container = data["containers"][name]
            if container["state"] == "running" and not force:
                sys.stderr.write(
                    f'Error response from daemon: cannot remove container "/{name}": container is running: '
                    "stop the container before removing or force remove\n"
                )
                status = 1
                continue
            pid = container.get("pid")
            del data["containers"][name]
        if pid:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        print(key)
    return status


def cmd_exec(args: list[str]) -> int:
    args = [arg for arg in args if arg not in ("-i", "-t", "-it")]
    if len(args) < 2:
        fail("\"docker exec\" requires at least 2 arguments.\nSee 'docker exec --help'.")
    key, command = args[0], args[1:]
    with world() as data:
        name = _find(data, key)
        container = data["containers"].get(name) if name else None
    if container is None:
        fail(f"Error response from daemon: No such container: {key}")
    if container["state"] != "running":
        fail(f"Error response from daemon: container {container['id']} is not running")
    if os.path.basename(command[0]) == "redis-cli":
        if command[-1].lower() != "save":
            fail(f"redis-cli: stand-in supports only SAVE, got {command}")
        target = _map(container["mounts"], "/data/dump.rdb", container["id"])
        with open(target, "wb") as handle:
            handle.write(b"REDIS0011" + os.urandom(64))
        print("OK")
        return 0
    if os.path.basename(command[0]) == "doveadm":
        return 0
    fail(
        f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{command[0]}": '
        "executable file not found in $PATH: unknown",
        126,
    )
    return 126


def _parse_run(args: list[str]) -> tuple[dict, list[str]]:
    options: dict = {"name": None, "rm": False, "mounts": [], "network": None, "entrypoint": None}
    index = 0
    with_value = {"--name", "-v", "--volume", "--network", "--net", "--sysctl", "-u", "--user", "-e", "--env", "-w"}
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-"):
            break
        key, value = arg, None
        if "=" in arg and arg.startswith("--"):
            key, value = arg.split("=", 1)
        elif key in with_value:
            index += 1
            if index >= len(args):
                fail(f"flag needs an argument: {key}\nSee 'docker run --help'.", EXIT_DAEMON)
            value = args[index]
        if key == "--name":
            options["name"] = value
        elif key == "--rm":
            options["rm"] = True
        elif key in ("-v", "--volume"):
            options["mounts"].append(value)
        elif key in ("--network", "--net"):
            options["network"] = value
        elif key == "--entrypoint":
            options["entrypoint"] = value
        index += 1
    if index >= len(args):
        fail("\"docker run\" requires at least 1 argument.\nSee 'docker run --help'.", EXIT_DAEMON)
    options["image"] = args[index]
    return options, args[index + 1 :]


def _mounts(specs: list[str]) -> dict[str, str]:
    """``{container path: host path}``; named volumes are created when missing, as Docker does."""
    mounts = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) < 2 or any(part == "" for part in parts[:2]):
            fail(f"docker: invalid spec: {spec}: empty section between colons.\nSee 'docker run --help'.", EXIT_DAEMON)
        source, destination = parts[0], parts[1].rstrip("/") or "/"
        if source.startswith("/"):
            os.makedirs(source, exist_ok=True)
            host = source
        else:
            host = volume_path(source)
            os.makedirs(host, exist_ok=True)
        mounts[destination] = host
    return mounts


def cmd_run(args: list[str]) -> int:
    options, command = _parse_run(args)
    name = options["name"] or f"standin_{int(time.time_ns()) % 100000}"
    mounts = _mounts(options["mounts"])
    with world(write=True) as data:
        image = options["image"]
        if image not in data["images"]:
            sys.stderr.write(f"Unable to find image '{image}' locally\n")
            digest = data.get("registry", {}).get(image)
            if digest is None:
                fail(
                    f"docker: Error response from daemon: {_registry_error(image)}\nSee 'docker run --help'.",
                    EXIT_DAEMON,
                )
            data["images"][image] = digest
        network = options["network"]
        if network is not None and network not in data["networks"] and network not in data["networks"].values():
            fail(f"docker: Error response from daemon: network {network} not found.", EXIT_DAEMON)
        if name in data["containers"]:
            fail(
                f'docker: Error response from daemon: Conflict. The container name "/{name}" is already in use by '
                f'container "{data["containers"][name]["id"]}". You have to remove (or rename) that container to '
                "be able to reuse that name.\nSee 'docker run --help'.",
                EXIT_DAEMON,
            )
        identifier = container_id(name)
        data["containers"][name] = {
            "id": identifier,
            "image": image,
            "state": "running",
            "mounts": mounts,
            "network": network,
            "rm": options["rm"],
            "project": None,
            "service": None,
            "health": None,
            "pid": None,
        }
    shim = subprocess.Popen(
        [sys.executable, os.path.abspath(sys.argv[0]), "__container", name, json.dumps(command)],
        start_new_session=True,
    )
    with world(write=True) as data:
        if name in data["containers"]:
            data["containers"][name]["pid"] = shim.pid
    return shim.wait()


# --------------------------------------------------------------------------- inside a container


def _map(mounts: dict[str, str], path: str, identifier: str) -> str:
    """The host path of ``path`` in the container: under the longest mount, else in the container's own root."""
    best = None
    for destination in mounts:
        inside = path == destination or path.startswith(destination.rstrip("/") + "/")
        if inside and (best is None or len(destination) > len(best)):
            best = destination
    if best is not None:
        return mounts[best] + path[len(best) :]
    root = os.path.join(WORLD, "rootfs", identifier)
    os.makedirs(root, exist_ok=True)
    return root + path


def _prefixes(mounts: dict[str, str], identifier: str) -> list[tuple[str, str]]:
    """(container path, host path) of each mount, longest first, then the container's own root ("" -> root)."""
    pairs = sorted(mounts.items(), key=lambda item: -len(item[0]))
    pairs.append(("", os.path.join(WORLD, "rootfs", identifier)))
    return pairs


def _name_rules(mounts: dict[str, str], identifier: str, create: bool) -> list[str]:
    """tar --transform rules between host and container names. Rules apply one after the other, so names go
    through a marker first: a name moved to a host path must not match the next rule."""
    pairs = _prefixes(mounts, identifier)
    first, last = [], []
    for number, (inside, host) in enumerate(pairs):
        marker = f"@@standin{number}@@"
        source, target = (host, inside) if create else (inside or "/", host + ("/" if not inside else ""))
        first.append(f"s|^{re.escape(source)}|{marker}|rhS")
        last.append(f"s|^{marker}|{target}|rhS")
    return first + last


def _tar(argv: list[str], container: dict, faults: dict) -> int:
    """GNU tar on the host with the container's paths: names are transformed so the archive holds what tar -P
    in the container would store, and extraction writes where the container's mounts lead."""
    mounts, identifier = container["mounts"], container["id"]
    host_args: list[str] = []
    mode = None
    archive = None
    operands = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg.startswith("--"):
            host_args.append(arg)
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            mode = next((letter for letter in letters if letter in "cxt"), mode)
            if letters.endswith("f"):
                index += 1
                archive = argv[index]
                if len(letters) > 1:
                    host_args.append(arg[:-1])
                host_args.extend(["-f", _map(mounts, archive, identifier)])
            else:
                host_args.append(arg)
        else:
            operands.append(arg)
        index += 1
    rules = _name_rules(mounts, identifier, create=mode == "c")
    command = ["tar", *host_args, *[f"--transform={rule}" for rule in rules]]
    command += [_map(mounts, operand, identifier) for operand in operands]
    completed = subprocess.run(command, check=False)
    if mode == "c" and archive and faults.get("die_mid_write") == os.path.basename(archive):
        path = _map(mounts, archive, identifier)
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) // 2)
        return 137
    return completed.returncode


def _mariabackup(argv: list[str], container: dict) -> int:
    mounts, identifier = container["mounts"], container["id"]
    options: dict[str, str] = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            options[key] = value
        elif arg in ("--host", "--user", "--password") and index + 1 < len(argv):
            options[arg[2:]] = argv[index + 1]
            index += 1
        elif arg.startswith("--"):
            options[arg[2:]] = ""
        index += 1
    target = _map(mounts, options.get("target-dir", ""), identifier)
    checkpoints = os.path.join(target, "xtrabackup_checkpoints")
    if "prepare" in options:
        with world() as data:
            fails = data.get("faults", {}).get("prepare_fails")
        if fails:
            sys.stderr.write("mariabackup: Error: log sequence number mismatch (stand-in fault)\n")
            return 1
        if not os.path.isfile(checkpoints):
            sys.stderr.write(f"mariabackup: Error: cannot open {options.get('target-dir')}/xtrabackup_checkpoints\n")
            return 1
        with open(checkpoints) as handle:
            text = handle.read()
        with open(checkpoints, "w") as handle:  # as mariabackup: the backup is now prepared
            handle.write(text.replace("backup_type = full-backuped", "backup_type = full-prepared"))
        print("mariabackup: completed OK!")
        return 0
    with world() as data:
        database = next((c for c in data["containers"].values() if c.get("service") == "mysql-mailcow"), None)
        password = data.get("mysql_root_password")
    reachable = (
        database is not None
        and database["state"] == "running"
        and container.get("network") is not None
        and container["network"] in (database.get("network"), data["networks"].get(database.get("network") or ""))
    )
    if not reachable:
        sys.stderr.write(
            f"mariabackup: Error: Failed to connect to MariaDB server: Can't connect to server on "
            f"'{options.get('host', 'localhost')}' (115)\n"
        )
        return 1
    if options.get("password") != password:
        sys.stderr.write("mariabackup: Error: Failed to connect to MariaDB server: Access denied for user 'root'\n")
        return 1
    source = _map(mounts, "/var/lib/mysql", identifier)
    shutil.copytree(source, target, dirs_exist_ok=True)
    with open(checkpoints, "w") as handle:
        handle.write("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 123456\n")
    print("mariabackup: completed OK!")
    return 0


def _glob(path: str, container: dict, dotglob: bool) -> list[str]:
    host = _map(container["mounts"], path, container["id"])
    found = glob.glob(host, include_hidden=dotglob) if "*" in path else [host]
    return sorted(found)


def _simple(argv: list[str], container: dict, faults: dict, shell: dict) -> int:
    program = os.path.basename(argv[0])
    if program == "tar":
        return _tar(argv[1:], container, faults)
    if program == "mariabackup":
        return _mariabackup(argv[1:], container)
    if program == "shopt":
        shell["dotglob"] = "-s" in argv and "dotglob" in argv
        return 0
    if program == "echo":
        print(" ".join(argv[1:]))
        return 0
    if program in ("chown", "rm"):
        options = [arg for arg in argv[1:] if arg.startswith("-")]
        targets = [arg for arg in argv[1:] if not arg.startswith("-")]
        if program == "chown":
            owner, targets = targets[0], targets[1:]
        status = 0
        for target in targets:
            for host in _glob(target, container, shell.get("dotglob", False)):
                if program == "rm":
                    if os.path.isdir(host) and not os.path.islink(host):
                        shutil.rmtree(host)
                    elif os.path.lexists(host):
                        os.unlink(host)
                    continue
                if not os.path.lexists(host):
                    sys.stderr.write(f"chown: cannot access '{target}': No such file or directory\n")
                    status = 1
                    continue
                user, _colon, group = owner.partition(":")
                recursive = "-R" in options
                for path in [host] + (
                    [os.path.join(d, n) for d, ds, fs in os.walk(host) for n in ds + fs] if recursive else []
                ):
                    os.lchown(path, int(user), int(group or user))
        return status
    sys.stderr.write(f"/bin/sh: 1: {argv[0]}: not found\n")
    return 127


def run_container(name: str, command: list[str]) -> int:
    with world() as data:
        container = dict(data["containers"][name])
        faults = data.get("faults", {})
    delay = float(faults.get("run_delay", 0))
    if delay:
        time.sleep(delay)
    shell: dict = {}
    status = 0
    if command and os.path.basename(command[0]) in ("sh", "bash") and len(command) >= 3 and command[1] == "-c":
        lexer = shlex.shlex(command[2], posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        current: list[str] = []
        statements = []
        for token in lexer:
            if token == ";":
                statements.append(current)
                current = []
            elif token in ("&", "&&", "|", "||"):
                sys.stderr.write(f"docker stand-in: {token!r} in sh -c is not supported\n")
                return 2
            else:
                current.append(token)
        statements.append(current)
        for statement in statements:
            if statement:
                status = _simple(statement, container, faults, shell)
    elif command:
        status = _simple(command, container, faults, shell)
    with world(write=True) as data:
        record = data["containers"].get(name)
        if record is not None and record["id"] == container["id"]:
            if record["rm"]:
                del data["containers"][name]
            else:
                record["state"], record["pid"] = "exited", None
    shutil.rmtree(os.path.join(WORLD, "rootfs", container["id"]), ignore_errors=True)
    return status


# --------------------------------------------------------------------------- compose


def _env_project(path: str) -> str | None:
    with open(path) as handle:
        for line in handle:
            if line.startswith("COMPOSE_PROJECT_NAME="):
                return line.split("=", 1)[1].strip().strip("'\"")
    return None


def cmd_compose(args: list[str]) -> int:
    files, env_file, project, directory = [], None, None, os.getcwd()
    index = 0
    while index < len(args) and args[index].startswith("-"):
        arg = args[index]
        if arg in ("-f", "--file", "--env-file", "-p", "--project-name", "--project-directory"):
            value = args[index + 1]
            index += 1
            if arg in ("-f", "--file"):
                files.append(value)
            elif arg == "--env-file":
                env_file = value
            elif arg == "--project-directory":
                directory = value
            else:
                project = value
        index += 1
    verb, rest = (args[index], args[index + 1 :]) if index < len(args) else (None, [])
    if files:
        directory = os.path.dirname(os.path.abspath(files[0]))
    else:
        candidates = [
            os.path.join(directory, n)
            for n in ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
        ]
        files = [path for path in candidates if os.path.isfile(path)][:1]
        if not files:
            fail("no configuration file provided: not found")
    for path in files:
        if not os.path.isfile(path):
            fail(f"open {path}: no such file or directory")
    env_file = env_file or os.path.join(directory, ".env")
    if project is None and os.path.isfile(env_file):
        project = _env_project(env_file)
    project = project or re.sub(r"[^a-z0-9_-]", "", os.path.basename(directory).lower())
    if verb == "exec":
        return compose_exec(project, rest)
    with world(write=verb in ("down", "up", "stop", "start")) as data:
        members = {n: c for n, c in data["containers"].items() if c.get("project") == project}
        if verb == "ps":
            everything = "-a" in rest or "--all" in rest
            for name, container in sorted(members.items()):
                if not everything and container["state"] != "running":
                    continue
                health = container.get("health") or ""
                status = (
                    "Up 2 hours" + (f" ({health})" if health else "")
                    if container["state"] == "running"
                    else "Exited (0) 5 minutes ago"
                )
                print(
                    json.dumps(
                        {
                            "ID": container["id"],
                            "Name": name,
                            "Image": container["image"],
                            "Project": project,
                            "Service": container["service"],
                            "State": container["state"],
                            "Health": health,
                            "Status": status,
                            "ExitCode": 0,
                            "Publishers": [],
                        }
                    )
                )
            return 0
        if verb in ("down", "stop"):
            for container in members.values():
                container["state"] = "exited"
            return 0
        if verb in ("up", "start"):
            for container in members.values():
                container["state"] = "running"
            return 0
    fail(f"docker compose: stand-in does not support {verb!r}")
    return 1


# Programs of a service's image that ``compose exec`` finds first on PATH (the rest is the host's sh and tools).
IMAGE_TOOLS = ("mariadb-dump", "mysqldump")


def compose_exec(project: str, args: list[str]) -> int:
    """``compose exec [-T] SERVICE CMD...``: CMD runs through the host's sh with the container's environment and
    the image's tools (IMAGE_TOOLS) first on PATH, so shell syntax in CMD behaves as in the container."""
    args = [arg for arg in args if arg not in ("-T", "--no-TTY")]
    if len(args) < 2:
        fail("docker compose exec: requires SERVICE COMMAND")
    service, command = args[0], args[1:]
    with world() as data:
        container = next(
            (c for c in data["containers"].values() if c.get("project") == project and c.get("service") == service),
            None,
        )
    if container is None or container["state"] != "running":
        fail(f'service "{service}" is not running')
    tools = os.path.join(WORLD, "image-tools")
    os.makedirs(tools, exist_ok=True)
    for tool in IMAGE_TOOLS:
        path = os.path.join(tools, tool)
        if not os.path.exists(path):
            with open(path, "w") as handle:
                handle.write(f'#!/bin/sh\nexec python3 {shlex.quote(os.path.abspath(__file__))} __tool {tool} "$@"\n')
            os.chmod(path, 0o755)
    env = {
        **container.get("env", {}),
        "PATH": f"{tools}:/usr/local/bin:/usr/bin:/bin",
        "DOCKER_STANDIN_WORLD": WORLD,
        "DOCKER_STANDIN_CONTAINER": container["id"],
    }
    return subprocess.run(command, env=env, check=False).returncode


def run_tool(tool: str, args: list[str]) -> int:
    """A program of a service's image, run by compose_exec: the MariaDB dump tool over the service's data."""
    identifier = os.environ.get("DOCKER_STANDIN_CONTAINER", "")
    with world() as data:
        container = next((c for c in data["containers"].values() if c["id"] == identifier), None)
        faults = data.get("faults", {})
    if container is None:
        fail(f"{tool}: no container")
    env = container.get("env", {})
    options = dict(arg[2:].split("=", 1) for arg in args if arg.startswith("--") and "=" in arg)
    names = [arg for arg in args if not arg.startswith("-")]
    # The server's password is the one of its first start, unless it was changed since (``db_password``).
    password = container.get("db_password", env.get("MYSQL_PASSWORD"))
    if options.get("user") != env.get("MYSQL_USER") or options.get("password") != password:
        fail(
            f"{tool}: Got error: 1045: \"Access denied for user '{options.get('user')}'@'localhost'\" "
            "when trying to connect",
            2,
        )
    if names != [env.get("MYSQL_DATABASE")]:
        fail(f"{tool}: Got error: 1049: \"Unknown database '{' '.join(names)}'\" when selecting the database", 2)
    datadir = container["mounts"].get("/var/lib/mysql", "")
    print(f"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB (stand-in)\n--\n-- Host: localhost    Database: {names[0]}")
    print("CREATE TABLE `stand_in_files` (`path` varchar(255), `sha256` char(64));")
    for directory, _dirs, files in sorted(os.walk(datadir)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            print(f"INSERT INTO `stand_in_files` VALUES ('{os.path.relpath(path, datadir)}','{digest}');")
            sys.stdout.flush()
            if faults.get("dump_dies"):
                fail(
                    f"{tool}: Error 2013: Lost connection to server during query when dumping table `stand_in_files`", 2
                )
    print(f"-- Dump completed on {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return 0


COMMANDS = {
    "volume": cmd_volume,
    "network": cmd_network,
    "ps": cmd_ps,
    "image": cmd_image,
    "manifest": cmd_manifest,
    "pull": cmd_pull,
    "run": cmd_run,
    "exec": cmd_exec,
    "rm": cmd_rm,
    "compose": cmd_compose,
    "stop": lambda args: cmd_stop_start("stop", args),
    "start": lambda args: cmd_stop_start("start", args),
}


def main(argv: list[str]) -> int:
    if not WORLD or not os.path.isfile(STATE):
        fail(f"docker stand-in: no world at {WORLD!r} (DOCKER_STANDIN_WORLD)")
    if argv[:1] == ["__container"]:
        return run_container(argv[1], json.loads(argv[2]))
    if argv[:1] == ["__tool"]:
        return run_tool(argv[1], argv[2:])
    with open(os.path.join(WORLD, "calls"), "a") as log:
        log.write(shlex.join(argv) + "\n")
    if not argv or argv[0] not in COMMANDS:
        fail(f"docker: '{argv[0] if argv else ''}' is not a docker command (stand-in).\nSee 'docker --help'")
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
