"""The signed-in user's pages: the feed and collections (filled in by the assets issue)."""

from __future__ import annotations

from litestar import Request, Response, Router, get
from litestar.di import Provide

from webapp.routes._htmx import render
from webapp.routes.auth import CurrentActor, page_actor


@get("/", name="feed")
async def feed(request: Request, actor: CurrentActor) -> Response:
    return render(request, "feed/index.html", {})


@get("/collections", name="collections")
async def collections(request: Request, actor: CurrentActor) -> Response:
    return render(request, "feed/collections.html", {})


pages_router = Router(
    path="/",
    route_handlers=[feed, collections],
    dependencies={"actor": Provide(page_actor)},
)
