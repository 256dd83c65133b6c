/* `rampart status [--json]`: what is loaded in the pin dir and how it is
 * doing, from the pins alone: mode, policy, attachments, conntrack usage,
 * totals.  With nothing loaded it says so (mode `unloaded`) and exits 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "boot.h"
#include "cli.h"
#include "datapath.h"
#include "format.h"
#include "ifplan.h"
#include "apps.h"
#include "cgroup.h"
#include "ask.h"
#include "json.h"
#include "log.h"
#include "pins.h"
#include "sockhooks.h"
#include "view.h"

struct totals {
	uint64_t passed, dropped;
};

static struct totals sum_totals(const uint64_t c[RPC_COUNTER_COUNT])
{
	struct totals t = { 0 };
	for (int i = 0; i < RPC_COUNTER_COUNT; i++) {
		const char *name = datapath_counter_name((enum rp_counter)i);
		if (!strncmp(name, "pass-", 5))
			t.passed += c[i];
		else if (!strncmp(name, "drop-", 5))
			t.dropped += c[i];
	}
	return t;
}

/* "flow 1200, related 3" for the non-zero counters named PREFIX... */
static void detail(char *buf, size_t n, const uint64_t c[RPC_COUNTER_COUNT], const char *prefix)
{
	size_t o = 0, pl = strlen(prefix);
	buf[0] = '\0';
	for (int i = 0; i < RPC_COUNTER_COUNT && o < n; i++) {
		const char *name = datapath_counter_name((enum rp_counter)i);
		if (!c[i] || strncmp(name, prefix, pl))
			continue;
		name += pl;
		o += (size_t)snprintf(buf + o, n - o, "%s%s %llu", o ? ", " : "", name, (unsigned long long)c[i]);
	}
}

static void print_unloaded(const struct cli *c)
{
	if (c->json) {
		printf("{\"mode\": \"unloaded\", \"pin_dir\": ");
		json_str(stdout, c->pins.path);
		printf(", \"policy\": null, \"attachments\": [], \"conntrack\": null, \"counters\": {}}\n");
	} else {
		printf("mode:         unloaded\n"
		       "nothing is loaded in %s; load a policy with `rampart apply [FILE] --iface IF`\n",
		       c->pins.path);
	}
}

/* The socket hooks and the approved applications (loader/sockhooks.c). */
static void sock_status_json(const struct pin_dir *pd)
{
	char cg[4096];
	int n = sockhooks_attached(pd, cg, sizeof(cg));
	printf(", \"socket_hooks\": {\"hooks\": %d, \"cgroup\": ", n);
	if (n && cg[0])
		json_str(stdout, cg);
	else
		printf("null");
	printf("}, \"apps\": ");
	apps_report(pd, stdout, APPS_REPORT_JSON);
	printf(", \"cgroups\": ");
	cgroups_report(pd, stdout, true);
}

static void sock_status_text(const struct pin_dir *pd)
{
	char cg[4096];
	int n = sockhooks_attached(pd, cg, sizeof(cg));
	if (n)
		printf("socket hooks: %d on cgroup %s\n", n, cg[0] ? cg : "(a cgroup that no longer exists)");
	apps_report(pd, stdout, APPS_REPORT_TEXT);
	cgroups_report(pd, stdout, false);
}

/* Which interfaces the policy covers, and the covered ones not protected. */
struct coverage {
	bool known; /* a selection is pinned (else: an older rampart, or boot protection) */
	struct rp_ifsel sel;
	struct ifplan_gap gaps[64];
	int ngaps;
};

static void read_coverage(const struct pin_dir *pd, struct coverage *cv)
{
	memset(cv, 0, sizeof(*cv));
	cv->known = ifsel_read(pd, &cv->sel) == 0;
	int n = cv->known ? ifplan_gaps(pd, &cv->sel, cv->gaps, 64) : 0;
	cv->ngaps = n > 0 ? n : 0;
}

static void print_coverage_json(const struct coverage *cv)
{
	printf(", \"interfaces\": ");
	if (!cv->known) {
		printf("null");
		return;
	}
	printf("{\"all\": %s, \"patterns\": [", cv->sel.all ? "true" : "false");
	for (uint32_t i = 0; i < cv->sel.npatterns && i < RP_IFSEL_MAX; i++) {
		printf("%s", i ? ", " : "");
		json_str(stdout, cv->sel.patterns[i]);
	}
	printf("], \"not_protected\": [");
	for (int i = 0; i < cv->ngaps; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(stdout, cv->gaps[i].name);
		printf(", \"reason\": ");
		json_str(stdout, cv->gaps[i].reason);
		printf("}");
	}
	printf("]}");
}

static void print_coverage_text(const struct coverage *cv)
{
	if (!cv->known)
		return;
	if (cv->sel.all) {
		printf("interfaces:   every interface but lo, also ones that appear later\n");
	} else {
		printf("interfaces:   --iface");
		for (uint32_t i = 0; i < cv->sel.npatterns && i < RP_IFSEL_MAX; i++)
			printf(" %s", cv->sel.patterns[i]);
		printf("\n");
	}
	for (int i = 0; i < cv->ngaps; i++)
		printf("  %-16s NOT PROTECTED: %s\n", cv->gaps[i].name, cv->gaps[i].reason);
}

static void print_json(const struct cli *c, const struct view *v, const struct view_attachment *att, int natt,
		       const struct view_ct_usage *u, const uint64_t ctr[RPC_COUNTER_COUNT])
{
	char buf[128];
	printf("{\"mode\": \"%s\", \"pin_dir\": ", mode_name(v->cfg.mode));
	json_str(stdout, c->pins.path);
	printf(", \"generation\": %u, \"mode_reason\": \"%s\"", v->cfg.generation,
	       lifecycle_reason_name(v->cfg.mode_reason));
	if (v->cfg.mode_changed_ns) {
		uint64_t at = lifecycle_boot_to_realtime_ns(v->cfg.mode_changed_ns);
		printf(", \"mode_changed_at\": \"%s\", \"mode_changed_at_ns\": %llu",
		       fmt_time_utc(buf, sizeof(buf), at), (unsigned long long)at);
	} else {
		printf(", \"mode_changed_at\": null, \"mode_changed_at_ns\": null");
	}
	uint64_t drops;
	uint32_t hook = view_netns_hook(&c->pins, &drops);
	if (hook)
		printf(", \"netns_hook\": {\"hook\": \"sk_lookup\", \"prog_id\": %u, \"dropped\": %llu}", hook,
		       (unsigned long long)drops);
	else
		printf(", \"netns_hook\": null");
	if (v->cfg.mode == RP_MODE_BOOT) {
		uint64_t now = now_mono_ns(), dl = v->cfg.boot_deadline_ns;
		printf(", \"boot\": {\"timeout_left_s\": ");
		if (dl)
			printf("%llu", (unsigned long long)(dl > now ? (dl - now) / 1000000000ull : 0));
		else
			printf("null");
		printf(", \"after_timeout\": \"%s\"}", v->cfg.boot_fail_closed ? "closed" : "open");
	}
	printf(", \"policy\": ");
	if (view_have_policy(v)) {
		printf("{\"file\": ");
		json_str(stdout, v->info.path);
		printf(", \"sha256\": \"%s\"", fmt_hex(buf, sizeof(buf), v->info.sha256, 32));
		printf(", \"loaded_at\": \"%s\"", fmt_time_utc(buf, sizeof(buf), v->info.load_time_ns));
		printf(", \"loaded_at_ns\": %llu, \"rules\": %u, \"tables\": %u, \"unresolved\": ",
		       (unsigned long long)v->info.load_time_ns, v->info.nrules, v->info.ntables);
		json_words(stdout, v->info.unresolved, sizeof(v->info.unresolved));
		printf("}");
	} else {
		printf("null");
	}
	printf(", \"attachments\": [");
	for (int i = 0; i < natt; i++) {
		const struct view_attachment *a = &att[i];
		printf("%s{\"hook\": ", i ? ", " : "");
		json_str(stdout, a->hook);
		printf(", \"interface\": ");
		json_str(stdout, a->alive ? a->now_name : a->ifname);
		printf(", \"pin\": ");
		json_str(stdout, a->pin);
		printf(", \"kind\": \"%s\", \"ifindex\": %u, \"prog_id\": %u, \"alive\": %s", a->kind, a->ifindex,
		       a->prog_id, a->alive ? "true" : "false");
		if (a->xdp_mode)
			printf(", \"xdp_mode\": \"%s\"", a->xdp_mode);
		printf("}");
	}
	printf("]");
	struct coverage cv;
	read_coverage(&c->pins, &cv);
	print_coverage_json(&cv);
	printf(", \"conntrack\": {\"entries\": %llu, \"capacity\": %u, \"half_open\": %llu, "
	       "\"half_open_capacity\": %u}",
	       (unsigned long long)u->entries, u->capacity, (unsigned long long)u->half_open, u->half_open_capacity);
	struct totals t = sum_totals(ctr);
	printf(", \"totals\": {\"passed\": %llu, \"new_allowed\": %llu, \"new_denied\": %llu, "
	       "\"new_rejected\": %llu, \"new_asked\": %llu, \"new_boot_outbound\": %llu, \"dropped\": %llu, "
	       "\"conntrack_full\": %llu, \"log_sent\": %llu, \"log_rate_limited\": %llu, "
	       "\"log_ring_full\": %llu}",
	       (unsigned long long)t.passed, (unsigned long long)ctr[RPC_NEW_ALLOW],
	       (unsigned long long)ctr[RPC_NEW_DENY], (unsigned long long)ctr[RPC_NEW_REJECT],
	       (unsigned long long)ctr[RPC_NEW_ASK], (unsigned long long)ctr[RPC_NEW_BOOT_OUT],
	       (unsigned long long)t.dropped, (unsigned long long)ctr[RPC_DROP_CT_FULL],
	       (unsigned long long)ctr[RPC_LOG_SENT], (unsigned long long)ctr[RPC_LOG_RATE_LIMITED],
	       (unsigned long long)ctr[RPC_LOG_RING_FULL]);
	sock_status_json(&c->pins);
	struct ask_status as;
	if (!ask_status(&c->pins, &as))
		printf(", \"ask\": {\"agent_pid\": %d, \"agent_connected\": %s, \"open_questions\": %d}", as.agent_pid,
		       as.agent_pid ? "true" : "false", as.open);
	printf(", \"counters\": {");
	for (int i = 0; i < RPC_COUNTER_COUNT; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", datapath_counter_name((enum rp_counter)i),
		       (unsigned long long)ctr[i]);
	printf("}}\n");
}

/* "mode: ..." and since when. */
static void print_mode_text(const struct view *v)
{
	char buf[512], b2[64];
	printf("mode:         %s", mode_name(v->cfg.mode));
	if (v->cfg.mode == RP_MODE_BOOT) {
		uint64_t now = now_mono_ns(), dl = v->cfg.boot_deadline_ns;
		if (!dl)
			printf(" (new inbound flows blocked until a policy is applied)");
		else if (dl <= now && v->cfg.boot_fail_closed)
			printf(" (boot timeout passed; fail closed: keeps blocking inbound until a policy is applied)");
		else if (dl > now)
			printf(" (no policy applied: %s %s)",
			       v->cfg.boot_fail_closed ? "keeps blocking inbound after" : "opens in",
			       fmt_duration(b2, sizeof(b2), dl - now));
		else
			printf(" (boot timeout passed)");
	} else if (v->cfg.mode == RP_MODE_OPEN) {
		printf(" (everything passes; `rampart apply` enforces the policy again)");
	} else if (v->cfg.mode == RP_MODE_LOCKDOWN) {
		printf(" (all traffic blocked)");
	}
	printf("\n");
	if (v->cfg.mode_changed_ns) {
		uint64_t at = lifecycle_boot_to_realtime_ns(v->cfg.mode_changed_ns), now = now_realtime_ns();
		printf("  since:      %s", fmt_time_local(buf, sizeof(buf), at, false));
		if (now >= at)
			printf(" (%s ago)", fmt_duration(b2, sizeof(b2), now - at));
		printf(", by %s\n", lifecycle_reason_name(v->cfg.mode_reason));
	}
}

static void print_text(const struct cli *c, const struct view *v, const struct view_attachment *att, int natt,
		       const struct view_ct_usage *u, const uint64_t ctr[RPC_COUNTER_COUNT])
{
	char buf[512], b2[64];
	print_mode_text(v);
	if (!view_have_policy(v) && v->have_info) {
		printf("policy:       none (boot protection only)\n");
	} else if (v->have_info) {
		uint64_t now = now_realtime_ns();
		printf("policy:       %s\n", v->info.path[0] ? v->info.path : "(unnamed)");
		printf("  sha256:     %s\n", fmt_hex(buf, sizeof(buf), v->info.sha256, 32));
		printf("  loaded:     %s", fmt_time_local(buf, sizeof(buf), v->info.load_time_ns, false));
		if (now >= v->info.load_time_ns)
			printf(" (%s ago)", fmt_duration(b2, sizeof(b2), now - v->info.load_time_ns));
		printf(", %u rule%s in %u table%s, generation %u\n", v->info.nrules, v->info.nrules == 1 ? "" : "s",
		       v->info.ntables, v->info.ntables == 1 ? "" : "s", v->cfg.generation);
		if (v->info.unresolved[0])
			printf("  unresolved: %.*s (host names that match nothing until they resolve; `rampart "
			       "daemon` retries)\n",
			       (int)sizeof(v->info.unresolved), v->info.unresolved);
	} else {
		printf("policy:       (no policy information pinned)\n");
	}
	uint64_t drops;
	uint32_t hook = view_netns_hook(&c->pins, &drops);
	if (hook)
		printf("netns hook:   sk_lookup, prog %u (new inbound on any interface in boot/lockdown; "
		       "%llu dropped)\n",
		       hook, (unsigned long long)drops);
	if (natt == 0) {
		printf("attachments:  none (the programs judge no interface)\n");
	} else {
		printf("attachments:\n");
		struct columns t;
		columns_init(&t, 4, 0);
		for (int i = 0; i < natt; i++) {
			const struct view_attachment *a = &att[i];
			char state[128];
			if (!a->alive)
				snprintf(state, sizeof(state), "%s, DETACHED (interface gone or filter removed)",
					 a->kind);
			else
				snprintf(state, sizeof(state), "%s, attached, prog %u", a->kind, a->prog_id);
			const char *cells[] = { a->alive ? a->now_name : a->ifname, a->hook, a->detail ? a->detail : "",
						state };
			columns_add(&t, cells);
		}
		columns_print(&t, stdout, "  ");
		columns_free(&t);
	}
	struct coverage cv;
	read_coverage(&c->pins, &cv);
	print_coverage_text(&cv);
	sock_status_text(&c->pins);
	struct ask_status as;
	if (!ask_status(&c->pins, &as)) {
		if (as.agent_pid)
			printf("ask:          agent: pid %d, open questions: %d\n", as.agent_pid, as.open);
		else
			printf("ask:          no agent connected (ask-default applies at once), open questions: %d\n",
			       as.open);
	}
	printf("conntrack:    %llu / %u entries (%.1f%%), %llu / %u being set up\n", (unsigned long long)u->entries,
	       u->capacity, u->capacity ? 100.0 * (double)u->entries / u->capacity : 0.0,
	       (unsigned long long)u->half_open, u->half_open_capacity);

	struct totals tot = sum_totals(ctr);
	struct columns t;
	columns_init(&t, 3, 1u << 1);
	char num[32];
#define ROW(label, value, extra)                                                 \
	do {                                                                     \
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(value)); \
		const char *cells[] = { label, num, extra };                     \
		columns_add(&t, cells);                                          \
	} while (0)
	detail(buf, sizeof(buf), ctr, "pass-");
	ROW("passed", tot.passed, buf);
	ROW("new flows allowed", ctr[RPC_NEW_ALLOW], "");
	ROW("new flows denied", ctr[RPC_NEW_DENY], "");
	ROW("new flows rejected", ctr[RPC_NEW_REJECT], "");
	if (ctr[RPC_REJECT_STRAY])
		ROW("stray segments rejected", ctr[RPC_REJECT_STRAY], "(RST to segments of no flow: a closed port)");
	if (ctr[RPC_NEW_FORWARDED])
		ROW("forwarded, judged at ingress", ctr[RPC_NEW_FORWARDED], "(tracked as they leave, NAT too)");
	ROW("new flows asked", ctr[RPC_NEW_ASK], "");
	if (v->cfg.flags & RP_CFG_F_FTP) {
		detail(buf, sizeof(buf), ctr, "ftp-");
		ROW("ftp data admitted", ctr[RPC_NEW_FTP_DATA], buf[0] ? buf : "(ftp helper on: no announcement seen)");
	} else {
		ROW("ftp data admitted", ctr[RPC_NEW_FTP_DATA], "(ftp helper off: option ftp-helper)");
	}
	detail(buf, sizeof(buf), ctr, "ask-");
	ROW("questions", ctr[RPC_ASK_QUESTION], buf);
	if (ctr[RPC_NEW_BOOT_OUT])
		ROW("boot: outbound allowed", ctr[RPC_NEW_BOOT_OUT], "");
	detail(buf, sizeof(buf), ctr, "drop-");
	ROW("dropped", tot.dropped, buf);
	ROW("conntrack full", ctr[RPC_DROP_CT_FULL], ctr[RPC_DROP_CT_FULL] ? "(new allowed flows dropped)" : "");
	if (ctr[RPC_CT_ESTABLISHED_FULL])
		ROW("conntrack established full", ctr[RPC_CT_ESTABLISHED_FULL],
		    "(established flows left in the half-open table: raise conntrack-size)");
	if (ctr[RPC_CT_PRESSURE])
		ROW("half-open table pressure", ctr[RPC_CT_PRESSURE], "(sweeps with short half-open timeouts)");
	ROW("conntrack expired", ctr[RPC_CT_EXPIRED], "");
	ROW("log events sent", ctr[RPC_LOG_SENT], "");
	ROW("log rate-limited", ctr[RPC_LOG_RATE_LIMITED], ctr[RPC_LOG_RATE_LIMITED] ? "(see `rampart rules`)" : "");
	ROW("log ring full", ctr[RPC_LOG_RING_FULL], ctr[RPC_LOG_RING_FULL] ? "(nobody read `rampart log`)" : "");
#undef ROW
	printf("totals:\n");
	columns_print(&t, stdout, "  ");
	columns_free(&t);
}

static int cmd_status(struct cli *c)
{
	struct view v;
	int e = view_open(&v, &c->pins, VIEW_RULES | VIEW_COUNTERS | VIEW_CONNTRACK, true);
	if (e == -ENOENT) {
		print_unloaded(c);
		return EXIT_OK;
	}
	if (e)
		return exit_code(e);
	uint64_t ctr[RPC_COUNTER_COUNT];
	if ((e = datapath_counters(v.counters_fd, ctr))) {
		char path[PINS_PATH_MAX];
		pr_err_r(e, "cannot read the counters in %s",
			 pins_map(&c->pins, RP_NAME(RP_MAP_COUNTERS), false, path));
		view_close(&v);
		return EXIT_SYSTEM;
	}
	struct view_ct_usage u;
	view_conntrack_usage(&v, &u);
	struct view_attachment *att;
	int natt = view_attachments(&c->pins, &att);
	if (c->json)
		print_json(c, &v, att, natt, &u, ctr);
	else
		print_text(c, &v, att, natt, &u, ctr);
	free(att);
	view_close(&v);
	return EXIT_OK;
}

const struct command status_command = {
	.name = "status",
	.run = cmd_status,
	.max_args = 0,
	.help = "mode, policy, attachments, conntrack usage and totals",
};
