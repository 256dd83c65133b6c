#!/usr/bin/python3
"""Raw FTP commands for the namespace tests: log in anonymously to
HOST:PORT, run each STEP on the control connection and print what came of
it (one line each, errors included), then keep the connection open HOLD
seconds.  Opens a data connection only when a step says so.

  ftpcmd.py HOST PORT [--hold SECONDS] STEP...
  STEP  CMD        send the command line CMD, print the reply
        A^B^C      the same line in pieces, one TCP segment each (TCP_NODELAY,
                   0.3 s apart): "EP^RT |1|192.0.2.1|40000|"
        ?FILE      wait (at most 20 s) until FILE exists
        LIST       a listing over the port the last 227/229 reply announced;
                   prints "LIST N bytes" or "LIST failed: WHY"
e.g. ftpcmd.py 192.0.2.2 21 "EPRT |1|192.0.2.99|40000|" EPSV"""
import argparse
import ftplib
import os
import re
import socket
import sys
import time


def send_pieces(f, line):
    """The command line in pieces, each its own segment, then its reply."""
    f.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pieces = (line + "\r\n").split("^")
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(0.3)
        f.sock.sendall(piece.encode())
    return f.getresp()


def wait_for(path):
    for _ in range(200):
        if os.path.exists(path):
            return "waited for " + path
        time.sleep(0.1)
    return "gave up waiting for " + path


def listing(f, host, last_reply):
    """LIST over the data connection the last 227/229 reply announced."""
    m = re.search(r"\(\|\|\|(\d+)\|\)", last_reply) or re.search(r"\d+,\d+,\d+,\d+,(\d+),(\d+)", last_reply)
    if not m:
        return "LIST failed: no 227/229 reply before it"
    port = int(m.group(1)) if len(m.groups()) == 1 else int(m.group(1)) * 256 + int(m.group(2))
    try:
        data = socket.create_connection((host, port), timeout=5)
        f.sendcmd("LIST")  # 150: the listing follows on the data connection
        n = 0
        while True:
            b = data.recv(65536)
            if not b:
                break
            n += len(b)
        data.close()
        f.voidresp()  # 226
        return "LIST %d bytes" % n
    except (OSError, ftplib.Error) as e:
        return "LIST failed: %s" % e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("steps", nargs="+")
    a = ap.parse_args()
    f = ftplib.FTP()
    f.connect(a.host, a.port, timeout=10)
    f.login()
    last = ""
    for step in a.steps:
        try:
            if step.startswith("?"):
                r = wait_for(step[1:])
            elif step == "LIST":
                r = listing(f, a.host, last)
            elif "^" in step:
                r = send_pieces(f, step)
            else:
                r = f.sendcmd(step)
        except ftplib.Error as e:
            r = str(e)
        if r[:3] in ("227", "229"):
            last = r
        print(r, flush=True)
    time.sleep(a.hold)
    f.close()


if __name__ == "__main__":
    sys.exit(main())
