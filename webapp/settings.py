"""Settings, read once from the environment (DESIGN.md section 7).

Everything a process needs to find the others comes from here, so that web, worker and
scheduler started from the same environment agree on database, Redis and storage.
"""

from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlparse

IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None  # None: `pictorium up` starts an embedded Redis for DATA_DIR
    secret_key: str
    base_url: str
    host: str
    port: int
    admin_email: str | None
    admin_password: str | None
    allow_private_sources: bool  # ALLOW_PRIVATE_NETWORKS (or its alias ALLOW_PRIVATE_SOURCES)
    central_storage_url: str
    redis_prefix: str
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object per line
    workers: int = 1  # job workers `pictorium up` starts (WORKERS; default: one per core)
    # TRUSTED_PROXIES: the proxies whose X-Forwarded-For names the client (none by default).
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # Where storages may point (docs/security.md): the folders under which an admin may add a
    # local storage (LOCAL_STORAGE_ROOTS; none by default: an operator's decision).
    local_storage_roots: tuple[Path, ...] = ()
    # ALLOWED_HOSTS: Host headers answered besides the public address and BASE_URL's host
    # (system/domain.py); "*" answers any (development and tests only).
    allowed_hosts: tuple[str, ...] = ()
    # SETTINGS_RECHECK_SECONDS: how long a process may show what it keeps of the look, the
    # public address and the metadata fields before asking Redis whether another process
    # changed them (core/versioned.py). 0 asks on every use (the tests' live servers).
    settings_recheck_seconds: float = 1.0

    @property
    def allow_private_networks(self) -> bool:
        """ALLOW_PRIVATE_NETWORKS: sources and storages may dial private addresses."""
        return self.allow_private_sources

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        return Path(urlparse(self.database_url).path)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def embedded_redis_socket(self) -> Path:
        return self.data_dir / "redis.sock"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(data_dir: Path) -> str:
    """A key made once and kept under DATA_DIR, for when SECRET_KEY is not set."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _choice(name: str, value: str | None, default: str, allowed: tuple[str, ...]) -> str:
    chosen = (value or default).strip()
    chosen = chosen.upper() if name == "LOG_LEVEL" else chosen.lower()
    if chosen not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return chosen


def _workers(value: str | None) -> int:
    if not (value or "").strip():
        return os.cpu_count() or 1
    try:
        count = int(value or "")
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"WORKERS must be a whole number of at least 1, not {value!r}")
    return count


def _seconds(name: str, value: str | None, default: float) -> float:
    if not (value or "").strip():
        return default
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ValueError(f"{name} must be a number of seconds from 0 to 3600, not {value!r}")
    return seconds


def _networks(name: str, value: str | None) -> tuple[IPNetwork, ...]:
    """A comma- or space-separated list of addresses and CIDR networks."""
    found = []
    for item in (value or "").replace(",", " ").split():
        try:
            found.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{name} must list IP addresses or networks (CIDR), not {item!r}"
            ) from None
    return tuple(found)


def _roots(value: str | None) -> tuple[Path, ...]:
    """LOCAL_STORAGE_ROOTS: absolute folders separated by ':' (os.pathsep), symlinks
    resolved, so that a root is judged by where it really is."""
    roots: list[Path] = []
    for part in (value or "").split(os.pathsep):
        part = part.strip()
        if not part:
            continue
        path = Path(part).expanduser()
        if not path.is_absolute():
            raise ValueError(f"LOCAL_STORAGE_ROOTS must list absolute folders, not {part!r}")
        roots.append(path.resolve())
    return tuple(roots)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("DATA_DIR") or "data").expanduser().resolve()
    host = env.get("HOST") or "127.0.0.1"
    port = int(env.get("PORT") or "8000")
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'pictorium.sqlite'}"
    redis_url = env.get("REDIS_URL") or None
    if redis_url is None and (data_dir / "redis.url").exists():
        # Written by `pictorium up` while its embedded Redis runs, so that a `pictorium
        # worker` or `createuser` started by hand for the same DATA_DIR finds it.
        redis_url = (data_dir / "redis.url").read_text().strip() or None
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=env.get("SECRET_KEY") or _secret_key(data_dir),
        base_url=(env.get("BASE_URL") or f"http://{host}:{port}").rstrip("/"),
        host=host,
        port=port,
        admin_email=env.get("ADMIN_EMAIL") or None,
        admin_password=env.get("ADMIN_PASSWORD") or None,
        allow_private_sources=_flag(env.get("ALLOW_PRIVATE_NETWORKS"))
        or _flag(env.get("ALLOW_PRIVATE_SOURCES")),
        central_storage_url=env.get("CENTRAL_STORAGE_URL") or str(data_dir / "storage"),
        redis_prefix=env.get("REDIS_PREFIX") or "pictorium",
        log_level=_choice(
            "LOG_LEVEL", env.get("LOG_LEVEL"), "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")
        ),
        log_format=_choice("LOG_FORMAT", env.get("LOG_FORMAT"), "text", ("text", "json")),
        workers=_workers(env.get("WORKERS")),
        trusted_proxies=_networks("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES")),
        local_storage_roots=_roots(env.get("LOCAL_STORAGE_ROOTS")),
        allowed_hosts=tuple((env.get("ALLOWED_HOSTS") or "").replace(",", " ").split()),
        settings_recheck_seconds=_seconds(
            "SETTINGS_RECHECK_SECONDS", env.get("SETTINGS_RECHECK_SECONDS"), 1.0
        ),
    )


@functools.cache
def get_settings() -> Settings:
    return load_settings()
