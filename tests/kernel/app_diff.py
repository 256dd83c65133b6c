#!/usr/bin/env python3
"""Randomized differential test of the socket hooks against the reference
interpreter (t_app_differential.sh; issue 4: "the kernel's verdict for any
event equals the reference interpreter's").

Two modes:

  app_diff.py act socket 4|6 tcp|udp
  app_diff.py act connect tcp|udp HOST PORT
  app_diff.py act sendto HOST PORT
  app_diff.py act bind tcp|udp ADDR PORT
      Run by a copy of python3 (a distinct application) inside a test
      cgroup.  Prints one JSON line: {"stage": "socket"|"call", "res": R,
      "ms": N, "lport": P}: the stage that failed (or "call" when socket
      creation succeeded), R one of ok, eperm, refused, unreach, timeout,
      closed, error-ERRNO; lport the socket's local port after the call
      (the send event carries it: UDP binds a port before the sendmsg hook).

  app_diff.py drive --rampart R --pin DIR --ns NS --iface IF --cg CG
                    --cgrel REL --tmp DIR --apps A,B,C --idle PATH
                    --policies N --actions M --seed S
      Generates N random policies, applies each (--iface, --cgroup CG),
      runs M random socket actions per policy from the application copies
      in child cgroups of CG as root or uid 4242, and compares each
      outcome with what `rampart explain --json` says for the events the
      hooks judge.  Exit 0 all equal, 1 on the first mismatch (policy,
      action, events, both outcomes printed).
"""
import errno
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------- act


def errname(e):
    if e.errno == errno.EPERM:
        return "eperm"
    if e.errno == errno.ECONNREFUSED:
        return "refused"
    if e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unreach"
    return "error-" + errno.errorcode.get(e.errno, str(e.errno))


def kind(proto):
    return socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM


def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def report(stage, res, t0, s=None):
    lport = None
    if s is not None:
        try:
            lport = s.getsockname()[1]
        except OSError:
            pass
    print(json.dumps({"stage": stage, "res": res, "ms": int((time.time() - t0) * 1000),
                      "lport": lport}), flush=True)


def act(a):
    t0 = time.time()
    src = None
    if "from" in a:  # connect/sendto from a socket bound first: from ADDR PORT
        i = a.index("from")
        src = (a[i + 1], int(a[i + 2]))
        a = a[:i]
    what = a[0]
    if what == "socket":
        family = socket.AF_INET6 if a[1] == "6" else socket.AF_INET
        proto = a[2]
    elif what in ("connect", "bind"):
        proto = a[1]
        family = fam(a[2])
    else:  # sendto
        proto = "udp"
        family = fam(a[1])
    try:
        s = socket.socket(family, kind(proto))
    except OSError as e:
        return report("socket", errname(e), t0)
    if what == "socket":
        return report("socket", "ok", t0)
    s.settimeout(1.5)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if proto == "tcp" and what == "connect":
        # close with a reset: no TIME_WAIT left on a pool port for the
        # next action's bind + connect to the same peer
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if src:
        try:
            s.bind(src)
        except OSError as e:
            return report("bind", errname(e), t0, s)
    try:
        if what == "connect":
            s.connect((a[2], int(a[3])))
            s.send(b"ping")
            data = s.recv(100)
        elif what == "sendto":
            s.sendto(b"ping", (a[1], int(a[2])))
            data, _ = s.recvfrom(100)
        else:
            s.bind((a[2], int(a[3])))
            if proto == "tcp":
                s.listen(4)
            data = b"pong"
        report("call", "ok" if data == b"pong" else "closed", t0, s)
    except (socket.timeout, TimeoutError):
        report("call", "timeout", t0, s)
    except ConnectionResetError:
        report("call", "refused", t0, s)
    except OSError as e:
        report("call", errname(e), t0, s)


# ---------------------------------------------------------------- drive

PORTS = [7001, 7002, 7003]
PEER = ["192.0.2.2", "2001:db8::2"]
NOHOST = ["198.51.100.9", "2001:db8:1::9"]   # no route: an allowed call gets ENETUNREACH
# an IPv6 socket reaching an IPv4 peer through a v4-mapped address: the
# socket is created as AF_INET6 (network event ip6), the call is IPv4
MAPPED = ["::ffff:192.0.2.2", "::ffff:198.51.100.9"]
BIND_ADDRS = ["0.0.0.0", "::", "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"]
TEST_UID = 4242


def unmapped(addr):
    """A v4-mapped IPv6 address is IPv4 traffic: the hooks judge it as
    family 4 with the IPv4 address (the way the datapath sees its packets)."""
    return addr[7:] if addr.startswith("::ffff:") else addr


class Gen:
    """Random policies over the test's applications, cgroups, users and
    addresses.  Every policy is valid (apply failing is a test failure)."""

    def __init__(self, rnd, apps, idle, cgrel):
        self.r = rnd
        self.apps = apps + [idle]
        self.cgroups = [cgrel, cgrel + "/s1", cgrel + "/s2", cgrel + "/s2/inner"]

    def pick(self, seq):
        return self.r.choice(seq)

    def ports(self, sets):
        r = self.r.random()
        if r < 0.4:
            return str(self.pick(PORTS))
        if r < 0.55:
            return "7001-7002"
        if r < 0.7:
            return "{ 7001, 7003 }"
        if r < 0.8:
            return "! " + str(self.pick(PORTS))
        if r < 0.9 and "pset" in sets:
            return "@pset"
        return "1024-65535"

    def raddrs(self, sets):
        return self.pick(PEER * 3 + NOHOST + ["192.0.2.0/24", "2001:db8::/32",
                                              "{ 192.0.2.2, 2001:db8::2 }", "! 192.0.2.2",
                                              "! 2001:db8::/32", "any"] +
                         (["@aset"] * 2 if "aset" in sets else []))

    def laddrs(self):
        return self.pick(["192.0.2.1", "2001:db8::1", "0.0.0.0", "::", "0.0.0.0/0", "::/0",
                          "! 192.0.2.1", "{ ::, 0.0.0.0 }"])

    def apps_cond(self, sets):
        r = self.r.random()
        if r < 0.7:
            return self.pick(self.apps)
        if r < 0.85 and "aps" in sets:
            return "@aps"
        return "{ %s, %s }" % tuple(self.r.sample(self.apps, 2))

    def cg_cond(self, sets):
        if "cgs" in sets and self.r.random() < 0.15:
            return "@cgs"
        return self.pick(self.cgroups)

    def cond(self, group, sets):
        if group == "event":
            evs = ["network"] * 3 + ["connect"] * 3 + ["listen"] * 2 + ["send"] * 2 + ["accept", "receive"]
            if self.r.random() < 0.25:
                return "event { %s }" % ", ".join(sorted(set(self.r.sample(evs, 2))))
            return "event " + self.pick(evs)
        if group == "proto":
            return "proto " + self.pick(["tcp", "tcp", "udp", "udp", "{ tcp, udp }", "any"])
        if group == "family":
            return self.pick(["ip4", "ip6"])
        if group == "remote":
            r = self.r.random()
            if r < 0.35:
                return "remote port " + self.ports(sets)
            if r < 0.7:
                return "remote " + self.raddrs(sets)
            return "remote %s port %s" % (self.raddrs(sets), self.ports(sets))
        if group == "local":
            r = self.r.random()
            if r < 0.6:
                return "local port " + self.ports(sets)
            if r < 0.8:
                return "local " + self.laddrs()
            return "local %s port %s" % (self.laddrs(), self.ports(sets))
        if group == "app":
            return "app " + self.apps_cond(sets)
        if group == "cgroup":
            return "cgroup " + self.cg_cond(sets)
        if group == "user":
            return "user " + self.pick(["0", "root", str(TEST_UID)])
        if group == "dir":
            return self.pick(["in", "out"])
        raise ValueError(group)

    GROUPS = ["event"] * 4 + ["proto"] * 2 + ["family", "remote", "remote", "local", "app",
                                               "app", "cgroup", "cgroup", "user", "user"]

    def rule(self, sets, tables, verdicts):
        v = self.r.choices(*zip(*verdicts))[0]
        if v == "jump":
            v = "jump " + self.pick(tables)
        n = 0 if self.r.random() < 0.03 else self.r.choice([1, 1, 2, 2, 2, 3, 3, 4])
        groups = []
        for g in self.r.sample(self.GROUPS, len(self.GROUPS)):
            if len(groups) < n and g not in groups:
                groups.append(g)
        parts = [v]
        if self.r.random() < 0.15:
            parts.append(self.cond("dir", sets))
        parts += [self.cond(g, sets) for g in groups]
        if self.r.random() < 0.1:
            parts.append("log")   # the hooks' log path must not change the verdict
        return " ".join(parts)

    def policy(self):
        r = self.r
        lines, sets = [], set()
        if r.random() < 0.3:
            lines.append("option ask-default " + self.pick(["deny", "reject", "allow"]))
        if r.random() < 0.3:
            sets.add("aset")
            lines.append("addresses aset = { %s }" % ", ".join(r.sample(PEER + NOHOST + ["192.0.2.0/28"], 2)))
        if r.random() < 0.3:
            sets.add("pset")
            lines.append("ports pset = { %s }" % ", ".join(str(p) for p in r.sample(PORTS, 2)))
        if r.random() < 0.3:
            sets.add("aps")
            lines.append("apps aps = { %s }" % ", ".join(r.sample(self.apps, 2)))
        if r.random() < 0.25:
            sets.add("cgs")
            lines.append("cgroups cgs = { %s }" % ", ".join(r.sample(self.cgroups[1:], 2)))
        terminal = [("allow", 35), ("deny", 25), ("reject", 25), ("continue", 5), ("ask", 4)]
        tables = []
        if r.random() < 0.35:
            tables.append("sub")
            d = self.pick(["", "", " default allow", " default deny", " default reject",
                           " default continue"])
            lines.append("table sub%s {" % d)
            for _ in range(r.randint(1, 4)):
                lines.append("    " + self.rule(sets, [], terminal))
            lines.append("}")
        d = self.pick(["", " default allow", " default deny", " default reject", " default deny"])
        lines.append("table root%s {" % d)
        rules = [self.rule(sets, tables, terminal + ([("jump", 12)] if tables else []))
                 for _ in range(r.randint(2, 7))]
        # most policies let (some) sockets be created, so that the second
        # event of an action is judged too
        if r.random() < 0.85:
            net = "allow event network"
            if r.random() < 0.4:
                net += " " + self.cond(self.pick(["app", "cgroup", "user", "proto", "family"]), sets)
            rules.insert(r.randint(0, 1), net)
            # and some are refused their sockets: the socket() call fails
            if r.random() < 0.3:
                rules.insert(0, "%s event network %s" % (
                    self.pick(["deny", "reject", "reject"]),
                    self.cond(self.pick(["app", "cgroup", "user", "proto", "family"]), sets)))
        lines += ["    " + x for x in rules]
        lines.append("}")
        return "\n".join(lines) + "\n"


class Driver:
    def __init__(self, o):
        self.o = o
        self.r = random.Random(o["seed"])
        self.apps = [os.path.join(o["tmp"], a) for a in o["apps"].split(",")]
        self.gen = Gen(self.r, self.apps, o["idle"], o["cgrel"])
        self.counts = {}
        self.judged = {}  # (event, verdict) -> times the kernel's answer was checked
        self.ncases = 0

    def ns(self, cmd, timeout):
        return subprocess.run(["nsenter", "--net=/run/netns/" + self.o["ns"]] + cmd,
                              capture_output=True, text=True, timeout=timeout)

    def apply(self, path):
        p = self.ns(["timeout", "60", self.o["rampart"], "--pin-dir", self.o["pin"], "apply", path,
                     "--iface", self.o["iface"], "--cgroup", self.o["cg"]], 70)
        if p.returncode != 0:
            raise SystemExit("FAIL: apply %s (rc %d):\n%s%s\n%s" % (path, p.returncode, p.stdout,
                                                                    p.stderr, open(path).read()))

    def explain(self, path, event):
        p = subprocess.run([self.o["rampart"], "explain", "--json", "--policy", path] + event.split(),
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise SystemExit("FAIL: explain %s (rc %d): %s%s" % (event, p.returncode, p.stdout, p.stderr))
        return json.loads(p.stdout)

    def random_action(self):
        r = self.r
        a = {"app": r.choice(self.apps), "cg": r.choice(["s1", "s1", "s2", "s2", "s2/inner", ""]),
             "uid": r.choice([0, 0, TEST_UID])}
        k = r.choices(["socket", "connect-tcp", "connect-udp", "sendto", "bind"], [12, 30, 16, 20, 22])[0]
        host = r.choice(PEER * 4 + NOHOST * 2 + MAPPED)
        port = r.choice(PORTS)
        if k == "socket":
            a["args"] = ["socket", r.choice(["4", "6"]), r.choice(["tcp", "udp"])]
        elif k.startswith("connect"):
            a["args"] = ["connect", k[8:], host, str(port)]
        elif k == "sendto":
            a["args"] = ["sendto", host, str(port)]
        else:
            a["args"] = ["bind", r.choice(["tcp", "udp"]), r.choice(BIND_ADDRS), str(port)]
        # connect/sendto from a bound socket: listen judged at the bind, and
        # the call then carries the local port (and address, unless wildcard)
        if k in ("connect-tcp", "connect-udp", "sendto") and r.random() < 0.3:
            if host.startswith("::ffff:"):
                srcs = ["::", "::ffff:192.0.2.1"]
            else:
                srcs = ["::", "2001:db8::1"] if ":" in host else ["0.0.0.0", "192.0.2.1"]
            a["args"] += ["from", r.choice(srcs),
                          str(r.choice(PORTS))]
        return a

    def run_action(self, a):
        cg = os.path.join(self.o["cg"], a["cg"])
        cmd = ["nsenter", "--net=/run/netns/" + self.o["ns"], "sh", "-c",
               'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", cg]
        if a["uid"]:
            cmd += ["setpriv", "--reuid", str(a["uid"]), "--regid", str(a["uid"]), "--clear-groups"]
        cmd += ["timeout", "10", a["app"], "-S", self.o["helper"], "act"] + a["args"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SystemExit("FAIL: action %s printed nothing usable (rc %d): %s%s"
                             % (a, p.returncode, p.stdout, p.stderr))

    def events(self, a, out):
        """The events the hooks judge for this action, in order, each with
        the stage that fails when it is refused, in rule syntax, carrying
        what each hook carries (docs/sockets.md)."""
        cg = self.o["cgrel"] + ("/" + a["cg"] if a["cg"] else "")
        who = "app %s cgroup %s user %d" % (a["app"], cg, a["uid"])
        args, src = a["args"], None
        if "from" in args:
            i = args.index("from")
            args, src = args[:i], (args[i + 1], args[i + 2])
        if args[0] == "socket":
            family, proto = args[1], args[2]
        elif args[0] == "sendto":
            family, proto = ("6" if ":" in args[1] else "4"), "udp"
        else:
            family, proto = ("6" if ":" in args[2] else "4"), args[1]
        evs = [("socket", "event network proto %s ip%s %s" % (proto, family, who))]
        local = ""
        if src:
            evs.append(("bind", "event listen proto %s local %s port %s %s"
                        % (proto, unmapped(src[0]), src[1], who)))
            # a wildcard bind leaves the local address to the stack
            local = " local %s port %s" % (unmapped(src[0]), src[1]) \
                if src[0] not in ("::", "0.0.0.0") else " local port %s" % src[1]
        if args[0] == "connect":
            # before connect() the local address and port are only known
            # when the socket was bound
            evs.append(("call", "event connect proto %s remote %s port %s%s %s"
                        % (proto, unmapped(args[2]), args[3], local, who)))
        elif args[0] == "sendto":
            # UDP binds its port before the sendmsg hook; the address is
            # chosen by routing, after it, unless bound
            if not local:
                local = " local port %s" % out.get("lport")
            evs.append(("call", "event send proto udp remote %s port %s%s %s"
                        % (unmapped(args[1]), args[2], local, who)))
        elif args[0] == "bind":
            evs.append(("call", "event listen proto %s local %s port %s %s"
                        % (proto, unmapped(args[2]), args[3], who)))
        return evs

    @staticmethod
    def outcome(verdict, ask_default, success):
        if verdict == "ask":
            verdict = ask_default
        return {"allow": success, "deny": "eperm", "reject": "refused"}[verdict]

    def expected(self, path, a, out, ask_default):
        trail = []
        args = a["args"]
        host = args[2] if args[0] == "connect" else args[1]
        for stage, ev in self.events(a, out):
            j = self.explain(path, ev)
            trail.append((ev, j["verdict"], j["rule"]))
            if stage != "socket":
                k = (ev.split()[1], j["verdict"])
                self.judged[k] = self.judged.get(k, 0) + 1
            success = "unreach" if stage == "call" and args[0] in ("connect", "sendto") \
                and unmapped(host) in NOHOST else "ok"
            res = self.outcome(j["verdict"], ask_default, success)
            if res != "ok":
                return (stage, res), trail
        return (stage, "ok"), trail

    def mismatch(self, path, a, out, want, trail, why):
        print("MISMATCH (%s)" % why)
        print("policy %s:" % path)
        for i, line in enumerate(open(path).read().splitlines(), 1):
            print("  %3d  %s" % (i, line))
        print("action: %s run by %s in cgroup %s as uid %d" % (" ".join(a["args"]), a["app"], a["cg"], a["uid"]))
        for ev, v, rule in trail:
            print("interpreter: %s -> %s (rule %s)" % (ev, v, rule))
        print("expected: %s at %s; kernel: %s at %s (%d ms)" % (want[1], want[0], out["res"], out["stage"], out["ms"]))
        print("seed: %s" % self.o["seed"])
        sys.exit(1)

    def coverage_gaps(self):
        """What the cases so far have not exercised: every outcome the hooks
        can give, at socket creation and at the call after it, and each
        second event both allowed and refused."""
        gaps = []
        for k in ("ok", "eperm", "refused", "unreach", "socket-eperm", "socket-refused"):
            if self.counts.get(k, 0) < 3:
                gaps.append("outcome %s seen %d times" % (k, self.counts.get(k, 0)))
        for ev in ("connect", "send", "listen"):
            n_allow = self.judged.get((ev, "allow"), 0)
            n_refuse = sum(self.judged.get((ev, v), 0) for v in ("deny", "reject", "ask"))
            if n_allow < 2 or n_refuse < 2:
                gaps.append("%s judged allow %d times, refused %d times" % (ev, n_allow, n_refuse))
        return gaps

    def run_policy(self, n):
        text = self.gen.policy()
        path = os.path.join(self.o["tmp"], "diff-%02d.rules" % n)
        with open(path, "w") as f:
            f.write(text)
        ask_default = "deny"
        for line in text.splitlines():
            if line.startswith("option ask-default "):
                ask_default = line.split()[2]
        self.apply(path)
        tally = {}
        for _ in range(self.o["actions"]):
            a = self.random_action()
            out = self.run_action(a)
            want, trail = self.expected(path, a, out, ask_default)
            got = (out["stage"], out["res"])
            if got != want:
                self.mismatch(path, a, out, want, trail, "outcome")
            # a refusal by the hook comes at once, not after a timeout
            if got[1] in ("eperm", "refused") and out["ms"] > 1000:
                self.mismatch(path, a, out, want, trail, "slow %s" % got[1])
            key = got[1] if got[0] == "call" or got[1] == "ok" else got[0] + "-" + got[1]
            tally[key] = tally.get(key, 0) + 1
            self.counts[key] = self.counts.get(key, 0) + 1
            self.ncases += 1
        print("ok: policy %d (%d rules): %s" % (n, text.count("\n    "),
              ", ".join("%s %d" % kv for kv in sorted(tally.items()))), flush=True)

    def run(self):
        n = 0
        while n < self.o["policies"]:
            self.run_policy(n)
            n += 1
        # an unlucky draw may leave an outcome unexercised: a few more
        # policies (bounded) rather than a flaky failure
        guard = self.ncases >= 100
        extra = max(3, self.o["policies"] // 2) if guard else 0
        while guard and self.coverage_gaps() and extra > 0:
            print("coverage: %s; one more policy" % "; ".join(self.coverage_gaps()))
            self.run_policy(n)
            n += 1
            extra -= 1
        print("cases: %d over %d policies: %s" % (self.ncases, n,
              ", ".join("%s %d" % kv for kv in sorted(self.counts.items()))))
        print("second events judged: %s" % ", ".join(
            "%s %s %d" % (e, v, k) for (e, v), k in sorted(self.judged.items())))
        if not guard:
            print("(fewer than 100 cases: the coverage guard is not applied)")
            return
        gaps = self.coverage_gaps()
        if gaps:
            # not vacuous: the generator must exercise every outcome
            print("FAIL: the generated cases do not exercise: %s" % "; ".join(gaps))
            sys.exit(1)


def main():
    a = sys.argv[1:]
    if a and a[0] == "act":
        return act(a[1:])
    if a and a[0] == "drive":
        import argparse
        ap = argparse.ArgumentParser(prog="app_diff.py drive")
        for k in ("rampart", "pin", "ns", "iface", "cg", "cgrel", "tmp", "apps", "idle", "seed"):
            ap.add_argument("--" + k, required=True)
        ap.add_argument("--policies", type=int, required=True)
        ap.add_argument("--actions", type=int, required=True)
        o = vars(ap.parse_args(a[1:]))
        o["helper"] = os.path.abspath(__file__)
        return Driver(o).run()
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
