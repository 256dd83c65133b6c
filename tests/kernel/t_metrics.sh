#!/usr/bin/env bash
# Metrics (Prometheus text format): `rampart metrics` from the pins alone;
# `rampart daemon --metrics-file` rewrites a file atomically that the real
# node-exporter (Debian's prometheus-node-exporter, textfile collector) reads
# and serves to a curl scrape; `--metrics-listen` serves the same over HTTP
# (libmicrohttpd); promtool accepts all of it.
set -u
RP_ID=${RP_ID:-mt$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
command -v prometheus-node-exporter >/dev/null || { echo "prometheus-node-exporter not installed (make deps)"; exit 77; }
PROMTOOL=$(command -v promtool || true)
promcheck() { # FILE: promtool's linter, when installed
	[ -n "$PROMTOOL" ] || return 0
	"$PROMTOOL" check metrics < "$1" || fail "promtool check metrics: $1"
}
# a free TCP port on 127.0.0.1 of the protected namespace
free_port() { in_a python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# value FILE SERIES: the value of the one sample SERIES (exact name and labels)
value() { awk -v s="$2" 'index($0, s " ") == 1 { print $NF }' "$1"; }

POL=$RP_TMP/policy.rules
cat > "$POL" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 8080 log
    deny in proto tcp local port 8081
}
P
ALLOW="rampart_rule_packets_total{file=\"$POL\",line=\"3\",table=\"root\",verdict=\"allow\"}"
DENY="rampart_rule_packets_total{file=\"$POL\",line=\"4\",table=\"root\",verdict=\"deny\"}"

# 1. nothing loaded: a valid exposition saying so, exit 0
rp_r metrics > "$RP_TMP/unloaded.prom" || fail "rampart metrics exits non-zero with nothing loaded"
[ "$(value "$RP_TMP/unloaded.prom" rampart_loaded)" = 0 ] || fail "unloaded: $(cat "$RP_TMP/unloaded.prom")"
[ "$(value "$RP_TMP/unloaded.prom" 'rampart_mode{mode="unloaded"}')" = 1 ] || fail "unloaded mode"
promcheck "$RP_TMP/unloaded.prom"
ok "nothing loaded: rampart_loaded 0, mode unloaded"

# 2. the daemon with a metrics file and an HTTP endpoint
TXT=$RP_TMP/textfile
mkdir -p "$TXT"
HTTP_PORT=$(free_port)
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$POL" --iface "$RP_IF_A" \
	--metrics-file "$TXT/rampart.prom" --metrics-interval 1 --metrics-listen "127.0.0.1:$HTTP_PORT" \
	> "$RP_TMP/daemon.out" 2> "$RP_TMP/daemon.err"
DPID=$!
for _ in $(seq 300); do grep -q "serving the log" "$RP_TMP/daemon.err" && break; sleep 0.1; done
grep -q "serving the metrics at http://127.0.0.1:$HTTP_PORT/metrics" "$RP_TMP/daemon.err" ||
	fail "daemon: $(cat "$RP_TMP/daemon.err")"
[ -s "$TXT/rampart.prom" ] || fail "no metrics file after the daemon started"

listen in_a tcp 8080 600
listen in_a tcp 8081 600
for _ in 1 2 3; do expect open in_b tcp $RP_A4 8080; done
expect timeout in_b tcp $RP_A4 8081
# the file follows within the interval (1 s)
for _ in $(seq 40); do
	[ "$(value "$TXT/rampart.prom" "$ALLOW")" = 3 ] && [ "$(value "$TXT/rampart.prom" "$DENY")" -ge 1 ] && break
	sleep 0.1
done
[ "$(value "$TXT/rampart.prom" "$ALLOW")" = 3 ] || fail "file: $ALLOW is '$(value "$TXT/rampart.prom" "$ALLOW")', want 3"
# every SYN of the denied attempt (the first and its retransmission) is judged and counted
[ "$(value "$TXT/rampart.prom" "$DENY")" -ge 1 ] || fail "file: $DENY"
[ "$(value "$TXT/rampart.prom" 'rampart_new_flows_total{outcome="allow"}')" -ge 3 ] || fail "new flows allowed"
[ "$(value "$TXT/rampart.prom" 'rampart_mode{mode="enforcing"}')" = 1 ] || fail "mode enforcing"
[ "$(value "$TXT/rampart.prom" "rampart_attachment_up{interface=\"$RP_IF_A\",hook=\"tc-ingress\",kind=\"link\",attach_mode=\"tcx\"}")" = 1 ] ||
	fail "attachment state: $(grep attachment "$TXT/rampart.prom")"
[ "$(value "$TXT/rampart.prom" 'rampart_conntrack_capacity')" -gt 0 ] || fail "conntrack capacity"
[ "$(value "$TXT/rampart.prom" 'rampart_log_events_total{outcome="sent"}')" -ge 3 ] || fail "log events sent"
promcheck "$TXT/rampart.prom"
ok "metrics file: per-rule packets (allow 3 flows, deny $(value "$TXT/rampart.prom" "$DENY") SYNs), flows, mode, attachments, conntrack, log; promtool ok"

# 3. readers never see half a file while it is rewritten every second
python3 - "$TXT/rampart.prom" <<'PY' || fail "a reader saw an incomplete metrics file"
import os, sys, time
path, inodes, reads = sys.argv[1], set(), 0
end = time.time() + 3.5
while time.time() < end:
    with open(path) as f:
        inodes.add(os.fstat(f.fileno()).st_ino)
        text = f.read()
    reads += 1
    assert text.startswith("# HELP rampart_loaded "), text[:80]
    assert text.endswith("\n") and text.splitlines()[-1].startswith("rampart_netns_hook_dropped_total "), text[-200:]
    time.sleep(0.002)
assert len(inodes) >= 3, f"the file was replaced {len(inodes)} times in 3.5 s (interval 1 s)"
print(f"{reads} reads, {len(inodes)} versions, all complete")
PY
ok "metrics file replaced atomically (renamed over), readers saw only whole files"

# 4. the real node-exporter reads the file (textfile collector) and a scrape shows rampart's series
NE_PORT=$(free_port)
rp_bg in_a prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$TXT" > "$RP_TMP/ne.log" 2>&1
for _ in $(seq 100); do in_a curl -sf "http://127.0.0.1:$NE_PORT/metrics" > "$RP_TMP/ne.prom" && break; sleep 0.1; done
[ -s "$RP_TMP/ne.prom" ] || fail "node-exporter did not answer: $(cat "$RP_TMP/ne.log")"
[ "$(value "$RP_TMP/ne.prom" 'node_textfile_scrape_error')" = 0 ] || fail "node-exporter: textfile error: $(grep textfile "$RP_TMP/ne.prom"; tail "$RP_TMP/ne.log")"
[ "$(value "$RP_TMP/ne.prom" "$ALLOW")" = 3 ] || fail "node-exporter scrape lacks $ALLOW: $(grep rampart_rule "$RP_TMP/ne.prom")"
[ "$(value "$RP_TMP/ne.prom" 'rampart_mode{mode="enforcing"}')" = 1 ] || fail "node-exporter scrape: mode"
ok "node-exporter $(prometheus-node-exporter --version 2>&1 | head -1 | awk '{print $3}') serves rampart's series from the textfile ($(grep -c '^rampart_' "$RP_TMP/ne.prom") samples)"

# 5. the daemon's own HTTP endpoint (libmicrohttpd)
in_a curl -s -D "$RP_TMP/h.hdr" -o "$RP_TMP/h.prom" "http://127.0.0.1:$HTTP_PORT/metrics" || fail "curl /metrics"
head -1 "$RP_TMP/h.hdr" | grep -q ' 200' || fail "HTTP status: $(head -1 "$RP_TMP/h.hdr")"
grep -qi '^content-type: text/plain; version=0.0.4' "$RP_TMP/h.hdr" || fail "content type: $(cat "$RP_TMP/h.hdr")"
[ "$(value "$RP_TMP/h.prom" "$ALLOW")" = 3 ] || fail "HTTP scrape lacks $ALLOW"
promcheck "$RP_TMP/h.prom"
code=$(in_a curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/")
[ "$code" = 404 ] || fail "GET / answered $code, want 404"
ok "--metrics-listen serves /metrics (200, text format 0.0.4), 404 elsewhere"

# 6. a reload shows in the metrics: generation, and the new rule's counters
g0=$(value "$TXT/rampart.prom" rampart_policy_generation)
kill -HUP $DPID
for _ in $(seq 300); do [ "$(value "$TXT/rampart.prom" rampart_policy_generation)" -gt "$g0" ] && break; sleep 0.1; done
[ "$(value "$TXT/rampart.prom" rampart_policy_generation)" -gt "$g0" ] || fail "generation did not move in the file"
ok "reload: rampart_policy_generation $g0 -> $(value "$TXT/rampart.prom" rampart_policy_generation)"

# 7. usage errors
rp_r daemon --metrics-interval 5 >/dev/null 2>&1; [ $? = 2 ] || fail "--metrics-interval without --metrics-file: want exit 2"
rp_r daemon --metrics-listen nonsense >/dev/null 2>&1; [ $? = 2 ] || fail "--metrics-listen nonsense: want exit 2"
rp_r metrics extra >/dev/null 2>&1; [ $? = 2 ] || fail "metrics extra: want exit 2"
ok "bad metrics options: exit 2"

kill -TERM $DPID; wait $DPID 2>/dev/null
left=$(ls -A "$TXT")
[ "$left" = rampart.prom ] || fail "left in the textfile directory: $left"
ok "no temporary files left beside the metrics file"
