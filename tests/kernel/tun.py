#!/usr/bin/env python3
"""A tun device (no link layer) driven from user space, as a VPN client
would: packets written into its fd arrive on the device; what the host
sends out of it is read back from the fd.

    tun.py NAME FIFO       create NAME (IFF_TUN, no packet info), bring it up
                           with 198.51.100.1/24 and 2001:db8:1::1/64, print
                           "ready", then answer commands read from FIFO, one
                           per line:
      syn FAMILY PORT      write a TCP SYN from the peer (198.51.100.2 /
                           2001:db8:1::2) to PORT; print synack, rst or timeout
      udp FAMILY PORT      write a UDP datagram; print unreach, reply or timeout
      quit
"""
import fcntl
import os
import random
import select
import struct
import subprocess
import sys
import time

from scapy.layers.inet import IP, TCP, UDP, ICMP
from scapy.layers.inet6 import IPv6, ICMPv6DestUnreach

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
LOCAL = {"4": "198.51.100.1", "6": "2001:db8:1::1"}
PEER = {"4": "198.51.100.2", "6": "2001:db8:1::2"}


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True)


def packet(family, proto, port):
    l3 = IP(src=PEER["4"], dst=LOCAL["4"]) if family == "4" else IPv6(src=PEER["6"], dst=LOCAL["6"])
    sport = random.randint(20000, 60000)
    if proto == "tcp":
        return bytes(l3 / TCP(sport=sport, dport=port, flags="S", seq=1000)), sport
    return bytes(l3 / UDP(sport=sport, dport=port) / b"probe"), sport


def answer(fd, family, proto, sport, timeout=1.0):
    """The host's answer to our probe, by what it is."""
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return "timeout"
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return "timeout"
        raw = os.read(fd, 65536)
        pkt = IP(raw) if raw[0] >> 4 == 4 else IPv6(raw)
        if proto == "tcp" and pkt.haslayer(TCP) and pkt[TCP].dport == sport:
            flags = pkt[TCP].flags
            if flags & 0x04:
                return "rst"
            if flags & 0x12 == 0x12:
                return "synack"
        if proto == "udp":
            if pkt.haslayer(UDP) and pkt[UDP].dport == sport:
                return "reply"
            if (pkt.haslayer(ICMP) and pkt[ICMP].type == 3) or pkt.haslayer(ICMPv6DestUnreach):
                return "unreach"


def main():
    name = sys.argv[1]
    fd = open_tun(name)
    ip("link", "set", name, "up")
    ip("addr", "add", LOCAL["4"] + "/24", "dev", name)
    ip("-6", "addr", "add", LOCAL["6"] + "/64", "dev", name, "nodad")
    print("ready", flush=True)
    # opened read-write: neither side blocks waiting for the other
    cmds = os.fdopen(os.open(sys.argv[2], os.O_RDWR), "r")
    for line in cmds:
        words = line.split()
        if not words or words[0] == "quit":
            break
        cmd, family, port = words[0], words[1], int(words[2])
        proto = "tcp" if cmd == "syn" else "udp"
        data, sport = packet(family, proto, port)
        os.write(fd, data)
        print(answer(fd, family, proto, sport), flush=True)


if __name__ == "__main__":
    main()
