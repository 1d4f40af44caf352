"""`sip dev fake-groq` for benchmarks, with Nagle's algorithm off on every connection.

    python -m bench.fake_groq --port 0 --unlimited --ttft-ms 100 --tps 1000

The same command and options as `sip dev fake-groq`. One difference: the listening socket
is created with `IPPROTO_TCP` so that asyncio turns Nagle's algorithm off (`TCP_NODELAY`)
on the connections it accepts. `sipai.dev.server.bind_socket` creates it with protocol 0,
which asyncio's transport does not recognise as TCP, so it leaves Nagle on; the response
headers and body then go out as two segments and the second waits for the client's
delayed ACK — about 40 ms added to every request after the first on a kept-alive
connection, which would drown the overheads measured here. When `bind_socket` already
creates TCP sockets, nothing is changed.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence


def bind_tcp_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket whose accepted connections get `TCP_NODELAY`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def needs_patch() -> bool:
    """Whether the emulator's own `bind_socket` leaves Nagle on (protocol 0)."""
    from sipai.dev.server import bind_socket

    probe = bind_socket("127.0.0.1", 0)
    try:
        return probe.proto != socket.IPPROTO_TCP
    finally:
        probe.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run `sip dev fake-groq` with the given options."""
    import sipai.cli.dev as dev

    if needs_patch():
        dev.bind_socket = bind_tcp_socket  # type: ignore[attr-defined]
    dev.dev_app(["fake-groq", *(sys.argv[1:] if argv is None else argv)],
                prog_name="sip dev")


if __name__ == "__main__":
    main()
