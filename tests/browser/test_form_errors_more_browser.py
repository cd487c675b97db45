"""Issue 13 item 1, the remaining forms, in Chromium: storages (add, edit, remove), sources and
flows, proxy types, the watermark, people (name, merge, move a face), a collection's rename,
the recipient's password and the sign-in each answer a bad input with the form again, the
message under the field that caused it (the field marked aria-invalid and naming the message
by aria-describedby, both in the same field box), what was typed kept, nothing stored.

These are plain forms (no htmx): they work without script, the server re-renders the page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_form_errors_browser import _asset, error_next_to
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of, jpeg
from webapp.actor import SYSTEM
from webapp.asset import proxy_types, upload
from webapp.asset import renditions as watermark
from webapp.collection import service as collections
from webapp.face.detect import refresh_person
from webapp.face.tables import Face, Person
from webapp.share import manage
from webapp.share import options as share_options
from webapp.source import flows
from webapp.source import service as sources
from webapp.storage import service as storages
from webapp.system import service as system

pytestmark = pytest.mark.browser

# The box that holds one field with its label, help and error.
_BOX = ".field, td, .face-search, .face-move"


@pytest.fixture
async def admin():
    return await make_user("forms-more@example.com", role="admin")


async def error_beside(page: Any, field: str, text: str) -> None:
    """The message is the field's own: named by the field (aria-invalid, aria-describedby),
    visible, in the field's box, and not said a second time at the top of the page."""
    await error_next_to(page, field, text)
    same_box = await page.locator(field).evaluate(
        """(el, box) => {
            const error = document.getElementById(el.getAttribute('aria-describedby'));
            const holder = el.closest(box);
            return !!holder && !!error && holder.contains(error);
        }""",
        _BOX,
    )
    assert same_box, f"the error of {field} is not in its field box"
    for alert in await page.locator(".alert-error").all():
        assert text not in await alert.inner_text(), "the error is said at the top as well"


def _no_check(page: Any, field: str, *attrs: str) -> Any:
    """The browser's own checks (required, min, max, maxlength) would stop the form before
    the server sees it: the server's are tested here."""
    script = "".join(f"el.removeAttribute('{a}');" for a in attrs)
    return page.locator(field).evaluate(f"el => {{ {script} }}")


async def _signed_in(page: Any, base: str, admin: Any) -> None:
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)


# ---- storages ------------------------------------------------------------------------------


@pytest.mark.error_answers(422)
async def test_storage_add_says_a_bad_root_under_the_root(page, live_server, admin):
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/storages/new?kind=local")
    await page.fill('[data-test="storage-name"]', "Team folder")
    await page.fill('[data-test="storage-root"]', "relative/folder")
    await page.click('[data-test="storage-save"]')
    await error_beside(page, '[data-test="storage-root"]', "absolute folder path")
    assert await page.input_value('[data-test="storage-name"]') == "Team folder"
    assert await page.input_value('[data-test="storage-root"]') == "relative/folder"
    names = [s.name for s in await storages.list_storages(actor_of(admin))]
    assert "Team folder" not in names


async def _local_storage(admin: Any, root: Path) -> Any:
    root.mkdir(parents=True, exist_ok=True)
    return await storages.create_storage(
        actor_of(admin), name="Archive", kind="local", root=str(root), values={}
    )


@pytest.mark.error_answers(422)
async def test_storage_edit_says_an_empty_name_and_a_bad_interval_under_them(
    page, live_server, admin, tmp_path
):
    storage = await _local_storage(admin, tmp_path / "archive")
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/storages/{storage.id}")
    await _no_check(page, '[data-test="storage-name"]', "required")
    await page.fill('[data-test="storage-name"]', "")
    await page.fill('[data-test="storage-interval"]', "45")
    await page.click('[data-test="storage-update"]')
    await error_beside(page, '[data-test="storage-name"]', "Give the storage a name")
    assert await page.input_value('[data-test="storage-interval"]') == "45"

    await page.fill('[data-test="storage-name"]', "Renamed")
    await _no_check(page, '[data-test="storage-interval"]', "min")
    await page.fill('[data-test="storage-interval"]', "0")
    await page.click('[data-test="storage-update"]')
    await error_beside(page, '[data-test="storage-interval"]', "from 1 minute to 7 days")
    assert await page.input_value('[data-test="storage-name"]') == "Renamed"
    saved = await storages.require_storage(actor_of(admin), storage.id)
    assert saved.name == "Archive" and saved.sync_interval_minutes != 0


@pytest.mark.error_answers(422)
async def test_storage_remove_without_a_choice_says_so_by_the_choice(
    page, live_server, admin, tmp_path
):
    storage = await _local_storage(admin, tmp_path / "gone")
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/storages/{storage.id}")
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove this storage?"
    await page.click('[data-test="storage-remove"]')
    await error_beside(page, '[data-test="remove-choice"]', "Choose what happens")
    assert await storages.require_storage(actor_of(admin), storage.id)


# ---- sources and flows ---------------------------------------------------------------------


@pytest.mark.error_answers(422)
async def test_source_add_says_a_bad_url_under_the_url(page, live_server, admin):
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/sources/new")
    await page.fill('[data-test="source-name"]', "Partner")
    await page.fill('[data-test="source-url"]', "javascript:alert(1)")
    await page.fill('[data-test="source-key"]', "a-token-from-there")
    await page.click('[data-test="source-save"]')
    await error_beside(page, '[data-test="source-url"]', "http:// or https://")
    assert await page.input_value('[data-test="source-name"]') == "Partner"
    assert await page.input_value('[data-test="source-key"]') == ""  # never shown back
    assert await sources.list_sources(actor_of(admin)) == []


@pytest.mark.error_answers(409, 422)
async def test_flow_forms_say_a_taken_name_and_a_bad_priority_under_them(page, live_server, admin):
    actor = actor_of(admin)
    taken = await flows.create_flow(actor, name="Partners", priority=10)
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/flows")
    await page.fill('[data-test="flow-name"]', "Partners")
    await page.fill('[data-test="flow-priority"]', "30")
    await page.click('[data-test="flow-save"]')
    await error_beside(page, '[data-test="flow-name"]', "exists already")
    assert await page.input_value('[data-test="flow-priority"]') == "30"
    assert len(await flows.list_flows(actor)) == 1

    await page.goto(f"{live_server.url}/admin/flows/{taken.id}")
    await _no_check(page, '[data-test="flow-priority"]', "max")
    await page.fill('[data-test="flow-priority"]', "5000")
    await page.click('[data-test="flow-save"]')
    await error_beside(page, '[data-test="flow-priority"]', "The priority must be from")
    assert await page.input_value('[data-test="flow-priority"]') == "5000"
    assert (await flows.get_flow(actor, taken.id)).priority == 10


# ---- proxy types and the watermark ---------------------------------------------------------


@pytest.mark.error_answers(422)
async def test_proxy_type_forms_say_the_error_under_the_field(page, live_server, admin):
    actor = actor_of(admin)
    before = await proxy_types.list_proxy_types(actor)
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/proxies")
    await page.fill('[data-test="proxy-new-name"]', "Social Cards")
    await page.fill('[data-test="proxy-new-size"]', "1080")
    await page.click('[data-test="proxy-new-create"]')
    await error_beside(page, '[data-test="proxy-new-name"]', "lower-case letters")
    assert await page.input_value('[data-test="proxy-new-name"]') == "Social Cards"
    assert await page.input_value('[data-test="proxy-new-size"]') == "1080"

    # A row of the table: the message under that row's field, the other rows untouched.
    row = page.locator('[data-test="proxy-row"]').first
    quality = row.locator('[data-test="proxy-quality"]')
    await quality.evaluate("el => el.removeAttribute('max')")
    await quality.fill("500")
    await row.locator('[data-test="proxy-save"]').click()
    row = page.locator('[data-test="proxy-row"]').first
    quality_id = await row.locator('[data-test="proxy-quality"]').get_attribute("id")
    await error_beside(page, f"#{quality_id}", "The quality must be from 1 to 100")
    assert await page.input_value(f"#{quality_id}") == "500"
    assert await page.locator('[aria-invalid="true"]').count() == 1
    assert await proxy_types.list_proxy_types(actor) == before


@pytest.mark.error_answers(422)
async def test_watermark_says_a_missing_logo_and_a_bad_scale_under_them(page, live_server, admin):
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/admin/watermark")
    await page.fill('[data-test="watermark-opacity"]', "40")
    await page.click('[data-test="watermark-save"]')
    await error_beside(page, '[data-test="watermark-file"]', "Upload a PNG logo first")
    assert await page.input_value('[data-test="watermark-opacity"]') == "40"

    await _no_check(page, '[data-test="watermark-scale"]', "max")
    await page.fill('[data-test="watermark-scale"]', "500")
    await page.click('[data-test="watermark-save"]')
    await error_beside(page, '[data-test="watermark-scale"]', "The scale must be from 2 to 100")
    assert await page.input_value('[data-test="watermark-scale"]') == "500"
    assert await page.input_value('[data-test="watermark-opacity"]') == "40"
    assert await watermark.get_config() is None


# ---- people --------------------------------------------------------------------------------


async def _two_people(admin: Any) -> tuple[int, int, int]:
    """Two people with one face each on an available photo (rows made here: the test is
    about the forms, not about finding faces). Returns both ids and the first one's face."""
    asset = await _asset(admin, "people.jpg", seed=31)
    await system.update(SYSTEM, {"faces_enabled": "on"})
    ids = []
    faces = []
    for name, box in (("Ann", [0.1, 0.1, 0.3, 0.3]), ("Bob", [0.5, 0.5, 0.3, 0.3])):
        person = Person(name=name)
        await person.save()
        face = Face(asset=asset.id, box=box, person=person.id)
        await face.save()
        await refresh_person(person.id)
        ids.append(person.id)
        faces.append(face.id)
    return ids[0], ids[1], faces[0]


@pytest.mark.error_answers(422)
async def test_person_forms_say_the_error_under_the_field(page, live_server, admin):
    ann, bob, ann_face = await _two_people(admin)
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/people/{ann}")
    long_name = "A" * 101
    await _no_check(page, '[data-test="person-name"]', "maxlength")
    await page.fill('[data-test="person-name"]', long_name)
    await page.click('[data-test="person-name-save"]')
    await error_beside(page, '[data-test="person-name"]', "at most 100 characters")
    assert await page.input_value('[data-test="person-name"]') == long_name

    # A choice the page did not offer (another tab merged that person meanwhile, say).
    await page.locator('[data-test="person-merge-other"] option').first.evaluate(
        "el => { el.value = 'nobody'; }"
    )
    page.on("dialog", lambda dialog: dialog.accept())  # "Merge ...?"
    await page.click('[data-test="person-merge"]')
    await error_beside(page, '[data-test="person-merge-other"]', "Choose the person to merge")

    tile = page.locator(f'[data-test="face-tile"][data-face="{ann_face}"]')
    await tile.locator('[data-test="face-move-to"] option').first.evaluate(
        "el => { el.value = 'somebody'; }"
    )
    await tile.locator('[data-test="face-move"]').click()
    await error_beside(page, f"#face-move-{ann_face}", "Choose a person, or a new one")
    names = {r["id"]: r["name"] for r in await Person.select(Person.id, Person.name)}
    assert names == {ann: "Ann", bob: "Bob"}
    face = await Face.select(Face.person).where(Face.id == ann_face).first()
    assert face is not None and face["person"] == ann


@pytest.mark.error_answers(422)
async def test_a_link_search_without_a_picture_says_so_under_the_picture(page, live_server, admin):
    photos = [await _asset(admin, f"crowd-{i}.jpg", seed=50 + i) for i in range(2)]
    await system.update(SYSTEM, {"faces_enabled": "on"})
    link_options = share_options.LinkOptions(
        kind="public", proxy_types=["preview"], allow_face_search=True
    )
    created = await manage.create_link(actor_of(admin), [a.id for a in photos], link_options)
    assert created.link.allow_face_search
    await page.goto(f"{live_server.url}/s/{created.link.token}")
    await _no_check(page, '[data-test="face-picture"]', "required")
    await page.click('[data-test="face-search-submit"]')
    await error_beside(page, '[data-test="face-picture"]', "Choose or take a photo")


# ---- a collection's rename -----------------------------------------------------------------


@pytest.mark.error_answers(422)
async def test_collection_rename_says_the_error_under_the_name(page, live_server, admin):
    made = await collections.create_collection(actor_of(admin), "Summer")
    await _signed_in(page, live_server.url, admin)
    await page.goto(f"{live_server.url}/collections/{made.id}")
    await page.click('summary:text-is("Rename")')
    await _no_check(page, '[data-test="collection-rename-input"]', "maxlength")
    await page.fill('[data-test="collection-rename-input"]', "n" * 201)
    await page.click('[data-test="collection-rename"]')
    await error_beside(page, '[data-test="collection-rename-input"]', "at most 200 characters")
    assert await page.input_value('[data-test="collection-rename-input"]') == "n" * 201
    assert (await collections.get_collection(actor_of(admin), made.id)).name == "Summer"


# ---- the recipient's password and the sign-in ----------------------------------------------


@pytest.mark.error_answers(401, 422)
async def test_a_wrong_link_password_is_said_under_the_password(page, live_server, admin):
    result = await upload.upload_asset(actor_of(admin), "locked.jpg", io.BytesIO(jpeg(5)))
    assert result.asset is not None
    link_options = share_options.LinkOptions(password="open sesame")
    link = (await manage.create_link(actor_of(admin), [result.asset.id], link_options)).link
    await page.goto(f"{live_server.url}/s/{link.token}")
    await page.fill('[data-test="share-password-input"]', "not it")
    await page.click('[data-test="share-password-submit"]')
    await error_beside(page, '[data-test="share-password-input"]', "Wrong password")
    assert await page.input_value('[data-test="share-password-input"]') == ""


@pytest.mark.error_answers(422)
async def test_a_wrong_sign_in_is_said_under_the_password(page, live_server, admin):
    await page.goto(f"{live_server.url}/login")
    await page.fill('[data-test="login-email"]', admin.email)
    await page.fill('[data-test="login-password"]', "not the password")
    await page.click('[data-test="login-submit"]')
    await error_beside(page, '[data-test="login-password"]', "Wrong email or password.")
    # The email is marked too and names the same message: either may be the wrong one.
    email = page.locator('[data-test="login-email"]')
    assert await email.get_attribute("aria-invalid") == "true"
    assert await email.get_attribute("aria-describedby") == "login-password-error"
    assert await email.input_value() == admin.email
    assert await page.input_value('[data-test="login-password"]') == ""
