"""The unit tier's guards hold: no internet socket, no aiohttp."""

from __future__ import annotations

import asyncio
import importlib
import socket

import pytest
import pytest_socket


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_an_internet_socket_is_refused() -> None:
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9))


def test_aiohttp_cannot_be_imported() -> None:
    with pytest.raises(ImportError):
        importlib.import_module("aiohttp")


def test_an_event_loop_still_runs() -> None:
    # asyncio wakes its loop through a Unix socket pair, which stays allowed
    assert asyncio.run(asyncio.sleep(0, "ran")) == "ran"
