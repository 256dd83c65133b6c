#!/usr/bin/env bash
# The man pages and the bash completion against the binary: rampart(8)
# documents every command and option `rampart --help` lists (and no other),
# every exit code, environment variable (getenv in loader/) and default
# file; the completion offers exactly each command's options; both pages
# render without warnings (groff -man -ww); the examples of rampart.rules(5)
# pass `rampart check`, and it documents every policy option the resolver
# knows.
set -u
cd "$(dirname "$0")/../.."
RAMPART=build/rampart
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
command -v groff >/dev/null || { echo "groff not installed (make deps)"; exit 77; }
[ -x $RAMPART ] || fail "build/rampart missing (make)"

for p in docs/man/rampart.8 docs/man/rampart.rules.5; do
	w=$(groff -man -ww -z "$p" 2>&1)
	[ -z "$w" ] || fail "groff warnings in $p: $w"
done
ok "groff -man -ww: no warnings in rampart.8, rampart.rules.5"

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
$RAMPART --help > "$tmp/help" || fail "rampart --help"
# the completion's options per command, as "CMD OPT OPT..." lines
bash -c '. dist/bash-completion/rampart
	for c in $_rampart_commands; do echo "$c $(_rampart_options $c)"; done
	echo "$_rampart_global_options" > '"$tmp/completion-global"'' > "$tmp/completion" ||
	fail "sourcing the completion"
grep -o 'getenv("[A-Z_]*")' loader/*.c policy/*.c | sed 's/.*getenv("\(.*\)")/\1/' | sort -u > "$tmp/env"
sed -n 's/^\t{ \.name = "\([a-z-]*\)", \.type = OPT_.*/\1/p' policy/resolve.c > "$tmp/policy-options"
[ -s "$tmp/policy-options" ] || fail "no policy options found in policy/resolve.c's table"

python3 - "$tmp" <<'PY' || exit 1
import re, sys
tmp = sys.argv[1]
help_text = open(f"{tmp}/help").read()
man = open("docs/man/rampart.8").read()
rules5 = open("docs/man/rampart.rules.5").read()

def fail(msg):
    print("FAIL:", msg); sys.exit(1)

def section(text, name):
    m = re.search(r"^\.SH " + re.escape(name) + r"\n(.*?)(?=^\.SH |\Z)", text, re.S | re.M)
    if not m: fail(f"no section {name}")
    return m.group(1)

def opts(s):
    s = s.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", s))

# the global options as the binary's option table lists them
GLOBAL = opts("\n".join(re.split(r"\s{2,}", l.strip())[0]
                        for l in help_text.split("global options:\n", 1)[1].split("\n\n", 1)[0].splitlines()))
if not {"--pin-dir", "--help"} <= GLOBAL:
    fail(f"global options not found in rampart --help: {sorted(GLOBAL)}")

# the binary: "  NAME ARGS [DESCRIPTION]" lines of --help
binary = {}
block = help_text.split("commands:\n", 1)[1].split("\n\n", 1)[0]
for line in block.splitlines():
    m = re.match(r"  ([a-z]+) +(.*)", line)
    if m:
        binary[m.group(1)] = opts(re.split(r"\s{2,}", m.group(2))[0]) - GLOBAL

# the man page: each command's .TP entry header
cmds = section(man, "COMMANDS")
documented = {}
for m in re.finditer(r"^\.TP\n\.BR? ([a-z]+)(.*)$", cmds, re.M):
    documented[m.group(1)] = opts(m.group(2))
if set(documented) != set(binary):
    fail(f"commands: binary {sorted(binary)}, man page {sorted(documented)}")
for c in binary:
    if documented[c] != binary[c]:
        fail(f"options of {c}: binary {sorted(binary[c])}, man page {sorted(documented[c])}")
print(f"ok: rampart.8 documents the {len(binary)} commands and their options as the binary lists them")

# every option has its own entry (OPTIONS section, or the daemon's .RS list)
entries = opts("\n".join(re.findall(r"^\.TP\n(.*)$", man, re.M)))
for o in set().union(*binary.values()) | GLOBAL:
    if o not in entries:
        fail(f"option {o} has no .TP entry of its own in rampart.8")
print("ok: every option has an entry")

# completion
for line in open(f"{tmp}/completion"):
    c, *o = line.split()
    if c not in binary: fail(f"completion offers command {c}, the binary has none")
    if set(o) != binary[c]:
        fail(f"completion options of {c}: {sorted(o)}, binary {sorted(binary[c])}")
if len(open(f"{tmp}/completion").readlines()) != len(binary):
    fail("the completion lacks commands")
if set(open(f"{tmp}/completion-global").read().split()) != GLOBAL:
    fail(f"completion's global options: {open(f'{tmp}/completion-global').read().split()}, binary {sorted(GLOBAL)}")
print("ok: the completion offers every command and exactly its options, and the global options")

# exit codes, environment, files
codes = re.findall(r"(\d) ([a-z ]+?)(?:,|\.)", help_text.split("Exit codes:", 1)[1])
exits = section(man, "EXIT STATUS")
for code, _ in codes:
    if f".B {code}\n" not in exits: fail(f"exit code {code} not in EXIT STATUS")
env = section(man, "ENVIRONMENT")
for v in open(f"{tmp}/env").read().split():
    if v not in env: fail(f"environment variable {v} (read by the code) not in ENVIRONMENT")
files = section(man, "FILES").replace("\\-", "-")
for path in re.findall(r"(?:Default policy|default pin dir): (\S+)", help_text):
    if path not in files: fail(f"{path} not in FILES")
print(f"ok: exit codes {[c for c, _ in codes]}, environment and default files documented")

# rampart.rules(5): every policy option
ropts = section(rules5, "OPTIONS").replace("\\-", "-")
for o in open(f"{tmp}/policy-options").read().split():
    if not re.search(r"\b" + re.escape(o) + r"\b", ropts):
        fail(f"policy option {o} not in rampart.rules(5) OPTIONS")
print("ok: rampart.rules(5) documents every policy option")

# rampart.rules(5) examples, for `rampart check`
ex = section(rules5, "EXAMPLES")
n = 0
for i, body in enumerate(re.findall(r"^\.nf\n(.*?)^\.fi$", ex, re.S | re.M)):
    text = body.replace("\\-", "-").replace("\\(dq", '"').replace("\\e", "\\")
    open(f"{tmp}/example{i}.rules", "w").write(text)
    n += 1
open(f"{tmp}/examples", "w").write(str(n))
PY
n=$(cat "$tmp/examples")
[ "$n" -ge 4 ] || fail "only $n examples in rampart.rules(5)"
for ((i = 0; i < n; i++)); do
	$RAMPART check "$tmp/example$i.rules" > "$tmp/out" 2>&1 || fail "rampart.rules(5) example $i: $(cat "$tmp/out")"
done
ok "the $n examples of rampart.rules(5) pass rampart check"
