"""What deploy/ says each process of the several-machines topology runs (docs/scaling.md):
the systemd units' ExecStart and Environment lines, the compose services' commands, and the
names the env file example sets. tests/unit/test_deploy_files.py checks that compose and
systemd agree; tests/integration/test_topology.py runs these very commands."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = {
    "migrate": "pictorium-migrate.service",
    "web": "pictorium-web@.service",
    "worker": "pictorium-worker@.service",
    "scheduler": "pictorium-scheduler.service",
}
# The compose services of each role (two webs and two workers, as in the test).
SERVICES = {
    "migrate": ("migrate",),
    "web": ("web1", "web2"),
    "worker": ("worker1", "worker2"),
    "scheduler": ("scheduler",),
}
PROGRAM = "pictorium"


def unit_lines(role: str) -> dict[str, list[str]]:
    """The [Service] section of a role's unit: each key with its values, in order."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in (DEPLOY / "systemd" / UNITS[role]).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            name, _, value = line.partition("=")
            found.setdefault(name.strip(), []).append(value.strip())
    return found


def systemd_command(role: str, instance: str = "") -> list[str]:
    """The unit's ExecStart as an argv, with the instance (%i) filled in."""
    (line,) = unit_lines(role)["ExecStart"]
    return shlex.split(line.replace("%i", instance))


def systemd_environment(role: str, instance: str = "") -> dict[str, str]:
    """The unit's own Environment= settings (PORT=%i of a web), the instance filled in."""
    env: dict[str, str] = {}
    for line in unit_lines(role).get("Environment", []):
        for item in shlex.split(line.replace("%i", instance)):
            name, _, value = item.partition("=")
            env[name] = value
    return env


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_command(service: str) -> list[str]:
    command = compose()["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def env_example_names() -> set[str]:
    """The variables deploy/pictorium.env.example sets."""
    names = set()
    for raw in (DEPLOY / "pictorium.env.example").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def pictorium_args(argv: list[str]) -> list[str]:
    """The arguments after the program, which must be the `pictorium` command wherever it is
    installed (/opt/pictorium/.venv/bin/pictorium in the units, on PATH in the image)."""
    assert argv and Path(argv[0]).name == PROGRAM, argv
    return argv[1:]


def local_command(role: str, instance: str = "") -> list[str]:
    """The unit's command as this checkout runs it: the same arguments, with the `pictorium`
    of the interpreter's own environment."""
    args = pictorium_args(systemd_command(role, instance))
    return [str(Path(sys.executable).parent / PROGRAM), *args]
