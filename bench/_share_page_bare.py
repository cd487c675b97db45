"""The baselines of bench/share_page.py: bare Litestar routes rendering, from memory, the same
items the app serves (read once at start from BENCH_ITEMS, a JSON file the benchmark wrote):
the link page's 100 tiles and the feed's 60 tiles through the app's own tile templates in a
plain Jinja environment, and the JSON feed's 60 items (AssetView.as_json, encoded by Litestar)."""

import json
import os
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Response, get
from litestar.enums import MediaType

TEMPLATES = Path(__file__).resolve().parent.parent / "webapp" / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
DATA = json.loads(Path(os.environ["BENCH_ITEMS"]).read_text())
# The app's own objects (share.recipient.SharedAsset, asset.views.AssetView), as read once.
with open(Path(os.environ["BENCH_ITEMS"]).with_suffix(".pickle"), "rb") as f:
    OBJECTS = pickle.load(f)
LINK = SimpleNamespace(items=OBJECTS["link"], next_cursor=None)
FEED = SimpleNamespace(items=OBJECTS["feed"], next_cursor=None)
LINK_TILES = env.get_template("share/_tiles.html")
FEED_TILES = env.get_template("asset/_tiles.html")


def _doc(body: str) -> str:
    return f"<!doctype html><html><head><title>bare</title></head><body>{body}</body></html>"


@get("/bare/link", sync_to_thread=False)
def bare_link() -> Response:
    html = LINK_TILES.render(page=LINK, token=DATA["token"])
    return Response(_doc(html), media_type=MediaType.HTML)


@get("/bare/feed", sync_to_thread=False)
def bare_feed() -> Response:
    html = FEED_TILES.render(
        page=FEED, headings=None, more_url="/feed/page?cursor=x", tile_query=""
    )
    return Response(html, media_type=MediaType.HTML)


@get("/bare/json", sync_to_thread=False)
def bare_json() -> dict[str, Any]:
    return {"items": [a.as_json(OBJECTS["base"]) for a in FEED.items], "next_cursor": "x"}


app = Litestar(route_handlers=[bare_link, bare_feed, bare_json])
