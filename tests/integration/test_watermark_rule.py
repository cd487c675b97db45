"""The one watermark rule (asset/renditions.image_serving) for attachments: a watermark-only
reader, a link of a watermark-only owner and a watermarked link get an image attachment
only as its watermarked rendition, or not at all, through the app, the link's attachment
route and the ZIP (issue 12 item 3). Other attachments stay as they are."""

from __future__ import annotations

import io
import zipfile

import pytest
import pyvips

from tests.jobs import run_jobs
from tests.share_helpers import actor_for, jpeg, logo_png, uploaded
from webapp.actor import Perm
from webapp.asset import attachments, upload
from webapp.asset import renditions as wm
from webapp.errors import Forbidden, Unavailable
from webapp.share import manage, options, recipient

SCAN = jpeg(seed=41, width=400, height=300)


def red_excess(data: bytes) -> float:
    """How much redder than green the image is on average (the test logo is red)."""
    image = pyvips.Image.new_from_buffer(data, "")
    return image.extract_band(0).avg() - image.extract_band(1).avg()


def read(download) -> bytes:
    with download.open() as fh:
        return fh.read()


async def _asset_with_attachments(editor):
    [asset] = await uploaded(editor)
    image = await attachments.add_attachment(editor, asset.id, "scan.jpg", io.BytesIO(SCAN))
    text = await attachments.add_attachment(editor, asset.id, "notes.txt", io.BytesIO(b"notes"))
    return asset, image, text


async def _watermark(admin) -> wm.WatermarkConfig:
    return await wm.save_config(admin, logo=logo_png(), position="tiled", scale=20, opacity=100)


def assert_watermarked(data: bytes) -> None:
    assert data != SCAN
    assert red_excess(data) > red_excess(SCAN) + 40


async def test_watermark_only_reader_gets_image_attachments_only_watermarked():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    reader = await actor_for("viewer", "wm@example.com", perms=frozenset({Perm.read_watermarked}))
    asset, image, text = await _asset_with_attachments(editor)
    # No watermark set up: the image attachment is not served at all; other files are.
    with pytest.raises(Forbidden):
        await attachments.attachment_download(reader, asset.id, image.id)
    assert read(await attachments.attachment_download(reader, asset.id, text.id)) == b"notes"
    config = await _watermark(admin)
    got = await attachments.attachment_download(reader, asset.id, image.id)
    assert got.key.startswith(f"watermarks/{config.version}/")
    assert got.filename == "scan.jpg" and got.mime == "image/jpeg"
    assert_watermarked(read(got))
    # Everyone else gets the file itself.
    assert read(await attachments.attachment_download(editor, asset.id, image.id)) == SCAN


async def test_links_serve_image_attachments_only_watermarked():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    owner = await actor_for(
        "viewer", "owner@example.com", perms=frozenset({Perm.read_watermarked, Perm.create_links})
    )
    asset, image, text = await _asset_with_attachments(editor)
    await _watermark(admin)
    marked = await manage.create_link(
        editor, [asset.id], options.LinkOptions(allow_attachments=True, watermark=True)
    )
    by_owner = await manage.create_link(
        owner, [asset.id], options.LinkOptions(allow_attachments=True)
    )
    plain = await manage.create_link(
        editor, [asset.id], options.LinkOptions(allow_attachments=True)
    )
    for created in (marked, by_owner):
        token = created.link.token
        got = await recipient.attachment_file(token, None, asset.uuid, image.id, count=False)
        assert got.key.startswith("watermarks/")
        assert_watermarked(read(got))
        [item] = (await recipient.visit(token, None, count=False)).items
        sizes = {v.label: v.size for v in item.downloads if v.group == "Attachment"}
        assert sizes == {"scan.jpg": None, "notes.txt": 5}  # the rendition's size is not known
        notes = await recipient.attachment_file(token, None, asset.uuid, text.id, count=False)
        assert read(notes) == b"notes"
        archive = zipfile.ZipFile(
            io.BytesIO(b"".join((await recipient.zip_all(token, None)).chunks))
        )
        [entry] = [n for n in archive.namelist() if n.endswith("scan.jpg")]
        assert_watermarked(archive.read(entry))
        assert [archive.read(n) for n in archive.namelist() if n.endswith("notes.txt")] == [
            b"notes"
        ]
    got = await recipient.attachment_file(plain.link.token, None, asset.uuid, image.id, count=False)
    assert read(got) == SCAN
    # The watermark removed: a watermarked link serves no image attachment, in no way.
    await wm.remove_config(admin)
    with pytest.raises(Unavailable):
        await recipient.attachment_file(marked.link.token, None, asset.uuid, image.id, count=False)
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join((await recipient.zip_all(marked.link.token, None)).chunks))
    )
    assert not [n for n in archive.namelist() if n.endswith("scan.jpg")]
    assert [n for n in archive.namelist() if n.endswith("notes.txt")]


async def test_download_all_gives_each_assets_attachments_a_folder_of_their_own():
    editor = await actor_for()
    made = []
    for seed in (51, 52):
        result = await upload.upload_asset(editor, "same.jpg", io.BytesIO(jpeg(seed=seed)))
        assert result.asset is not None
        made.append(result.asset)
    assert await run_jobs() == 0
    first, second = made
    for asset, body in ((first, b"first"), (second, b"second")):
        await attachments.add_attachment(editor, asset.id, "notes.txt", io.BytesIO(body))
    link = (
        await manage.create_link(
            editor,
            [first.id, second.id],
            options.LinkOptions(allow_attachments=True, proxy_types=["thumbnail"]),
        )
    ).link
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join((await recipient.zip_all(link.token, None)).chunks))
    )
    names = archive.namelist()
    assert len(names) == len({n.lower() for n in names})
    notes = [n for n in names if n.rsplit("/", 1)[-1] == "notes.txt"]
    # Each file keeps its own name, in a folder that is its asset's alone.
    assert len(notes) == 2 and len({n.rsplit("/", 1)[0] for n in notes}) == 2
    assert sorted(archive.read(n) for n in notes) == [b"first", b"second"]
