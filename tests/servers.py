"""Real servers the tests start on loopback: Pictorium processes (web, worker) on free ports.

Loaded as a pytest plugin from conftest.py."""
