"""The hostile-file corpus through the whole stack: uploaded through the JSON API, ingested
by a real forking worker (`pictorium worker --burst`), each file ends as an asset in state
"failed" with a readable reason (or is refused at upload with one), and the web keeps
serving throughout."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from tests.factories import make_token, make_user
from tests.unit.test_hostile_files import CASES
from webapp.media.specs import Limits

# The cases rejected under the limits the ingest job uses (a few unit cases shrink a limit).
REJECTED = [c for c in CASES if c.reason is not None and c.limits == Limits()]


@pytest.mark.slow
async def test_every_hostile_file_ends_failed_and_the_web_keeps_serving(client, tmp_path):
    assert len(REJECTED) >= 30
    user = await make_user("ingest@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    uploaded: dict[str, str] = {}
    refused: dict[str, str] = {}
    for case in REJECTED:
        folder = tmp_path / case.id
        folder.mkdir()
        data = case.make(folder)
        response = await client.post(
            "/api/v1/assets",
            files={"file": (case.filename, data, "application/octet-stream")},
            data={"tags": case.id},
            headers=auth,
        )
        if response.status_code == 201:
            uploaded[case.id] = response.json()["id"]
        else:
            # Refused at the door (an empty file): a clear message, nothing stored.
            assert response.status_code == 422, (case.id, response.text)
            refused[case.id] = response.json()["error"]["message"]
    assert refused.keys() <= {"zero-bytes"}

    worker = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "webapp", "worker", "--burst"],
        env=os.environ.copy(),
        capture_output=True,
        timeout=600,
    )
    assert worker.returncode == 0, worker.stderr.decode()[-2000:]

    for case_id, uuid in uploaded.items():
        body = (await client.get(f"/api/v1/assets/{uuid}", headers=auth)).json()
        assert body["status"] == "failed", (case_id, body["status"])
        assert body["status_reason"] and len(body["status_reason"]) < 300, case_id
        assert "Traceback" not in body["status_reason"]
    assert (await client.get("/healthz")).status_code == 200
    listing = await client.get("/api/v1/assets?status=failed&limit=100", headers=auth)
    assert len(listing.json()["items"]) == len(uploaded)
