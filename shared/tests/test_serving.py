"""certifia_shared.serving: the socket WEB_WORKERS > 1 share, and the refusal on SQLite."""

from __future__ import annotations

import asyncio
import socket

from certifia_shared.serving import listening_socket


def test_connections_accepted_on_the_workers_socket_get_tcp_nodelay() -> None:
    """uvicorn's own bind_socket() leaves proto at 0 and asyncio then leaves Nagle on: each keep-alive
    response after the first waited for the client's delayed ACK (~40 ms a request)."""
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(accept_one())
    assert sock.proto == socket.IPPROTO_TCP
    assert seen == [1]
