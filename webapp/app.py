"""create_app(settings) -> Litestar: wiring only."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope

from webapp.core import db
from webapp.media.guard import guard_libvips
from webapp.routes._host import host_check
from webapp.routes.account import account_router
from webapp.routes.admin import admin_router
from webapp.routes.admin_appearance import admin_appearance_router, appearance_public
from webapp.routes.admin_domain import admin_domain_router
from webapp.routes.admin_media import admin_media_router
from webapp.routes.api import api_router
from webapp.routes.api_archive import api_archive_router
from webapp.routes.api_assets import api_assets_router
from webapp.routes.api_auth import api_auth_router
from webapp.routes.api_links import api_links_router
from webapp.routes.api_sources import api_sources_router
from webapp.routes.api_storages import api_storages_router
from webapp.routes.archive import archive_router, share_ask_original
from webapp.routes.assets import assets_router
from webapp.routes.assets_bulk import assets_bulk_router
from webapp.routes.auth import login_page, login_submit, logout
from webapp.routes.auth_providers import auth_providers_router
from webapp.routes.cloud import cloud_router
from webapp.routes.collections import collections_router
from webapp.routes.dashboard import rq_dashboard
from webapp.routes.error_pages import handle_exception
from webapp.routes.health import healthz
from webapp.routes.icons import favicon
from webapp.routes.metadata import admin_fields_router, metadata_router
from webapp.routes.people import api_people_router, face_link_router, people_router
from webapp.routes.share_admin import admin_watermark_router
from webapp.routes.share_owner import share_owner_router
from webapp.routes.share_recipient import share_public_router
from webapp.routes.sources import flows_router, sources_router
from webapp.routes.sso import sso_handlers
from webapp.routes.storages import storages_router
from webapp.routes.trash import trash_router
from webapp.settings import Settings, get_settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def _start_db() -> None:
    await db.start_pool(max_size=10)


async def _stop_db() -> None:
    await db.close_pool()


async def _security_headers(response: Response) -> Response:
    # Pages are never framed (share-link embeds opt out explicitly when they arrive).
    # A share link's embed page allows framing with CSP frame-ancestors; nothing else does.
    if "frame-ancestors" not in response.headers.get("Content-Security-Policy", ""):
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# The pages' policy (docs/security.md "Content-Security-Policy"): script, style and every
# other resource from our origin only, images also as data: URLs, no inline script or style
# (htmx's indicator style is off: base.html's htmx-config), no eval.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors {}"
)


async def _page_policy(message: Message, scope: Scope) -> None:
    """Every response without a policy of its own gets the pages' one, with frame-ancestors
    'none'; the embed's bare "frame-ancestors *" becomes the pages' policy framed by anyone.
    Files and the job dashboard keep theirs. Runs for every response (before_send), error
    pages included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    current = headers.get("content-security-policy")
    if current is None:
        headers["Content-Security-Policy"] = PAGE_CSP.format("'none'")
        if "x-frame-options" not in headers:
            headers["X-Frame-Options"] = "DENY"
    elif current.strip() == "frame-ancestors *":
        headers["Content-Security-Policy"] = PAGE_CSP.format("*")


def create_app(settings: Settings | None = None, *, db_pool: bool = True) -> Litestar:
    """db_pool=False leaves PostgreSQL without a pool (Piccolo then connects per query): the
    test client runs the app's lifespan on another event loop than the tests."""
    settings = settings or get_settings()
    guard_libvips()
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="pictorium_csrf",
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        header_name="x-csrftoken",
        exclude=["/api/", "/healthz"],
    )
    return Litestar(
        route_handlers=[
            login_page,
            login_submit,
            logout,
            *sso_handlers,
            auth_providers_router,
            api_auth_router,
            healthz,
            favicon,
            *appearance_public,
            admin_appearance_router,
            metadata_router,
            assets_router,
            assets_bulk_router,
            trash_router,
            archive_router,
            share_ask_original,
            admin_fields_router,
            collections_router,
            account_router,
            admin_router,
            admin_domain_router,
            admin_media_router,
            api_router,
            api_assets_router,
            api_archive_router,
            api_storages_router,
            storages_router,
            cloud_router,
            api_sources_router,
            sources_router,
            flows_router,
            share_public_router,
            share_owner_router,
            admin_watermark_router,
            api_links_router,
            people_router,
            face_link_router,
            api_people_router,
            rq_dashboard,
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static"),
        ],
        csrf_config=csrf,
        exception_handlers={Exception: handle_exception},
        middleware=[host_check],
        on_startup=[_start_db] if db_pool else [],
        on_shutdown=[_stop_db] if db_pool else [],
        after_request=_security_headers,
        before_send=[_page_policy],
        debug=False,
    )


def app_factory() -> Litestar:
    """Entry point for uvicorn --factory."""
    return create_app()
