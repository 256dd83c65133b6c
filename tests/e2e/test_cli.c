/* End-to-end: the `rampart` command line as a user runs it: check and
 * explain, help, usage errors, output formats and exit codes (docs/cli.md).
 * Runs ./rampart from the repository root; needs no privileges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

struct run {
	int status; /* exit code, or 128+signal */
	char *out;  /* stdout and stderr together */
};

static struct run run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[4200];
	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	FILE *f = popen(full, "r");
	assert_non_null(f);
	struct run r = { 0 };
	size_t len = 0;
	FILE *m = open_memstream(&r.out, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	fclose(m);
	int st = pclose(f);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

static void has(const struct run *r, const char *needle)
{
	if (!strstr(r->out, needle))
		fail_msg("expected `%s` in output:\n%s", needle, r->out);
}

static char *temp_policy(const char *text)
{
	char *path = strdup("/tmp/rampart-cli-XXXXXX.rules");
	int fd = mkstemps(path, 6);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_check_examples_pass(void **state)
{
	const char *files[] = { "kerio-adsl-host", "kerio-ics-gateway", "netbios", "active-ftp", "isp-keepalive",
				"loopback",	   "udp-dns-dhcp",	"identd",  "jetico",	 "spec-example" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct run r = run("./rampart check policy/examples/%s.rules", files[i]);
		if (r.status != 0)
			fail_msg("%s: exit %d\n%s", files[i], r.status, r.out);
		has(&r, ": ok:");
		free(r.out);
	}
	struct run r = run("./rampart check policy/default.rules");
	assert_int_equal(r.status, 0);
	has(&r, "0 warnings");
	free(r.out);
}

static void test_check_reports_errors_like_a_compiler(void **state)
{
	char *path = temp_policy("addresses good = { 192.0.2.0/24 }\n"
				 "table root default deny {\n"
				 "    allow remote 192.0.2.300\n"
				 "    allow local port 70000\n"
				 "    jump nowhere\n"
				 "}\n");
	struct run r = run("./rampart check %s", path);
	assert_int_equal(r.status, 1);
	char want[512];
	snprintf(want, sizeof(want), "%s:3:18: error:", path);
	has(&r, want);
	snprintf(want, sizeof(want), "%s:4:22: error:", path);
	has(&r, want);
	snprintf(want, sizeof(want), "%s:5:10: error:", path);
	has(&r, want);
	has(&r, "    allow remote 192.0.2.300\n");
	has(&r, "\n                   ^");
	has(&r, "3 errors");
	free(r.out);
	unlink(path);
	free(path);
}

static void test_check_warnings_exit_zero(void **state)
{
	char *path = temp_policy("ports unused = { 1 }\n"
				 "table root {\n"
				 "    deny\n"
				 "    allow out\n"
				 "}\n");
	struct run r = run("./rampart check %s", path);
	assert_int_equal(r.status, 0);
	has(&r, "warning: rule can never match");
	has(&r, "warning: set `unused` is never used");
	has(&r, "warning: table `root` has no explicit default");
	has(&r, "3 warnings");
	free(r.out);
	unlink(path);
	free(path);
}

static void test_check_json(void **state)
{
	char *path = temp_policy("table root default deny {\n    allow remote 192.0.2.999\n}\n");
	struct run r =
		run("./rampart check --json %s | python3 -c 'import json,sys; d=json.load(sys.stdin); "
		    "print(d[\"ok\"], len(d[\"errors\"]), d[\"errors\"][0][\"line\"], d[\"errors\"][0][\"col\"])'",
		    path);
	assert_int_equal(r.status, 0);
	has(&r, "False 1 2 18");
	free(r.out);
	unlink(path);
	free(path);
}

static void test_check_random_bytes_never_crash(void **state)
{
	char path[] = "/tmp/rampart-random-XXXXXX";
	srand(1234);
	for (int round = 0; round < 20; round++) {
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		unsigned char buf[2048];
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = rand() & 0xff;
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		close(fd);
		struct run r = run("./rampart check %s", path);
		if (r.status != 1)
			fail_msg("random file: exit %d (want 1)\n%s", r.status, r.out);
		has(&r, "error:");
		free(r.out);
		unlink(path);
		strcpy(path, "/tmp/rampart-random-XXXXXX");
	}
}

static void test_check_missing_file(void **state)
{
	struct run r = run("./rampart check /nonexistent/policy.rules");
	assert_int_equal(r.status, 1);
	has(&r, "/nonexistent/policy.rules");
	has(&r, "error:");
	free(r.out);
}

static void test_explain_json_spec_example(void **state)
{
	struct run r = run("./rampart explain --json --policy policy/examples/spec-example.rules "
			   "out proto tcp remote 198.51.100.9 port 80 app /usr/bin/curl event connect "
			   "| python3 -c 'import json,sys; d=json.load(sys.stdin); "
			   "print(d[\"verdict\"], d[\"table\"], d[\"rule\"], len(d[\"trace\"]))'");
	assert_int_equal(r.status, 0);
	has(&r, "allow web-browser policy/examples/spec-example.rules:9 ");
	free(r.out);

	r = run("./rampart explain --json --policy policy/examples/spec-example.rules "
		"out proto tcp remote 198.51.100.9 port 22 app /usr/bin/curl event connect "
		"| python3 -c 'import json,sys; d=json.load(sys.stdin); "
		"print(d[\"verdict\"], d[\"table\"], d[\"rule\"], [s[\"step\"] for s in d[\"trace\"]])'");
	assert_int_equal(r.status, 0);
	has(&r, "ask ask-user None");
	has(&r, "'jump'");
	has(&r, "'return'");
	has(&r, "'default'");
	free(r.out);
}

static void test_explain_text_trace(void **state)
{
	struct run r = run("./rampart explain --policy policy/examples/spec-example.rules "
			   "in proto tcp remote 198.51.100.5 port 40000 local port 445");
	assert_int_equal(r.status, 0);
	has(&r, "event: ");
	has(&r, "no match: on (the event does not carry it)");
	has(&r, "match: deny");
	has(&r, "verdict: deny (table root, rule policy/examples/spec-example.rules:21)");
	free(r.out);
}

static void test_explain_errors(void **state)
{
	struct run r = run("./rampart explain --policy policy/examples/spec-example.rules");
	assert_int_equal(r.status, 2);
	has(&r, "needs an EVENT");
	free(r.out);
	r = run("./rampart explain --policy policy/examples/spec-example.rules out proto tcp remote 300.1.1.1");
	assert_int_equal(r.status, 2);
	has(&r, "error:");
	free(r.out);
	char *path = temp_policy("table root default deny {\n    allow bogus\n}\n");
	r = run("./rampart explain --policy %s out proto tcp", path);
	assert_int_equal(r.status, 1);
	free(r.out);
	unlink(path);
	free(path);
}

static void test_usage(void **state)
{
	struct run r = run("./rampart");
	assert_int_equal(r.status, 2);
	has(&r, "usage:");
	free(r.out);
	r = run("./rampart frobnicate");
	assert_int_equal(r.status, 2);
	has(&r, "unknown command `frobnicate`");
	free(r.out);
	r = run("./rampart --help");
	assert_int_equal(r.status, 0);
	has(&r, "explain");
	free(r.out);
	r = run("./rampart check a.rules b.rules");
	assert_int_equal(r.status, 2);
	free(r.out);
}

/* Every command answers `--help` (and `help COMMAND`) with its usage. */
static void test_every_command_has_help(void **state)
{
	const char *cmds[] = { "check", "explain", "apply",  "unload", "status", "rules",    "flows",
			       "log",	"boot",	   "daemon", "reset",  "stop",	 "shutdown", "ask" };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "usage: rampart %s", cmds[i]);
		struct run r = run("./rampart %s --help", cmds[i]);
		if (r.status != 0 || strncmp(r.out, want, strlen(want)))
			fail_msg("%s --help: exit %d\n%s", cmds[i], r.status, r.out);
		has(&r, "global options:");
		free(r.out);
		r = run("./rampart help %s", cmds[i]);
		if (r.status != 0 || strncmp(r.out, want, strlen(want)))
			fail_msg("help %s: exit %d\n%s", cmds[i], r.status, r.out);
		free(r.out);
	}
}

/* The help of a command lists its options, as the parser accepts them. */
static void test_help_lists_the_options(void **state)
{
	struct run r = run("./rampart apply --help");
	has(&r, "usage: rampart apply [FILE] [--iface IF]... [--cgroup PATH] [--policy FILE]");
	has(&r, "--pin-dir DIR");
	free(r.out);
	r = run("./rampart boot --help");
	has(&r, "--timeout S");
	has(&r, "--fail open|closed");
	free(r.out);
	r = run("./rampart log --help");
	has(&r, "-f, --follow");
	free(r.out);
}

/* Usage errors: exit 2 and a message naming the problem and the help. */
static void test_usage_errors(void **state)
{
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ "apply --ifcae x", "rampart apply: unknown option `--ifcae`" },
		{ "apply p.rules --iface", "--iface needs a value" },
		{ "apply a.rules b.rules", "takes at most one FILE" },
		{ "boot --timeout soon", "--timeout takes a number, got `soon`" },
		{ "boot --fail maybe", "--fail takes open|closed" },
		{ "status extra", "takes no arguments (got `extra`)" },
		{ "log --json=1", "--json takes no value" },
		{ "stop --iface x", "unknown option `--iface`" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = run("./rampart %s", cases[i].args);
		if (r.status != 2)
			fail_msg("%s: exit %d, want 2\n%s", cases[i].args, r.status, r.out);
		has(&r, cases[i].want);
		has(&r, "--help` for usage");
		free(r.out);
	}
}

/* Global options go before or after the command, in both spellings. */
static void test_global_options_anywhere(void **state)
{
	const char *forms[] = {
		"./rampart --json check policy/default.rules",
		"./rampart check --json policy/default.rules",
		"./rampart check policy/default.rules --json --pin-dir=/sys/fs/bpf/rampart-none",
		"./rampart --pin-dir /sys/fs/bpf/rampart-none --json check -- policy/default.rules",
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct run r = run("%s", forms[i]);
		if (r.status != 0)
			fail_msg("%s: exit %d\n%s", forms[i], r.status, r.out);
		has(&r, "\"ok\": true");
		free(r.out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_examples_pass),
		cmocka_unit_test(test_check_reports_errors_like_a_compiler),
		cmocka_unit_test(test_check_warnings_exit_zero),
		cmocka_unit_test(test_check_json),
		cmocka_unit_test(test_check_random_bytes_never_crash),
		cmocka_unit_test(test_check_missing_file),
		cmocka_unit_test(test_explain_json_spec_example),
		cmocka_unit_test(test_explain_text_trace),
		cmocka_unit_test(test_explain_errors),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_every_command_has_help),
		cmocka_unit_test(test_help_lists_the_options),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_global_options_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
