/* The option parser (loader/options.c): one table per command gives the
 * parsing, the help and the usage errors.  A test command with an option
 * of every kind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli.h"
#include "capture.h"
#include "log.h"
#include "options.h"

struct try_opts {
	struct opt_list iface;
	const char *cgroup;
	struct opt_uint timeout;
	const char *fail;
	bool follow;
};

static const char *const fail_choices[] = { "open", "closed", NULL };

static const struct opt try_opts[] = {
	OPTION("--iface", NULL, "IF", "an interface", OPT_LIST, struct try_opts, iface),
	OPTION("--cgroup", NULL, "PATH", "a cgroup", OPT_STRING, struct try_opts, cgroup),
	OPTION("--timeout", NULL, "S", "seconds", OPT_UINT, struct try_opts, timeout),
	OPTION("--fail", NULL, "open|closed", "how", OPT_CHOICE, struct try_opts, fail, .choices = fail_choices),
	OPTION("--follow", "-f", NULL, "keep going", OPT_FLAG, struct try_opts, follow),
	OPT_END,
};

static int run_nothing(struct cli *c)
{
	return 0;
}

static const struct command try_command = {
	.name = "try",
	.run = run_nothing,
	.opts = try_opts,
	.opts_size = sizeof(struct try_opts),
	.args = "[FILE]",
	.arg_name = "FILE",
	.max_args = 1,
	.help = "a command to try the parser on",
};

static const struct command bare_command = { .name = "bare", .run = run_nothing, .max_args = 0, .help = "none" };

static const struct command *const cmds[] = { &try_command, &bare_command, NULL };

/* Parses a command line given as one string of words. */
static int parse(struct cli *c, const char *line)
{
	static char buf[512];
	char *argv[32];
	int argc = 0;
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok(buf, " "); w && argc < 32; w = strtok(NULL, " "))
		argv[argc++] = w;
	memset(c, 0, sizeof(*c));
	c->pin_dir = PINS_DEFAULT_DIR;
	return options_parse(c, cmds, argc, argv);
}

static void done(struct cli *c)
{
	free(c->opts);
	free(c->argv);
}

static void test_every_kind(void **state)
{
	struct cli c;
	assert_int_equal(parse(&c, "try --iface eth0 f.rules --iface=eth1 --cgroup /a --timeout 30 --fail closed -f"),
			 0);
	const struct try_opts *o = c.opts;
	assert_ptr_equal(c.cmd, &try_command);
	assert_int_equal(o->iface.n, 2);
	assert_string_equal(o->iface.v[0], "eth0");
	assert_string_equal(o->iface.v[1], "eth1");
	assert_string_equal(o->cgroup, "/a");
	assert_true(o->timeout.set);
	assert_int_equal(o->timeout.v, 30);
	assert_string_equal(o->fail, "closed");
	assert_true(o->follow);
	assert_int_equal(c.argc, 2);
	assert_string_equal(c.argv[0], "try");
	assert_string_equal(c.argv[1], "f.rules");
	done(&c);
}

static void test_global_options_anywhere(void **state)
{
	struct cli c;
	assert_int_equal(parse(&c, "--json try --pin-dir=/sys/fs/bpf/x -v"), 0);
	assert_true(c.json);
	assert_true(c.verbose);
	assert_string_equal(c.pin_dir, "/sys/fs/bpf/x");
	const struct try_opts *o = c.opts;
	assert_false(o->timeout.set);
	assert_null(o->cgroup);
	done(&c);
	/* after --, words are words */
	assert_int_equal(parse(&c, "try -- --json"), 0);
	assert_false(c.json);
	assert_string_equal(c.argv[1], "--json");
	done(&c);
}

static void test_usage_errors(void **state)
{
	static const char *const bad[] = {
		"try --ifcae x",							/* unknown */
		"try --iface",								/* no value */
		"try --timeout -1", "try --timeout 3s", "try --fail maybe", "try -f=1", /* bad values */
		"try a b",								/* one FILE at most */
		"bare x",								/* none */
		"frobnicate",								/* no such command */
		"--json",								/* no command */
		"bare --iface x",							/* not its option */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cli c;
		int e = parse(&c, bad[i]);
		if (e != -RP_EUSAGE)
			fail_msg("`%s`: %d, not a usage error", bad[i], e);
		assert_int_equal(exit_code(e), EXIT_USAGE);
		done(&c);
	}
}

static void test_help(void **state)
{
	struct cli c;
	assert_int_equal(parse(&c, "try --help"), 1);
	done(&c);
	assert_int_equal(parse(&c, "help try"), 1);
	done(&c);
	assert_int_equal(parse(&c, "-h"), 1);
	done(&c);
	struct capture cap;
	capture_open(&cap);
	options_command_help(cap.f, &try_command);
	const char *t = capture_text(&cap);
	if (!strstr(t, "usage: rampart try [FILE] [--iface IF]... [--cgroup PATH] [--timeout S] [--fail open|closed] "
		       "[-f|--follow]\n"))
		fail_msg("synopsis:\n%s", t);
	if (!strstr(t, "  -f, --follow           keep going\n") || !strstr(t, "  --pin-dir DIR"))
		fail_msg("options:\n%s", t);
	capture_close(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_global_options_anywhere),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
