"""GET /healthz for load balancers and operators."""

from __future__ import annotations

from litestar import Response, get

from webapp.system import health


@get("/healthz", name="healthz")
async def healthz() -> Response:
    ok, checks = await health.check_all()
    return Response(
        {"status": "ok" if ok else "degraded", "checks": checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )
