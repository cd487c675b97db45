"""The baseline app of the web benchmarks: one Litestar route returning a constant."""

from litestar import Litestar, get


@get("/bare", sync_to_thread=False)
def bare() -> str:
    return "ok"


app = Litestar(route_handlers=[bare])
