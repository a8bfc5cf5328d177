"""Helpers for tests and experiments (as starlette ships ``testclient.py``).

:mod:`.loopback`: servers started on 127.0.0.1 and stopped afterwards (dynalite,
redis-server, ``millicent serve``), free ports and waits. Tooling: never shipped.
"""
