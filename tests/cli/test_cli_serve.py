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


def test_serve_help_gives_the_address_it_listens_on_by_default(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --help` listed --host and --port without a word: that the default, 127.0.0.1,
    is reachable from this machine only (a container needs --host 0.0.0.0) was not said."""
    with pytest.raises(SystemExit) as stopped:
        run(capsys, "serve", "--help")

    out = " ".join(capsys.readouterr().out.split())
    assert stopped.value.code == 0
    assert "default: 127.0.0.1, this machine only; 0.0.0.0 for every interface" in out
    assert "--port PORT TCP port (default: 8000)" in out
