/* Kernel tests of the read-only commands `rampart status|rules|flows|log`:
 * a policy is loaded into the datapath (attached to nothing), its maps are
 * pinned under a private pin dir, crafted packets run through the programs
 * with BPF_PROG_TEST_RUN (creating flows, hitting rules, producing log
 * events), then the real `rampart` binary is run on that pin dir and its
 * text and JSON output are checked (JSON parsed by python3).
 *
 * Runs as root in a private network namespace (unshare); the pin dir
 * /sys/fs/bpf/rampart-test-cmd-PID is removed after every test and at exit. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "policy.h"
#include "classify.h"
#include "rampart_maps.h"
#include "datapath.h"
#include "classifier_maps.h"
#include "pins.h"
#include "rampart.skel.h"
#include "packet.h"
#include "kt_datapath.h"

/* Local host 192.0.2.1 / 2001:db8::1, remote 198.51.100.7 / 2001:db8::7. */
#define L4 "192.0.2.1"
#define R4 "198.51.100.7"
#define L6 "2001:db8::1"
#define R6 "2001:db8::7"

/* Each side keeps one initial sequence number (the remote 1000, the local
 * 5000), so the segments of a handshake fit each other's windows. */
static uint32_t tcp4(struct pk *p, const char *s, const char *d, uint16_t sp, uint16_t dp, uint8_t fl)
{
	uint32_t isn = strcmp(s, R4) == 0 ? 1000 : 5000, peer = isn == 1000 ? 5000 : 1000;
	return pk_tcp4(p, s, sp, d, dp, fl, isn + (fl & TF_SYN ? 0 : 1), fl & TF_ACK ? peer + 1 : 0, 0);
}

/* ---------- environment ---------- */

static struct rampart_bpf *skel;
static struct policy pol;
static bool pol_loaded;
static char pin_dir[PATH_MAX];
static struct pin_dir pins, empty_pins; /* the instances of pin_dir and empty_dir */
static char empty_dir[PATH_MAX];
static char rampart_bin[PATH_MAX];
static char tmp_dir[PATH_MAX];

/* Line numbers matter: the tests check file:line. */
static const char *POLICY = "table root default deny {\n"				    /* 1 */
			    "    allow in proto tcp local port 80\n"			    /* 2: slot 0 */
			    "    allow in proto tcp local port 8443 log\n"		    /* 3: slot 1 */
			    "    continue in proto tcp local port 8080\n"		    /* 4: slot 2 */
			    "    allow in proto tcp local port 8080\n"			    /* 5: slot 3 */
			    "    allow in proto udp local port 53\n"			    /* 6: slot 4 */
			    "    allow in proto { icmp, icmpv6 } icmp-type echo-request\n"  /* 7: slot 5 */
			    "    jump web in proto tcp local port 9000-9010\n"		    /* 8: slot 6 */
			    "    allow out\n"						    /* 9: slot 7 */
			    "}\n"							    /* 10 */
			    "table web {\n"						    /* 11 */
			    "    deny in proto tcp local port 9001 log comment \"admin\"\n" /* 12: slot 8 */
			    "}\n";
#define NRULES 9
#define NSLOTS 11 /* + root default (slot 9) and web default (slot 10) */

static void unload(void)
{
	pins_remove_all(&pins);
	if (skel)
		datapath_destroy(skel);
	skel = NULL;
	if (pol_loaded)
		policy_free(&pol);
	pol_loaded = false;
}

static void cleanup_at_exit(void)
{
	pins_remove_all(&pins);
	pins_remove_all(&empty_pins);
	if (tmp_dir[0]) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_dir);
	}
}

static void on_fatal_signal(int sig)
{
	pins_remove_all(&pins);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Load the policy as `rampart apply` does (without attaching) and pin
 * every map under pin_dir/maps by its BPF name. */
static void load_and_pin(const char *text)
{
	unload();
	pol_loaded = true;
	kt_load_datapath(text, 1024, &pol, &skel);
	assert_int_equal(pins_stage_begin(&pins), 0);
	struct bpf_map *m;
	bpf_object__for_each_map(m, skel->obj)
		if (!bpf_map__is_internal(m))
			assert_int_equal(pins_stage_map(&pins, bpf_map__name(m), bpf_map__fd(m)), 0);
	assert_int_equal(pins_stage_commit(&pins), 0);
}

static int setup(void **state)
{
	load_and_pin(POLICY);
	return 0;
}

static int teardown(void **state)
{
	unload();
	return 0;
}

static void set_config(void (*edit)(struct rp_config *))
{
	kt_edit_config(skel, edit);
}

static struct pk scratch_out;

static int run_xdp(struct pk *p)
{
	struct xdp_md ctx = { .data_end = p->n, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .data_out = scratch_out.d,
		    .data_size_out = sizeof(scratch_out.d), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_xdp), &o))
		fail_msg("BPF_PROG_TEST_RUN (xdp): %s", strerror(errno));
	return (int)o.retval;
}

static int run_tc(struct pk *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .data_out = scratch_out.d,
		    .data_size_out = sizeof(scratch_out.d), .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_tc_egress), &o))
		fail_msg("BPF_PROG_TEST_RUN (tc): %s", strerror(errno));
	return (int)o.retval;
}

#define TC_OK 0

/* ---------- running commands ---------- */

struct result {
	int status; /* exit code, or 128 + signal */
	char out[65536];
	char err[8192];
};

static void read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got = f ? fread(buf, 1, n - 1, f) : 0;
	buf[got] = '\0';
	if (f)
		fclose(f);
}

/* Runs argv (NULL-terminated) with stdout and stderr captured, under a
 * 30 s `timeout` so a hanging command fails the test instead of blocking. */
static void run_argv(struct result *r, char *const argv[])
{
	char outp[PATH_MAX + 16], errp[PATH_MAX + 16];
	snprintf(outp, sizeof(outp), "%s/out", tmp_dir);
	snprintf(errp, sizeof(errp), "%s/err", tmp_dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		char *full[32] = { "timeout", "30" };
		int n = 2;
		for (int i = 0; argv[i] && n < 31; i++)
			full[n++] = argv[i];
		full[n] = NULL;
		execvp("timeout", full);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	read_file(outp, r->out, sizeof(r->out));
	read_file(errp, r->err, sizeof(r->err));
}

/* `rampart --pin-dir DIR ARGS...` (args: a space-separated list). */
static void rampart_in(struct result *r, const char *dir, const char *args)
{
	char buf[512], *argv[24];
	int n = 0;
	snprintf(buf, sizeof(buf), "%s", args);
	argv[n++] = rampart_bin;
	argv[n++] = "--pin-dir";
	argv[n++] = (char *)dir;
	for (char *s = strtok(buf, " "); s && n < 23; s = strtok(NULL, " "))
		argv[n++] = s;
	argv[n] = NULL;
	run_argv(r, argv);
}

static struct result R; /* the last command's result (large: static) */

static void rampart(const char *args)
{
	rampart_in(&R, pin_dir, args);
}

/* Evaluates a python expression over the JSON in `json` (d = the document;
 * with lines = true, d = the list of one-object-per-line documents) and
 * returns what it prints, stripped.  A parse error fails the test. */
static const char *py(const char *json, bool lines, const char *expr)
{
	static struct result pr;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/doc.json", tmp_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	const char *script = lines ? "import json,sys\n"
				     "d=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]\n"
				     "print(eval(sys.argv[2]))\n"
				   : "import json,sys\n"
				     "d=json.load(open(sys.argv[1]))\n"
				     "print(eval(sys.argv[2]))\n";
	char *argv[] = { "python3", "-c", (char *)script, path, (char *)expr, NULL };
	run_argv(&pr, argv);
	if (pr.status != 0)
		fail_msg("python3 on `%s` for %s failed: %s", json, expr, pr.err);
	size_t n = strlen(pr.out);
	while (n && (pr.out[n - 1] == '\n' || pr.out[n - 1] == ' '))
		pr.out[--n] = '\0';
	return pr.out;
}

/* EXPR evaluated on the JSON document(s) prints EXPECT (the message names EXPR) */
#define assert_py_as(lines, json, expr, expect)                                                    \
	do {                                                                                       \
		const char *got_ = py(json, lines, expr);                                          \
		if (strcmp(got_, expect))                                                          \
			fail_msg("%s: got `%s`, expected `%s` in:\n%s", expr, got_, expect, json); \
	} while (0)
#define assert_py(json, expr, expect)  assert_py_as(false, json, expr, expect)
#define assert_pyl(json, expr, expect) assert_py_as(true, json, expr, expect)
#define assert_contains(hay, needle)                                    \
	do {                                                            \
		if (!strstr(hay, needle))                               \
			fail_msg("expected `%s` in:\n%s", needle, hay); \
	} while (0)
#define assert_not_contains(hay, needle)                                      \
	do {                                                                  \
		if (strstr(hay, needle))                                      \
			fail_msg("did not expect `%s` in:\n%s", needle, hay); \
	} while (0)

/* The number after `label` on the line of text that starts (after
 * indentation) with it; fails when there is none. */
static unsigned long long text_value(const char *text, const char *label)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *s = line;
		while (*s == ' ')
			s++;
		size_t n = strlen(label);
		if (!strncmp(s, label, n) && s[n] == ' ') {
			unsigned long long v;
			if (sscanf(s + n, " %llu", &v) == 1)
				return v;
		}
	}
	fail_msg("no line `%s N` in:\n%s", label, text);
	return 0;
}

/* The line of text containing needle (copied into buf). */
static const char *line_with(const char *text, const char *needle, char *buf, size_t n)
{
	const char *p = strstr(text, needle);
	if (!p)
		fail_msg("expected a line with `%s` in:\n%s", needle, text);
	const char *b = p;
	while (b > text && b[-1] != '\n')
		b--;
	const char *e = strchr(p, '\n');
	size_t len = e ? (size_t)(e - b) : strlen(b);
	snprintf(buf, n, "%.*s", (int)(len < n ? len : n - 1), b);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---------- nothing loaded, usage ---------- */

static void test_unloaded_pin_dir(void **state)
{
	struct result *r = &R;
	rampart_in(r, empty_dir, "status");
	assert_int_equal(r->status, 0);
	assert_contains(r->out, "unloaded");
	assert_contains(r->out, "rampart apply");
	assert_contains(r->out, empty_dir);
	rampart_in(r, empty_dir, "status --json");
	assert_int_equal(r->status, 0);
	assert_py(r->out, "d['mode']", "unloaded");
	assert_py(r->out, "d['policy']", "None");
	assert_py(r->out, "d['pin_dir']", empty_dir);

	const char *others[] = { "rules", "flows", "log", "rules --json", "flows --json", "log --json", "log -f" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		rampart_in(r, empty_dir, others[i]);
		assert_int_equal(r->status, 3);
		assert_contains(r->err, "nothing loaded in");
		assert_contains(r->err, "rampart apply");
		assert_string_equal(r->out, "");
	}
}

static void test_usage_errors(void **state)
{
	rampart("status extra");
	assert_int_equal(R.status, 2);
	assert_contains(R.err, "takes no arguments");
	rampart("rules 1");
	assert_int_equal(R.status, 2);
	rampart("flows --all");
	assert_int_equal(R.status, 2);
	rampart("log --bogus");
	assert_int_equal(R.status, 2);
	assert_contains(R.err, "--bogus");
	/* the commands are listed in the help */
	rampart("--help");
	assert_int_equal(R.status, 0);
	assert_contains(R.out, "status");
	assert_contains(R.out, "flows");
	assert_contains(R.out, "log ");
	assert_contains(R.out, "consumes");
}

static void test_not_root_is_a_system_error(void **state)
{
	char *argv[] = { "setpriv",   "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
			 rampart_bin, "--pin-dir",     pin_dir,		"status",	  NULL };
	run_argv(&R, argv);
	if (R.status == 126 || R.status == 127)
		skip(); /* no setpriv, or the binary is not readable by nobody */
	assert_int_equal(R.status, 3);
	assert_contains(R.err, "run as root");
	argv[8] = "rules";
	run_argv(&R, argv);
	assert_int_equal(R.status, 3);
	assert_contains(R.err, "run as root");
}

/* ---------- status ---------- */

static void test_status_fresh_policy(void **state)
{
	rampart("status");
	assert_int_equal(R.status, 0);
	assert_contains(R.out, "mode:         enforcing\n");
	assert_contains(R.out, "policy:       test.rules\n");
	assert_contains(R.out, "sha256:     0102030000000000");
	assert_contains(R.out, "9 rules in 2 tables");
	assert_contains(R.out, "attachments:  none");
	assert_contains(R.out, "conntrack:    0 / 1024 entries");
	assert_int_equal(text_value(R.out, "new flows allowed"), 0);
	assert_int_equal(text_value(R.out, "log rate-limited"), 0);

	rampart("status --json");
	assert_int_equal(R.status, 0);
	assert_py(R.out, "d['mode']", "enforcing");
	assert_py(R.out, "d['policy']['file']", "test.rules");
	assert_py(R.out, "d['policy']['sha256']",
		  "010203"
		  "0000000000000000000000000000000000000000000000000000000000");
	assert_py(R.out, "(d['policy']['rules'], d['policy']['tables'])", "(9, 2)");
	assert_py(R.out, "d['conntrack']",
		  "{'entries': 0, 'capacity': 1024, 'half_open': 0, 'half_open_capacity': 1024}");
	assert_py(R.out, "d['attachments']", "[]");
	char expr[128];
	snprintf(expr, sizeof(expr), "len(d['counters']) == %d and sum(d['counters'].values()) == 0",
		 RPC_COUNTER_COUNT);
	assert_py(R.out, expr, "True");
	assert_py(R.out, "'drop-conntrack-full' in d['counters'] and 'log-rate-limited' in d['counters']", "True");
	/* loaded_at is a UTC time of just now */
	assert_py(R.out,
		  "__import__('datetime').datetime.strptime(d['policy']['loaded_at'], '%Y-%m-%dT%H:%M:%S.%fZ')"
		  ".replace(tzinfo=__import__('datetime').timezone.utc).timestamp() > __import__('time').time() - 60",
		  "True");
}

static void test_status_totals_after_traffic(void **state)
{
	struct pk p;
	tcp4(&p, R4, L4, 40001, 80, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS); /* allowed, tracked */
	tcp4(&p, L4, R4, 80, 40001, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK); /* reply of a flow */
	tcp4(&p, R4, L4, 40002, 8443, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS); /* allowed, logged */
	tcp4(&p, R4, L4, 40003, 23, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP); /* root default deny */
	tcp4(&p, R4, L4, 40004, 22, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_DROP); /* stray ACK: invalid */
	tcp4(&p, R4, L4, 40005, 9001, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP); /* web: deny */

	rampart("status --json");
	assert_int_equal(R.status, 0);
	assert_py(R.out, "d['counters']['new-allow']", "2");
	assert_py(R.out, "d['counters']['new-deny']", "2");
	assert_py(R.out, "d['counters']['drop-invalid']", "1");
	assert_py(R.out, "d['counters']['pass-flow']", "1");
	assert_py(R.out, "d['counters']['log-sent']", "2");
	assert_py(R.out, "d['totals']['passed']", "1");
	assert_py(R.out, "d['totals']['dropped']", "1");
	assert_py(R.out, "(d['totals']['new_allowed'], d['totals']['new_denied'])", "(2, 2)");
	/* both flows are being set up: in the half-open table */
	assert_py(R.out, "(d['conntrack']['entries'], d['conntrack']['half_open'])", "(0, 2)");

	rampart("status");
	assert_int_equal(R.status, 0);
	assert_contains(R.out, "conntrack:    0 / 1024 entries (0.0%), 2 / 1024 being set up");
	assert_int_equal(text_value(R.out, "new flows allowed"), 2);
	assert_int_equal(text_value(R.out, "new flows denied"), 2);
	assert_int_equal(text_value(R.out, "dropped"), 1);
	assert_int_equal(text_value(R.out, "passed"), 1);
	assert_int_equal(text_value(R.out, "log events sent"), 2);
	char line[256];
	assert_contains(line_with(R.out, "  dropped", line, sizeof(line)), "invalid 1");
	assert_contains(line_with(R.out, "  passed", line, sizeof(line)), "flow 1");
}

static void rate_1(struct rp_config *c)
{
	c->log_rate = 1;
}

static void test_status_shows_rate_limited_log(void **state)
{
	struct pk p;
	set_config(rate_1);
	for (int i = 0; i < 4; i++) {
		tcp4(&p, R4, L4, (uint16_t)(41000 + i), 8443, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	rampart("status");
	assert_int_equal(text_value(R.out, "log events sent"), 1);
	assert_int_equal(text_value(R.out, "log rate-limited"), 3);
	rampart("status --json");
	assert_py(R.out, "(d['totals']['log_sent'], d['totals']['log_rate_limited'])", "(1, 3)");
	assert_py(R.out, "d['counters']['log-rate-limited']", "3");
}

static void mode_open(struct rp_config *c)
{
	c->mode = RP_MODE_OPEN;
}
static void mode_lockdown(struct rp_config *c)
{
	c->mode = RP_MODE_LOCKDOWN;
}
static void mode_boot(struct rp_config *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->mode = RP_MODE_BOOT;
	c->boot_deadline_ns = ((uint64_t)ts.tv_sec + 300) * 1000000000ull + (uint64_t)ts.tv_nsec;
	c->boot_fail_closed = 0;
}

static void test_status_modes(void **state)
{
	set_config(mode_open);
	rampart("status");
	assert_contains(R.out, "mode:         open");
	rampart("status --json");
	assert_py(R.out, "d['mode']", "open");
	set_config(mode_lockdown);
	rampart("status --json");
	assert_py(R.out, "d['mode']", "lockdown");
	rampart("status");
	assert_contains(R.out, "mode:         lockdown (all traffic blocked)");
	set_config(mode_boot);
	rampart("status --json");
	assert_py(R.out, "d['mode']", "boot");
	assert_py(R.out, "295 <= d['boot']['timeout_left_s'] <= 300", "True");
	assert_py(R.out, "d['boot']['after_timeout']", "open");
	rampart("status");
	assert_contains(R.out, "mode:         boot (no policy applied: opens in 4m");
}

/* ---------- rules ---------- */

static void test_rules_in_order_with_metadata(void **state)
{
	rampart("rules --json");
	assert_int_equal(R.status, 0);
	const char *doc = R.out;
	char expr[128];
	/* the rules, then (option ftp-helper on, the default) the FTP helper */
	snprintf(expr, sizeof(expr), "len(d['rules']) == %d", NSLOTS + 1);
	assert_py(doc, expr, "True");
	assert_py(doc, "[r['helper'] for r in d['rules']].index(True)", "11");
	assert_py(doc, "d['rules'][11]['text'].startswith('ftp helper: ')", "True");
	assert_py(doc, "[r['line'] for r in d['rules']]", "[2, 3, 4, 5, 6, 7, 8, 9, 12, 0, 0, 0]");
	assert_py(doc, "[r['table'] for r in d['rules'][:11]]",
		  "['root', 'root', 'root', 'root', 'root', 'root', 'root', 'root', 'web', 'root', 'web']");
	assert_py(doc, "[r['verdict'] for r in d['rules'][:11]]",
		  "['allow', 'allow', 'continue', 'allow', 'allow', 'allow', 'jump', 'allow', 'deny', 'deny', "
		  "'continue']");
	assert_py(doc, "set(r['file'] for r in d['rules'][:9])", "{'test.rules'}");
	assert_py(doc, "[r['default'] for r in d['rules']].count(True)", "2");
	assert_py(doc, "d['rules'][9]['text']", "default deny");
	assert_py(doc, "d['rules'][1]['text']", "allow in proto tcp local port 8443 log");
	assert_py(doc, "(d['rules'][1]['log'], d['rules'][0]['log'])", "(True, False)");
	assert_py(doc, "sum(r['packets'] + r['bytes'] + r['log_dropped'] for r in d['rules'])", "0");
	assert_py(doc, "d['policy']", "test.rules");

	rampart("rules");
	assert_int_equal(R.status, 0);
	assert_contains(R.out, "policy test.rules: 9 rules, 2 tables");
	char hdr[256], row[256];
	line_with(R.out, "WHERE", hdr, sizeof(hdr));
	line_with(R.out, "test.rules:12", row, sizeof(row));
	assert_contains(row, "web");
	assert_contains(row, "deny in proto tcp local port 9001 log");
	/* aligned columns: the table name sits under TABLE in every row */
	size_t col = (size_t)(strstr(hdr, "TABLE") - hdr);
	assert_memory_equal(row + col, "web ", 4);
	line_with(R.out, "test.rules:3 ", row, sizeof(row));
	assert_memory_equal(row + col, "root", 4);
	line_with(R.out, "default deny", row, sizeof(row));
	assert_memory_equal(row + col, "root", 4);
	line_with(R.out, "(helper)", row, sizeof(row));
	assert_contains(row, "ftp helper: data connections announced on FTP control connections (ftp-ports 21)");
	/* header + NSLOTS rows + the helper after the policy line and a blank line */
	assert_int_equal(count_lines(R.out), 2 + 1 + NSLOTS + 1);
}

static void test_rules_hit_counters(void **state)
{
	struct pk p;
	uint32_t bytes80 = 0;
	for (int i = 0; i < 3; i++) {
		bytes80 += tcp4(&p, R4, L4, (uint16_t)(42000 + i), 80, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
		/* later packets of the flow are not judged, not counted */
		tcp4(&p, L4, R4, 80, (uint16_t)(42000 + i), TF_SYN | TF_ACK);
		assert_int_equal(run_tc(&p), TC_OK);
	}
	tcp4(&p, R4, L4, 42100, 8080, TF_SYN); /* continue (slot 2) then allow (slot 3) */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4(&p, R4, L4, 42101, 9001, TF_SYN); /* jump (slot 6) then web deny (slot 8) */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4(&p, R4, L4, 42102, 9005, TF_SYN); /* jump, web default continue, root default deny */
	assert_int_equal(run_xdp(&p), XDP_DROP);

	rampart("rules --json");
	assert_int_equal(R.status, 0);
	assert_py(R.out, "d['rules'][0]['packets']", "3");
	char expr[64], expect[32];
	snprintf(expr, sizeof(expr), "d['rules'][0]['bytes']");
	snprintf(expect, sizeof(expect), "%u", bytes80);
	assert_py(R.out, expr, expect);
	assert_py(R.out, "[r['packets'] for r in d['rules']]", "[3, 0, 1, 1, 0, 0, 2, 0, 1, 1, 0, 0]");

	rampart("rules");
	char row[256];
	line_with(R.out, "test.rules:2 ", row, sizeof(row));
	assert_contains(row, " 3 ");
	char b[32];
	snprintf(b, sizeof(b), "%u B", bytes80);
	assert_contains(row, b);
}

static void test_rules_show_log_dropped(void **state)
{
	struct pk p;
	set_config(rate_1);
	for (int i = 0; i < 3; i++) {
		tcp4(&p, R4, L4, (uint16_t)(43000 + i), 8443, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	rampart("rules --json");
	assert_py(R.out, "(d['rules'][1]['packets'], d['rules'][1]['logged'], d['rules'][1]['log_dropped'])",
		  "(3, 1, 2)");
	rampart("rules");
	char row[256];
	assert_contains(line_with(R.out, "test.rules:3 ", row, sizeof(row)), "[2 log events rate-limited or lost]");
	assert_not_contains(line_with(R.out, "test.rules:2 ", row, sizeof(row)), "rate-limited");
}

/* ---------- flows ---------- */

static void test_flows_empty(void **state)
{
	rampart("flows");
	assert_int_equal(R.status, 0);
	assert_contains(R.out, "no tracked connections (capacity 1024)");
	rampart("flows --json");
	assert_int_equal(R.status, 0);
	assert_py(R.out, "d", "[]");
}

static void test_flows_listing(void **state)
{
	struct pk p;
	/* TCP in, full handshake: established */
	tcp4(&p, R4, L4, 42000, 80, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4(&p, L4, R4, 80, 42000, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4(&p, R4, L4, 42000, 80, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* UDP in, no reply */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_udp(&p, 5300, 53, 12);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* ICMP echo */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_icmp(&p, 8 /* echo request */, 0, 77, 1);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* IPv6 TCP SYN: syn-sent */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_tcp(&p, 40000, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* outbound TCP (allow out) */
	tcp4(&p, L4, R4, 50000, 443, TF_SYN);
	assert_int_equal(run_tc(&p), TC_OK);

	rampart("flows --json");
	assert_int_equal(R.status, 0);
	const char *d = R.out;
	assert_py(d, "len(d)", "5");
	assert_py(d, "sorted(f['proto'] for f in d)", "['icmp', 'tcp', 'tcp', 'tcp', 'udp']");
	assert_py(d,
		  "[(f['orig'], f['reply'], f['state'], f['replied'], f['direction'], f['rule'], f['table']) "
		  "for f in d if f['orig'].get('port') == 42000][0]",
		  "({'addr': '198.51.100.7', 'port': 42000}, {'addr': '192.0.2.1', 'port': 80}, 'established', "
		  "True, 'in', 'test.rules:2', 'root')");
	assert_py(d, "[f['iface'] for f in d if f['orig'].get('port') == 42000][0]", "lo");
	/* judged under the policy in force: its rule and text, not marked */
	assert_py(d, "[(f['text'], f['earlier_policy']) for f in d if f['orig'].get('port') == 42000][0]",
		  "('allow in proto tcp local port 80', False)");
	assert_py(d,
		  "[3590 < f['expires_in_s'] <= 3600 and f['idle_s'] < 5 for f in d "
		  "if f['state'] == 'established'][0]",
		  "True");
	assert_py(d, "[(f['orig'], f['state'], f['replied'], f['rule']) for f in d if f['proto'] == 'udp'][0]",
		  "({'addr': '198.51.100.7', 'port': 5300}, 'udp', False, 'test.rules:6')");
	assert_py(d,
		  "[(f['orig'], f['reply'], f['state'], f['echo_id'], f['family']) for f in d "
		  "if f['proto'] == 'icmp'][0]",
		  "({'addr': '198.51.100.7'}, {'addr': '192.0.2.1'}, 'icmp', 77, 4)");
	assert_py(d,
		  "[(f['orig']['addr'], f['reply']['addr'], f['state'], f['family']) for f in d "
		  "if f['family'] == 6][0]",
		  "('2001:db8::7', '2001:db8::1', 'syn-sent', 6)");
	assert_py(d, "[(f['orig'], f['direction'], f['rule']) for f in d if f['direction'] == 'out'][0]",
		  "({'addr': '192.0.2.1', 'port': 50000}, 'out', 'test.rules:9')");

	rampart("flows");
	assert_int_equal(R.status, 0);
	char row[256], hdr[256];
	line_with(R.out, "PROTO", hdr, sizeof(hdr));
	line_with(R.out, "198.51.100.7:42000", row, sizeof(row));
	assert_contains(row, "192.0.2.1:80");
	assert_contains(row, "established");
	assert_contains(row, "test.rules:2 [root]");
	assert_contains(row, " lo ");
	size_t col = (size_t)(strstr(hdr, "STATE") - hdr);
	assert_memory_equal(row + col, "established", 11);
	line_with(R.out, "[2001:db8::7]:40000", row, sizeof(row));
	assert_contains(row, "[2001:db8::1]:80");
	assert_contains(row, "syn-sent [unreplied]");
	assert_memory_equal(row + col, "syn-sent", 8);
	line_with(R.out, "icmp", row, sizeof(row));
	assert_contains(row, "198.51.100.7 ");
	assert_contains(row, "test.rules:7");
	assert_contains(R.out, "5 flows of 1024");
}

/* ---------- log ---------- */

static void test_log_prints_and_consumes(void **state)
{
	struct pk p;
	tcp4(&p, R4, L4, 43210, 8443, TF_SYN); /* allow ... log */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4(&p, R4, L4, 43211, 8080, TF_SYN); /* continue: always logged */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4(&p, R4, L4, 43212, 9001, TF_SYN); /* web: deny ... log */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4(&p, R4, L4, 43213, 80, TF_SYN); /* no log */
	assert_int_equal(run_xdp(&p), XDP_PASS);

	rampart("log");
	assert_int_equal(R.status, 0);
	assert_int_equal(count_lines(R.out), 3);
	char row[512];
	line_with(R.out, ":43210", row, sizeof(row));
	assert_contains(row, "allow");
	assert_contains(row, "test.rules:3 [root]");
	assert_contains(row, " in ");
	assert_contains(row, "tcp");
	assert_contains(row, "198.51.100.7:43210 -> 192.0.2.1:8443");
	assert_contains(row, "on lo");
	assert_contains(row, "SYN");
	assert_not_contains(row, "rate-limited");
	line_with(R.out, ":43211", row, sizeof(row));
	assert_contains(row, "continue");
	assert_contains(row, "test.rules:4 [root]");
	assert_contains(row, "recorded");
	line_with(R.out, ":43212", row, sizeof(row));
	assert_contains(row, "deny");
	assert_contains(row, "test.rules:12 [web]");
	/* the time is today's wall clock */
	char today[16];
	time_t now = time(NULL);
	strftime(today, sizeof(today), "%Y-%m-%d", localtime(&now));
	assert_memory_equal(row, today, strlen(today));

	/* reading consumed them */
	rampart("log");
	assert_int_equal(R.status, 0);
	assert_string_equal(R.out, "");
	assert_contains(R.err, "no buffered events");

	tcp4(&p, R4, L4, 43300, 8443, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4(&p, L4, R4, 43301, 9001, TF_SYN); /* out: allowed by `allow out`, not logged */
	assert_int_equal(run_tc(&p), TC_OK);
	rampart("log --json");
	assert_int_equal(R.status, 0);
	assert_pyl(R.out, "len(d)", "1");
	assert_pyl(R.out, "(d[0]['verdict'], d[0]['rule'], d[0]['table'], d[0]['direction'], d[0]['proto'])",
		   "('allow', 'test.rules:3', 'root', 'in', 'tcp')");
	assert_pyl(R.out, "(d[0]['local'], d[0]['remote'])",
		   "({'addr': '192.0.2.1', 'port': 8443}, {'addr': '198.51.100.7', 'port': 43300})");
	assert_pyl(R.out, "(d[0]['src'], d[0]['dst'], d[0]['iface'], d[0]['tcp_flags'], d[0]['missed'])",
		   "('198.51.100.7:43300', '192.0.2.1:8443', 'lo', 'SYN', 0)");
	assert_pyl(R.out, "(d[0]['record'], d[0]['ask'], d[0]['hook'], d[0]['event'], d[0]['family'])",
		   "(False, False, 'xdp', 'packet', 4)");
	assert_pyl(R.out, "abs(d[0]['time_ns'] / 1e9 - __import__('time').time()) < 60", "True");
	/* --json with nothing buffered is empty output, still exit 0 */
	rampart("log --json");
	assert_int_equal(R.status, 0);
	assert_string_equal(R.out, "");
}

static void test_log_reports_missed_events(void **state)
{
	struct pk p;
	set_config(rate_1);
	for (int i = 0; i < 3; i++) {
		tcp4(&p, R4, L4, (uint16_t)(44000 + i), 8443, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	rampart("log");
	assert_int_equal(count_lines(R.out), 1);
	usleep(1100000); /* the bucket refills (1 event/s) */
	tcp4(&p, R4, L4, 44100, 8443, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	rampart("log");
	assert_int_equal(count_lines(R.out), 1);
	assert_contains(R.out, "(2 events of this rule were rate-limited since the last one)");

	/* the bucket is empty again: the next one is suppressed, and the
	 * event after the refill reports it */
	tcp4(&p, R4, L4, 44200, 8443, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	usleep(1100000);
	tcp4(&p, R4, L4, 44300, 8443, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	rampart("log --json");
	assert_pyl(R.out, "[(e['missed'], e['remote']['port']) for e in d]", "[(1, 44300)]");
	rampart("log");
	assert_string_equal(R.out, "");
}

/* `rampart log -f` in the background: events appear as they happen; a
 * signal ends it with exit 0. */
static pid_t spawn_follow(const char *args, int *out_fd)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		char buf[128], *argv[12];
		int n = 0;
		snprintf(buf, sizeof(buf), "%s", args);
		argv[n++] = rampart_bin;
		argv[n++] = "--pin-dir";
		argv[n++] = pin_dir;
		for (char *s = strtok(buf, " "); s && n < 11; s = strtok(NULL, " "))
			argv[n++] = s;
		argv[n] = NULL;
		execv(rampart_bin, argv);
		_exit(127);
	}
	close(pfd[1]);
	*out_fd = pfd[0];
	return pid;
}

/* Reads until a newline or timeout_ms passed. */
static int read_line(int fd, char *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	buf[0] = '\0';
	while (got + 1 < n) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		int left = timeout_ms -
			   (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, left) <= 0)
			break;
		ssize_t r = read(fd, buf + got, 1);
		if (r <= 0)
			break;
		got++;
		buf[got] = '\0';
		if (buf[got - 1] == '\n')
			return (int)got;
	}
	return -1;
}

static int stop_child(pid_t pid, int sig)
{
	int st = 0;
	kill(pid, sig);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void test_log_follow(void **state)
{
	struct pk p;
	int fd;
	pid_t pid = spawn_follow("log -f --json", &fd);
	usleep(300000);
	tcp4(&p, R4, L4, 45000, 8443, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	char line[2048];
	int n = read_line(fd, line, sizeof(line), 5000);
	if (n < 0) {
		stop_child(pid, SIGKILL);
		close(fd);
		fail_msg("no event from `rampart log -f --json` within 5 s");
	}
	assert_pyl(line, "(d[0]['rule'], d[0]['remote']['port'], d[0]['verdict'])", "('test.rules:3', 45000, 'allow')");
	/* a second event while it keeps following */
	tcp4(&p, R4, L4, 45001, 9001, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	n = read_line(fd, line, sizeof(line), 5000);
	assert_true(n > 0);
	assert_pyl(line, "(d[0]['rule'], d[0]['table'], d[0]['verdict'])", "('test.rules:12', 'web', 'deny')");
	assert_int_equal(stop_child(pid, SIGINT), 0);
	close(fd);

	/* text mode, ended by SIGTERM */
	pid = spawn_follow("log -f", &fd);
	usleep(300000);
	tcp4(&p, R4, L4, 45002, 8080, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	n = read_line(fd, line, sizeof(line), 5000);
	int rc = stop_child(pid, SIGTERM);
	close(fd);
	assert_true(n > 0);
	assert_contains(line, "198.51.100.7:45002 -> 192.0.2.1:8080");
	assert_contains(line, "continue");
	assert_int_equal(rc, 0);
}

static void test_log_follow_stops_on_unload(void **state)
{
	int fd;
	pid_t pid = spawn_follow("log -f", &fd);
	usleep(300000);
	pins_remove_all(&pins);
	/* it notices within about a second and exits by itself */
	int st = 0, rc = -1;
	for (int i = 0; i < 60 && rc < 0; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		else
			usleep(50000);
	}
	if (rc < 0)
		stop_child(pid, SIGKILL);
	close(fd);
	assert_int_equal(rc, 0);
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		printf("test_commands: needs root (BPF_PROG_TEST_RUN), skipped\n");
		return 0;
	}
	/* one CPU: the rate-limit buckets the tests read back are per CPU */
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0 || unshare(CLONE_NEWNET) != 0) {
		perror("sched_setaffinity / unshare(CLONE_NEWNET)");
		return 1;
	}
	libbpf_set_print(NULL);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/rampart-test-cmd-%d", (int)getpid());
	snprintf(empty_dir, sizeof(empty_dir), "/sys/fs/bpf/rampart-test-cmd-%d-empty", (int)getpid());
	if (pins_init(&pins, pin_dir) || pins_init(&empty_pins, empty_dir) || pins_check_bpffs(&pins))
		return 1;
	/* the binary under test: build/rampart next to build/ktests/ */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	exe[n] = '\0';
	const char *env = getenv("RAMPART");
	if (env)
		snprintf(rampart_bin, sizeof(rampart_bin), "%s", env);
	else
		snprintf(rampart_bin, sizeof(rampart_bin), "%s/rampart", dirname(dirname(exe)));
	if (access(rampart_bin, X_OK) != 0) {
		fprintf(stderr, "test_commands: %s not found; build it first (make rampart)\n", rampart_bin);
		return 1;
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/rampart-test-cmd-XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(tmp_dir, 0755);
	atexit(cleanup_at_exit);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_unloaded_pin_dir),
		T(test_usage_errors),
		T(test_not_root_is_a_system_error),
		T(test_status_fresh_policy),
		T(test_status_totals_after_traffic),
		T(test_status_shows_rate_limited_log),
		T(test_status_modes),
		T(test_rules_in_order_with_metadata),
		T(test_rules_hit_counters),
		T(test_rules_show_log_dropped),
		T(test_flows_empty),
		T(test_flows_listing),
		T(test_log_prints_and_consumes),
		T(test_log_reports_missed_events),
		T(test_log_follow),
		T(test_log_follow_stops_on_unload),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
