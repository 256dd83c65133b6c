#!/usr/bin/env bash
# The Kubernetes manifests (dist/k8s): valid against the Kubernetes API
# schemas (kubernetes-models from the npm registry, when node and npm are
# here), and what the node agent needs, checked field by field with
# python3-yaml: hostNetwork, privileges, the node's bpffs (Bidirectional)
# and cgroup2, the policy ConfigMap as a directory (never subPath), daemon
# options the binary knows, matching ports; the ConfigMap's policy passes
# `rampart check`; the Containerfile installs the package `make deb` makes
# and runs the binary the package installs.
set -u
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
[ -x build/rampart ] || fail "build/rampart missing (make)"
python3 -c 'import yaml' 2>/dev/null || { echo "python3-yaml missing"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# 1. the API schemas
if command -v node >/dev/null && command -v npm >/dev/null; then
	V=build/k8s-validate
	mkdir -p $V
	if ! cmp -s tests/k8s/package-lock.json $V/package-lock.json || [ ! -d $V/node_modules ]; then
		cp tests/k8s/package.json tests/k8s/package-lock.json $V/
		(cd $V && npm ci --no-audit --no-fund --loglevel=error) > "$T/npm.log" 2>&1 ||
			fail "npm ci (kubernetes-models): $(tail "$T/npm.log")"
	fi
	cp tests/k8s/validate.mjs $V/
	node $V/validate.mjs dist/k8s/*.yaml || fail "schema validation"
else
	echo "note: node/npm not installed: no schema validation, field checks only"
fi

# 2. the fields, and the policy
./build/rampart --help > "$T/help"
version=$(dpkg-parsechangelog -l dist/debian/changelog -S Version)
python3 - "$T" "$version" <<'PY' || exit 1
import glob, json, re, shlex, sys, yaml
tmp, version = sys.argv[1], sys.argv[2]
def need(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
docs = {}
for f in sorted(glob.glob("dist/k8s/*.yaml")):
    for d in yaml.safe_load_all(open(f)):
        if d: docs[d["kind"]] = d
for kind in ("Namespace", "ConfigMap", "DaemonSet"):
    need(kind in docs, f"no {kind} in dist/k8s")
ns = docs["Namespace"]["metadata"]["name"]
ds, cm = docs["DaemonSet"], docs["ConfigMap"]
need(ds["metadata"]["namespace"] == ns and cm["metadata"]["namespace"] == ns, "one namespace for all")
sel = ds["spec"]["selector"]["matchLabels"]
tpl = ds["spec"]["template"]
need(all(tpl["metadata"]["labels"].get(k) == v for k, v in sel.items()), "the selector selects the pods")
pod = tpl["spec"]
need(pod.get("hostNetwork") is True, "hostNetwork: true (the node's interfaces and namespace)")
need(not pod.get("hostPID"), "no hostPID: rampart reads only /proc/self and /proc/mounts")
(c,) = pod["containers"]
need(c.get("securityContext", {}).get("privileged") is True, "privileged (BPF, attach, bpffs mount propagation)")
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
def host_mount(path, what):
    m = mounts.get(path)
    need(m and vols[m["name"]].get("hostPath", {}).get("path") == path, f"{what}: the node's {path} at {path}")
    return m
need(host_mount("/sys/fs/bpf", "bpffs").get("mountPropagation") == "Bidirectional",
     "bpffs: mountPropagation Bidirectional (pins outlive the pod)")
host_mount("/sys/fs/cgroup", "cgroup2")
pm = mounts.get("/etc/rampart")
need(pm and vols[pm["name"]].get("configMap", {}).get("name") == cm["metadata"]["name"],
     "the policy ConfigMap at /etc/rampart")
need("subPath" not in pm, "no subPath for the policy (the kubelet never updates subPath mounts)")
need("policy.rules" in cm["data"], "the ConfigMap has policy.rules")
open(f"{tmp}/policy.rules", "w").write(cm["data"]["policy.rules"])

# the command line: the binary the package installs, daemon options it knows
argv = c["command"] + c["args"]
need(argv[0] == "/usr/sbin/rampart" and argv[1] == "daemon", f"runs /usr/sbin/rampart daemon: {argv}")
helpline = [l for l in open(f"{tmp}/help") if l.startswith("  daemon ")][0]
known = set(re.findall(r"--[a-z-]+", helpline))
opts = [a for a in argv[2:] if a.startswith("--")]
need(set(opts) <= known, f"daemon options {set(opts) - known} unknown to the binary")
val = dict(zip(argv[2::2], argv[3::2]))
need(val.get("--policy") == "/etc/rampart/policy.rules", "--policy /etc/rampart/policy.rules")
env = {e["name"]: e["value"] for e in c.get("env", [])}
for ref in re.findall(r"\$\((\w+)\)", " ".join(argv)):
    need(ref in env, f"$({ref}) has no env entry")
port = int(val["--metrics-listen"].rsplit(":", 1)[1])
need(any(p["containerPort"] == port and p.get("hostPort") == port for p in c["ports"]), "metrics port exposed")
need(tpl["metadata"]["annotations"]["prometheus.io/port"] == str(port), "prometheus.io/port annotation")
need(c["livenessProbe"]["httpGet"]["port"] == port, "liveness probe on the metrics port")

# the Containerfile
cf = open("dist/k8s/Containerfile").read().replace("\\\n", " ")
ins = [l.split(None, 1) for l in cf.splitlines() if l.strip() and not l.lstrip().startswith("#")]
kinds = [i[0] for i in ins]
need(kinds[0] == "FROM" and ins[0][1].startswith("debian:bookworm"), "FROM debian:bookworm (the release the package is built on)")
need(set(kinds) <= {"FROM", "COPY", "RUN", "LABEL", "ENTRYPOINT", "CMD", "ARG", "ENV"}, f"instructions {kinds}")
copy = [i[1].split() for i in ins if i[0] == "COPY"]
need([f"build/deb/rampart_{version}_amd64.deb"] == [c_[0] for c_ in copy], f"COPY the package make deb builds ({version}): {copy}")
ep = json.loads([i[1] for i in ins if i[0] == "ENTRYPOINT"][0])
cmd = json.loads([i[1] for i in ins if i[0] == "CMD"][0])
need(ep == ["/usr/sbin/rampart"] and cmd[0] == "daemon", f"ENTRYPOINT/CMD: {ep} {cmd}")
run = " ".join(i[1] for i in ins if i[0] == "RUN")
need(copy[0][1] in run, "RUN installs the copied package")
print("ok: DaemonSet: hostNetwork, privileged, node bpffs (Bidirectional) and cgroup2, policy ConfigMap directory, known daemon options, metrics port; Containerfile: FROM bookworm, COPY and install the .deb, ENTRYPOINT /usr/sbin/rampart")
PY
out=$(./build/rampart check "$T/policy.rules" 2>&1) || fail "the ConfigMap's policy: $out"
ok "the ConfigMap's policy: $out"
# the per-pod example of docs/kubernetes.md
awk '/^```$/ { if (p) exit; next } /^addresses cluster/ { p = 1 } p' docs/kubernetes.md > "$T/pods.rules"
grep -q 'jump web cgroup @web' "$T/pods.rules" || fail "no per-pod example found in docs/kubernetes.md"
out=$(./build/rampart check "$T/pods.rules" 2>&1) || fail "docs/kubernetes.md's example: $out"
ok "docs/kubernetes.md's per-pod example: $(tail -1 <<< "$out")"
