"""Pictorium: a self-hosted digital asset manager."""

import os

# Piccolo finds its engine through this module; set it before any table is imported so the
# package works from any working directory.
os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
