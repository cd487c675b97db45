"""Worker and cron scheduler processes. `pictorium worker` is a small supervisor
(run_supervised) over one long-lived work-horse process (run_worker): an RQ worker that runs
its jobs in its own process, memory-capped, with no fork per job, started again when it dies.
And RQ's cron scheduler with every schedule of schedule.py registered. Enqueueing lives in
core.tasks."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from redis import Redis
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from webapp.core.kv import get_redis
from webapp.core.tasks import QUEUES, queue

logger = logging.getLogger("pictorium.worker")


def make_scheduler(connection: Redis | None = None) -> CronScheduler:
    """RQ's cron scheduler, with every schedule of schedule.py registered.

    RQ's CronJob builds its Queue with the default (pickle) serializer; in the scheduler
    process that name is pointed at a JSON queue so the same workers run cron jobs."""
    import functools

    import rq.cron

    from webapp.jobs.schedule import register_all

    rq.cron.Queue = functools.partial(Queue, serializer=JSONSerializer)  # type: ignore[assignment,misc]
    scheduler = CronScheduler(connection=connection or get_redis())
    register_all(scheduler)
    return scheduler


# The data-segment cap of the process that runs the jobs: a decoder that runs away fails its
# job (the asset ends "failed" with a reason) instead of taking the machine down.
WORK_HORSE_MEMORY_MB = 3072
# A job still running this long after its own timeout is stuck in C code (where RQ's timeout,
# a signal handled in Python, cannot reach): its process ends itself, the supervisor starts a
# new one and recovery puts the job back (jobs/asset.py reads a suspect file isolated then).
HARD_KILL_GRACE_S = 60
# `pictorium worker` gives up when its work-horse exits with an error this many times in a row
# within QUICK_DEATH_S of its start (it cannot start: a setting, Redis gone), rather than loop.
QUICK_DEATHS = 5
QUICK_DEATH_S = 10.0


def _worker_class() -> Any:
    from rq import SimpleWorker
    from rq.utils import now as rq_now

    from webapp.core.tasks import recovery

    class PictoriumWorker(SimpleWorker):
        """RQ's worker, running its jobs one after the other in its own process: the
        long-lived work-horse. No fork per job: the imports, libvips' threads and caches,
        the event loop and the database pool (jobs/runner.py keep_engine) serve every job.
        What stays of RQ's forking worker:
        - a job's timeout: RQ's own (an exception raised in the job when it lapses), and
          past it by HARD_KILL_GRACE_S the process ends itself (SIGKILL) for a job stuck in
          C code; `pictorium worker` (run_supervised) starts a new work-horse, whose start
          puts the job back (core.tasks.recovery);
        - the heartbeats of the worker and of the job, sent from a thread while a job runs,
          so that a worker that dies on another machine is noticed as soon as with RQ's
          forking worker;
        - the memory cap, applied to this process (run_worker) instead of each fork;
        - hostile files: jobs/asset.py decodes a file that killed an earlier attempt in an
          isolated child with its own memory cap and timeout (media/isolate.py).

        Its maintenance runs every RECOVERY_INTERVAL seconds instead of RQ's 10 minutes (an
        idle worker wakes up that often): it puts back the jobs of dead workers, so a sync
        killed with its worker resumes within about a minute with no new worker, and it
        restarts RQ's scheduler (the retries' clock) if the worker that ran it died. RQ's own
        registry cleaning keeps its 10-minute pace."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("maintenance_interval", recovery.RECOVERY_INTERVAL)
            kwargs.setdefault("job_monitoring_interval", 15)
            super().__init__(*args, **kwargs)
            self._registries_cleaned_at: float | None = None

        @property
        def dequeue_timeout(self) -> int:
            return min(super().dequeue_timeout, recovery.RECOVERY_INTERVAL)

        def run_maintenance_tasks(self) -> None:
            if self.last_cleaned_at is not None:  # the first pass: run_worker did it already
                recovery.requeue_abandoned_pass(list(self.queues), self.connection)
            super().run_maintenance_tasks()

        def clean_registries(self) -> None:
            at = time.monotonic()
            if self._registries_cleaned_at is None or at - self._registries_cleaned_at >= 600:
                self._registries_cleaned_at = at
                super().clean_registries()
            else:
                self.last_cleaned_at = rq_now()  # type: ignore[assignment]

        def execute_job(self, job: Job, queue: Queue) -> None:
            execution = self.prepare_execution(job)
            done = threading.Event()
            beats = threading.Thread(
                target=self._beat, args=(job, execution, done), name="rq-heartbeat", daemon=True
            )
            beats.start()
            watchdog = None
            if job.timeout is not None and job.timeout > 0:
                watchdog = threading.Timer(
                    job.timeout + HARD_KILL_GRACE_S, os.kill, args=(os.getpid(), signal.SIGKILL)
                )
                watchdog.daemon = True
                watchdog.start()
            try:
                self.perform_job(job, queue, execution)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
                done.set()
                beats.join()
            self.set_state(WorkerStatus.IDLE)

        def _beat(self, job: Job, execution: Any, done: threading.Event) -> None:
            while not done.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception:  # Redis away for a moment: the next beat tries again
                    logger.warning("heartbeat of job %s failed", job.id, exc_info=True)

    return PictoriumWorker


def _preload() -> None:
    """Imports the job modules, the services they call and their decoders before the first
    job, and the face weights (when installed): paid once per worker process."""
    import webapp.asset.ingest  # noqa: F401
    import webapp.face.detect  # noqa: F401
    import webapp.jobs.account  # noqa: F401
    import webapp.jobs.asset  # noqa: F401
    import webapp.jobs.face  # noqa: F401
    import webapp.jobs.source  # noqa: F401
    import webapp.jobs.storage  # noqa: F401
    import webapp.media.imaging  # noqa: F401
    import webapp.workflows.sync  # noqa: F401
    from webapp.face.model import preload

    preload()


def run_worker(
    queues: tuple[str, ...] = QUEUES,
    *,
    burst: bool = False,
    connection: Redis | None = None,
    work_horse: bool = False,
) -> bool:
    """One RQ worker running every job in this process (see PictoriumWorker). Returns
    whether it worked off jobs (RQ's answer). `work_horse` (the process `pictorium worker`
    starts, which does nothing else): the memory cap on the process, and one event loop and
    database pool for all its jobs."""
    from webapp.core.tasks import recovery
    from webapp.jobs import runner
    from webapp.media.imaging import apply_resource_limits

    _preload()
    if work_horse:
        apply_resource_limits(WORK_HORSE_MEMORY_MB)
        runner.keep_engine()
    connection = connection or get_redis()
    worker = _worker_class()(
        [queue(q, connection) for q in queues],
        connection=connection,
        serializer=JSONSerializer,
        name=recovery.worker_name(),
    )
    # Jobs of workers of this machine that died (killed, crashed) go back first.
    recovery.requeue_abandoned(worker.queues, connection)
    try:
        return worker.work(burst=burst, with_scheduler=True)
    finally:
        if work_horse:
            runner.release_engine()


def _die_with_parent() -> None:
    """In the work-horse, before exec: the kernel kills it when `pictorium worker` dies, so
    a worker killed outright (SIGKILL, the OOM killer) takes its work-horse along."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _terminal_sent(signum: int) -> bool:
    """Whether a SIGINT came from the terminal (Ctrl-C), which sends it to the work-horse
    too: passed on, it would be the second one, RQ's cold shutdown."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


def run_supervised(*, burst: bool = False) -> int:
    """`pictorium worker`: runs the work-horse (`run_worker`, a fresh interpreter) and starts
    a new one when it dies (a decoder crashed it, the OOM killer, a job stuck past its
    timeout). A stop (SIGTERM, SIGINT) is passed on: the work-horse finishes its job first,
    as RQ's warm shutdown. Returns the exit code: the work-horse's own when it exits (0 in
    burst mode when the queues are empty)."""
    stop = {"signal": 0}
    child: dict[str, subprocess.Popen[bytes] | None] = {"proc": None}

    def on_signal(signum: int, frame: object) -> None:
        stop["signal"] = signum
        proc = child["proc"]
        if proc is not None and proc.poll() is None and not _terminal_sent(signum):
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from webapp.core.tasks.recovery import SUPERVISOR_ENV

    command = [sys.executable, "-m", "webapp", "work-horse", *(["--burst"] if burst else [])]
    env = dict(os.environ, **{SUPERVISOR_ENV: str(os.getpid())})
    quick = 0
    while True:
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
        child["proc"] = proc
        code = proc.wait()
        if stop["signal"] or code == 0:
            return code if code >= 0 else 0
        # Killed by a signal is a job's doing (a decoder crashed, a deadline): never give
        # up on that; an exit with an error code soon after the start is a failure to start.
        quick = quick + 1 if code > 0 and time.monotonic() - started < QUICK_DEATH_S else 0
        how = f"signal {-code}" if code < 0 else f"code {code}"
        if quick >= QUICK_DEATHS:
            logger.error("the work-horse died %d times at its start (%s); giving up", quick, how)
            return code if code > 0 else 1
        logger.warning("the work-horse died (%s); starting a new one", how)
        time.sleep(0.5)
