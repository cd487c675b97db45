"""The `pictorium` command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import click

from webapp.settings import get_settings


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@click.group(help="Pictorium, a self-hosted digital asset manager.")
def main() -> None:
    from webapp.core import log

    try:
        settings = get_settings()
    except ValueError as exc:  # a setting with a value we do not know: say which
        raise click.ClickException(str(exc)) from None
    log.configure(settings.log_level, settings.log_format)


# ---- database ----------------------------------------------------------------------------


def migrate_database() -> None:
    from webapp.core.db import migrate_forwards, prepare_sqlite
    from webapp.core.preflight import check_database

    settings = get_settings()
    prepare_sqlite(settings)
    check_database(settings)

    async def run() -> None:
        failure = await migrate_forwards()
        if failure is not None:
            raise click.ClickException(f"migrations failed: {failure}")

    asyncio.run(run())


@main.command(help="Apply the database migrations.")
def migrate() -> None:
    migrate_database()
    click.echo("Database is up to date.")


@main.command(help="Create a user. Without --password one is generated and printed once.")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor", "viewer"]), default="viewer")
@click.option("--password", default=None)
@click.option("--name", default="")
def createuser(email: str, role: str, password: str | None, name: str) -> None:
    from webapp.account import service as accounts
    from webapp.actor import SYSTEM
    from webapp.core.preflight import check_database
    from webapp.errors import AppError

    check_database(get_settings())
    try:
        user, generated = asyncio.run(
            accounts.create_user(SYSTEM, email=email, name=name, role=role, password=password)
        )
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {user.email} ({user.role}).")
    if generated:
        click.echo(f"Password (shown once): {generated}")


@main.group(help="API tokens.")
def token() -> None:
    pass


@token.command("create", help="Create an API token for EMAIL and print its key (shown once).")
@click.argument("email")
@click.option("--expires", default=None, help="Last valid day, YYYY-MM-DD.")
@click.option("--name", default="created from the command line")
def token_create(email: str, expires: str | None, name: str) -> None:
    from webapp.account import service as accounts
    from webapp.account.tables import User
    from webapp.actor import SYSTEM
    from webapp.core.clock import parse_expiry
    from webapp.core.preflight import check_database
    from webapp.errors import AppError

    check_database(get_settings())

    async def run() -> str:
        row = await User.select(User.id).where(User.email == email.strip().lower()).first()
        if row is None:
            raise click.ClickException(f"no user with the email {email}")
        _, key = await accounts.create_token(
            SYSTEM, row["id"], name=name, expires_at=parse_expiry(expires)
        )
        return key

    try:
        click.echo(asyncio.run(run()))
    except AppError as exc:
        raise click.ClickException(exc.message) from None


# ---- processes ---------------------------------------------------------------------------


def _preflight() -> None:
    from webapp.core.preflight import check_database, check_redis

    settings = get_settings()
    check_database(settings)
    check_redis(settings)


@main.command(help="Run the web server.")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
def web(host: str | None, port: int | None) -> None:
    import uvicorn

    _preflight()
    settings = get_settings()
    uvicorn.run(
        "webapp.app:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        # The app reads X-Forwarded-For itself, only from TRUSTED_PROXIES (routes/_client.py);
        # uvicorn's own handling would trust 127.0.0.1 by default.
        proxy_headers=False,
    )


@main.command(help="Run a job worker (RQ): a long-lived work-horse, started again if it dies.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst: bool) -> None:
    from webapp.jobs.worker import run_supervised

    _preflight()
    sys.exit(run_supervised(burst=burst))


@main.command("work-horse", hidden=True, help="The process `pictorium worker` runs jobs in.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def work_horse(burst: bool) -> None:
    from webapp.jobs.worker import run_worker
    from webapp.media.guard import guard_libvips

    guard_libvips()
    run_worker(burst=burst, work_horse=True)


@main.command(help="Run the cron scheduler (RQ's CronScheduler).")
def scheduler() -> None:
    from webapp.jobs.worker import make_scheduler

    _preflight()
    make_scheduler().start()


@main.command(help="Run the RQ dashboard for operators.")
@click.option("--port", type=int, default=9181)
@click.option("--host", default="127.0.0.1")
def dashboard(port: int, host: str) -> None:
    from webapp.core.tasks.dashboard import make_dashboard_app

    _preflight()
    click.echo(f"RQ dashboard on http://{host}:{port}/")
    make_dashboard_app(get_settings(), url_prefix="").run(host=host, port=port)


@main.command(help="Migrate, create the first admin, and run web, worker and scheduler.")
def up() -> None:
    from webapp.account import service as accounts
    from webapp.core.embedded_redis import EmbeddedRedis

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = None
    env = dict(os.environ, DATA_DIR=str(settings.data_dir))
    if not os.environ.get("REDIS_URL"):
        embedded = EmbeddedRedis(settings.data_dir)
        try:
            env["REDIS_URL"] = embedded.start()
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Embedded Redis for {settings.data_dir} at {env['REDIS_URL']}")
        os.environ["REDIS_URL"] = env["REDIS_URL"]
        get_settings.cache_clear()
    children: list[subprocess.Popen[bytes]] = []
    try:
        migrate_database()
        _preflight()
        email, password = asyncio.run(
            accounts.ensure_first_admin(settings.admin_email, settings.admin_password)
        )
        if password:
            click.echo(f"First admin: {email}  password (shown once): {password}")
        elif not settings.admin_password:
            click.echo(f"Admin account: {email}")
        me = [sys.executable, "-m", "webapp"]
        # WORKERS job workers (one per core by default), so a long job on one never holds up
        # the sync, pull and maintenance jobs that every worker takes first.
        roles = ["web", *["worker"] * settings.workers, "scheduler"]
        for role in roles:
            children.append(subprocess.Popen([*me, role], env=env))
        click.echo(
            f"Pictorium runs on {settings.base_url} with {settings.workers} job worker(s)"
            "  (Ctrl-C stops it)"
        )
        _supervise(children)
    finally:
        _stop_all(children)
        if embedded is not None:
            embedded.stop()


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    stop = {"now": False}

    def on_signal(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop["now"]:
        for child in children:
            if child.poll() is not None:
                _echo_err(f"pictorium: a process exited (code {child.returncode}); stopping")
                return
        time.sleep(0.3)


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
