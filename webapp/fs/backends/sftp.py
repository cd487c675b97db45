"""The "sftp" kind: SFTP over SSH, through sshfs (asyncssh).

Traps of this kind: sshfs creates every missing parent folder on write, and its cat_file does
not honour start/end; FsspecStore checks the root before a write and reads ranges through a
file object for it. The server's host key is pinned when the admin gave one; otherwise any key
is accepted (as with a first connection from an SFTP client). Keys come only from the storage's
secrets: no SSH agent, no default client keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.fs.backends._common import CONNECT_TIMEOUT, _folder, _timeout, bounded, dial_address
from webapp.fs.base import Store
from webapp.fs.fsspec_store import FsspecStore


def _sftp(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    import asyncssh
    from sshfs import SSHFileSystem

    host = options.get("host")
    if not host:
        raise ValueError("an SFTP host is required")
    port = int(options.get("port") or 22)
    user = options.get("user") or options.get("username")
    password = secrets.get("password") or None
    private_key = secrets.get("private_key") or None
    passphrase = secrets.get("passphrase") or None
    folder = _folder(root, options)
    kwargs: dict[str, Any] = {
        "port": port,
        "username": user,
        "connect_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        "login_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT) * 3,
        "keepalive_interval": 15,
        "keepalive_count_max": 3,
        "known_hosts": None,
    }
    if options.get("host_key"):
        # Pin the server's public host key when the admin gave one; otherwise any key is
        # accepted (as with a first connection from an SFTP client).
        kwargs["known_hosts"] = ([asyncssh.import_public_key(options["host_key"])], [], [])
    if password:
        kwargs["password"] = password
    if private_key:
        kwargs["client_keys"] = [asyncssh.import_private_key(private_key, passphrase)]
    else:
        kwargs["client_keys"] = None
    kwargs["agent_path"] = None

    def connect() -> Any:
        # A name that is not UTF-8 comes back with its bytes as lone surrogates (as from
        # os.fsdecode) instead of failing the whole listing; sync skips it (fs/key.py).
        # The checked address is dialled, not the name (DNS rebinding); a pinned host key
        # is matched whatever the name (known_hosts as a list of keys).
        return SSHFileSystem(
            dial_address(host, port, options),
            skip_instance_cache=True,
            sftp_client_kwargs={"path_errors": "surrogateescape"},
            **kwargs,
        )

    store = FsspecStore(
        connect,
        folder,
        f"SFTP {host}:{port}{folder}",
        secrets=[str(password or ""), str(passphrase or "")],
    )
    return bounded(store, options)
