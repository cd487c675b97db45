"""The bare ingest loop of bench/sync.py: what the ingest does to each file, without the
product (read it through the same kind of client, SHA-256, and for a JPEG one pyvips decode
and the three JPEG proxies), in a pool of fresh processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

_reader: Callable[[str], bytes] | None = None


def _bare_init(kind: str, base: str, key: str, secret: str, bucket: str) -> None:
    global _reader
    if kind == "local":
        root = Path(base)
        _reader = lambda k: (root / k).read_bytes()  # noqa: E731
    else:
        import s3fs

        endpoint = base
        fs = s3fs.S3FileSystem(
            key=key, secret=secret, endpoint_url=endpoint, skip_instance_cache=True
        )
        _reader = lambda k: fs.cat_file(f"{bucket}/{k}")  # noqa: E731


def _bare_file(k: str) -> int:
    """What the ingest does to one file, without the product: read, hash, and for an image
    one decode at the largest proxy's size and the three JPEG proxies."""
    import hashlib

    import pyvips

    assert _reader is not None
    data = _reader(k)
    hashlib.sha256(data).hexdigest()
    if k.endswith(".jpg"):
        # As the product does: never upscaled; a proxy as large as the image is the image.
        big = pyvips.Image.thumbnail_buffer(data, 2500, height=2500, size="down").copy_memory()
        big.jpegsave_buffer(Q=82, keep="none", optimize_coding=True)
        for size in (800, 500):
            small = big
            if size < max(big.width, big.height):
                small = big.thumbnail_image(size, height=size, size="down")
            small.jpegsave_buffer(Q=82, keep="none", optimize_coding=True)
    return 1


def run(
    kind: str, base: str, keys: list[str], processes: int, key: str, secret: str, bucket: str
) -> float:
    """Seconds for `processes` processes to do `_bare_file` for every key."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # a fresh libvips in each, as a worker's
    start = time.perf_counter()
    with ctx.Pool(
        processes, initializer=_bare_init, initargs=(kind, base, key, secret, bucket)
    ) as pool:
        done = sum(pool.imap_unordered(_bare_file, keys, chunksize=64))
    assert done == len(keys)
    return time.perf_counter() - start
