"""`sscmatch serve` refuses what it cannot serve on with a one-line error, before uvicorn."""

from __future__ import annotations

import socket

import pytest

from tests.cli.helpers import run


@pytest.mark.usefixtures("cli_db")
def test_serve_on_a_port_in_use_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as other:  # another process's server, on a port the system chose
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]

        status, _out, err = run(capsys, "serve", "--host", "127.0.0.1", "--port", str(port))

    assert (status, err) == (
        1, f"error: port {port} on 127.0.0.1 is already in use; choose another with --port or "
           "stop the other process.\n")
