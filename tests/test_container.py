"""The image's health check (the Dockerfile's HEALTHCHECK command), run as Docker runs it."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def _healthcheck_code() -> str:
    """The Python code of the HEALTHCHECK's `CMD python -c CODE`."""
    instructions = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    [healthcheck] = [line for line in instructions if line.startswith("HEALTHCHECK ")]
    command = shlex.split(healthcheck.partition(" CMD ")[2])
    assert command[:2] == ["python", "-c"], command
    return command[2]


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[int]]]:
    """A server on 127.0.0.1 whose /health answers the status at the head of the list."""
    status = [200]

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0] if self.path == "/health" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], status
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_healthcheck_asks_the_server_itself_whatever_proxy_is_set(
    health_server: tuple[int, list[int]], status: int, healthy: bool
) -> None:
    """Docker passes the proxy settings of the client's config.json to every container
    (HTTP_PROXY, NO_PROXY often `localhost` only): the check must still ask the server
    at 127.0.0.1, not a proxy that cannot reach it."""
    port, answer = health_server
    answer[0] = status
    with socket.socket() as no_proxy_here:  # bound, not listening: connections are refused
        no_proxy_here.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{no_proxy_here.getsockname()[1]}"
        env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
        env |= {
            "PORT": str(port),
            "HTTP_PROXY": proxy,
            "http_proxy": proxy,
            "NO_PROXY": "localhost",
            "no_proxy": "localhost",
        }

        done = subprocess.run(
            [sys.executable, "-c", _healthcheck_code()],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert (done.returncode == 0) is healthy, done.stderr


def _exec_form(instruction: str) -> list[str]:
    """The JSON array of the Dockerfile's ENTRYPOINT or CMD."""
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    [line] = [line for line in lines if line.startswith(f"{instruction} ")]
    form: list[str] = json.loads(line.removeprefix(f"{instruction} "))
    return form


@pytest.mark.parametrize("url", [None, "", "postgresql://user:pass@db:5432/sscmatch"])
def test_every_command_of_the_image_needs_a_database_url(url: str | None) -> None:
    """Without DATABASE_URL, sscmatch would keep its data in a SQLite file inside the
    container, lost with it: the entrypoint refuses to run any command (the server or one
    given to `docker run`, such as `sscmatch migrate`) and says what to set."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if url is not None:
        env["DATABASE_URL"] = url
    command = [*_exec_form("ENTRYPOINT"), sys.executable, "-c", "print('ran')"]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          check=False)

    if url:
        assert (done.returncode, done.stdout, done.stderr) == (0, "ran\n", "")
    else:
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.startswith("error: set DATABASE_URL, e.g. postgresql://"), done.stderr


def test_the_image_serves_by_default_through_its_entrypoint() -> None:
    assert _exec_form("CMD")[:2] == ["sh", "-c"]
    assert "exec sscmatch serve --host 0.0.0.0" in _exec_form("CMD")[2]
