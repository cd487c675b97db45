"""The RQ dashboard (rq-dashboard, a Flask app) configured for Pictorium's Redis and JSON jobs."""

from __future__ import annotations

from typing import Any

from webapp.settings import Settings

PREFIX = "/admin/rq"


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
    return app
