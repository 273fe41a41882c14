"""Free TCP ports on 127.0.0.1 for servers we start (ZooKeeper, brokers, test fixtures).

The kernel picks an unused ephemeral port when we bind port 0; we close the socket and hand the number
to the server that will bind it. Someone else could grab the port in between; that window is short and
a server that fails to bind reports it. :func:`free_ports` keeps all sockets open until it has ``n`` of
them, so the ports it returns are distinct.
"""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


def free_ports(n: int, host: str = LOCALHOST) -> list[int]:
    """``n`` distinct ports that were free on ``host`` a moment ago."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port(host: str = LOCALHOST) -> int:
    """One port that was free on ``host`` a moment ago."""
    return free_ports(1, host)[0]


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """True when nothing listens on ``host:port``, i.e. a server could bind it now.

    SO_REUSEADDR as servers set it (ZooKeeper, asyncio): connections of a previous server lingering in
    TIME_WAIT do not make the port busy for a new one.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
