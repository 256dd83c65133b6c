#!/usr/bin/env bash
# bash completion (dist/bash-completion/rampart, run through Debian's
# bash-completion): commands, options, interface names of the namespace,
# cgroup2 paths, explain's words, and table names of the loaded policy;
# and `rampart rules TABLE...`, which those table names are for.
set -u
RP_ID=${RP_ID:-cp$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
rp_child_cgroup web
BC=/usr/share/bash-completion/bash_completion
[ -r $BC ] || { echo "bash-completion not installed (make deps)"; exit 77; }

# comp WORD...: the completions of the command line WORD... (the last word
# is the one being completed), one per line, sorted, in the protected namespace
comp() {
	in_a env PATH="$RP_ROOT/build:$PATH" bash -c '
		. "$1"; . "$2"; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_rampart rampart "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ $BC "$RP_ROOT/dist/bash-completion/rampart" "$@" | sort | tr '\n' ' '
}
want() { # WANT WORD...: the completions are exactly WANT
	local want=$1; shift
	local got; got=$(comp "$@")
	[ "$got" = "$want" ] || fail "completing '$*': got '$got', want '$want'"
	ok "'$*' -> $want"
}

want "daemon " rampart da
want "--pin-dir --policy " rampart --json explain --p
want "--metrics-file --metrics-interval --metrics-listen " rampart daemon --metrics-
want "$(printf '%s\n' lo "$RP_IF_A" | sort | tr '\n' ' ')" rampart apply --iface ""
want "closed open " rampart boot --fail ""
want "icmp icmpv6 " rampart explain in proto ic
want "connect " rampart explain event con
want "/rampart-test-$RP_ID/web " rampart apply --cgroup "rampart-test-$RP_ID/w"
all=$(comp rampart "")
for c in check explain apply unload status rules metrics flows log boot daemon reset stop shutdown; do
	[[ " $all" == *" $c "* ]] || fail "command $c is not completed: $all"
done
ok "every command is completed"

cat > "$RP_TMP/p.rules" <<'P'
table web-browser {
    allow out proto tcp remote port { 80, 443 }
}
table mail {
    allow out proto tcp remote port 25
}
table root default deny {
    jump web-browser
    jump mail
    allow out
}
P
rp_apply "$RP_TMP/p.rules" --iface "$RP_IF_A" >/dev/null || fail "apply"
want "mail root web-browser " rampart --pin-dir "$RP_PIN" rules ""
want "web-browser " rampart --pin-dir "$RP_PIN" rules w

# rules TABLE...: only those tables' rules
tables=$(rp_r --json rules mail web-browser | python3 -c 'import json,sys; print(" ".join(sorted({r["table"] for r in json.load(sys.stdin)["rules"]})))')
[ "$tables" = "mail web-browser" ] || fail "rules mail web-browser listed tables: $tables"
n=$(rp_r rules mail | grep -c 'proto tcp remote port 25')
[ "$n" = 1 ] || fail "rules mail: $(rp_r rules mail)"
rp_r rules nosuch >/dev/null 2>&1; [ $? = 2 ] || fail "rules with an unknown table: want exit 2"
ok "rules TABLE... shows only those tables; an unknown table is a usage error"
