"""Loaded by every Python an offline test run starts (tests/offline.sh puts this folder on PYTHONPATH when the
machine gives no network namespace): a socket audit hook refuses any connection or name lookup beyond loopback.
Isolated children (`python -I`: the model workers, the attachment reader) skip it; they open no sockets."""

import ipaddress
import socket
import sys

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _loopback(host: object) -> bool:
    if host is None or (isinstance(host, str) and host.lower() in LOOPBACK_NAMES):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


def _refuse_the_network(event: str, args: tuple) -> None:
    if event == "socket.getaddrinfo" and not _loopback(args[0]):
        raise socket.gaierror(socket.EAI_NONAME, f"offline test run: no name lookup for {args[0]!r}")
    if event in ("socket.connect", "socket.sendto") and args[0].family in (socket.AF_INET, socket.AF_INET6):
        if not _loopback(args[1][0]):
            raise OSError(101, f"offline test run: no connection to {args[1][0]!r}")


sys.addaudithook(_refuse_the_network)
