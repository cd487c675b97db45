"""Face recognition pages: People (grid, one person, name, merge, move a face, the scan of
existing photos), face crops, the search by a selfie inside a shared link, and the JSON API
for people. Every handler is a few lines over webapp/face/ (the link search over
webapp/workflows/link_face_search.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from webapp.actor import Actor
from webapp.asset import query as asset_query
from webapp.errors import Invalid, NotFound, TooManyRequests
from webapp.face import model
from webapp.face.people import (
    MAX_PEOPLE,
    crop_face,
    delete_face_data,
    faces_of_person,
    get_person,
    list_people,
    merge_people,
    move_face,
    rename_person,
)
from webapp.face.scan import start_scan
from webapp.face.state import face_state, model_status
from webapp.routes._client import client_address
from webapp.routes._htmx import env, is_htmx, redirect, render
from webapp.routes.auth import CurrentActor, api_actor, page_actor
from webapp.system.domain import public_base_url
from webapp.workflows import link_face_search

# The nav shows People where the model is installed; the page says when the setting is off.
env.globals["face_model_status"] = model_status

_CROP_HEADERS = {"Cache-Control": "private, max-age=3600"}


async def _state_ctx(actor: Actor) -> dict[str, Any]:
    return {"state": await face_state(actor)}


@get("/", name="people")
async def people_page(request: Request, actor: CurrentActor) -> Response:
    ctx = await _state_ctx(actor)
    ctx["people"] = await list_people(actor) if ctx["state"].enabled else []
    return render(request, "face/people.html", ctx)


@get("/status", name="people_status")
async def people_status(request: Request, actor: CurrentActor) -> Response:
    """The scan's progress block; it polls itself while the scan runs."""
    return render(request, "face/people.html", await _state_ctx(actor), block="face_status")


@post("/scan", name="people_scan")
async def people_scan(request: Request, actor: CurrentActor) -> Response:
    state = await start_scan(actor)
    if is_htmx(request):
        return render(request, "face/people.html", {"state": state}, block="face_status")
    return redirect(request, "/people", notice="Scanning the photos for faces.")


@post("/forget", name="people_forget")
async def people_forget(request: Request, actor: CurrentActor) -> Response:
    deleted = await delete_face_data(actor)
    return redirect(request, "/people", notice=f"Deleted {deleted} face(s) and every person.")


async def _person_ctx(actor: Actor, person_id: int, **extra: Any) -> dict[str, Any]:
    person = await get_person(actor, person_id)
    return {
        "person": person,
        "faces": await faces_of_person(actor, person_id),
        "others": [p for p in await list_people(actor) if p.id != person_id],
        **extra,
    }


@get("/{person_id:int}", name="person_page")
async def person_page(request: Request, actor: CurrentActor, person_id: FromPath[int]) -> Response:
    return render(request, "face/person.html", await _person_ctx(actor, person_id))


@post("/{person_id:int}/name", name="person_name")
async def person_name(request: Request, actor: CurrentActor, person_id: FromPath[int]) -> Response:
    form = await request.form()
    name = str(form.get("name") or "")
    try:
        await rename_person(actor, person_id, name)
    except Invalid as exc:
        # The page again, the name typed kept and the message under it.
        ctx = await _person_ctx(
            actor, person_id, error=exc.message, error_field="name", typed_name=name
        )
        return render(request, "face/person.html", ctx, status_code=exc.status)
    return redirect(request, f"/people/{person_id}", notice="Name saved.")


@post("/{person_id:int}/merge", name="person_merge")
async def person_merge(request: Request, actor: CurrentActor, person_id: FromPath[int]) -> Response:
    form = await request.form()
    other = str(form.get("other") or "")
    try:
        if not other.isdigit():
            raise Invalid("Choose the person to merge into this one.", field="other")
        kept = await merge_people(actor, person_id, int(other))
    except (Invalid, NotFound) as exc:
        # NotFound here is the other person (merged or forgotten meanwhile, in another tab);
        # this page's own person missing makes _person_ctx answer 404 as before.
        ctx = await _person_ctx(actor, person_id, error=exc.message, error_field="other")
        status = 422 if isinstance(exc, NotFound) else exc.status
        return render(request, "face/person.html", ctx, status_code=status)
    return redirect(request, f"/people/{kept.id}", notice="People merged.")


@post("/faces/{face_id:int}/move", name="face_move")
async def face_move(request: Request, actor: CurrentActor, face_id: FromPath[int]) -> Response:
    form = await request.form()
    target = str(form.get("person") or "")
    shown = str(form.get("from") or "")
    try:
        if target != "new" and not target.isdigit():
            raise Invalid("Choose a person, or a new one.", field="person")
        moved = await move_face(actor, face_id, None if target == "new" else int(target))
    except (Invalid, NotFound) as exc:
        if not shown.isdigit():
            raise
        # The person page the form was on, the message under this face's choice.
        ctx = await _person_ctx(
            actor, int(shown), error=exc.message, error_field="person", error_face=face_id
        )
        status = 422 if isinstance(exc, NotFound) else exc.status
        return render(request, "face/person.html", ctx, status_code=status)
    back = str(form.get("back") or f"/people/{moved.id}")
    if not back.startswith("/") or back.startswith("//"):
        back = f"/people/{moved.id}"
    return redirect(request, back, notice=f"Face moved to {moved.label}.")


@get("/faces/{face_id:int}/image", name="face_crop")
async def face_crop(actor: CurrentActor, face_id: FromPath[int]) -> Response:
    data = await crop_face(actor, face_id)
    return Response(data, media_type="image/jpeg", headers=_CROP_HEADERS)


people_router = Router(
    path="/people",
    route_handlers=[
        people_page,
        people_status,
        people_scan,
        people_forget,
        person_page,
        person_name,
        person_merge,
        face_move,
        face_crop,
    ],
    dependencies={"actor": Provide(page_actor)},
)


# ---- a shared link's search by person ------------------------------------------------------

_PAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


@post(
    "/{token:str}/faces",
    name="share_face_search",
    request_max_body_size=model.MAX_UPLOAD_BYTES + 65536,
)
async def share_face_search(request: Request, token: FromPath[str]) -> Response:
    """The recipient's selfie: the link's photos in which that person appears. The picture
    is read in memory for this one search and never stored."""
    from webapp.share.authorize import PasswordRequired
    from webapp.share.tokens import PASSWORD_COOKIE

    form = await request.form()
    upload: Any = form.get("picture")
    client = client_address(request)
    picture = b""
    if hasattr(upload, "read"):
        try:
            picture = await upload.read(model.MAX_UPLOAD_BYTES + 1)
        finally:
            await upload.close()
    cookie = request.cookies.get(PASSWORD_COOKIE)
    try:
        result = await link_face_search.search_link(token, cookie, picture, client)
        ctx: dict[str, Any] = {"result": result, "link": result.link, "token": token}
        status = 200
    except PasswordRequired:
        # The link's own page asks for the password; the search needs it as much.
        return redirect(request, f"/s/{token}")
    except (Invalid, TooManyRequests) as exc:
        link = await link_face_search.searchable_link(token, cookie)
        ctx = {"result": None, "link": link, "token": token, "search_error": exc.message}
        status = exc.status
    response = render(request, "face/link_search.html", ctx, status_code=status)
    response.headers.update(_PAGE_HEADERS)
    return response


face_link_router = Router(path="/s", route_handlers=[share_face_search])


# ---- JSON API ------------------------------------------------------------------------------


def _base() -> str:
    return public_base_url()


@get("/", name="api_people_list")
async def api_people(
    actor: CurrentActor, limit: FromQuery[int] = 100, cursor: FromQuery[str | None] = None
) -> dict[str, Any]:
    """People in id order, by keyset: `next_cursor` is the last id of the page."""
    if not 1 <= limit <= MAX_PEOPLE:
        raise Invalid(f"limit must be from 1 to {MAX_PEOPLE}.", field="limit")
    after = asset_query.decode_cursor(cursor)
    people = await list_people(actor, after=after, limit=limit + 1, by_id=True)
    more = len(people) > limit
    people = people[:limit]
    return {
        "items": [p.as_json(_base()) for p in people],
        "next_cursor": str(people[-1].id) if more and people else None,
    }


@get("/{person_id:int}/assets", name="api_person_assets")
async def api_person_assets(
    actor: CurrentActor,
    person_id: FromPath[int],
    limit: FromQuery[int] = 50,
    cursor: FromQuery[str | None] = None,
) -> dict[str, Any]:
    if not 1 <= limit <= asset_query.MAX_PAGE:
        raise Invalid(f"limit must be from 1 to {asset_query.MAX_PAGE}.", field="limit")
    await get_person(actor, person_id)
    page = await asset_query.list_assets(
        actor, asset_query.AssetFilter(person_id=person_id), cursor=cursor, limit=limit
    )
    return {
        "items": [a.as_json(_base()) for a in page.items],
        "next_cursor": page.next_cursor,
    }


api_people_router = Router(
    path="/api/v1/people",
    route_handlers=[api_people, api_person_assets],
    dependencies={"actor": Provide(api_actor)},
)
