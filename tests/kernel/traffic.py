#!/usr/bin/env python3
"""Traffic for the namespace tests: listeners and probes whose outcome is
one word, so a shell test can assert it.

  traffic.py listen tcp|udp PORT SECONDS     serve on [::]:PORT (IPv4 too), answer "pong"
  traffic.py probe tcp|udp HOST PORT [TIMEOUT [SRCPORT [SRCADDR]]]
        prints "open MS" (answered), "refused MS" (TCP RST or ICMP unreachable)
        or "timeout MS" (nothing came back), MS = milliseconds it took;
        SRCPORT: send from that port (e.g. 20, as an FTP server does; 0: any),
        SRCADDR: from that address of the host (a second one: a third host)
  traffic.py stream-server PORT SECONDS      accept one connection, count the bytes
        until EOF, send the count back, print it
  traffic.py stream-client HOST PORT BYTES SECONDS [stall]
        send BYTES spread over SECONDS, then print "sent N acked M" (M: the
        server's count; with `stall` also "max_stall_ms S", the longest one of
        the 100 chunks took to go out), or "error WHAT after N"
  traffic.py talk-server PORT SECONDS HEARD GO
        accept one connection, read requests up to "end", create the file
        HEARD, wait for the file GO (up to SECONDS), answer, print "answered"
  traffic.py talk-client HOST PORT N
        N small requests 5 ms apart (each its own segment), then "end"; print
        "answered MS" when the answer came within 10 s of "end", else
        "timeout MS" (or "error WHAT")
  traffic.py count PORT SECONDS              UDP datagrams that reach PORT, printed at the end
  traffic.py spray HOST PORT SECONDS INTERVAL
        one UDP datagram every INTERVAL seconds, print how many were sent
Every call is bounded by its own timeouts."""
import os
import socket
import sys
import time

from serve import answer_pong, arrivals, dual_stack, family


def listen(proto, port, seconds):
    end = time.time() + seconds
    if proto == "tcp":
        s = dual_stack(socket.SOCK_STREAM)
        s.bind(("::", port))
        s.listen(16)
        for c, _ in arrivals(s, end, s.accept):
            answer_pong(c)
    else:
        s = dual_stack(socket.SOCK_DGRAM)
        s.bind(("::", port))
        for _, peer in arrivals(s, end, lambda: s.recvfrom(2000)):
            s.sendto(b"pong", peer)


def probe(proto, host, port, timeout, srcport=0, srcaddr=""):
    t0 = time.time()
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(host), kind)
    s.settimeout(timeout)
    if srcport or srcaddr:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((srcaddr or ("::" if family(host) == socket.AF_INET6 else "0.0.0.0"), srcport))
    try:
        s.connect((host, port))
        s.send(b"ping")
        # UDP: an ICMP port unreachable for the datagram fails this recv
        data = s.recv(100)
        result = "open" if data == b"pong" else "closed"
    except ConnectionRefusedError:
        result = "refused"
    except (socket.timeout, TimeoutError):
        result = "timeout"
    except ConnectionResetError:
        result = "refused"
    except OSError as e:
        result = "error-" + (e.strerror or str(e)).replace(" ", "-")
    print(result, int((time.time() - t0) * 1000))


def accept_one(port, seconds):
    """One TCP connection to [::]:PORT (IPv4 too), within SECONDS."""
    s = dual_stack(socket.SOCK_STREAM)
    s.bind(("::", port))
    s.listen(1)
    s.settimeout(seconds)
    c, _ = s.accept()
    c.settimeout(seconds)
    return c


def stream_server(port, seconds):
    c = accept_one(port, seconds)
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    c.sendall(str(n).encode())
    c.close()
    print(n)


def stream_client(host, port, total, seconds, stall_out=False):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(5)
    sent = 0
    try:
        s.connect((host, port))
        chunks = 100
        chunk = b"r" * (total // chunks)
        t0 = time.time()
        stall = 0.0  # the longest a chunk took to go out
        for i in range(chunks):
            t1 = time.time()
            s.sendall(chunk)
            stall = max(stall, time.time() - t1)
            sent += len(chunk)
            pause = t0 + seconds * (i + 1) / chunks - time.time()
            if pause > 0:
                time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        acked = s.recv(100).decode()
        print("sent", sent, "acked", acked, *(["max_stall_ms", int(stall * 1000)] if stall_out else []))
    except OSError as e:
        print("error", type(e).__name__, "after", sent)


def talk_server(port, seconds, heard, go):
    c = accept_one(port, seconds)
    got = b""
    while not got.endswith(b"end\n"):
        b = c.recv(4096)
        if not b:
            sys.exit("talk-server: the client left before \"end\"")
        got += b
    open(heard, "w").close()
    end = time.time() + seconds
    while not os.path.exists(go) and time.time() < end:
        time.sleep(0.02)
    c.sendall(b"answer\n")
    c.settimeout(12)
    c.recv(100)  # until the client closes: the answer was read
    print("answered")


def talk_client(host, port, n):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(5)
    try:
        s.connect((host, port))
        for _ in range(n):
            s.sendall(b"req\n")
            time.sleep(0.005)
        s.sendall(b"end\n")
        t0 = time.time()
        s.settimeout(10)
        try:
            s.recv(100)
            print("answered", int((time.time() - t0) * 1000))
        except socket.timeout:
            print("timeout", int((time.time() - t0) * 1000))
    except OSError as e:
        print("error", type(e).__name__)


def count(port, seconds):
    """UDP datagrams that reach PORT within SECONDS, printed at the end."""
    s = dual_stack(socket.SOCK_DGRAM)
    s.bind(("::", port))
    end = time.time() + seconds
    n = sum(1 for _ in arrivals(s, end, lambda: s.recvfrom(2000)))
    print(n, flush=True)


def spray(host, port, seconds, interval):
    """One UDP datagram to HOST:PORT every INTERVAL seconds; prints how many."""
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        try:
            s.sendto(b"probe", (host, port))
            n += 1
        except OSError:
            pass
        time.sleep(interval)
    print(n, flush=True)


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "listen":
        listen(a[1], int(a[2]), float(a[3]) if len(a) > 3 else 30)
    elif len(a) >= 4 and a[0] == "probe":
        probe(a[1], a[2], int(a[3]), float(a[4]) if len(a) > 4 else 1.5, int(a[5]) if len(a) > 5 else 0,
              a[6] if len(a) > 6 else "")
    elif len(a) == 3 and a[0] == "count":
        count(int(a[1]), float(a[2]))
    elif len(a) == 5 and a[0] == "spray":
        spray(a[1], int(a[2]), float(a[3]), float(a[4]))
    elif len(a) == 3 and a[0] == "stream-server":
        stream_server(int(a[1]), float(a[2]))
    elif len(a) == 5 and a[0] == "talk-server":
        talk_server(int(a[1]), float(a[2]), a[3], a[4])
    elif len(a) == 4 and a[0] == "talk-client":
        talk_client(a[1], int(a[2]), int(a[3]))
    elif len(a) in (5, 6) and a[0] == "stream-client":
        stream_client(a[1], int(a[2]), int(a[3]), float(a[4]), len(a) == 6 and a[5] == "stall")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
