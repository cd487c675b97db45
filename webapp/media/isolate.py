"""Caps on what decoding one file may cost: memory for the process, time and memory per call.

Decoders are C code fed with strangers' files. A file that makes one allocate without end
or loop for ever must cost a bounded amount and end as a rejection, while the worker goes on.
`apply_resource_limits` caps the data segment of the calling process (RQ's work horse);
`run_isolated` runs one call in a child process with that cap and a wall-clock timeout.

How the child is made matters. A plain fork copies only the calling thread, but libvips
keeps a set of idle worker threads and hands new work to them: in a child forked after the
parent has run libvips, those threads do not exist and the first decode waits for ever.
So the child is forked directly only while the parent has a single thread (an RQ work horse
that has not decoded anything yet: the fast path, a few milliseconds); otherwise it is a
fresh interpreter (fork and exec, about 0.2 s more), which inherits no thread state at all.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from webapp.media.specs import MediaRejected

T = TypeVar("T")

_BOOT = "from webapp.media.isolate import spawned_child_main as m; m()"


def apply_resource_limits(memory_mb: int) -> None:
    """Caps this process's data segment (heap, anonymous mappings, thread stacks) at
    `memory_mb`. RLIMIT_DATA rather than RLIMIT_AS: address space that is only reserved
    (glibc's per-thread malloc arenas, shared libraries) does not count, so libvips' and
    FFmpeg's threads keep working while real allocations beyond the cap fail cleanly (Python
    raises MemoryError, libvips reports "out of memory"). The hard limit is left alone."""
    if memory_mb <= 0:
        raise ValueError("memory_mb must be positive")
    limit = memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def fork_is_safe() -> bool:
    """True while this process runs a single thread, so a forked child inherits no thread
    pool whose threads it would lack."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def run_isolated(
    func: Callable[..., T],
    *args: Any,
    timeout_s: float,
    memory_mb: int,
    fresh_interpreter: bool | None = None,
    **kwargs: Any,
) -> T:
    """func(*args, **kwargs) in a child process capped at `memory_mb` and `timeout_s`.

    Returns what the call returned (it travels back pickled). A MediaRejected raised in the
    child is raised here; a call that runs out of time or memory, or kills its process,
    becomes a MediaRejected that says so. Any other exception is raised here again, as its
    own type when it can be pickled. The child is always reaped.

    `fresh_interpreter` None chooses (see the module docstring); True needs `func` and the
    arguments to be picklable (a module-level function), as they travel to a new process."""
    if fresh_interpreter is None:
        fresh_interpreter = not fork_is_safe()
    child = (
        _Spawned(func, args, kwargs, memory_mb)
        if fresh_interpreter
        else _Forked(func, args, kwargs, memory_mb)
    )
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    finished = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([child.result_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(child.result_fd, 1 << 20)
            if not chunk:  # the child closed its end: it is exiting
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(child.result_fd)
        status, killed = child.reap(grace_s=5.0 if finished else 0.0)
    if killed:
        raise MediaRejected(f"Processing the file took longer than {timeout_s:g} s.")
    return _outcome(b"".join(chunks), status, memory_mb)  # type: ignore[no-any-return]


class _Forked:
    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        memory_mb: int,
    ):
        read_fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(read_fd)
            code = 70
            try:
                _reset_signals()
                _run_and_send(write_fd, func, args, kwargs, memory_mb)
                code = 0
            finally:
                # Skip atexit handlers, buffered files and everything else inherited.
                os._exit(code)
        os.close(write_fd)
        self.result_fd = read_fd

    def reap(self, grace_s: float) -> tuple[int, bool]:
        """Waits for the child, killing it when it has not exited within `grace_s`.
        Returns (wait status, whether we killed it)."""
        deadline = time.monotonic() + grace_s
        while True:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return status, False
            if time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(self.pid, 0)
        return status, True


class _Spawned:
    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        memory_mb: int,
    ):
        job = pickle.dumps((func, args, kwargs, memory_mb), protocol=pickle.HIGHEST_PROTOCOL)
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(write_fd)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        self.result_fd = read_fd
        assert self.proc.stdin is not None
        # Fed from a thread: a large job must not block us before the timeout applies.
        threading.Thread(target=_feed, args=(self.proc.stdin, job), daemon=True).start()

    def reap(self, grace_s: float) -> tuple[int, bool]:
        try:
            self.proc.wait(timeout=grace_s if grace_s > 0 else 0.001)
            killed = False
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            killed = True
        code = self.proc.returncode
        # Back to a wait status, as _outcome reads it.
        status = (-code) & 0x7F if code < 0 else (code & 0xFF) << 8
        return status, killed


def _feed(stdin: Any, job: bytes) -> None:
    try:
        stdin.write(job)
        stdin.close()
    except OSError:
        pass  # the child is gone; its exit status tells the story


def spawned_child_main() -> None:
    """Entry point of a fresh-interpreter child: the job on stdin, the result on the fd
    named in argv[1]."""
    write_fd = int(sys.argv[1])
    code = 70
    try:
        func, args, kwargs, memory_mb = pickle.loads(sys.stdin.buffer.read())
        _run_and_send(write_fd, func, args, kwargs, memory_mb)
        code = 0
    finally:
        os._exit(code)


def _reset_signals() -> None:
    # A decoder that crashes is reported as a rejection; the parent's fatal-error dumper
    # (pytest and some workers enable it) would only add a stack trace of the child.
    faulthandler.disable()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)


def _run_and_send(
    write_fd: int,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    memory_mb: int,
) -> None:
    try:
        apply_resource_limits(memory_mb)
        outcome: tuple[str, Any] = ("ok", func(*args, **kwargs))
    except MemoryError:
        outcome = ("memory", None)
    except MediaRejected as exc:
        outcome = ("rejected", exc.reason)
    except BaseException as exc:
        outcome = ("error", (exc, traceback.format_exc()))
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        payload = pickle.dumps(("memory", None))
    except Exception as exc:  # an unpicklable result or exception
        payload = pickle.dumps(("error", (RuntimeError(repr(exc)), traceback.format_exc())))
    view = memoryview(payload)
    while view:
        written = os.write(write_fd, view)
        view = view[written:]
    os.close(write_fd)


def _outcome(payload: bytes, status: int, memory_mb: int) -> Any:
    memory_reason = f"Processing the file needed more memory than {memory_mb} MB."
    if payload:
        try:
            kind, value = pickle.loads(payload)
        except Exception:
            kind, value = "broken", None
        if kind == "ok":
            return value
        if kind == "rejected":
            raise MediaRejected(value)
        if kind == "memory":
            raise MediaRejected(memory_reason)
        if kind == "error":
            exc, text = value
            if isinstance(exc, BaseException):
                exc.add_note(f"raised in the isolated child process:\n{text}")
                raise exc
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGKILL:  # not ours (we kill only on timeout): the kernel's OOM killer
            raise MediaRejected(memory_reason)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        raise MediaRejected(f"The decoder crashed while reading the file ({name}).")
    # No report: the child could not start or answer (an import or unpickling failure, or
    # memory running out before it could say so).
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    raise MediaRejected(f"Processing the file failed unexpectedly (exit status {code}).")
