"""Jobs whose worker died (SIGKILL, OOM killer, power cut), put back in their queue.

RQ alone notices a dead worker's job only once the job's heartbeat lapses (about 90 s) and a
worker's maintenance pass (every 10 minutes) retries it with the job's back-off; and a job
that a worker took off a multi-queue list (LPOP) but died before registering as started is
in no list and no registry at all: RQ never runs it again, and a later enqueue with the same
id would take the lost job for a queued one. Jobs here are idempotent (at-least-once is the
contract), so a job known to be lost is simply queued again:

- a worker started on a machine puts back, at the front, the started jobs of workers that
  ran on the same machine (same host name and pid namespace) under a pid that is gone, and
  the jobs marked queued that sit in no list;
- the running workers do the same every RECOVERY_INTERVAL seconds (`requeue_abandoned_pass`,
  one worker per interval), so a job killed with its worker resumes within about a minute
  even when no worker starts;
- `is_pending` tells `enqueue` whether an existing job of the same id will still run.

Worker names carry the host, pid namespace and pid for that check. A job abandoned more than
ABANDON_LIMIT times is left to RQ's own handling (its retries, then the failed registry).
"""

from __future__ import annotations

import logging
import os
import time
import uuid

from redis import Redis
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.worker import Worker

# process_tag and process_gone live in core/process.py (RunLock uses them too); importers of
# recovery.process_tag keep working.
from webapp.core.kv import key
from webapp.core.process import process_gone, process_tag

log = logging.getLogger(__name__)

ABANDON_LIMIT = 10
RECOVERY_INTERVAL = 30  # seconds between the running workers' passes
LIST_CHECK_LIMIT = 10_000
_own_names: set[str] = set()


SUPERVISOR_ENV = "PICTORIUM_WORKER_SUPERVISOR"


def worker_name() -> str:
    """host.pidns.pid.random, or for the work-horse of `pictorium worker` (jobs/worker.py)
    host.pidns.pid.supervisor-pid.random: the work-horse's own pid tells whether it died,
    the supervisor's tells an operator (and a test) which `pictorium worker` it belongs to."""
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    middle = f".{supervisor}" if supervisor.isdigit() else ""
    name = f"{process_tag()}{middle}.{uuid.uuid4().hex[:8]}"
    _own_names.add(name)
    return name


def worker_dead(connection: Redis, name: str) -> bool:
    """A worker is dead when its key lapsed (no heartbeat for longer than its TTL: RQ's own
    rule), or when it ran on this machine under a pid that is gone."""
    if not name or name in _own_names:
        return False
    if not connection.exists(Worker.redis_worker_namespace_prefix + name):
        return True
    parts = name.split(".")
    # The process tag is all but the last part, or all but the last two (a work-horse's).
    return len(parts) >= 4 and any(
        process_gone(".".join(parts[:-drop])) for drop in (1, 2) if len(parts) - drop >= 3
    )


def _in_list(connection: Redis, key: str, job_id: str) -> bool:
    return connection.lpos(key, job_id) is not None


def is_pending(job: Job, queue: Queue) -> bool:
    """Whether `job` will still run or is running: queued in its list (or just taken by a
    worker), waiting (scheduled, deferred), or started by a worker that is not dead.

    A queued job is looked for in its list only while the list is short (LPOS is linear):
    in a long list it is taken at its word, and the next worker start puts it back if lost."""
    status = job.get_status(refresh=True)
    if status in (JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return True
    if status == JobStatus.QUEUED:
        connection = queue.connection
        if job.has_rate_limit or connection.llen(queue.key) > LIST_CHECK_LIMIT:
            return True
        return _in_list(connection, queue.key, job.id) or _in_list(
            connection, queue.intermediate_queue.key, job.id
        )
    if status == JobStatus.STARTED:
        executions = job.get_executions()
        return any(not worker_dead(queue.connection, e.worker_name) for e in executions)
    return False


def forget(job: Job, queue: Queue) -> None:
    """Drops what is left of a lost attempt (its started and failed registry entries), so
    that RQ's own cleanup never takes the next attempt for the abandoned one."""
    queue.started_job_registry.remove_executions(job)
    queue.failed_job_registry.remove(job)


def _requeue(job: Job, queue: Queue, why: str) -> bool:
    count = int(job.meta.get("abandoned", 0)) + 1
    if count > ABANDON_LIMIT:
        log.warning("job %s was abandoned %d times; left to RQ's retries", job.id, count)
        return False
    job.meta["abandoned"] = count
    job.save_meta()
    forget(job, queue)
    queue.enqueue_job(job, at_front=True)
    log.warning("job %s put back in queue %s: %s", job.id, queue.name, why)
    return True


def _lost_queued(connection: Redis, queues: dict[str, Queue]) -> list[tuple[str, str]]:
    """(job id, queue name) of jobs marked queued for one of `queues` that are in no list."""
    prefix = Job.redis_job_namespace_prefix
    keys = [
        k.decode()
        for k in connection.scan_iter(match=prefix + "*", count=1000)
        if ":" not in k.decode()[len(prefix) :]
    ]
    listed: dict[str, set[bytes | str]] = {}  # each list read once, not searched once per job
    found = []
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        with connection.pipeline(transaction=False) as pipe:
            for k in chunk:
                pipe.hmget(k, "status", "origin")
            rows = pipe.execute()
        for k, (status, origin) in zip(chunk, rows, strict=True):
            if status != b"queued" or not origin or origin.decode() not in queues:
                continue
            queue = queues[origin.decode()]
            if queue.name not in listed:
                listed[queue.name] = set(connection.lrange(queue.key, 0, -1)) | set(
                    connection.lrange(queue.intermediate_queue.key, 0, -1)
                )
            job_id = k[len(prefix) :]
            if job_id.encode() not in listed[queue.name]:
                found.append((job_id, queue.name))
    return found


def requeue_abandoned(queues: list[Queue], connection: Redis, settle: float = 1.0) -> list[str]:
    """Run by a worker before it starts: puts back the jobs of dead workers of this machine
    and the jobs lost between a worker's LPOP and its start. Returns their ids."""
    by_name = {q.name: q for q in queues}
    requeued: list[str] = []
    for queue in queues:
        for job_id in queue.started_job_registry.get_job_ids(cleanup=False):
            job = queue.fetch_job(job_id)
            if job is None or job.get_status(refresh=False) != JobStatus.STARTED:
                continue
            if not is_pending(job, queue) and _requeue(job, queue, "its worker died"):
                requeued.append(job_id)
    # A live worker holds a job outside any list for a moment between LPOP and its start:
    # only jobs still lost after `settle` seconds are put back.
    candidates = _lost_queued(connection, by_name)
    if candidates:
        time.sleep(settle)
        for job_id, name in candidates:
            queue = by_name[name]
            job = queue.fetch_job(job_id)
            why = "it was taken by a worker that died before starting it"
            if job is not None and not is_pending(job, queue) and _requeue(job, queue, why):
                requeued.append(job_id)
    return requeued


def requeue_abandoned_pass(
    queues: list[Queue], connection: Redis, interval: int = RECOVERY_INTERVAL
) -> list[str]:
    """`requeue_abandoned`, run by a worker already at work in its maintenance: whichever
    worker comes first in each `interval` does it, the others skip it. Returns the ids."""
    if not connection.set(key("recovery-pass"), process_tag(), nx=True, ex=max(1, interval - 1)):
        return []
    return requeue_abandoned(queues, connection)
