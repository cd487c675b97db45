"""What only the local folder backend has to get right: symlinks that lead out of the root,
atomic writes, and the central storage opened from a plain path."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from webapp.fs.backends import open_store
from webapp.fs.backends.local import LocalStore
from webapp.fs.central import open_central
from webapp.fs.errors import StoreDenied, StoreNotFound
from webapp.settings import load_settings


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Overrides conftest's per-test database and Redis reset: storage tests touch neither
    (on PostgreSQL the reset alone would double this module's run time)."""


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    return root, outside


def test_symlinks_out_of_the_root_are_neither_listed_nor_followed(
    layout: tuple[Path, Path],
) -> None:
    root, outside = layout
    (root / "real.txt").write_bytes(b"real")
    os.symlink(outside / "secret.txt", root / "link.txt")
    os.symlink(outside, root / "linkdir")
    store = open_store("local", str(root))

    assert {e.key for e in store.list()} == {"real.txt"}
    for key in ("link.txt", "linkdir/secret.txt"):
        with pytest.raises(StoreDenied):
            store.read(key)
        with pytest.raises(StoreDenied):
            store.stat(key)
        with pytest.raises(StoreDenied):
            store.write(key, b"overwritten")
        with pytest.raises(StoreDenied):
            store.delete(key)
    with pytest.raises(StoreDenied):
        store.write("linkdir/new/file.txt", b"x")
    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_a_symlinked_root_itself_is_fine(layout: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = layout
    alias = tmp_path / "alias"
    os.symlink(root, alias)
    store = open_store("local", str(alias))
    store.write("a/b.txt", b"ok")
    assert (root / "a" / "b.txt").read_bytes() == b"ok"
    assert [e.key for e in store.list()] == ["a/b.txt"]


def test_writes_are_atomic_and_leave_no_temporary_files(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    store = open_store("local", str(root))
    store.write("photo.jpg", b"old" * 1000)
    seen: list[bytes] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.append((root / "photo.jpg").read_bytes())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            store.write("photo.jpg", (b"new%02d" % i) * 5000)
    finally:
        stop.set()
        thread.join()
    # A reader sees a whole old file or a whole new one, never a mix or a short file.
    for data in seen:
        assert data == b"old" * 1000 or (len(data) == 25000 and data[:5] * 5000 == data)
    assert sorted(os.listdir(root)) == ["photo.jpg"]


class Exploding:
    """A stream that fails halfway, like an upload whose client went away."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 2:
            raise ConnectionResetError("client went away")
        return b"x" * 1000


def test_a_failed_write_keeps_the_old_file(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    store = open_store("local", str(root))
    store.write("doc.pdf", b"original")
    with pytest.raises(Exception):  # noqa: B017 - whatever the stream raised, mapped or not
        store.write("doc.pdf", Exploding())  # type: ignore[arg-type]
    assert store.read("doc.pdf") == b"original"
    assert sorted(os.listdir(root)) == ["doc.pdf"]


def test_missing_root_is_not_created_for_an_external_folder(tmp_path: Path) -> None:
    store = open_store("local", str(tmp_path / "gone"))
    with pytest.raises(StoreNotFound, match="root folder does not exist"):
        store.ping()
    with pytest.raises(StoreNotFound):
        store.write("a.txt", b"x")
    assert not (tmp_path / "gone").exists()


def test_open_central_on_a_path_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "central"
    settings = load_settings(
        {"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "k", "CENTRAL_STORAGE_URL": str(target)}
    )
    store = open_central(settings)
    assert isinstance(store, LocalStore)
    store.ping()
    assert target.is_dir()
    store.write("proxies/a/thumb.jpg", b"t")
    assert (target / "proxies" / "a" / "thumb.jpg").read_bytes() == b"t"
