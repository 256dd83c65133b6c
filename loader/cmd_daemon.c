/* `rampart daemon [--policy FILE] [--iface IF]... [--cgroup PATH]
 * [--metrics-file PATH [--metrics-interval S]] [--metrics-listen ADDR]`: the
 * long-running engine.  Applies the policy (the apply code path: atomic),
 * prints the log (like `rampart log -f`, --json for one object per line),
 * and re-applies on SIGHUP and when the policy file changes.  A policy that
 * does not load is reported and the running one stays.
 *
 * Changes are seen with inotify on the file's directory: a write of the
 * file, an editor's write-and-rename, and a swap of a symlink on the way to
 * it (a Kubernetes ConfigMap volume: FILE -> ..data/FILE, where `..data` is
 * a symlink renamed atomically onto a new directory) - any event in the
 * directory after which FILE (symlinks followed) is another file than the
 * one last applied.  The directory of the file a symlink leads to is
 * watched too, for edits there.  Writing into a directory that no link
 * leads to yet (the next ConfigMap version) changes nothing.
 *
 * Metrics (metrics.h): --metrics-file rewrites PATH atomically every
 * --metrics-interval seconds (node-exporter's textfile collector);
 * --metrics-listen serves them over HTTP (metrics_http.h).
 *
 * The daemon never unloads: everything it applies is pinned, so SIGTERM,
 * a crash or a restart leave the policy enforcing exactly as it was
 * (SPEC 3.2, 4).  Messages go to stderr; stdout carries only log events. */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <netdb.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "apply.h"
#include "boot.h"
#include "cli.h"
#include "datapath.h"
#include "format.h"
#include "ifsync.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "netdev.h"
#include "pins.h"

#define DEBOUNCE_NS		 (300 * 1000000ull) /* editors write in several steps */
#define METRICS_INTERVAL_DEFAULT 15		    /* seconds */
#define RESOLVE_INTERVAL_DEFAULT 30		    /* seconds */

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_stop(int sig)
{
	stop_requested = 1;
}

static void on_hup(int sig)
{
	reload_requested = 1;
}

/* A directory entry whose change means the policy changed. */
struct watch {
	int wd; /* inotify watch of its directory, -1: none */
	char name[NAME_MAX + 1];
};

struct daemon {
	struct apply_req rq;
	int inotify_fd;
	struct watch file;   /* the policy file as named */
	struct watch target; /* the file its symlinks lead to (wd -1 when it is no symlink) */
	dev_t dev;	     /* the file (symlinks followed) as last applied */
	ino_t ino;
	uint64_t due_ns; /* a change was seen: reload at this time (0: none) */
	unsigned reloads, failures;
	int link_fd;		   /* rtnetlink link events (netdev_watch_open), -1: none */
	uint64_t ifsync_due_ns;	   /* interfaces changed: bring the attachments in line then (0: no) */
	char unresolved[256];	   /* host names of the policy in force that did not resolve */
	unsigned resolve_interval; /* seconds between tries */
	uint64_t resolve_due_ns;   /* try them again then (0: nothing to try) */
	const char *metrics_file;
	unsigned metrics_interval; /* seconds */
	uint64_t metrics_due_ns;
	bool metrics_failing;  /* the last write failed (say so once) */
	struct ask_front *ask; /* --ask: the agent answering `ask` questions (NULL: none) */
};

/* Link events come in bursts (a veth pair: two devices, up, renamed by
 * udev, enslaved): act once they settled. */
#define IFSYNC_DEBOUNCE_NS (100 * 1000000ull)

static uint32_t current_mode(const struct pin_dir *pd)
{
	struct rp_config cfg;
	return config_read_in_force(pd, &cfg) ? RP_MODE_COUNT : cfg.mode;
}

/* Splits path into the directory to watch (into dir) and the entry name. */
static void split_path(const char *path, char *dir, size_t dlen, char *name, size_t nlen)
{
	char a[PATH_MAX], b[PATH_MAX];
	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, dlen, "%s", dirname(a));
	snprintf(name, nlen, "%s", basename(b));
}

/* Watches the directory of the file the policy's symlinks lead to now (when
 * the policy file is a symlink), replacing the previous such watch. */
static void watch_target(struct daemon *d)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	if (d->target.wd >= 0 && d->target.wd != d->file.wd)
		inotify_rm_watch(d->inotify_fd, d->target.wd);
	d->target.wd = -1;
	if (d->inotify_fd < 0 || lstat(d->rq.file, &st) != 0 || !S_ISLNK(st.st_mode) || !realpath(d->rq.file, real))
		return;
	split_path(real, dir, sizeof(dir), d->target.name, sizeof(d->target.name));
	/* IN_MASK_ADD: the same directory as the file's keeps that watch's events */
	d->target.wd = inotify_add_watch(d->inotify_fd, dir,
					 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MASK_ADD);
}

/* The policy file (symlinks followed) is another file than the one last
 * applied. */
static bool file_replaced(const struct daemon *d)
{
	struct stat st;
	if (stat(d->rq.file, &st) != 0)
		return d->ino != 0;
	return st.st_dev != d->dev || st.st_ino != d->ino;
}

static int apply_now(struct daemon *d, const char *why)
{
	struct apply_report rep;
	struct stat st;
	/* before reading: a swap after this point is seen as another change */
	if (stat(d->rq.file, &st) == 0) {
		d->dev = st.st_dev;
		d->ino = st.st_ino;
	} else {
		d->dev = 0;
		d->ino = 0;
	}
	watch_target(d);
	int rc = exit_code(apply_policy(&d->rq, &rep));
	if (rc == EXIT_OK) {
		pr_info("%s: applied %s (sha256 %.12s, %d rules, generation %u) in %.2f s; mode enforcing", why,
			d->rq.file, rep.sha256, rep.nrules, rep.generation, rep.seconds);
		snprintf(d->unresolved, sizeof(d->unresolved), "%s", rep.unresolved);
		d->resolve_due_ns = rep.unresolved[0] ? now_mono_ns() + d->resolve_interval * 1000000000ull : 0;
		if (rep.unresolved[0])
			pr_info("host names that do not resolve (they match nothing): %s; trying again every %u s",
				rep.unresolved, d->resolve_interval);
	} else
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
	/* ... nor one that runs while this apply waits for the lock */
	d->rq.unless_shutdown = true;
	int rc = apply_now(d, why);
	d->rq.unless_shutdown = false;
	if (rc == EXIT_OK)
		d->reloads++;
	else
		d->failures++;
}

static bool is_entry(const struct watch *w, const struct inotify_event *ev)
{
	return w->wd >= 0 && ev->wd == w->wd && !strcmp(ev->name, w->name);
}

/* Reads pending inotify events; a change of our file schedules a reload. */
static void drain_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(d->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		bool other = false;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->len && (is_entry(&d->file, ev) || is_entry(&d->target, ev)))
				d->due_ns = now_mono_ns() + DEBOUNCE_NS;
			else if (ev->len)
				other = true;
			p += sizeof(*ev) + ev->len;
		}
		/* another entry changed: a symlink on the way to our file? */
		if (other && file_replaced(d))
			d->due_ns = now_mono_ns() + DEBOUNCE_NS;
	}
}

static void write_metrics(struct daemon *d)
{
	int e = metrics_write_file(d->metrics_file, d->rq.pins);
	if (!e && d->metrics_failing)
		pr_info("writing %s again", d->metrics_file);
	else if (e && !d->metrics_failing)
		pr_info("cannot write the metrics to %s (%s); trying again every %u s", d->metrics_file, strerror(-e),
			d->metrics_interval);
	d->metrics_failing = e != 0;
	d->metrics_due_ns = now_mono_ns() + d->metrics_interval * 1000000000ull;
}

/* Interfaces appeared, went or changed: the attachments follow the
 * selection of the running policy (ifsync.h). */
static void follow_ifaces(struct daemon *d)
{
	if (d->link_fd >= 0 && netdev_watch_drain(d->link_fd) && !d->ifsync_due_ns)
		d->ifsync_due_ns = now_mono_ns() + IFSYNC_DEBOUNCE_NS;
	if (!d->ifsync_due_ns || now_mono_ns() < d->ifsync_due_ns)
		return;
	d->ifsync_due_ns = 0;
	struct ifsync_report r;
	if (ifsync_run(d->rq.pins, &r))
		return;
	if (r.attached)
		pr_info("interfaces changed: %d attached (%s%s), %d detached", r.attached, r.first,
			r.attached > 1 ? ", ..." : "", r.detached);
	else if (r.detached)
		pr_info("interfaces changed: %d detached", r.detached);
}

/* Does one of the names (separated by spaces) resolve now? */
static bool any_resolves(const char *names)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *n = strtok_r(buf, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
		if (getaddrinfo(n, NULL, &hints, &res) == 0) {
			freeaddrinfo(res);
			return true;
		}
	}
	return false;
}

/* The policy in force names hosts that did not resolve: once one does, it
 * is applied again (the names get their addresses). */
static void follow_dns(struct daemon *d)
{
	if (!d->resolve_due_ns || now_mono_ns() < d->resolve_due_ns)
		return;
	d->resolve_due_ns = now_mono_ns() + d->resolve_interval * 1000000000ull;
	if (any_resolves(d->unresolved))
		reload(d, "host names resolve now");
}

static void tick(void *arg)
{
	struct daemon *d = arg;
	follow_ifaces(d);
	follow_dns(d);
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
	if (d->metrics_file && now_mono_ns() >= d->metrics_due_ns)
		write_metrics(d);
	if (d->ask && ask_front_step(d->ask, 0)) {
		pr_info("the ask agent's input ended: nobody answers questions any more (ask-default applies)");
		ask_front_close(d->ask);
		d->ask = NULL;
	}
}

struct daemon_opts {
	struct target_opts target;
	const char *metrics_file;
	struct opt_uint metrics_interval;
	const char *metrics_listen;
	struct opt_uint resolve_interval;
	bool ask;
};

static const struct opt daemon_opts[] = {
	TARGET_OPTIONS(struct daemon_opts),
	OPTION("--metrics-file", NULL, "PATH", "keep the metrics in PATH (node-exporter's textfile collector)",
	       OPT_STRING, struct daemon_opts, metrics_file),
	OPTION("--metrics-interval", NULL, "S", "rewrite --metrics-file every S seconds (1 to 86400, default 15)",
	       OPT_UINT, struct daemon_opts, metrics_interval),
	OPTION("--metrics-listen", NULL, "ADDR",
	       "serve the metrics at http://ADDR/metrics (HOST:PORT, [IPV6]:PORT, :PORT)", OPT_STRING,
	       struct daemon_opts, metrics_listen),
	OPTION("--resolve-interval", NULL, "S",
	       "host names of the policy that do not resolve: try again every S seconds (1 to 86400, default 30)",
	       OPT_UINT, struct daemon_opts, resolve_interval),
	OPTION("--ask", NULL, NULL,
	       "answer `ask` questions: on the terminal, or with --json as the line protocol on stdin/stdout", OPT_FLAG,
	       struct daemon_opts, ask),
	OPT_END,
};

/* The daemon of the options, and what they need checked beyond parsing. */
static int daemon_init(struct cli *c, struct daemon *d, struct sockaddr_storage *listen_sa)
{
	const struct daemon_opts *o = c->opts;
	memset(d, 0, sizeof(*d));
	apply_req_from(&d->rq, c, &o->target, NULL);
	d->rq.reason = RP_REASON_DAEMON;
	d->inotify_fd = d->file.wd = d->target.wd = d->link_fd = -1;
	d->metrics_file = o->metrics_file;
	d->metrics_interval = o->metrics_interval.set ? o->metrics_interval.v : METRICS_INTERVAL_DEFAULT;
	if (d->metrics_interval < 1 || d->metrics_interval > 86400)
		return usage_error(c, "--metrics-interval takes whole seconds from 1 to 86400 (got %u)",
				   d->metrics_interval);
	d->resolve_interval = o->resolve_interval.set ? o->resolve_interval.v : RESOLVE_INTERVAL_DEFAULT;
	if (d->resolve_interval < 1 || d->resolve_interval > 86400)
		return usage_error(c, "--resolve-interval takes whole seconds from 1 to 86400 (got %u)",
				   d->resolve_interval);
	if (o->metrics_interval.set && !o->metrics_file)
		return usage_error(c, "--metrics-interval needs --metrics-file PATH");
	if (o->metrics_listen && metrics_listen_parse(o->metrics_listen, listen_sa) != 0)
		return usage_error(c,
				   "--metrics-listen takes HOST:PORT with a numeric address, [IPV6]:PORT or :PORT "
				   "(got `%s`)",
				   o->metrics_listen);
	return EXIT_OK;
}

/* Signals, and a watch of the policy file before the first apply, so that
 * no edit falls between the two. */
static void daemon_watch(struct daemon *d)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: the poll returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	char dir[PATH_MAX];
	split_path(d->rq.file, dir, sizeof(dir), d->file.name, sizeof(d->file.name));
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inotify_fd >= 0)
		d->file.wd = inotify_add_watch(d->inotify_fd, dir,
					       IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB);
	if (d->file.wd < 0)
		pr_info("cannot watch %s for changes (%s); reload with SIGHUP", d->rq.file, strerror(errno));
	d->link_fd = netdev_watch_open();
	if (d->link_fd < 0)
		pr_info("cannot follow interfaces that appear (%s); apply again to protect them",
			strerror(-d->link_fd));
}

static int cmd_daemon(struct cli *c)
{
	struct daemon d;
	struct sockaddr_storage listen_sa;
	const char *listen = ((const struct daemon_opts *)c->opts)->metrics_listen;
	int rc = daemon_init(c, &d, &listen_sa);
	if (rc)
		return rc;
	daemon_watch(&d);
	rc = apply_now(&d, "start");
	if (rc != EXIT_OK && !pins_loaded(&c->pins))
		return rc; /* nothing to serve; systemd restarts us, boot protection holds meanwhile */
	if (d.metrics_file) {
		write_metrics(&d);
		pr_info("writing the metrics to %s every %u s", d.metrics_file, d.metrics_interval);
	}
	if (((const struct daemon_opts *)c->opts)->ask && (rc = exit_code(ask_front_open(&d.ask, &c->pins, c->json))))
		return rc;
	struct metrics_http *http = listen ? metrics_http_start(&listen_sa, &c->pins) : NULL;
	if (http)
		pr_info("serving the metrics at http://%s/metrics", listen);
	else if (listen)
		pr_info("cannot serve the metrics on %s; the daemon goes on without", listen);
	pr_info("serving the log of %s; SIGHUP or an edit of %s reloads; interfaces that appear are attached; SIGTERM "
		"exits and leaves the policy in force",
		c->pins.path, d.rq.file);
	rc = log_serve(c, &stop_requested, tick, &d);
	metrics_http_stop(http);
	ask_front_close(d.ask);
	pr_info("exiting (%u reloads, %u failed); the policy stays in force in %s", d.reloads, d.failures,
		c->pins.path);
	if (d.inotify_fd >= 0)
		close(d.inotify_fd);
	if (d.link_fd >= 0)
		close(d.link_fd);
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
