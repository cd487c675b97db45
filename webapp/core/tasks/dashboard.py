"""The RQ dashboard (rq-dashboard, a Flask app) configured for Pictorium's Redis and JSON jobs."""

from __future__ import annotations

from typing import Any

from webapp.settings import Settings

PREFIX = "/admin/rq"

# A bar above the dashboard's own navigation on each of its pages: the way back to Pictorium.
# Inline style only (its pages' policy allows inline style; no script is added).
BACK_BAR = (
    '<div id="pictorium-back" style="background:#1d2330;padding:.45rem 1rem;'
    'font:14px/1.4 system-ui,sans-serif"><a href="/admin/users" data-test="rq-back" '
    'style="color:#fff;font-weight:600;text-decoration:underline">'
    "\u2190 Back to Pictorium</a></div>"
)


def with_back_link(html: str) -> str:
    """The page with BACK_BAR as the first thing in its body (once; pages without a body tag
    are left as they are)."""
    if 'id="pictorium-back"' in html:
        return html
    start = html.find("<body")
    end = html.find(">", start) if start >= 0 else -1
    if end < 0:
        return html
    return html[: end + 1] + BACK_BAR + html[end + 1 :]


def make_dashboard_app(settings: Settings, url_prefix: str = PREFIX) -> Any:
    from flask import Flask
    from rq.serializers import JSONSerializer
    from rq_dashboard.web import blueprint, setup_rq_connection
    from rq_dashboard.web import config as dashboard_config

    # Our jobs are JSON-serialized (core/tasks); the dashboard must read them so.
    dashboard_config.serializer = JSONSerializer

    app = Flask(__name__)
    app.config.from_object("rq_dashboard.default_settings")
    app.config["RQ_DASHBOARD_REDIS_URL"] = [settings.redis_url]
    app.config["SECRET_KEY"] = settings.secret_key
    app.register_blueprint(blueprint, url_prefix=url_prefix or None)
    setup_rq_connection(app)

    @app.after_request
    def add_back_link(response: Any) -> Any:
        if response.mimetype == "text/html" and not response.direct_passthrough:
            response.set_data(with_back_link(response.get_data(as_text=True)))
        return response

    return app
