/* `rampart daemon [--policy FILE] [--iface IF]... [--cgroup PATH]`: the
 * long-running engine.  Applies the policy (the apply code path: atomic),
 * prints the log (like `rampart log -f`, --json for one object per line),
 * and re-applies on SIGHUP and when the policy file changes (inotify on its
 * directory, so editors that write a new file and rename it are seen).  A
 * policy that does not load is reported and the running one stays.
 *
 * The daemon never unloads: everything it applies is pinned, so SIGTERM,
 * a crash or a restart leave the policy enforcing exactly as it was
 * (docs/cli.md, docs/operations.md).  Messages go to stderr; stdout carries only log events. */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "apply.h"
#include "boot.h"
#include "cli.h"
#include "format.h"
#include "log.h"
#include "pins.h"

#define DEBOUNCE_NS (300 * 1000000ull) /* editors write in several steps */

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_stop(int sig)
{
	stop_requested = 1;
}

static void on_hup(int sig)
{
	reload_requested = 1;
}

struct daemon {
	struct apply_req rq;
	int inotify_fd;
	char base[NAME_MAX + 1]; /* the policy file's name in its directory */
	uint64_t due_ns;	 /* a change was seen: reload at this time (0: none) */
	unsigned reloads, failures;
};

struct daemon_opts {
	struct target_opts target;
};

static const struct opt daemon_opts[] = {
	TARGET_OPTIONS(struct daemon_opts),
	OPT_END,
};

static uint32_t current_mode(const struct pin_dir *pd)
{
	struct rp_config cfg;
	__u32 zero = 0;
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_CONFIG));
	uint32_t mode = RP_MODE_COUNT;
	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &cfg) == 0)
		mode = cfg.mode;
	if (fd >= 0)
		close(fd);
	return mode;
}

static int apply_now(struct daemon *d, const char *why)
{
	struct apply_report rep;
	int rc = exit_code(apply_policy(&d->rq, &rep));
	if (rc == EXIT_OK)
		pr_info("%s: applied %s (sha256 %.12s, %d rules, generation %u) in %.2f s; mode enforcing", why,
			d->rq.file, rep.sha256, rep.nrules, rep.generation, rep.seconds);
	else
		pr_info("%s: %s was not applied (exit %d); the running policy stays in force", why, d->rq.file, rc);
	return rc;
}

static void reload(struct daemon *d, const char *why)
{
	/* `rampart shutdown` ran (system going down): do not lift the lockdown */
	if (current_mode(d->rq.pins) == RP_MODE_LOCKDOWN) {
		pr_info("%s: mode is lockdown (rampart shutdown); not applying", why);
		return;
	}
	if (apply_now(d, why) == EXIT_OK)
		d->reloads++;
	else
		d->failures++;
}

/* Reads pending inotify events; a change of our file schedules a reload. */
static void drain_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(d->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->len && !strcmp(ev->name, d->base))
				d->due_ns = now_mono_ns() + DEBOUNCE_NS;
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void tick(void *arg)
{
	struct daemon *d = arg;
	if (d->inotify_fd >= 0)
		drain_inotify(d);
	if (reload_requested) {
		reload_requested = 0;
		d->due_ns = 0;
		reload(d, "SIGHUP");
	}
	if (d->due_ns && now_mono_ns() >= d->due_ns) {
		d->due_ns = 0;
		if (access(d->rq.file, R_OK) != 0)
			pr_info("%s changed but cannot be read (%s); the running policy stays in force", d->rq.file,
				strerror(errno));
		else
			reload(d, "policy file changed");
	}
}

static int cmd_daemon(struct cli *c)
{
	struct daemon_opts *o = c->opts;
	struct daemon d;
	memset(&d, 0, sizeof(d));
	apply_req_from(&d.rq, c, &o->target, NULL);
	d.rq.reason = RP_REASON_DAEMON;
	d.inotify_fd = -1;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: the poll returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);

	/* watch before the first apply, so no edit falls between the two */
	char dirbuf[PATH_MAX], basebuf[PATH_MAX];
	snprintf(dirbuf, sizeof(dirbuf), "%s", d.rq.file);
	snprintf(basebuf, sizeof(basebuf), "%s", d.rq.file);
	snprintf(d.base, sizeof(d.base), "%s", basename(basebuf));
	d.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d.inotify_fd < 0 || inotify_add_watch(d.inotify_fd, dirname(dirbuf),
						  IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) < 0)
		pr_info("cannot watch %s for changes (%s); reload with SIGHUP", d.rq.file, strerror(errno));

	int rc = apply_now(&d, "start");
	if (rc != EXIT_OK && !pins_loaded(&c->pins))
		return rc; /* nothing to serve; systemd restarts us, boot protection holds meanwhile */
	pr_info("serving the log of %s; SIGHUP or an edit of %s reloads; SIGTERM exits and leaves the policy "
		"in force",
		c->pins.path, d.rq.file);
	rc = log_serve(c, &stop_requested, tick, &d);
	pr_info("exiting (%u reloads, %u failed); the policy stays in force in %s", d.reloads, d.failures,
		c->pins.path);
	if (d.inotify_fd >= 0)
		close(d.inotify_fd);
	return rc;
}

const struct command daemon_command = {
	.name = "daemon",
	.run = cmd_daemon,
	.opts = daemon_opts,
	.opts_size = sizeof(struct daemon_opts),
	.max_args = 0,
	.root = true,
	.help = "apply the policy, print the log, reload on SIGHUP or when the file changes",
};
