"""Sockets of the namespace tests' programs (traffic.py, attack.py, app.py):
the address family of a host, a dual-stack socket, and the loop that
serves a socket until a deadline.  Programs that run as another user run
from a copy: copy this module beside them (app_lib.sh, t_ct_flood.sh)."""
import socket
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def dual_stack(kind):
    """An IPv6 socket that takes IPv4 too (bind it to "::")."""
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def arrivals(s, end, receive):
    """What receive() (s.accept, or a recvfrom of s) returns, one at a time,
    until time.time() reaches end: s waits no longer than that."""
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            got = receive()
        except (socket.timeout, TimeoutError):
            return
        yield got


def answer_pong(c):
    """A probe's connection: read its ping, answer "pong", close."""
    c.settimeout(2)
    try:
        c.recv(100)
        c.sendall(b"pong")
    except OSError:
        pass
    c.close()
