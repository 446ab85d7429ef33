"""uvicorn's HTTP protocol with TCP_NODELAY set on every connection.

With `--workers` > 1 uvicorn binds the listening socket itself, without naming the protocol
(`socket.socket(family)`, so `proto` is 0); asyncio then skips TCP_NODELAY on the accepted
connections (it sets it only when `proto == IPPROTO_TCP`). Nagle's algorithm and the client's
delayed ACK then hold each response ~40 ms: on loopback one client got 22 requests/s with two
workers against 880 with one (bench/load.py). Setting the option per connection fixes both.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

try:  # the protocol uvicorn's "auto" would pick
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]


class NoDelayHTTPProtocol(_Base):
    """The usual protocol, after switching Nagle's algorithm off on the connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
