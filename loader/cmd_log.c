/* `rampart log [-f] [--json]`: the rule-match events of the datapath (rules
 * marked `log`, `continue` rules, `jump ... log`) and the FTP helper's
 * decisions (expectations made or refused, data connections admitted), read
 * from the pinned ring
 * buffer rp_log.  A ring buffer has one reader position: events printed
 * here are consumed, so two readers (say this and the daemon) each see a
 * part.  Without -f: print what is buffered and exit; with -f: follow until
 * SIGINT/SIGTERM. */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "datapath.h"
#include "fields.h"
#include "format.h"
#include "bpfmap.h"
#include "json.h"
#include "log.h"
#include "pins.h"
#include "rampart_sock.h"
#include "view.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct log_reader {
	struct view *v;
	bool json;
	unsigned long events;
	bool warned_size;
};

/* The executable of an app id, from the pinned rp_app_info (re-read each
 * time: an apply renumbers the applications). */
static const char *app_path(const struct log_reader *r, uint32_t id, char *buf, size_t n)
{
	struct rp_app_info info;
	int fd = id ? pins_open_map(r->v->pd, RP_NAME(RP_MAP_APP_INFO)) : -1;
	bool ok = fd >= 0 && bpf_map_lookup_elem(fd, &id, &info) == 0 && info.path[0];
	if (fd >= 0)
		close(fd);
	if (ok)
		snprintf(buf, n, "%.*s", (int)sizeof(info.path), info.path);
	else if (id)
		snprintf(buf, n, "app #%u", id);
	else
		snprintf(buf, n, "-");
	return buf;
}

static bool has_identity(const struct rp_log_event *e)
{
	return e->flags & (RP_LOGF_SOCKET | RP_LOGF_OWNER);
}

static const char *verdict_text(const struct rp_log_event *e, char *buf, size_t n)
{
	const char *v = verdict_name((enum verdict)e->verdict);
	if (e->kind == RP_LOG_QUESTION)
		snprintf(buf, n, "question %u", e->ask_id);
	else if (e->kind == RP_LOG_ANSWER)
		snprintf(buf, n, "answer %u %s%s", e->ask_id, v,
			 e->flags & RP_LOGF_TIMEOUT  ? " (ask-timeout)"
			 : e->flags & RP_LOGF_ALWAYS ? " always"
						     : "");
	else if (e->flags & RP_LOGF_ASK)
		snprintf(buf, n, "ask->%s", verdict_name((enum verdict)e->verdict));
	else
		snprintf(buf, n, "%s", verdict_name((enum verdict)e->verdict));
	return buf;
}

static void event_ifname(const struct rp_log_event *e, char *buf)
{
	if (!e->ifindex || !if_indextoname(e->ifindex, buf))
		snprintf(buf, IF_NAMESIZE + 1, e->ifindex ? "if%u" : "-", e->ifindex);
}

/* An expectation of the FTP helper: the data connection it announces,
 * from any port of one side to a port of the other. */
static bool is_expectation(const struct rp_log_event *e)
{
	return e->kind == RP_LOG_HELPER && e->helper != RP_HELPER_FTP_DATA;
}

static void endpoint(char *buf, size_t n, const struct rp_log_event *e, const uint32_t addr[4], uint16_t port)
{
	if (is_expectation(e) && !port) {
		char a[FMT_ADDR_LEN];
		fmt_addr(a, sizeof(a), addr);
		snprintf(buf, n, strchr(a, ':') ? "[%s]:*" : "%s:*", a);
		return;
	}
	fmt_endpoint(buf, n, addr, port, proto_has_ports(e->proto));
}

/* Source and destination as the packet travelled: remote -> local for
 * `in`, local -> remote for `out`. */
static void src_dst(const struct rp_log_event *e, char *src, char *dst, size_t n)
{
	if (e->dir == DIR_IN) {
		endpoint(src, n, e, e->raddr, e->rport);
		endpoint(dst, n, e, e->laddr, e->lport);
	} else {
		endpoint(src, n, e, e->laddr, e->lport);
		endpoint(dst, n, e, e->raddr, e->rport);
	}
}

/* What a helper event says: "ftp expect (PORT)", "accept ftp data (227)". */
static const char *event_text(const struct rp_log_event *e, char *buf, size_t n)
{
	const char *ev = event_name((enum event_type)e->event);
	if (e->kind != RP_LOG_HELPER)
		snprintf(buf, n, "%s", ev);
	else
		snprintf(buf, n, "%s%sftp %s (%s)", is_expectation(e) ? "" : ev, is_expectation(e) ? "" : " ",
			 datapath_helper_event_name((enum rp_helper_event)e->helper),
			 datapath_ftp_cmd_name((enum rp_ftp_cmd)e->helper_cmd));
	return buf;
}

/* Judged under a policy before the one in force (as `rampart flows`
 * marks its flows): its FILE:LINE is of that policy's files. */
static bool judged_before(const struct log_reader *r, const struct rp_log_event *e)
{
	return r->v->have_info && e->gen != r->v->info.generation;
}

static void print_text(struct log_reader *r, const struct rp_log_event *e)
{
	char when[48], verdict[32], where[RP_FILE_LEN + RP_TABLE_LEN + 80], proto[16];
	char src[FMT_ADDR_LEN], dst[FMT_ADDR_LEN], ifn[IF_NAMESIZE + 16], extra[64], evt[64];
	bool gone;
	const struct rp_rule_meta *m = view_rule_of(r->v, e->gen, e->rule_slot, &gone);
	char mark[48] = "";
	if (judged_before(r, e))
		snprintf(mark, sizeof(mark), " (earlier policy, generation %u)", e->gen);
	if (e->kind == RP_LOG_HELPER || (m && m->rule_id == RP_RULE_HELPER))
		snprintf(where, sizeof(where), "ftp helper");
	else if (gone)
		snprintf(where, sizeof(where), "a rule of an earlier policy (generation %u, slot %u)", e->gen,
			 e->rule_slot);
	else if (m && m->rule_id != RP_SLOT_NONE)
		snprintf(where, sizeof(where), "%s:%u [%s]%s", m->file, m->line, m->table, mark);
	else if (m)
		snprintf(where, sizeof(where), "default [%s]%s", m->table, mark);
	else
		snprintf(where, sizeof(where), "slot %u", e->rule_slot);
	src_dst(e, src, dst, sizeof(src));
	event_ifname(e, ifn);
	extra[0] = '\0';
	if (e->proto == 6 && e->tcp_flags && !is_expectation(e))
		fmt_tcp_flags(extra, sizeof(extra), e->tcp_flags);
	else if (e->proto == 1 || e->proto == 58) {
		const char *t = icmp_type_name(e->proto == 1 ? 4 : 6, e->icmp_type);
		if (t)
			snprintf(extra, sizeof(extra), "%s", t);
		else
			snprintf(extra, sizeof(extra), "type %u code %u", e->icmp_type, e->icmp_code);
	}
	printf("%s  %-10s %-28s %-3s %-5s %s -> %s  on %s  %s%s%s%s",
	       fmt_time_local(when, sizeof(when), mono_to_realtime_ns(e->time_ns), true),
	       verdict_text(e, verdict, sizeof(verdict)), where, direction_name((enum direction)e->dir),
	       fmt_proto(proto, sizeof(proto), e->proto), src, dst, ifn, event_text(e, evt, sizeof(evt)),
	       extra[0] ? " " : "", extra, e->flags & RP_LOGF_RECORD ? " (recorded, judgement went on)" : "");
	if (has_identity(e)) {
		char app[RP_APP_PATH_LEN + 16];
		printf("  %s%s uid %u pid %u", e->flags & RP_LOGF_OWNER ? "owner " : "",
		       app_path(r, e->app_id, app, sizeof(app)), e->uid, e->pid);
	}
	if (e->missed)
		printf("  (%u event%s of this rule %s rate-limited since the last one)", e->missed,
		       e->missed == 1 ? "" : "s", e->missed == 1 ? "was" : "were");
	printf("\n");
}

static void json_endpoint(const char *name, const uint32_t addr[4], uint16_t port, bool ports)
{
	char a[FMT_ADDR_LEN];
	printf(", \"%s\": {\"addr\": \"%s\"", name, fmt_addr(a, sizeof(a), addr));
	if (ports)
		printf(", \"port\": %u", port);
	printf("}");
}

static void print_json(struct log_reader *r, const struct rp_log_event *e)
{
	char when[48], verdict[32], where[RP_FILE_LEN + 16], proto[16], ifn[IF_NAMESIZE + 16];
	char src[FMT_ADDR_LEN], dst[FMT_ADDR_LEN], fl[64];
	bool gone;
	const struct rp_rule_meta *m = view_rule_of(r->v, e->gen, e->rule_slot, &gone);
	uint64_t real = mono_to_realtime_ns(e->time_ns);
	bool ports = proto_has_ports(e->proto);
	printf("{\"time\": \"%s\", \"time_ns\": %llu, \"verdict\": \"%s\"", fmt_time_utc(when, sizeof(when), real),
	       (unsigned long long)real, verdict_text(e, verdict, sizeof(verdict)));
	printf(", \"rule\": ");
	if (m && m->rule_id != RP_SLOT_NONE && m->rule_id != RP_RULE_HELPER) {
		snprintf(where, sizeof(where), "%s:%u", m->file, m->line);
		json_str(stdout, where);
	} else {
		printf("null");
	}
	printf(", \"slot\": %u, \"generation\": %u, \"earlier_policy\": %s, \"file\": ", e->rule_slot, e->gen,
	       judged_before(r, e) ? "true" : "false");
	json_str(stdout, m && m->file[0] ? m->file : NULL);
	printf(", \"line\": %u, \"table\": ", m ? m->line : 0);
	json_str(stdout, m ? m->table : NULL);
	printf(", \"text\": ");
	json_str(stdout, m ? m->text : NULL);
	src_dst(e, src, dst, sizeof(src));
	event_ifname(e, ifn);
	printf(", \"direction\": \"%s\", \"event\": \"%s\", \"family\": %u, \"proto\": \"%s\", \"proto_num\": %u",
	       direction_name((enum direction)e->dir), event_name((enum event_type)e->event), e->family,
	       fmt_proto(proto, sizeof(proto), e->proto), e->proto);
	printf(", \"src\": \"%s\", \"dst\": \"%s\"", src, dst);
	json_endpoint("local", e->laddr, e->lport, ports);
	json_endpoint("remote", e->raddr, e->rport, ports);
	printf(", \"iface\": ");
	json_str(stdout, ifn);
	printf(", \"ifindex\": %u, \"hook\": \"%s\"", e->ifindex,
	       e->flags & RP_LOGF_SOCKET   ? "socket"
	       : e->flags & RP_LOGF_EGRESS ? "tc-egress"
					   : "xdp");
	if (has_identity(e)) {
		char app[RP_APP_PATH_LEN + 16];
		printf(", \"app\": ");
		json_str(stdout, e->app_id ? app_path(r, e->app_id, app, sizeof(app)) : NULL);
		printf(", \"app_id\": %u, \"uid\": %u, \"pid\": %u, \"cgroup_id\": %llu, \"owner\": %s", e->app_id,
		       e->uid, e->pid, (unsigned long long)e->cgroup_id, e->flags & RP_LOGF_OWNER ? "true" : "false");
	}
	printf(", \"record\": %s, \"ask\": %s", e->flags & RP_LOGF_RECORD ? "true" : "false",
	       e->flags & RP_LOGF_ASK ? "true" : "false");
	if (e->proto == 6)
		printf(", \"tcp_flags\": \"%s\"", fmt_tcp_flags(fl, sizeof(fl), e->tcp_flags));
	if (e->proto == 1 || e->proto == 58)
		printf(", \"icmp_type\": %u, \"icmp_code\": %u", e->icmp_type, e->icmp_code);
	if (e->kind == RP_LOG_HELPER)
		printf(", \"helper\": {\"name\": \"ftp\", \"event\": \"%s\", \"command\": \"%s\"}",
		       datapath_helper_event_name((enum rp_helper_event)e->helper),
		       datapath_ftp_cmd_name((enum rp_ftp_cmd)e->helper_cmd));
	if (e->kind == RP_LOG_QUESTION || e->kind == RP_LOG_ANSWER)
		printf(", \"kind\": \"%s\", \"ask_id\": %u", e->kind == RP_LOG_QUESTION ? "question" : "answer",
		       e->ask_id);
	printf(", \"missed\": %u}\n", e->missed);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct log_reader *r = ctx;
	if (len < sizeof(struct rp_log_event)) {
		if (!r->warned_size)
			pr_err("skipping events of %zu bytes (expected %zu): the datapath comes from another rampart "
			       "version",
			       len, sizeof(struct rp_log_event));
		r->warned_size = true;
		return 0;
	}
	struct rp_log_event e;
	memcpy(&e, data, sizeof(e));
	/* judged by a generation applied since the rules were read (log -f):
	 * its rules are pinned by now */
	if (r->v->have_info && e.gen > r->v->info.generation)
		view_reload_rules(r->v);
	if (r->json)
		print_json(r, &e);
	else
		print_text(r, &e);
	r->events++;
	return 0;
}

/* The id of the map pinned at DIR/maps/NAME now (0: not pinned). */
static uint32_t pinned_id(const struct pin_dir *pd, const char *name)
{
	int fd = pins_open_map(pd, name);
	uint32_t id = bpfmap_id(fd);
	if (fd >= 0)
		close(fd);
	return id;
}

/* Says that reading the ring failed; an exit code. */
static int ring_error(const struct cli *c, int e, const char *what)
{
	char path[PINS_PATH_MAX];
	pins_map(&c->pins, RP_NAME(RP_MAP_LOG), false, path);
	pr_err("%s %s: %s%s", what, path, strerror(-e), e == -EPERM || e == -EACCES ? "; run as root" : "");
	return EXIT_SYSTEM;
}

/* An apply pins new rule metadata and maybe a new ring: follow them.
 * False when the policy was unloaded. */
static bool follow_pins(struct cli *c, struct view *v, struct ring_buffer **rb, struct log_reader *r)
{
	uint32_t ring = pinned_id(&c->pins, RP_NAME(RP_MAP_LOG));
	if (!ring) {
		pr_err("the policy was unloaded from %s; stopping", c->pins.path);
		return false;
	}
	if (pinned_id(&c->pins, RP_NAME(RP_MAP_RULES)) != bpfmap_id(v->rules_fd))
		view_reload_rules(v);
	if (ring == bpfmap_id(v->log_fd))
		return true;
	int fd = pins_open_map(&c->pins, RP_NAME(RP_MAP_LOG));
	struct ring_buffer *nrb = fd >= 0 ? ring_buffer__new(fd, on_event, r, NULL) : NULL;
	if (nrb) {
		ring_buffer__consume(*rb);
		ring_buffer__free(*rb);
		*rb = nrb;
		close(v->log_fd);
		v->log_fd = fd;
	} else if (fd >= 0) {
		close(fd);
	}
	return true;
}

/* Follows the ring until *stop; tick (if any) runs at least every 200 ms. */
static int follow(struct cli *c, struct view *v, struct ring_buffer **rb, struct log_reader *r,
		  volatile sig_atomic_t *stop, void (*tick)(void *), void *arg)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uint64_t last_check = now_mono_ns();
	while (!*stop) {
		int e = ring_buffer__poll(*rb, tick ? 200 : 500);
		if (tick)
			tick(arg);
		if (e < 0 && e != -EINTR)
			return ring_error(c, e, "reading");
		fflush(stdout);
		if (now_mono_ns() - last_check < 1000000000ull)
			continue;
		last_check = now_mono_ns();
		if (!follow_pins(c, v, rb, r))
			return EXIT_OK;
	}
	return EXIT_OK;
}

/* The pinned ring, mapped (the view opened with VIEW_LOG). */
static int open_ring(struct cli *c, struct view *v, struct log_reader *r, struct ring_buffer **rb)
{
	int e = view_open(v, &c->pins, VIEW_RULES | VIEW_LOG, false);
	if (e)
		return exit_code(e);
	*r = (struct log_reader){ .v = v, .json = c->json };
	*rb = ring_buffer__new(v->log_fd, on_event, r, NULL);
	if (!*rb) {
		e = ring_error(c, -errno, "cannot map the ring buffer");
		view_close(v);
	}
	return e;
}

struct log_opts {
	bool follow;
};

static const struct opt log_opts[] = {
	OPTION("--follow", "-f", NULL, "wait for new events until SIGINT/SIGTERM", OPT_FLAG, struct log_opts, follow),
	OPT_END,
};

int log_serve(struct cli *c, volatile sig_atomic_t *stop, void (*tick)(void *), void *arg)
{
	struct view v;
	struct log_reader r;
	struct ring_buffer *rb;
	int rc = open_ring(c, &v, &r, &rb);
	if (rc)
		return rc;
	if (stop) {
		rc = follow(c, &v, &rb, &r, stop, tick, arg);
	} else {
		int e = ring_buffer__consume(rb);
		if (e < 0)
			rc = ring_error(c, e, "reading");
		else if (r.events == 0 && !c->json)
			pr_err("no buffered events (use -f to wait for new ones)");
	}
	ring_buffer__free(rb);
	view_close(&v);
	return rc;
}

static int cmd_log(struct cli *c)
{
	const struct log_opts *o = c->opts;
	if (!o->follow)
		return log_serve(c, NULL, NULL, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the poll returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return log_serve(c, &stop_requested, NULL, NULL);
}

const struct command log_command = {
	.name = "log",
	.run = cmd_log,
	.opts = log_opts,
	.opts_size = sizeof(struct log_opts),
	.max_args = 0,
	.help = "rule-match log events; reading consumes them (one reader sees each event)",
};
