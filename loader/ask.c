/* The `ask` agent (ask.h, docs/ask.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "apply.h"
#include "apps.h"
#include "ask.h"
#include "bpfmap.h"
#include "cgroup.h"
#include "datapath.h"
#include "format.h"
#include "learn.h"
#include "log.h"
#include "policy.h"
#include "rampart_maps.h"
#include "rampart_sock.h"
#include "sha256.h"
#include "view.h"

#define ASK_BEAT_NS 1000000000ull /* rp_ask_agent.seen_ns refreshed this often */

struct ask_agent {
	struct pin_dir *pd;
	int lock_fd, agent_fd, ask_fd, held_fd, ring_fd;
	struct ring_buffer *rb;
	struct view v; /* rule metadata, configuration */
	struct policy pol;
	bool have_pol;
	const char **table_names; /* the tables an answer may jump to */
	int ntable_names;
	struct ask_question *qs;
	int nq, cap;
	ask_question_fn on_question;
	ask_expired_fn on_expired;
	void *arg;
	uint64_t beat_ns;
	int raw4, raw6; /* raw sockets that hand a RST to the local stack */
};

/* ---------- who answers: the lock and the sign of life ---------- */

static int agent_pid(const struct ask_agent *a)
{
	uint32_t zero = 0;
	struct rp_ask_agent ag;
	if (bpf_map_lookup_elem(a->agent_fd, &zero, &ag))
		return 0;
	return (int)ag.pid;
}

static void beat(struct ask_agent *a, bool alive)
{
	uint32_t zero = 0;
	struct rp_ask_agent ag = { .seen_ns = alive ? now_mono_ns() : 0, .pid = alive ? (uint32_t)getpid() : 0 };
	bpf_map_update_elem(a->agent_fd, &zero, &ag, BPF_ANY);
	a->beat_ns = ag.seen_ns;
}

/* ---------- reading the running policy ---------- */

static void load_policy(struct ask_agent *a)
{
	struct diag d;
	struct load_opts o = { .resolve_hosts = true, .lookup_users = true };
	if (a->have_pol)
		policy_free(&a->pol);
	free(a->table_names);
	a->table_names = NULL;
	memset(&a->pol, 0, sizeof(a->pol));
	diag_init(&d, NULL, NULL);
	a->have_pol = a->v.have_info && policy_load_file(&a->pol, a->v.info.path, &o, &d) == 0 && !d.nerrors;
	diag_free(&d);
	if (!a->have_pol) {
		policy_free(&a->pol);
		return;
	}
	/* every table but root: each is reached from root, so a jump to it is a cycle */
	a->table_names = calloc((size_t)a->pol.ntables + 1, sizeof(char *));
	a->ntable_names = 0;
	for (int i = 0; a->table_names && i < a->pol.ntables; i++)
		if (i != a->pol.root)
			a->table_names[a->ntable_names++] = a->pol.tables[i].name;
}

int ask_tables(const struct ask_agent *a, const char ***names)
{
	*names = a->table_names;
	return a->have_pol && a->table_names ? a->ntable_names : 0;
}

/* FILE:LINE of the rule in slot (for a table default: of the table) and
 * its table. */
static void rule_where(const struct ask_agent *a, uint32_t slot, char *buf, size_t n, char *table, size_t tn)
{
	const struct rp_rule_meta *m = view_rule(&a->v, slot);
	buf[0] = table[0] = 0;
	if (!m)
		return;
	snprintf(table, tn, "%.*s", (int)sizeof(m->table), m->table);
	if (m->rule_id != RP_SLOT_NONE) {
		snprintf(buf, n, "%.*s:%u", (int)sizeof(m->file), m->file, m->line);
		return;
	}
	if (a->have_pol && (int)m->table_idx < a->pol.ntables && a->pol.tables[m->table_idx].loc.file)
		snprintf(buf, n, "%s:%d", a->pol.tables[m->table_idx].loc.file, a->pol.tables[m->table_idx].loc.line);
}

/* ---------- a question from the kernel ---------- */

/* The executable of the question: the process's, when it still runs that
 * file, else the policy's name for it. */
static void question_app(const struct ask_agent *a, const struct rp_question *r, char *buf, size_t n)
{
	char link[64];
	struct stat st;
	buf[0] = 0;
	if (!(r->has & RP_QH_IDENT) || !r->ino)
		return;
	snprintf(link, sizeof(link), "/proc/%u/exe", r->pid);
	ssize_t len = r->pid ? readlink(link, buf, n - 1) : -1;
	if (len > 0 && stat(link, &st) == 0 && (uint64_t)st.st_ino == r->ino) {
		buf[len] = 0;
		return;
	}
	buf[0] = 0;
	struct rp_app_info info;
	uint32_t id = r->app_id;
	int fd = id ? pins_open_map(a->pd, RP_NAME(RP_MAP_APP_INFO)) : -1;
	if (fd >= 0 && bpf_map_lookup_elem(fd, &id, &info) == 0)
		snprintf(buf, n, "%.*s", (int)sizeof(info.path), info.path);
	if (fd >= 0)
		close(fd);
}

/* The caller's parents as the kernel saw them: "NAME(PID) < NAME(PID)". */
static void question_parents(const struct rp_question *r, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < RP_ASK_ANCESTRY && r->ancestors[i] && len < n; i++) {
		char path[64], comm[32] = "?";
		snprintf(path, sizeof(path), "/proc/%u/comm", r->ancestors[i]);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		len += (size_t)snprintf(buf + len, n - len, "%s%s(%u)", i ? " < " : "", comm, r->ancestors[i]);
	}
}

/* The key the kernel folded the question by (bpf/ask.h rp_ask_key_of). */
static void question_key(const struct rp_question *r, struct rp_ask_key *k)
{
	memset(k, 0, sizeof(*k));
	k->ino = r->ino;
	k->dev = r->dev;
	k->dir = r->dir;
	k->proto = r->proto;
	k->kind = r->kind;
	if (r->kind == RP_ASKK_APP_CHANGED)
		return;
	if (r->has & RP_QH_RADDR)
		memcpy(k->raddr, r->raddr, sizeof(k->raddr));
	if (r->dir == DIR_OUT && (r->has & RP_QH_RPORT))
		k->port = r->rport;
	else if (r->dir == DIR_IN && (r->has & RP_QH_LPORT))
		k->port = r->lport;
}

/* What changed about an approved application: its fingerprints, file
 * time and package (dpkg -S). */
static void describe_change(const struct ask_agent *a, struct ask_question *q)
{
	struct rp_app_info info;
	uint32_t id = q->raw.app_id;
	uint8_t sum[32];
	struct stat st;
	int fd = pins_open_map(a->pd, RP_NAME(RP_MAP_APP_INFO));
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &id, &info)) {
		fmt_hex(q->old_sha256, sizeof(q->old_sha256), info.sha256, 32);
		if (!q->app[0])
			snprintf(q->app, sizeof(q->app), "%.*s", (int)sizeof(info.path), info.path);
	}
	if (fd >= 0)
		close(fd);
	if (!q->app[0] || sha256_file(q->app, sum, &st))
		return;
	fmt_hex(q->new_sha256, sizeof(q->new_sha256), sum, 32);
	fmt_time_utc(q->mtime, sizeof(q->mtime), (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec);
	pid_t pid;
	int pfd[2];
	if (pipe(pfd))
		return;
	char *argv[] = { "dpkg", "-S", "--", q->app, NULL };
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		int dn = open("/dev/null", O_WRONLY);
		if (dn >= 0)
			dup2(dn, 2);
		close(pfd[0]);
		execvp("dpkg", argv);
		_exit(127);
	}
	close(pfd[1]);
	char out[512] = "";
	ssize_t n = pid > 0 ? read(pfd[0], out, sizeof(out) - 1) : -1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (n > 0) {
		out[n] = 0;
		char *colon = strchr(out, ':');
		if (colon) {
			*colon = 0;
			snprintf(q->package, sizeof(q->package), "%s", out);
		}
	}
}

static void decode(const struct ask_agent *a, const struct rp_question *r, struct ask_question *q)
{
	memset(q, 0, sizeof(*q));
	q->id = r->id;
	q->raw = *r;
	question_key(r, &q->key);
	q->event = event_name((enum event_type)r->event);
	q->direction = direction_name((enum direction)r->dir);
	q->changed = r->kind == RP_ASKK_APP_CHANGED;
	fmt_proto(q->proto, sizeof(q->proto), r->proto);
	q->local_port = q->remote_port = -1;
	q->pid = -1;
	q->uid = -1;
	if (r->has & RP_QH_LADDR)
		fmt_addr(q->local, sizeof(q->local), r->laddr);
	if (r->has & RP_QH_RADDR)
		fmt_addr(q->remote, sizeof(q->remote), r->raddr);
	if (r->has & RP_QH_LPORT)
		q->local_port = r->lport;
	if (r->has & RP_QH_RPORT)
		q->remote_port = r->rport;
	if (r->ifindex && !if_indextoname(r->ifindex, q->iface))
		q->iface[0] = 0;
	if (r->has & RP_QH_IDENT) {
		q->pid = (int)r->pid;
		q->uid = r->uid;
		struct passwd *pw = getpwuid(r->uid);
		if (pw)
			snprintf(q->user, sizeof(q->user), "%s", pw->pw_name);
		question_app(a, r, q->app, sizeof(q->app));
		if (r->flags & RP_QF_SOCKET)
			question_parents(r, q->parents, sizeof(q->parents));
		uint64_t id = r->cgroup_id;
		char **paths = cgroup_paths(&id, 1);
		if (paths && paths[0])
			snprintf(q->cgroup, sizeof(q->cgroup), "%s", paths[0]);
		cgroup_paths_free(paths, 1);
	}
	rule_where(a, r->rule_slot, q->rule, sizeof(q->rule), q->table, sizeof(q->table));
	if (q->changed)
		describe_change(a, q);
	uint32_t timeout = a->v.cfg.ask_timeout_s ? a->v.cfg.ask_timeout_s : RP_ASK_TIMEOUT_DEFAULT_S;
	/* a moment before the kernel's own deadline (counted from r->time_ns) */
	q->deadline_ns = r->time_ns + timeout * 1000000000ull - 200000000ull;
}

static int on_ring(void *ctx, void *data, size_t size)
{
	struct ask_agent *a = ctx;
	if (size < sizeof(struct rp_question))
		return 0;
	if (a->nq == a->cap) {
		int cap = a->cap ? 2 * a->cap : 16;
		struct ask_question *qs = realloc(a->qs, (size_t)cap * sizeof(*qs));
		if (!qs)
			return 0;
		a->qs = qs;
		a->cap = cap;
	}
	struct ask_question *q = &a->qs[a->nq++];
	decode(a, data, q);
	a->on_question(q, a->arg);
	return 0;
}

const struct ask_question *ask_find(const struct ask_agent *a, uint64_t id)
{
	for (int i = 0; i < a->nq; i++)
		if (a->qs[i].id == id)
			return &a->qs[i];
	return NULL;
}

const struct ask_question *ask_oldest(const struct ask_agent *a)
{
	const struct ask_question *best = NULL;
	for (int i = 0; i < a->nq; i++)
		if (!best || a->qs[i].id < best->id)
			best = &a->qs[i];
	return best;
}

static void forget(struct ask_agent *a, uint64_t id)
{
	for (int i = 0; i < a->nq; i++)
		if (a->qs[i].id == id) {
			a->qs[i] = a->qs[--a->nq];
			return;
		}
}

/* ---------- giving the kernel the answer ---------- */

/* One's-complement sum of b (n bytes) added to sum. */
static uint32_t csum_add(uint32_t sum, const void *b, size_t n)
{
	const uint8_t *p = b;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

struct tcp_rst {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off, flags;
	uint16_t win, sum, urg;
};

/* Hands the local stack a RST|ACK from the remote end of a held
 * connection (the answer to its SYN of sequence number syn_seq): the
 * connect() fails with ECONNREFUSED at once, as a reject's RST does. */
static int refuse_held(struct ask_agent *a, const struct ct_key *k, const struct rp_ask_held *h)
{
	const uint32_t *laddr = h->local_is_a ? k->addr_a : k->addr_b, *raddr = h->local_is_a ? k->addr_b : k->addr_a;
	uint16_t lport = h->local_is_a ? k->port_a : k->port_b, rport = h->local_is_a ? k->port_b : k->port_a;
	struct tcp_rst t = { .sport = rport,
			     .dport = lport,
			     .ack = htonl(ntohl(h->seq) + 1),
			     .off = 5 << 4,
			     .flags = 0x14 /* RST|ACK */ };
	uint8_t pkt[60];
	uint32_t sum = 0;
	size_t len;
	int fd;
	if (h->family == 4) {
		uint8_t ip[20] = { 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, IPPROTO_TCP };
		memcpy(ip + 12, &raddr[3], 4);
		memcpy(ip + 16, &laddr[3], 4);
		uint8_t ph[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, IPPROTO_TCP, 0, sizeof(t) };
		memcpy(ph, &raddr[3], 4);
		memcpy(ph + 4, &laddr[3], 4);
		sum = csum_add(csum_add(0, ph, sizeof(ph)), &t, sizeof(t));
		t.sum = csum_fold(sum);
		uint16_t isum = csum_fold(csum_add(0, ip, sizeof(ip)));
		memcpy(ip + 10, &isum, 2);
		memcpy(pkt, ip, sizeof(ip));
		memcpy(pkt + sizeof(ip), &t, sizeof(t));
		len = sizeof(ip) + sizeof(t);
		fd = a->raw4;
	} else {
		uint8_t ip[40] = { 0x60, 0, 0, 0, 0, sizeof(t), IPPROTO_TCP, 64 };
		memcpy(ip + 8, raddr, 16);
		memcpy(ip + 24, laddr, 16);
		uint8_t ph[8] = { 0, 0, 0, sizeof(t), 0, 0, 0, IPPROTO_TCP };
		sum = csum_add(csum_add(csum_add(0, ip + 8, 32), ph, sizeof(ph)), &t, sizeof(t));
		t.sum = csum_fold(sum);
		memcpy(pkt, ip, sizeof(ip));
		memcpy(pkt + sizeof(ip), &t, sizeof(t));
		len = sizeof(ip) + sizeof(t);
		fd = a->raw6;
	}
	if (fd < 0)
		return -EAFNOSUPPORT;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (h->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, &laddr[3], 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, laddr, 16);
		sl = sizeof(*s6);
	}
	return sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
}

/* The held local connections of question id that the answer refuses fail
 * now rather than at their next retransmission. */
static void refuse_all_held(struct ask_agent *a, uint64_t id)
{
	void *keys, *vals;
	int n = bpfmap_read_all(a->held_fd, sizeof(struct ct_key), sizeof(struct rp_ask_held), RP_ASK_MAX_HELD, &keys,
				&vals);
	for (int i = 0; i < n; i++) {
		const struct ct_key *k = (const struct ct_key *)keys + i;
		const struct rp_ask_held *h = (const struct rp_ask_held *)vals + i;
		if (h->qid == id && h->dir == DIR_OUT && h->event == EVENT_CONNECT && k->proto == IPPROTO_TCP) {
			int e = refuse_held(a, k, h);
			if (e)
				pr_warn("cannot fail the held connection of question %llu at once (%s); it fails at "
					"its "
					"next retransmission",
					(unsigned long long)id, strerror(-e));
		}
	}
	if (n > 0) {
		free(keys);
		free(vals);
	}
}

/* The answer program: question q gets verdict (VERDICT_*). */
static int run_answer(struct ask_agent *a, const struct ask_question *q, uint32_t verdict, uint32_t flags,
		      unsigned *released)
{
	struct rp_ask_answer ans = { .key = q->key, .id = q->id, .verdict = verdict, .flags = flags };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ans, .ctx_size_in = sizeof(ans));
	char path[PINS_PATH_MAX];
	/* the program of the policy in force (an apply replaces it) */
	int fd = bpf_obj_get(pins_prog(a->pd, PINS_PROG_ASK_ANSWER, false, path));
	if (fd < 0)
		return -errno;
	int e = bpf_prog_test_run_opts(fd, &o) ? -errno : 0;
	close(fd);
	if (e)
		return e;
	*released = ans.released;
	if (!ans.found)
		return -ENOENT;
	if (verdict != VERDICT_ALLOW)
		refuse_all_held(a, q->id);
	return 0;
}

/* An approved application that changed: allow re-approves the file as it
 * is now, deny takes its rules away until apply. */
static void answer_changed(struct ask_agent *a, const struct ask_question *q, uint32_t verdict)
{
	uint32_t id = q->raw.app_id;
	struct rp_app_stamp st;
	struct stat sb;
	int fd = pins_open_map(a->pd, RP_NAME(RP_MAP_APP_STAMP)); /* the policy in force's */
	if (fd >= 0 && id && !bpf_map_lookup_elem(fd, &id, &st)) {
		if (verdict == VERDICT_ALLOW && q->app[0] && stat(q->app, &sb) == 0)
			apps_stamp_of(&sb, &st);
		else
			st.state = RP_APPS_DENIED;
		bpf_map_update_elem(fd, &id, &st, BPF_ANY);
	}
	if (fd >= 0)
		close(fd);
}

/* ---------- "handle as TABLE" ---------- */

/* Appends to the text in buf (n bytes, *len written so far; cut when full). */
__attribute__((format(printf, 4, 5))) static void text_add(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	if (*len >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	*len += (size_t)vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
}

/* A field of the question in `explain` syntax (fmt: " WORD %s", " WORD
 * %ld"), or nothing when the question does not know it ("", -1). */
static void text_add_str(char *buf, size_t n, size_t *len, const char *fmt, const char *v)
{
	if (v[0])
		text_add(buf, n, len, fmt, v);
}

static void text_add_num(char *buf, size_t n, size_t *len, const char *fmt, long v)
{
	if (v >= 0)
		text_add(buf, n, len, fmt, v);
}

/* The question as an event of `explain` syntax, with all it carries (a
 * table may judge by any of it). */
static void question_event_text(const struct ask_question *q, char *buf, size_t n)
{
	size_t len = 0;
	text_add(buf, n, &len, "%s event %s proto %u", q->direction, q->event, q->raw.proto);
	text_add_str(buf, n, &len, " remote %s", q->remote);
	text_add_num(buf, n, &len, " remote port %ld", q->remote_port);
	text_add_str(buf, n, &len, " local %s", q->local);
	text_add_num(buf, n, &len, " local port %ld", q->local_port);
	text_add_str(buf, n, &len, " app \"%s\"", q->app);
	text_add_str(buf, n, &len, " cgroup \"%s\"", q->cgroup);
	text_add_num(buf, n, &len, " user %ld", q->uid);
	text_add_str(buf, n, &len, " on %s", q->iface);
}

/* The question as an event of the running policy (its ids for the
 * application, cgroup and interface). */
static int question_event(const struct ask_agent *a, const struct ask_question *q, struct event *ev)
{
	char text[8192];
	struct diag d;
	question_event_text(q, text, sizeof(text));
	diag_init(&d, NULL, NULL);
	int e = event_parse(ev, &a->pol, text, &d);
	diag_free(&d);
	return e ? -EINVAL : 0;
}

/* Table t's verdict for ev as a jump to it gives it (VERDICT_CONTINUE: it
 * decides nothing).  depth bounds the jumps (the policy has no cycles). */
static enum verdict table_verdict(const struct policy *p, int t, const struct event *ev, int depth)
{
	const struct table *tb = &p->tables[t];
	for (int i = 0; i < tb->nrules && depth < 64; i++) {
		const struct rule *r = &p->rules[tb->rules[i]];
		enum field failed;
		bool not_carried;
		if (!rule_matches(r, ev, &failed, &not_carried) || r->verdict == VERDICT_CONTINUE)
			continue;
		if (r->verdict != VERDICT_JUMP)
			return r->verdict;
		enum verdict v = table_verdict(p, r->jump_table, ev, depth + 1);
		if (v != VERDICT_CONTINUE)
			return v;
	}
	return tb->dflt;
}

/* The verdict of "jump TABLE" for the question: what table TABLE gives
 * it.  A table that decides nothing (it continues or asks) is no answer:
 * an error, and the question stays open. */
static int jump_verdict(struct ask_agent *a, const struct ask_question *q, const char *table, uint32_t *verdict,
			struct ask_result *r)
{
	int t = -1;
	for (int i = 0; a->have_pol && i < a->pol.ntables; i++)
		if (!strcmp(a->pol.tables[i].name, table))
			t = i;
	if (t < 0) {
		snprintf(r->error, sizeof(r->error), "no table `%s` in the running policy", table);
		return -ENOENT;
	}
	if (t == a->pol.root) {
		snprintf(r->error, sizeof(r->error), "a jump to root is a cycle; answer allow, deny or another table");
		return -EINVAL;
	}
	struct event ev;
	if (question_event(a, q, &ev)) {
		snprintf(r->error, sizeof(r->error), "cannot judge the question by table %s", table);
		return -EINVAL;
	}
	enum verdict v = table_verdict(&a->pol, t, &ev, 0);
	if (v != VERDICT_ALLOW && v != VERDICT_DENY && v != VERDICT_REJECT) {
		/* in the kernel the event would come back to the ask rule */
		snprintf(r->error, sizeof(r->error),
			 "table %s decides nothing for this question (%s); answer allow, deny or another table", table,
			 v == VERDICT_ASK ? "it asks" : "it continues");
		return -ENOENT;
	}
	*verdict = v;
	return 0;
}

/* ---------- "always": the learned rule ---------- */

/* Writes text to path atomically: a temporary file in the same directory
 * with path's permissions, renamed over it. */
static int write_atomic(const char *path, const char *text, char *err, size_t en)
{
	char tmp[PATH_MAX];
	struct stat st;
	if (stat(path, &st)) {
		snprintf(err, en, "cannot stat %s: %s", path, strerror(errno));
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s.rampart-ask.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, en, "cannot create a file next to %s: %s", path, strerror(errno));
		return e;
	}
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, st.st_mode & 07777) == 0 &&
		  (fchown(fd, st.st_uid, st.st_gid) == 0 || errno == EPERM) && fsync(fd) == 0;
	int e = ok ? 0 : -errno;
	close(fd);
	if (ok && rename(tmp, path))
		e = -errno;
	if (e) {
		unlink(tmp);
		snprintf(err, en, "cannot write %s: %s", path, strerror(-e));
	}
	return e;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = 0;
	return buf;
}

/* The policy (main file) still loads without errors; else the first one. */
static int recheck(const char *main_file, char *err, size_t en)
{
	struct policy p;
	struct diag d;
	struct load_opts o = { .resolve_hosts = true, .lookup_users = true };
	diag_init(&d, NULL, NULL);
	int rc = policy_load_file(&p, main_file, &o, &d);
	if (rc || d.nerrors) {
		for (int i = 0; i < d.nmsgs; i++)
			if (d.msgs[i].level == DIAG_ERROR) {
				snprintf(err, en, "%s:%d: %s", d.msgs[i].loc.file ? d.msgs[i].loc.file : main_file,
					 d.msgs[i].loc.line, d.msgs[i].text);
				break;
			}
		rc = -RP_EPOLICY;
	}
	diag_free(&d);
	policy_free(&p);
	return rc;
}

/* The line of text that holds rule (the first after line from, 1-based). */
static int line_of_rule(const char *text, const char *rule, int from)
{
	int line = 1;
	for (const char *p = text; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t ind = strspn(p, " \t");
		if (line >= from && len - ind == strlen(rule) && !strncmp(p + ind, rule, len - ind))
			return line;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/* Where a learned rule goes: before the ask rule (line > 0), or at the
 * end of the table whose default asks (line 0). */
struct ask_origin {
	char file[PATH_MAX];
	int line;
	const char *table;
};

/* The ask that decides q in the policy in force.  q's own rule slot is one
 * of the generation it was asked under; an apply since (an "always" answer
 * to another question, an operator's edit) moves rules to other slots and
 * lines, so the question is judged again.  When that policy no longer asks
 * (a rule learned since covers it, or the operator changed it), nothing is
 * learned: the error says which rule decides. */
static int ask_origin_in_force(const struct ask_agent *a, const struct ask_question *q, struct ask_origin *o,
			       struct ask_result *r)
{
	struct event ev;
	if (!a->v.have_info || !a->have_pol) {
		snprintf(r->error, sizeof(r->error), "the running policy cannot be read; nothing learned");
		return -ENOENT;
	}
	if (question_event(a, q, &ev)) {
		snprintf(r->error, sizeof(r->error),
			 "cannot judge the question by the running policy; nothing learned");
		return -EINVAL;
	}
	struct eval_result res;
	eval_event(&a->pol, &ev, &res, false);
	const struct table *t = &a->pol.tables[res.table];
	const struct src_loc *loc = res.rule >= 0 ? &a->pol.rules[res.rule].loc : &t->loc;
	const char *file = loc->file ? loc->file : a->v.info.path;
	int e = 0;
	if (res.verdict != VERDICT_ASK) {
		if (res.rule >= 0)
			snprintf(r->error, sizeof(r->error),
				 "answered once, nothing learned: the running policy no longer asks, %s:%d [%s] "
				 "decides (%s)",
				 file, loc->line, t->name, verdict_name(res.verdict));
		else
			snprintf(r->error, sizeof(r->error),
				 "answered once, nothing learned: the running policy no longer asks, the default of %s "
				 "decides (%s)",
				 t->name, verdict_name(res.verdict));
		e = -EALREADY;
	} else {
		snprintf(o->file, sizeof(o->file), "%s", file);
		o->line = res.rule >= 0 ? loc->line : 0;
		o->table = t->name;
	}
	eval_result_free(&res);
	return e;
}

/* Writes the rule an "always" answer learns before the ask rule of q (in
 * its file), re-checks the policy and applies it. */
static int learn(struct ask_agent *a, const struct ask_question *q, const char *verdict, const char *scope,
		 struct ask_result *r)
{
	int sc = learn_scope_parse(scope ? scope : "host-port");
	if (sc < 0) {
		snprintf(r->error, sizeof(r->error), "scope must be host-port, port or app, not `%s`", scope);
		return -EINVAL;
	}
	struct ask_origin o;
	int e = ask_origin_in_force(a, q, &o, r);
	if (e)
		return e;
	bool in = q->raw.dir == DIR_IN;
	struct learn_event ev = { .dir = (enum direction)q->raw.dir,
				  .event = (enum event_type)q->raw.event,
				  .proto = q->raw.proto,
				  .app = q->app[0] ? q->app : NULL,
				  .remote = q->remote[0] ? q->remote : NULL,
				  .port = in ? q->local_port : q->remote_port,
				  .verdict = verdict,
				  .scope = (enum learn_scope)sc };
	char rule[8400], comment[512], when[64];
	e = learn_rule_text(&ev, rule, sizeof(rule));
	if (e) {
		snprintf(r->error, sizeof(r->error), "the question carries no %s for scope %s",
			 sc == LEARN_APP ? "application" : "port", scope);
		return e;
	}
	fmt_time_utc(when, sizeof(when), now_realtime_ns());
	snprintf(comment, sizeof(comment), "learned %s from question %llu (%s always, scope %s)", when,
		 (unsigned long long)q->id, verdict, scope ? scope : "host-port");
	char *old = read_text(o.file);
	if (!old) {
		snprintf(r->error, sizeof(r->error), "cannot read %s: %s", o.file, strerror(errno));
		return -errno;
	}
	char *text = o.line ? learn_insert_before_line(old, o.line, comment, rule)
			    : learn_insert_in_table(old, o.table, comment, rule);
	if (!text) {
		free(old);
		snprintf(r->error, sizeof(r->error), "cannot find the ask rule in %s", o.file);
		return -ENOENT;
	}
	e = write_atomic(o.file, text, r->error, sizeof(r->error));
	if (!e && (e = recheck(a->v.info.path, r->error, sizeof(r->error))))
		write_atomic(o.file, old, r->error + strlen(r->error), sizeof(r->error) - strlen(r->error));
	if (!e) {
		int line = line_of_rule(text, rule, o.line ? o.line : 1);
		snprintf(r->rule, sizeof(r->rule), "%s:%d", o.file, line);
		struct apply_req rq = { .pins = a->pd, .file = a->v.info.path, .reason = RP_REASON_APPLY };
		struct apply_report rep;
		if ((e = apply_policy(&rq, &rep)))
			snprintf(r->error, sizeof(r->error), "%s was written but not applied (see the messages above)",
				 o.file);
	}
	free(old);
	free(text);
	return e;
}

/* After an apply the agent reads the new policy (slots, tables). */
static void reread(struct ask_agent *a)
{
	view_reload_rules(&a->v);
	config_read_in_force(a->pd, &a->v.cfg);
	load_policy(a);
}

/* Another apply (the daemon's, an operator's) moved the rules: read them. */
static void follow_applies(struct ask_agent *a)
{
	struct rp_config cfg;
	if (!config_read_in_force(a->pd, &cfg) && cfg.generation != a->v.cfg.generation)
		reread(a);
}

static int parse_verdict(const char *s, uint32_t *v, const char **table)
{
	*table = NULL;
	if (!strcmp(s, "allow"))
		*v = VERDICT_ALLOW;
	else if (!strcmp(s, "deny"))
		*v = VERDICT_DENY;
	else if (!strcmp(s, "reject"))
		*v = VERDICT_REJECT;
	else if (!strncmp(s, "jump ", 5) && s[5])
		*table = s + 5;
	else
		return -EINVAL;
	return 0;
}

int ask_answer(struct ask_agent *a, uint64_t id, const char *verdict, bool always, const char *scope,
	       struct ask_result *r)
{
	memset(r, 0, sizeof(*r));
	const struct ask_question *found = ask_find(a, id);
	if (!found) {
		snprintf(r->error, sizeof(r->error), "no open question %llu", (unsigned long long)id);
		return -ENOENT;
	}
	struct ask_question q = *found;
	uint32_t v;
	const char *table;
	if (!verdict || parse_verdict(verdict, &v, &table)) {
		snprintf(r->error, sizeof(r->error), "verdict must be allow, deny, reject or jump TABLE");
		return -EINVAL;
	}
	if (always && q.changed) {
		snprintf(r->error, sizeof(r->error),
			 "a changed application is re-approved once (apply makes it final)");
		return -EINVAL;
	}
	follow_applies(a); /* the answer is judged by the policy in force */
	int e = table ? jump_verdict(a, &q, table, &v, r) : 0;
	if (e)
		return e;
	forget(a, id);
	e = run_answer(a, &q, v, always ? RP_ASKF_ALWAYS : 0, &r->released);
	if (e == -ENOENT) {
		snprintf(r->error, sizeof(r->error), "question %llu is no longer open (ask-timeout)",
			 (unsigned long long)id);
		return e;
	}
	if (e) {
		snprintf(r->error, sizeof(r->error), "cannot run the answer program: %s", strerror(-e));
		return e;
	}
	if (q.changed)
		answer_changed(a, &q, v);
	snprintf(r->rule, sizeof(r->rule), "%s", q.rule);
	if (!always)
		return 0;
	e = learn(a, &q, verdict, scope, r);
	reread(a);
	if (!e)
		bpf_map_delete_elem(a->ask_fd, &q.key); /* the learned rule decides from now on */
	return e;
}

/* ---------- what status shows ---------- */

int ask_status(const struct pin_dir *pd, struct ask_status *st)
{
	memset(st, 0, sizeof(*st));
	int afd = pins_open_map(pd, RP_NAME(RP_MAP_ASK_AGENT)), qfd = pins_open_map(pd, RP_NAME(RP_MAP_ASK));
	uint32_t zero = 0;
	struct rp_ask_agent ag;
	if (afd < 0 || qfd < 0) {
		if (afd >= 0)
			close(afd);
		if (qfd >= 0)
			close(qfd);
		return -ENOENT;
	}
	uint64_t now = now_mono_ns();
	if (!bpf_map_lookup_elem(afd, &zero, &ag) && ag.pid && now - ag.seen_ns < RP_ASK_AGENT_TTL_NS)
		st->agent_pid = (int)ag.pid;
	void *keys, *vals;
	int n = bpfmap_read_all(qfd, sizeof(struct rp_ask_key), sizeof(struct rp_ask_q), RP_ASK_MAX_QUESTIONS, &keys,
				&vals);
	for (int i = 0; i < n; i++)
		if (((struct rp_ask_q *)vals)[i].state == RP_ASKQ_OPEN)
			st->open++;
	if (n > 0) {
		free(keys);
		free(vals);
	}
	close(afd);
	close(qfd);
	return 0;
}

/* ---------- the loop ---------- */

/* Questions nobody answered within ask-timeout get ask-default. */
static void expire(struct ask_agent *a)
{
	uint64_t now = now_mono_ns();
	for (int i = 0; i < a->nq;) {
		if (now < a->qs[i].deadline_ns) {
			i++;
			continue;
		}
		struct ask_question q = a->qs[i];
		unsigned released;
		forget(a, q.id);
		uint32_t v = a->v.cfg.ask_default;
		run_answer(a, &q, v, RP_ASKF_TIMEOUT, &released);
		if (a->on_expired)
			a->on_expired(&q, verdict_name((enum verdict)v), a->arg);
	}
}

/* The kernel forgets an answered question only when its key comes up
 * again, and a held flow only when it retransmits: the agent removes what
 * nothing will use any more, so that a burst of questions leaves nothing
 * behind. */
static void sweep(struct ask_agent *a, uint64_t now)
{
	void *keys, *vals;
	uint32_t timeout = a->v.cfg.ask_timeout_s ? a->v.cfg.ask_timeout_s : RP_ASK_TIMEOUT_DEFAULT_S;
	int n = bpfmap_read_all(a->ask_fd, sizeof(struct rp_ask_key), sizeof(struct rp_ask_q), RP_ASK_MAX_QUESTIONS,
				&keys, &vals);
	for (int i = 0; i < n; i++) {
		const struct rp_ask_q *q = (const struct rp_ask_q *)vals + i;
		uint64_t ttl = q->flags & RP_ASKF_ALWAYS ? RP_ASK_ALWAYS_TTL_NS : RP_ASK_ONCE_TTL_NS;
		bool done = q->state == RP_ASKQ_ANSWERED ? now > q->answered_ns + ttl
							 : now > q->created_ns + (timeout + 5) * 1000000000ull;
		if (done)
			bpf_map_delete_elem(a->ask_fd, (const struct rp_ask_key *)keys + i);
	}
	if (n > 0) {
		free(keys);
		free(vals);
	}
	n = bpfmap_read_all(a->held_fd, sizeof(struct ct_key), sizeof(struct rp_ask_held), RP_ASK_MAX_HELD, &keys,
			    &vals);
	for (int i = 0; i < n; i++) {
		const struct rp_ask_held *h = (const struct rp_ask_held *)vals + i;
		/* decided ones a little after the answer; undecided ones when TCP gave up */
		uint64_t ttl = h->verdict != RP_VERDICT_PENDING ? (timeout + 10) * 1000000000ull : RP_ASK_HELD_TTL_NS;
		if (now > h->first_ns + ttl)
			bpf_map_delete_elem(a->held_fd, (const struct ct_key *)keys + i);
	}
	if (n > 0) {
		free(keys);
		free(vals);
	}
}

int ask_poll(struct ask_agent *a)
{
	int n = ring_buffer__consume(a->rb);
	if (now_mono_ns() - a->beat_ns >= ASK_BEAT_NS) {
		beat(a, true);
		sweep(a, a->beat_ns);
		follow_applies(a);
	}
	expire(a);
	return n < 0 ? n : 0;
}

int ask_fd(const struct ask_agent *a)
{
	return ring_buffer__epoll_fd(a->rb);
}

static int open_maps(struct ask_agent *a)
{
	struct {
		int *fd;
		const char *name;
	} maps[] = {
		{ &a->agent_fd, RP_NAME(RP_MAP_ASK_AGENT) },
		{ &a->ask_fd, RP_NAME(RP_MAP_ASK) },
		{ &a->held_fd, RP_NAME(RP_MAP_ASK_HELD) },
		{ &a->ring_fd, RP_NAME(RP_MAP_ASK_RING) },
	};
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if ((*maps[i].fd = pins_open_map(a->pd, maps[i].name)) < 0) {
			pr_err("%s has no learning mode (map %s: %s); apply the policy with this rampart", a->pd->path,
			       maps[i].name, strerror(-*maps[i].fd));
			return *maps[i].fd;
		}
	char path[PINS_PATH_MAX];
	if (access(pins_prog(a->pd, PINS_PROG_ASK_ANSWER, false, path), F_OK))
		return pr_err_r(-errno, "cannot open %s; apply the policy with this rampart", path);
	return 0;
}

int ask_open(struct ask_agent **ap, struct pin_dir *pd, ask_question_fn on_question, ask_expired_fn on_expired,
	     void *arg)
{
	struct ask_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->pd = pd;
	a->on_question = on_question;
	a->on_expired = on_expired;
	a->arg = arg;
	a->lock_fd = a->agent_fd = a->ask_fd = a->held_fd = a->ring_fd = -1;
	a->raw4 = a->raw6 = -1;
	*ap = NULL;
	int e = view_open(&a->v, pd, VIEW_RULES, false);
	if (e) {
		free(a);
		return e;
	}
	e = open_maps(a);
	if (!e) {
		a->lock_fd = pins_lock_agent(pd);
		if (a->lock_fd == -EWOULDBLOCK) {
			pr_err("another agent (pid %d) answers the questions of %s; stop it first", agent_pid(a),
			       pd->path);
			e = -EBUSY;
		} else if (a->lock_fd < 0) {
			e = a->lock_fd;
		}
	}
	if (!e) {
		a->rb = ring_buffer__new(a->ring_fd, on_ring, a, NULL);
		if (!a->rb)
			e = pr_err_r(-errno, "cannot read the question ring of %s", pd->path);
	}
	if (e) {
		ask_close(a);
		return e;
	}
	a->raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	a->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	int one = 1;
	if (a->raw6 >= 0)
		setsockopt(a->raw6, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof(one));
	load_policy(a);
	beat(a, true);
	*ap = a;
	return 0;
}

void ask_close(struct ask_agent *a)
{
	if (!a)
		return;
	if (a->lock_fd >= 0 && a->agent_fd >= 0)
		beat(a, false);
	ring_buffer__free(a->rb);
	int *fds[] = { &a->agent_fd, &a->ask_fd, &a->held_fd, &a->ring_fd, &a->raw4, &a->raw6, &a->lock_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	view_close(&a->v);
	if (a->have_pol)
		policy_free(&a->pol);
	free(a->table_names);
	free(a->qs);
	free(a);
}
