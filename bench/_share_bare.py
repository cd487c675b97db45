"""Baselines of the sharing benchmark: the feed benchmark's bare Litestar route, and a plain
Litestar file response of the file named by BENCH_FILE."""

import os

from litestar import Litestar, get
from litestar.response import File

from bench._bare import bare


@get("/file", sync_to_thread=False)
def plain_file() -> File:
    return File(os.environ["BENCH_FILE"], filename="original.bin")


app = Litestar(route_handlers=[bare, plain_file])
