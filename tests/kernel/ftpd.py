#!/usr/bin/python3
"""An FTP server for the namespace tests (python3-pyftpdlib, Debian's
module: run with /usr/bin/python3).  Anonymous, read-only, serving ROOT on
ADDR:PORT until killed.

  ftpd.py ADDR PORT ROOT [--passive-ports LO-HI] [--log FILE]

--log FILE: every command, answer and connection (pyftpdlib's debug log),
for a failed test to show where a session stopped (ftp_lib.sh ftp_diag).

pyftpdlib answers PASV with 227 and EPSV with 229, and for PORT/EPRT
connects back from its control address, any source port.

Its single event loop can lose a connection when several sessions start at
once: the kernel acknowledges USER (or PORT) and no answer ever comes.
Seen in 8 of 240 listings made four at a time with no firewall loaded,
never in 500 made one at a time: tests run their sessions one after the
other, and concurrent sessions go to vsftpd (ftp_lib.sh)."""
import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("root")
    ap.add_argument("--passive-ports")
    ap.add_argument("--log")
    a = ap.parse_args()
    if a.log:
        logging.basicConfig(filename=a.log, level=logging.DEBUG, format="%(asctime)s %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING)
    auth = DummyAuthorizer()
    auth.add_anonymous(a.root, perm="elr")
    handler = FTPHandler
    handler.authorizer = auth
    if a.passive_ports:
        lo, hi = a.passive_ports.split("-")
        handler.passive_ports = range(int(lo), int(hi) + 1)
    server = FTPServer((a.addr, a.port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
