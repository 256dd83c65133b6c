#!/usr/bin/env python3
"""A small network application for the socket-hook tests (t_app_*.sh).
Each command prints one word (and milliseconds) that a shell test asserts:

  app.py socket tcp|udp                 "ok" or the errno name (socket creation)
  app.py connect tcp|udp HOST PORT      "open MS" (answered), "refused MS", "eperm MS",
                                        "timeout MS", or "error-WHAT MS"
  app.py sendto HOST PORT               unconnected UDP: sendto, then wait for the answer:
                                        "open", "refused", "eperm", "timeout"
  app.py session HOST PORT              one connected UDP socket kept open: for each line
                                        read from stdin, one datagram and "open", "timeout"
                                        or the errno name; "ready" once connected
  app.py serve tcp|udp PORT SECONDS [ADDR]
                                        bind (to ADDR, default :: dual-stack, with
                                        SO_REUSEADDR) + listen and answer "pong";
                                        prints "listening" once bound, or the bind
                                        error ("eperm", "refused") and exits
  app.py listen-auto SECONDS            TCP listen() without bind() (the kernel
                                        picks the port), answer "pong": prints
                                        "listening PORT"
  app.py fill N SECONDS                 binds up to N UDP sockets to 127.0.0.1,
                                        keeps them: prints "filled K"
Run it as a copy of python3 (a distinct executable) to be a distinct app.
Every call is bounded by its own timeouts (connect: 1.5 s, or
APP_CONNECT_TIMEOUT seconds, for a connection held while it is asked about)."""
import errno
import os
import socket
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def kind(proto):
    return socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM


def errname(e):
    if e.errno == errno.EPERM:
        return "eperm"
    if e.errno == errno.ECONNREFUSED:
        return "refused"
    return "error-" + errno.errorcode.get(e.errno, str(e.errno))


def out(word, t0=None):
    print(word if t0 is None else "%s %d" % (word, int((time.time() - t0) * 1000)), flush=True)


def do_socket(proto):
    try:
        socket.socket(socket.AF_INET, kind(proto)).close()
        out("ok")
    except OSError as e:
        out(errname(e))


def do_connect(proto, host, port):
    t0 = time.time()
    try:
        s = socket.socket(family(host), kind(proto))
    except OSError as e:
        return out("socket-" + errname(e), t0)
    s.settimeout(float(os.environ.get("APP_CONNECT_TIMEOUT", "1.5")))
    try:
        s.connect((host, port))
        s.send(b"ping")
        data = s.recv(100)
        out("open" if data == b"pong" else "closed", t0)
    except (socket.timeout, TimeoutError):
        out("timeout", t0)
    except ConnectionResetError:
        out("refused", t0)
    except OSError as e:
        out(errname(e), t0)


def do_sendto(host, port):
    t0 = time.time()
    try:
        s = socket.socket(family(host), socket.SOCK_DGRAM)
    except OSError as e:
        return out("socket-" + errname(e), t0)
    s.settimeout(1.5)
    try:
        s.sendto(b"ping", (host, port))
        data, _ = s.recvfrom(100)
        out("open" if data == b"pong" else "closed", t0)
    except (socket.timeout, TimeoutError):
        out("timeout", t0)
    except OSError as e:
        out(errname(e), t0)


def do_session(host, port):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    try:
        s.connect((host, port))
    except OSError as e:
        return out(errname(e))
    out("ready")
    s.settimeout(1)
    for _ in sys.stdin:
        try:
            s.send(b"ping")
            while s.recv(100) != b"pong":
                pass
            out("open")
        except (socket.timeout, TimeoutError):
            out("timeout")
        except OSError as e:
            out(errname(e))


def answer(s, proto, end):
    """Answers "pong" to each connection or datagram until end."""
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            if proto == "tcp":
                c, _ = s.accept()
                c.settimeout(2)
                try:
                    c.recv(100)
                    c.sendall(b"pong")
                except OSError:
                    pass
                c.close()
            else:
                _, peer = s.recvfrom(2000)
                s.sendto(b"pong", peer)
        except (socket.timeout, TimeoutError):
            break


def do_serve(proto, port, seconds, addr="::"):
    end = time.time() + seconds
    try:
        s = socket.socket(family(addr), kind(proto))
        if family(addr) == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        if proto == "tcp":
            s.listen(16)
    except OSError as e:
        return out(errname(e))
    out("listening")
    answer(s, proto, end)


def do_listen_auto(seconds):
    """listen() on a TCP socket that was never bound: the kernel picks the port."""
    end = time.time() + seconds
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        s.listen(16)
    except OSError as e:
        return out(errname(e))
    out("listening %d" % s.getsockname()[1])
    answer(s, "tcp", end)


def do_fill(n, seconds):
    """Binds up to n UDP sockets to 127.0.0.1 (ports the kernel picks) and
    keeps them for seconds: "filled K"."""
    socks = []
    for _ in range(n):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
        except OSError:
            break
        socks.append(s)
    out("filled %d" % len(socks))
    time.sleep(seconds)


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "socket":
        do_socket(a[1])
    elif len(a) == 4 and a[0] == "connect":
        do_connect(a[1], a[2], int(a[3]))
    elif len(a) == 3 and a[0] == "sendto":
        do_sendto(a[1], int(a[2]))
    elif len(a) == 3 and a[0] == "session":
        do_session(a[1], int(a[2]))
    elif len(a) in (4, 5) and a[0] == "serve":
        do_serve(a[1], int(a[2]), float(a[3]), *a[4:])
    elif len(a) == 2 and a[0] == "listen-auto":
        do_listen_auto(float(a[1]))
    elif len(a) == 3 and a[0] == "fill":
        do_fill(int(a[1]), float(a[2]))
    else:
        sys.exit(__doc__)


main()
