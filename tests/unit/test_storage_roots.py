"""Where a storage may point: the pure rules (storage/roots.py), the settings' safe defaults
(a fresh Settings from an empty environment), and the address guard every storage that
dials out shares with sources (core/addresses.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from webapp.core.addresses import AddressRefused, checked_addresses
from webapp.settings import load_settings
from webapp.storage.roots import Location, central_location, location, placement_problem


def settings(tmp_path: Path, **env: str):
    return load_settings({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "k", **env})


def test_the_defaults_refuse_private_networks_and_local_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty environment keeps DATA_DIR at ./data
    fresh = load_settings({})
    assert fresh.allow_private_networks is False
    assert fresh.local_storage_roots == ()
    assert fresh.central_storage_url == str(tmp_path / "data" / "storage")
    problem = placement_problem("local", str(tmp_path / "photos"), {}, fresh, [])
    assert problem and "LOCAL_STORAGE_ROOTS (none are listed now)" in problem


def test_one_switch_with_the_old_name_as_alias(tmp_path):
    assert settings(tmp_path, ALLOW_PRIVATE_NETWORKS="1").allow_private_networks
    assert settings(tmp_path, ALLOW_PRIVATE_SOURCES="yes").allow_private_networks
    assert not settings(tmp_path, ALLOW_PRIVATE_NETWORKS="0").allow_private_networks


def test_local_storage_roots_are_absolute_folders(tmp_path):
    listed = settings(tmp_path, LOCAL_STORAGE_ROOTS=f"{tmp_path}/a:{tmp_path}/b")
    assert listed.local_storage_roots == (tmp_path / "a", tmp_path / "b")
    with pytest.raises(ValueError, match="absolute"):
        settings(tmp_path, LOCAL_STORAGE_ROOTS="photos")


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("/photos", "/photos", True),
        ("/photos", "/photos/2024", True),
        ("/photos/2024", "/photos", True),
        ("/photos", "/photos-old", False),
        ("/", "/anything", True),
        ("/a/b", "/a/c", False),
    ],
)
def test_overlap_is_at_folder_boundaries(a, b, overlap):
    assert Location("ftp", "h:21", a).overlaps(Location("ftp", "h:21", b)) is overlap
    assert not Location("ftp", "h:21", a).overlaps(Location("ftp", "other:21", b))


def test_remote_places_compare_endpoint_and_bucket_or_host_and_port():
    s3 = location("s3", "photos/team", {"endpoint_url": "http://MinIO.local:9000/"})
    assert s3 == Location("s3", "minio.local:9000|photos", "/team")
    assert s3.overlaps(location("s3", "photos", {"endpoint_url": "http://minio.local:9000"}))
    assert not s3.overlaps(location("s3", "photos", {}))  # AWS, not that server
    assert not s3.overlaps(location("s3", "photos2/team", {"endpoint_url": "minio.local:9000"}))
    ftp = location("ftp", "/pub/photos", {"host": "FTP.example.com", "port": "21"})
    assert ftp.overlaps(location("ftp", "/pub", {"host": "ftp.example.com"}))
    assert not ftp.overlaps(location("sftp", "/pub", {"host": "ftp.example.com"}))
    assert location("dropbox", "/photos", {}) is None  # the account is not known here


def test_the_central_storage_url_is_a_place_too(tmp_path):
    remote = settings(
        tmp_path, CENTRAL_STORAGE_URL="s3://pict/central?endpoint_url=http://s3.lan:9000"
    )
    assert central_location(remote) == Location("s3", "s3.lan:9000|pict", "/central")
    problem = placement_problem("s3", "pict", {"endpoint_url": "http://s3.lan:9000"}, remote, [])
    assert problem and "contains the central storage" in problem
    assert (
        placement_problem("s3", "pict-2", {"endpoint_url": "http://s3.lan:9000"}, remote, [])
        is None
    )


def test_a_local_root_that_contains_the_sqlite_file_is_refused(tmp_path):
    db = tmp_path / "db" / "p.sqlite"
    there = settings(tmp_path, DATABASE_URL=f"sqlite:///{db}", LOCAL_STORAGE_ROOTS=str(tmp_path))
    problem = placement_problem("local", str(tmp_path / "db"), {}, there, [])
    assert problem and "contains the database file" in problem
    assert placement_problem("local", str(tmp_path / "photos"), {}, there, []) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "169.254.169.254", "10.1.2.3"])
def test_the_guard_refuses_private_hosts_and_says_how_to_allow(host):
    with pytest.raises(AddressRefused) as refused:
        checked_addresses(host, 21, False, "storages")
    assert "ALLOW_PRIVATE_NETWORKS" in refused.value.message
    assert checked_addresses(host, 21, True, "storages")


def test_the_s3_resolver_checks_the_address_it_hands_to_the_connection():
    """botocore dials what this resolver answers: a name that resolves to loopback at
    connect time (DNS rebinding after the endpoint was checked) is refused there."""
    from webapp.fs.backends.s3 import _guarded_resolver

    async def resolve() -> None:
        resolver = _guarded_resolver()
        try:
            await resolver.resolve("localhost", 9000)
        finally:
            await resolver.close()

    with pytest.raises(AddressRefused, match="loopback"):
        asyncio.run(resolve())
