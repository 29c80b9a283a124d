"""The server's listening socket: what asyncio needs to see to send small writes at once."""

from __future__ import annotations

import socket
import time

import httpx

from tests.tg_site.conftest import SiteServer
from tg_site._serve import bind


def test_the_listening_socket_says_tcp_so_asyncio_disables_nagle() -> None:
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_keep_alive_requests_do_not_wait_for_a_delayed_ack(server: SiteServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.get("/healthz")
        times = []
        for _ in range(10):
            began = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append(time.perf_counter() - began)
    # Nagle + a 40 ms delayed ACK made every one of these ~40-50 ms; a loaded CI box may slow a few.
    assert sorted(times)[len(times) // 2] < 0.035, times
