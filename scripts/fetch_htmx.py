"""Fetch the pinned htmx from the npm registry into static/vendor/, checking its integrity.

Uses `npm pack` when npm is installed, else downloads the tarball over HTTPS; either way the
tarball's SHA-512 must equal the pinned one before anything is written. Does nothing when the
file is already there with the pinned content."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

VERSION = "2.0.11"
INTEGRITY = "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="  # noqa: E501
TARBALL = f"https://registry.npmjs.org/htmx.org/-/htmx.org-{VERSION}.tgz"
MEMBER = "package/dist/htmx.min.js"
TARGET = Path(__file__).resolve().parent.parent / "static" / "vendor" / "htmx.min.js"
STAMP = TARGET.with_suffix(".version")


def _tarball() -> bytes:
    if shutil.which("npm"):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                ["npm", "pack", f"htmx.org@{VERSION}", "--silent", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=180,
            )
            files = list(Path(tmp).glob("*.tgz"))
            if out.returncode == 0 and files:
                return files[0].read_bytes()
            print(
                f"fetch_htmx: npm pack failed ({out.stderr.strip()[:200]}); trying HTTPS",
                file=sys.stderr,
            )
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        return response.read()


def main() -> int:
    if TARGET.exists() and STAMP.exists() and STAMP.read_text().strip() == INTEGRITY:
        return 0
    data = _tarball()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        print(
            f"fetch_htmx: integrity mismatch for htmx.org@{VERSION}: got {digest}", file=sys.stderr
        )
        return 1
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            print(f"fetch_htmx: {MEMBER} missing from the tarball", file=sys.stderr)
            return 1
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(member.read())
    STAMP.write_text(INTEGRITY)
    print(f"fetch_htmx: htmx.org@{VERSION} -> {TARGET.relative_to(TARGET.parents[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
