/* `rampart reset [--policy FILE] [--iface IF]... [--cgroup PATH]`: the
 * shipped default policy becomes the active policy file again (the old file
 * is kept as FILE.bak-YYYYmmdd-HHMMSS) and is applied.  If the apply fails,
 * the old file is put back. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "apply.h"
#include "cli.h"
#include "log.h"

struct reset_opts {
	struct target_opts target;
};

static const struct opt reset_opts[] = {
	TARGET_OPTIONS(struct reset_opts),
	OPT_END,
};

#define INSTALLED_DEFAULT "/usr/share/rampart/default.rules"

/* The installed copy, else the repository's policy/default.rules next to
 * the binary (build/rampart -> ../policy, ./rampart -> policy). */
static bool find_default(char *out, size_t n)
{
	char exe[PATH_MAX], dir[PATH_MAX - 32];
	if (access(INSTALLED_DEFAULT, R_OK) == 0) {
		snprintf(out, n, "%s", INSTALLED_DEFAULT);
		return true;
	}
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0)
		return false;
	exe[l] = 0;
	snprintf(dir, sizeof(dir), "%s", dirname(exe));
	const char *rel[] = { "policy/default.rules", "../policy/default.rules" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(out, n, "%s/%s", dir, rel[i]);
		if (access(out, R_OK) == 0)
			return true;
	}
	return false;
}

static int copy_file(const char *from, const char *to)
{
	char tmp[PATH_MAX + 8], buf[65536];
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	ssize_t r;
	int e = 0;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r) {
			e = -EIO;
			break;
		}
	if (r < 0)
		e = -errno;
	if (fsync(out) && !e)
		e = -errno;
	close(in);
	close(out);
	/* one rename: a watcher (the daemon) never reads a half-written file */
	if (!e && rename(tmp, to))
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

static int cmd_reset(struct cli *c)
{
	struct reset_opts *o = c->opts;
	struct apply_req rq;
	apply_req_from(&rq, c, &o->target, NULL);
	char dflt[PATH_MAX], backup[PATH_MAX + 32] = "";
	if (!find_default(dflt, sizeof(dflt))) {
		pr_err("the shipped default policy is missing (looked for %s and policy/default.rules next to the "
		       "binary); reinstall rampart (make install)",
		       INSTALLED_DEFAULT);
		return EXIT_SYSTEM;
	}
	char dirbuf[PATH_MAX];
	snprintf(dirbuf, sizeof(dirbuf), "%s", rq.file);
	mkdir(dirname(dirbuf), 0755); /* /etc/rampart on a fresh system */
	if (access(rq.file, F_OK) == 0) {
		char stamp[32];
		time_t t = time(NULL);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&t));
		snprintf(backup, sizeof(backup), "%s.bak-%s", rq.file, stamp);
		for (int i = 1; access(backup, F_OK) == 0 && i < 100; i++)
			snprintf(backup, sizeof(backup), "%s.bak-%s-%d", rq.file, stamp, i);
		if (link(rq.file, backup) && copy_file(rq.file, backup)) {
			pr_err("cannot back up %s to %s: %s; nothing was changed", rq.file, backup, strerror(errno));
			return EXIT_SYSTEM;
		}
	}
	int e = copy_file(dflt, rq.file);
	if (e) {
		pr_err("cannot write %s: %s; nothing was changed", rq.file, strerror(-e));
		return EXIT_SYSTEM;
	}
	struct apply_report rep;
	e = apply_policy(&rq, &rep);
	if (e) {
		if (backup[0] && rename(backup, rq.file) == 0)
			pr_err("%s was put back as it was", rq.file);
		return exit_code(e);
	}
	printf("reset %s to the default policy (%s)%s%s\n", rq.file, dflt, backup[0] ? "; the previous one is " : "",
	       backup);
	printf("applied: %d rules in %d tables, generation %u, mode enforcing\n", rep.nrules, rep.ntables,
	       rep.generation);
	return EXIT_OK;
}

const struct command reset_command = {
	.name = "reset",
	.run = cmd_reset,
	.opts = reset_opts,
	.opts_size = sizeof(struct reset_opts),
	.max_args = 0,
	.root = true,
	.help = "restore the shipped default policy as FILE (backup kept) and apply it",
};
