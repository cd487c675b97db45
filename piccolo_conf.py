"""Piccolo's configuration: the engine comes from DATABASE_URL (webapp/settings.py)."""

from piccolo.conf.apps import AppRegistry

from webapp.core.db import make_engine
from webapp.settings import get_settings

DB = make_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["webapp.piccolo_app"])
