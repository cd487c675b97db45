"""Test setup shared by every layer.

The whole suite runs once per engine: PICTORIUM_TEST_DB=sqlite (default) or postgres. The
environment is fixed here, before anything imports webapp, so settings and Piccolo's engine
pick it up. Every test process (the one process of a plain run, or each pytest-xdist worker of
`-n 2`) gets its own DATA_DIR and temp dir, its own database (a SQLite file inside DATA_DIR, or
a fresh PostgreSQL database named after the process), its own Redis database index, flushed
before every test, and its own REDIS_PREFIX. An xdist controller runs no test: it gives its
claims back at once and creates no database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ENGINE = os.environ.get("PICTORIUM_TEST_DB", "sqlite")
if ENGINE not in {"sqlite", "postgres"}:
    raise SystemExit(f"PICTORIUM_TEST_DB must be sqlite or postgres, not {ENGINE!r}")

PG_ADMIN_DSN = os.environ.get("PICTORIUM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# "gw0", "gw1", ... inside a pytest-xdist worker; "main" in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
PG_DB = f"pictorium_test_{os.getpid()}"


def _claim_redis_db() -> int:
    """A Redis database index of its own for this run (several runs may share the machine's
    Redis: each flushes its database before every test). Claimed in db 0, released at exit."""
    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379, db=0)
    for index in range(1, 16):
        key = f"pictorium-test:db:{index}"
        owner = admin.get(key)
        if owner and not os.path.exists(f"/proc/{int(owner)}"):
            admin.delete(key)  # left by a run that was killed
        if admin.set(key, os.getpid(), nx=True, ex=3 * 3600):
            return index
    raise SystemExit("no free Redis database index for the tests (1-15 are all claimed)")


REDIS_DB = _claim_redis_db()

_TMP = Path(tempfile.mkdtemp(prefix=f"pictorium-test-{ENGINE}-{WORKER}-"))
os.environ.update(
    {
        "DATA_DIR": str(_TMP / "data"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "REDIS_PREFIX": f"pictorium-test-{ENGINE}-{WORKER}",
        "BASE_URL": "http://testserver.local",
        # The test servers listen on loopback and test storages live in temp folders: the
        # suite allows both explicitly (production defaults refuse them; tests that prove
        # the refusals use the `safe_defaults` fixture).
        "ALLOW_PRIVATE_NETWORKS": "1",
        "LOCAL_STORAGE_ROOTS": tempfile.gettempdir(),
        # The live servers (module-scoped) keep the look, the address and the fields per
        # process; each test empties Redis and the tables, so they ask Redis on every use
        # rather than show the last test's for up to a second (a logo file already gone).
        "SETTINGS_RECHECK_SECONDS": "0",
    }
)
if ENGINE == "postgres":
    os.environ["DATABASE_URL"] = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{PG_DB}"
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'data' / 'test.sqlite'}"

pytest_plugins = [
    "tests.factories",
    "tests.servers",
    "tests.storage_servers",
    "tests.ldap_server",
    "tests.oidc_server",
]


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _is_xdist_controller(config: pytest.Config) -> bool:
    """True in the process that hands tests to xdist workers and runs none itself."""
    if hasattr(config, "workerinput"):
        return False
    return config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))


_CONTROLLER = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """long_only tests run under PICTORIUM_LONG=1 (`make test-long`) and are skipped, saying
    so, in `make test`: the CI run keeps one server of each kind per scenario."""
    if os.environ.get("PICTORIUM_LONG", "") not in ("", "0"):
        return
    skip = pytest.mark.skip(reason="long_only: runs in `make test-long` (PICTORIUM_LONG=1)")
    for item in items:
        if item.get_closest_marker("long_only"):
            item.add_marker(skip)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    global _CONTROLLER
    if _is_xdist_controller(config):
        _CONTROLLER = True
        _release()
        return
    if ENGINE == "postgres":
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}"')
        _pg_admin(f'CREATE DATABASE "{PG_DB}"')
    from webapp.cli import migrate_database

    migrate_database()


def pytest_unconfigure(config: pytest.Config) -> None:
    if ENGINE == "postgres" and not _CONTROLLER:
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        except Exception:
            pass
    _release()


def _release() -> None:
    """Remove this process's temp dir and give its Redis index back."""
    shutil.rmtree(_TMP, ignore_errors=True)
    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379, db=0)
    if admin.get(f"pictorium-test:db:{REDIS_DB}") == str(os.getpid()).encode():
        admin.delete(f"pictorium-test:db:{REDIS_DB}")


def pytest_report_header(config: pytest.Config) -> str:
    if _is_xdist_controller(config):
        return f"pictorium engine: {ENGINE} (a database and Redis index per xdist worker)"
    return f"pictorium engine: {ENGINE} ({os.environ['DATABASE_URL']})"


@pytest.fixture
def safe_defaults(monkeypatch: pytest.MonkeyPatch):
    """The production defaults for where storages and sources may point: no private
    networks from the environment, no LOCAL_STORAGE_ROOTS (the admin setting still counts)."""
    from webapp.settings import get_settings

    for name in ("ALLOW_PRIVATE_NETWORKS", "ALLOW_PRIVATE_SOURCES", "LOCAL_STORAGE_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield get_settings()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def sql_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the database engine runs from here on, in order (clear it between
    the steps a test compares): the tests that a page's statements do not grow with it."""
    from webapp.asset.tables import Asset

    cls = type(Asset._meta.db)
    original = cls.run_querystring
    seen: list[str] = []

    async def counting(self, querystring, in_pool=True):
        seen.append(str(querystring))
        return await original(self, querystring, in_pool=in_pool)

    monkeypatch.setattr(cls, "run_querystring", counting)
    return seen


@pytest.fixture(scope="session")
def engine_name() -> str:
    return ENGINE


@pytest.fixture(autouse=True)
async def clean_state() -> None:
    """Every test starts with empty tables and an empty Redis database."""
    from webapp.core.kv import get_redis
    from webapp.share import counters, recipient

    # What a web process keeps besides Redis: counts not yet sent, pages kept by validator.
    # A batch timer or send of the last test must not fire into this one (the loop is the
    # same): cancelled, and a send on its way awaited, before Redis and the tables are
    # emptied, or its flush marker outlives the flush and the next link of the same id
    # finds its first batch "not due".
    counters._pending.clear()
    recipient._kept.clear()
    if counters._timer is not None:
        counters._timer.cancel()
        counters._timer = None
    sending = counters._sending
    if sending is not None and not sending.done():
        if sending.get_loop() is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await sending
        else:
            sending.cancel()
    counters._sending = None
    counters._in_flight.clear()
    get_redis().flushdb()
    await _truncate_all()
    from webapp.core import versioned

    versioned.forget_all()


async def _truncate_all() -> None:
    from webapp.piccolo_app import APP_CONFIG

    tables = list(APP_CONFIG.table_classes)
    db = tables[0]._meta.db
    if ENGINE == "postgres":
        names = ", ".join(f'"{t._meta.tablename}"' for t in tables)
        await db.run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        for table in reversed(tables):
            await db.run_ddl(f'DELETE FROM "{table._meta.tablename}"')
