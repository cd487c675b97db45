"""PDF: the first page rendered by pypdfium2 (pyvips-binary has no PDF loader).

The page is rendered straight at the size of the largest proxy, with the pixel count capped
by the limits, so a page declared a kilometre wide costs no more than a normal one. PDFium
is not thread-safe; one lock serialises its use within a process.
"""

from __future__ import annotations

import math
import os
import threading

import pyvips

from webapp.media.meta import RANK_CONTAINER, Found, add_keywords, parse_pdf_taken
from webapp.media.specs import Limits, MediaInfo, MediaRejected

_PDFIUM = threading.Lock()


def render_pdf(path: str, target: int, limits: Limits) -> tuple[MediaInfo, pyvips.Image | None]:
    _check_complete(path)
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            raise MediaRejected(_reason(exc)) from None
        try:
            return _render(pdf, target, limits)
        except pdfium.PdfiumError as exc:
            raise MediaRejected(_reason(exc)) from None
        finally:
            pdf.close()


def _render(pdf: object, target: int, limits: Limits) -> tuple[MediaInfo, pyvips.Image | None]:
    pages = len(pdf)  # type: ignore[arg-type]
    if pages == 0:
        raise MediaRejected("The PDF has no pages.")
    page = pdf[0]  # type: ignore[index]
    try:
        width_pt, height_pt = page.get_size()  # as displayed: /Rotate already applied
        largest = limits.max_pdf_page_points
        if not (0 < width_pt <= largest and 0 < height_pt <= largest):
            raise MediaRejected(
                f"The PDF's first page is {width_pt:,.0f} × {height_pt:,.0f} points; "
                f"pages up to {largest:,.0f} points ({largest / 72:,.0f} inches) a side "
                "are accepted."
            )
        found = Found()
        _metadata(pdf, found)
        found.put("pages", pages)
        found.put("page_width_pt", round(width_pt, 2))
        found.put("page_height_pt", round(height_pt, 2))
        info = MediaInfo(
            kind="document",
            mime="application/pdf",
            width=max(1, round(width_pt)),
            height=max(1, round(height_pt)),
            metadata=found.as_metadata(),
            **found.taken_fields(),
        )
        if target <= 0:
            return info, None
        scale = target / max(width_pt, height_pt)
        if width_pt * height_pt * scale * scale > limits.max_pixels:
            scale = math.sqrt(limits.max_pixels / (width_pt * height_pt))
        bitmap = page.render(
            scale=scale,
            fill_color=(255, 255, 255, 255),
            rev_byteorder=True,
            prefer_bgrx=True,
            may_draw_forms=False,
        )
        try:
            width, height, stride = bitmap.width, bitmap.height, bitmap.stride
            bands = bitmap.n_channels
            data = bytes(memoryview(bitmap.buffer).cast("B"))
        finally:
            bitmap.close()
    finally:
        page.close()
    row = width * bands
    if stride != row:
        data = b"".join(data[y * stride : y * stride + row] for y in range(height))
    image = pyvips.Image.new_from_memory(data, width, height, bands, "uchar")
    if bands == 4:
        image = image.extract_band(0, n=3)
    return info, image.copy(interpretation="srgb" if image.bands >= 3 else "b-w")


def _metadata(pdf: object, found: Found) -> None:
    try:
        meta = pdf.get_metadata_dict(skip_empty=True)  # type: ignore[attr-defined]
    except Exception:
        found.warn("The PDF's document information could not be read.")
        return
    found.put_text("title", meta.get("Title"))
    found.put_text("description", meta.get("Subject"))
    found.put_text("creator", meta.get("Author"))
    found.put_text("software", meta.get("Creator") or meta.get("Producer"))
    keywords = meta.get("Keywords") or ""
    add_keywords(found.keywords, keywords.replace(";", ",").split(","))
    found.put_taken(RANK_CONTAINER, parse_pdf_taken(meta.get("CreationDate")))


def _check_complete(path: str) -> None:
    """A PDF ends with %%EOF (readers accept it anywhere in the last kilobyte). PDFium
    would reconstruct a cut file and render half a page; a cut upload should fail instead."""
    with open(path, "rb") as fh:
        fh.seek(max(0, os.fstat(fh.fileno()).st_size - 2048))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise MediaRejected("The PDF file is truncated (its end-of-file marker is missing).")


def _reason(exc: Exception) -> str:
    text = str(exc).lower()
    if "password" in text:
        return "The PDF is password-protected."
    if "security" in text:
        return "The PDF uses an unsupported security handler."
    if "page not found" in text:
        return "The PDF's first page could not be found."
    if "format" in text or "file" in text:
        return "The PDF file is corrupt."
    return "The PDF could not be rendered."
