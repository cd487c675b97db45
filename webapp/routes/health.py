"""GET /healthz for load balancers, operators and the domain check (Admin -> Domain), which
recognises this instance by the `instance` id it reports."""

from __future__ import annotations

from litestar import Response, get

from webapp.system import health
from webapp.system.domain_check import instance_id


@get("/healthz", name="healthz")
async def healthz() -> Response:
    ok, checks = await health.check_all()
    try:
        instance = await instance_id()
    except Exception:  # the database is down: the checks say so
        instance = ""
    return Response(
        {"status": "ok" if ok else "degraded", "instance": instance, "checks": checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )
