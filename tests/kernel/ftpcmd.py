#!/usr/bin/python3
"""Raw FTP commands for the namespace tests: log in anonymously to
HOST:PORT, send each CMD on the control connection and print its reply (one
line each, errors included), then keep the connection open HOLD seconds.
Opens no data connection itself.

  ftpcmd.py HOST PORT [--hold SECONDS] CMD...
e.g. ftpcmd.py 192.0.2.2 21 "EPRT |1|192.0.2.99|40000|" EPSV"""
import argparse
import ftplib
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("cmds", nargs="+")
    a = ap.parse_args()
    f = ftplib.FTP()
    f.connect(a.host, a.port, timeout=10)
    f.login()
    for c in a.cmds:
        try:
            r = f.sendcmd(c)
        except ftplib.Error as e:
            r = str(e)
        print(r, flush=True)
    time.sleep(a.hold)
    f.close()


if __name__ == "__main__":
    sys.exit(main())
