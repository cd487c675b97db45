"""Telling whether a process is gone: a tag naming this process (host, pid namespace, pid)
that a later process on the same machine can check. Used by the job recovery (whose worker
names carry the tag) and by RunLock (whose value is the holder's tag). Knows no Redis, no RQ."""

from __future__ import annotations

import os
import socket


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "0"


def process_tag() -> str:
    """host.pidns.pid of this process: enough to tell later, on the same machine, whether
    the process is gone."""
    return f"{socket.gethostname()}.{_pid_namespace()}.{os.getpid()}"


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in {"Z", "X"}  # a zombie is dead
    except (OSError, IndexError):
        return False


def process_gone(tag: str) -> bool:
    """Whether the process of a `process_tag()` is known to be gone: it ran on this machine
    and its pid no longer runs. Unknown (another machine, another format) counts as alive."""
    parts = tag.split(".")
    if len(parts) < 3 or not parts[-1].isdigit():
        return False
    host, namespace, pid = ".".join(parts[:-2]), parts[-2], int(parts[-1])
    if host != socket.gethostname() or namespace != _pid_namespace():
        return False
    return pid != os.getpid() and _pid_gone(pid)
