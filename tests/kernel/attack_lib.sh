# Helpers for the "Under attack" tests (docs/datapath.md; source after
# lib.sh and traffic_lib.sh).
RP_ATTACK="/usr/bin/python3 $RP_ROOT/tests/kernel/attack.py"

# rp_mac_a: the protected interface's MAC (spoofed frames are sent to it).
rp_mac_a() { in_a ip -br link show dev "$RP_IF_A" | awk '{ print $3 }'; }

# rp_counter NAME: one datapath counter from `status --json`.
rp_counter() {
	rp_r status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"
}

# rp_ct_usage: "ESTABLISHED HALF_OPEN" entries now.
rp_ct_usage() {
	rp_r status --json |
		python3 -c 'import json,sys; c=json.load(sys.stdin)["conntrack"]; print(c["entries"], c["half_open"])'
}

# rp_flow_state PROTO ORIG_PORT RESP_PORT: the state `flows` shows for the
# flow between these ports ("" when it is not tracked).
rp_flow_state() {
	rp_r flows --json | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    if f["proto"] == sys.argv[1] and f["orig"].get("port") == int(sys.argv[2]) and f["reply"].get("port") == int(sys.argv[3]):
        print(f["state"])
' "$@"
}
