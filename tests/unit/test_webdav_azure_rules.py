"""The pure rules of the WebDAV and Azure Blob kinds (issue 17): where their roots are as
places (two storages in one tree are refused), the URL checks of the forms, and the Azure
fingerprint (the content's MD5 first, as GCS's md5Hash)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from webapp.errors import Invalid
from webapp.fs.backends.azure_blob import _entry, _is_placeholder, account_url_of
from webapp.fs.backends.webdav import _webdav_error, _webdav_info, base_url_of
from webapp.fs.errors import StoreDenied, StoreNotFound, StoreUnavailable
from webapp.storage.kinds import clean_form
from webapp.storage.roots import Location, location

NEXTCLOUD = "https://Cloud.example.com/remote.php/dav/files/anna/"


def test_webdav_roots_are_places_under_the_account_url():
    photos = location("webdav", "Photos/Team", {"url": NEXTCLOUD})
    assert photos == Location(
        "webdav", "cloud.example.com:443", "/remote.php/dav/files/anna/Photos/Team"
    )
    assert photos.overlaps(location("webdav", "Photos", {"url": NEXTCLOUD}))
    assert photos.overlaps(location("webdav", "", {"url": NEXTCLOUD}))  # the whole account
    bob = location("webdav", "Photos", {"url": NEXTCLOUD.replace("anna", "bob")})
    assert not photos.overlaps(bob)
    other_host = location("webdav", "Photos", {"url": "https://dav.box.com/dav/"})
    assert not photos.overlaps(other_host)


def test_azure_roots_are_containers_of_one_account():
    team = location("azure_blob", "photos/team", {"account_name": "Acme"})
    assert team == Location("azure", "azure:acme|photos", "/team")
    assert team.overlaps(location("azure_blob", "photos", {"account_name": "acme"}))
    assert not team.overlaps(location("azure_blob", "photos", {"account_name": "other"}))
    assert not team.overlaps(location("azure_blob", "videos/team", {"account_name": "acme"}))
    azurite = location(
        "azure_blob", "photos", {"endpoint_url": "http://127.0.0.1:10000/devstoreaccount1"}
    )
    assert azurite is not None and azurite.place == "127.0.0.1:10000|photos"


def test_the_forms_check_their_urls():
    options, secrets = clean_form(
        "webdav", {"url": NEXTCLOUD, "user": "anna", "password": "app-password"}
    )
    assert options == {"url": NEXTCLOUD, "user": "anna"}
    assert secrets == {"password": "app-password"}
    for bad, words in (
        ("cloud.example.com/remote.php", "starting with https://"),
        ("ftp://cloud.example.com/", "starting with https://"),
        ("https://anna:pw@cloud.example.com/", "in their own fields"),
    ):
        with pytest.raises(Invalid, match=words) as caught:
            clean_form("webdav", {"url": bad, "user": "anna"})
        assert caught.value.field == "url"
    with pytest.raises(Invalid) as caught:
        clean_form("azure_blob", {"endpoint_url": "127.0.0.1:10000", "account_key": "k"})
    assert caught.value.field == "endpoint_url"


def test_the_backends_check_their_settings_too():
    assert base_url_of({"url": "https://dav.box.com/dav"}) == "https://dav.box.com/dav/"
    for bad in ({}, {"url": "dav.box.com"}, {"url": "https://u:p@dav.box.com/"}):
        with pytest.raises(ValueError):
            base_url_of(bad)
    assert account_url_of("acme", None) == "https://acme.blob.core.windows.net"
    assert account_url_of("", "http://127.0.0.1:10000/dev/") == "http://127.0.0.1:10000/dev"
    with pytest.raises(ValueError):
        account_url_of("", None)


def test_webdav_modified_is_the_mtime_never_created():
    modified = dt.datetime(2026, 7, 14, 16, 5, tzinfo=dt.UTC)
    info = _webdav_info(
        {"name": "a.jpg", "modified": modified, "created": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}
    )
    assert info["mtime"] == modified and "created" not in info


class HTTPError(Exception):
    """Named as webdav4's: the mapping goes by the name and status, as translate() does."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"received {status_code}")
        self.status_code = status_code


class ResourceNotFound(Exception):
    pass


def test_webdav_answers_in_plain_words():
    denied = _webdav_error(HTTPError(401), "WebDAV x")
    assert isinstance(denied, StoreDenied) and "refused the user name or password" in str(denied)
    assert isinstance(_webdav_error(HTTPError(403), "x"), StoreDenied)
    assert isinstance(_webdav_error(HTTPError(409), "x"), StoreNotFound)
    assert isinstance(_webdav_error(HTTPError(503), "x"), StoreUnavailable)
    assert isinstance(_webdav_error(ResourceNotFound("a"), "x"), StoreNotFound)
    assert _webdav_error(ValueError("other"), "x") is None


def _blob(**fields):
    base = {
        "name": "a.jpg",
        "size": 5,
        "last_modified": dt.datetime(2026, 7, 14, 16, 5, 7, 900000, tzinfo=dt.UTC),
        "etag": '"0x8DD1"',
        "metadata": {},
        "content_settings": SimpleNamespace(content_md5=None),
    }
    return SimpleNamespace(**{**base, **fields})


def test_the_azure_fingerprint_prefers_the_content_md5():
    plain = _entry("a.jpg", _blob())
    assert plain.etag == "0x8DD1" and plain.size == 5
    assert plain.mtime == dt.datetime(2026, 7, 14, 16, 5, 7, tzinfo=dt.UTC).timestamp()
    md5 = bytearray(bytes.fromhex("5d41402abc4b2a76b9719d911017c592"))
    hashed = _entry("a.jpg", _blob(content_settings=SimpleNamespace(content_md5=md5)))
    assert hashed.etag == "5d41402abc4b2a76b9719d911017c592"
    assert _is_placeholder(_blob(metadata={"hdi_isfolder": "true"}))
    assert not _is_placeholder(_blob(metadata=None))


def test_both_kinds_refuse_a_loopback_address_when_they_connect():
    """The guard holds at connect time too (a storage saved while private networks were
    allowed, or a name that later resolves to loopback): nothing is sent."""
    from webapp.fs.backends import open_store
    from webapp.fs.errors import StoreRefused

    dav = open_store(
        "webdav", "", {"url": "http://127.0.0.1:9/dav/"}, {}, allow_private_networks=False
    )
    azure = open_store(
        "azure_blob",
        "photos",
        {"endpoint_url": "http://127.0.0.1:9/devstoreaccount1", "account_name": "dev"},
        {"account_key": "a2V5"},
        allow_private_networks=False,
    )
    for store in (dav, azure):
        with pytest.raises(StoreRefused, match="loopback"):
            store.ping()
