/* The Prometheus exposition of a pinned rampart (see metrics.h).  Names
 * follow the Prometheus conventions: a `rampart_` prefix, `_total` for
 * counters, base units (seconds, bytes), one metric per kind of thing with
 * labels for the instances.  The datapath counters are not listed here
 * again: each one of datapath_counter_name()'s table lands in the family
 * its name's prefix says ("drop-bad-ihl" -> rampart_packets_dropped_total
 * {reason="bad-ihl"}), and a counter no family claims still appears, in
 * rampart_datapath_events_total{counter="NAME"}. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "boot.h"
#include "log.h"
#include "pins.h"
#include "datapath.h"
#include "fields.h"
#include "metrics.h"
#include "sockhooks.h"
#include "view.h"

/* Label values: backslash, double quote and line feed escaped. */
static void put_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{k1="v1",k2="v2"} VALUE for nlabels pairs of (key, value). */
static void sample(FILE *f, const char *name, int nlabels, const char *const *kv, unsigned long long value)
{
	fputs(name, f);
	for (int i = 0; i < nlabels; i++) {
		fprintf(f, "%s%s=", i ? "," : "{", kv[2 * i]);
		put_value(f, kv[2 * i + 1]);
	}
	fprintf(f, "%s %llu\n", nlabels ? "}" : "", value);
}

static void gauge(FILE *f, const char *name, const char *help, unsigned long long value)
{
	family(f, name, "gauge", help);
	sample(f, name, 0, NULL, value);
}

static void seconds_gauge(FILE *f, const char *name, const char *help, uint64_t ns)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %llu.%03llu\n", name, (unsigned long long)(ns / 1000000000ull),
		(unsigned long long)(ns % 1000000000ull / 1000000ull));
}

/* The mode as a state set: one series per mode, 1 for the current one. */
static void put_mode(FILE *f, const char *current)
{
	family(f, "rampart_mode", "gauge",
	       "The mode rampart is in (1 for the current one): boot, enforcing, open, lockdown, or unloaded.");
	for (uint32_t m = 0; m <= RP_MODE_COUNT; m++) {
		const char *name = m < RP_MODE_COUNT ? mode_name(m) : "unloaded";
		const char *kv[] = { "mode", name };
		sample(f, "rampart_mode", 1, kv, !strcmp(name, current));
	}
}

static void put_policy(FILE *f, const struct view *v)
{
	gauge(f, "rampart_policy_generation", "Applies so far in this pin dir (grows with every apply or reload).",
	      v->cfg.generation);
	if (!view_have_policy(v))
		return;
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", v->info.sha256[i]);
	family(f, "rampart_policy_info", "gauge", "The loaded policy file and its SHA-256 (always 1).");
	const char *kv[] = { "file", v->info.path, "sha256", hex };
	sample(f, "rampart_policy_info", 2, kv, 1);
	seconds_gauge(f, "rampart_policy_load_timestamp_seconds", "When the loaded policy was applied (Unix time).",
		      v->info.load_time_ns);
	gauge(f, "rampart_policy_rules", "Rules of the loaded policy.", v->info.nrules);
	gauge(f, "rampart_policy_tables", "Tables of the loaded policy.", v->info.ntables);
}

/* Per rule (and table default), in evaluation order. */
static void put_rules(FILE *f, const struct view *v)
{
	static const struct {
		const char *name, *help;
	} fams[] = {
		{ "rampart_rule_packets_total", "Packets of the new flows the rule decided or recorded (continue)." },
		{ "rampart_rule_bytes_total", "Bytes of the new flows the rule decided or recorded (continue)." },
		{ "rampart_rule_log_events_total", "Log events the rule sent." },
		{ "rampart_rule_log_dropped_total", "Log events of the rule lost to the rate limit or a full ring." },
	};
	for (size_t k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		family(f, fams[k].name, "counter", fams[k].help);
		for (uint32_t s = 0; s < v->nslots; s++) {
			const struct rp_rule_meta *m = view_rule(v, s);
			struct rp_rule_stats st;
			if (!m || datapath_rule_stats(v->stats_fd, s, &st) != 0)
				continue;
			char line[16];
			snprintf(line, sizeof(line), "%u", m->line);
			/* the protocol helper's slot has no file or table: name it there */
			const char *table = m->rule_id == RP_RULE_HELPER ? "(ftp helper)" : m->table;
			const char *kv[] = { "file",  m->file, "line",	  line,
					     "table", table,   "verdict", verdict_name((enum verdict)m->verdict) };
			const uint64_t val[] = { st.packets, st.bytes, st.logged, st.log_dropped };
			sample(f, fams[k].name, 4, kv, val[k]);
		}
	}
}

/* Datapath counters by the prefix of their name (see the top). */
static void put_counters(FILE *f, const uint64_t ctr[RPC_COUNTER_COUNT])
{
	static const struct {
		const char *prefix, *name, *label, *help;
	} fams[] = {
		{ "pass-", "rampart_packets_passed_total", "reason",
		  "Packets passed without judging a new flow, by reason." },
		{ "drop-", "rampart_packets_dropped_total", "reason", "Packets dropped, by reason." },
		{ "new-", "rampart_new_flows_total", "outcome", "New flows judged at the packet hooks, by outcome." },
		{ "socket-", "rampart_socket_events_total", "verdict",
		  "Socket events judged by the cgroup hooks, by verdict." },
		{ "log-", "rampart_log_events_total", "outcome",
		  "Log events: sent, or lost to the rate limit or a full ring." },
		{ "conntrack-", "rampart_conntrack_events_total", "event",
		  "Conntrack table events (expired entries)." },
		{ "ftp-", "rampart_ftp_helper_events_total", "event",
		  "FTP helper: expectations made, expired, replaced, refused; commands that did not parse; "
		  "SYNs to an expected port from another host." },
		{ "", "rampart_datapath_events_total", "counter", "Other datapath counters, by name." },
	};
	bool done[RPC_COUNTER_COUNT] = { false };
	for (size_t k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		size_t plen = strlen(fams[k].prefix);
		bool any = false;
		for (int i = 0; i < RPC_COUNTER_COUNT; i++) {
			const char *name = datapath_counter_name((enum rp_counter)i);
			if (done[i] || strncmp(name, fams[k].prefix, plen))
				continue;
			if (!any)
				family(f, fams[k].name, "counter", fams[k].help);
			any = done[i] = true;
			const char *kv[] = { fams[k].label, name + plen };
			sample(f, fams[k].name, 1, kv, ctr[i]);
		}
	}
}

static void put_attachments(FILE *f, const struct pin_dir *pd)
{
	struct view_attachment *att;
	int n = view_attachments(pd, &att);
	family(f, "rampart_attachment_up", "gauge",
	       "A packet hook pinned for an interface: 1 while it is attached, 0 when its interface is gone "
	       "or its filter was removed.");
	for (int i = 0; i < n; i++) {
		const struct view_attachment *a = &att[i];
		const char *kv[] = { "interface",   a->alive ? a->now_name : a->ifname,
				     "hook",	    a->hook,
				     "kind",	    a->kind,
				     "attach_mode", a->detail ? a->detail : "" };
		sample(f, "rampart_attachment_up", 4, kv, a->alive);
	}
	free(att);

	char cg[4096];
	int hooks = sockhooks_attached(pd, cg, sizeof(cg));
	family(f, "rampart_socket_hooks_attached", "gauge", "cgroup socket hooks attached, by cgroup.");
	if (hooks) {
		const char *kv[] = { "cgroup", cg[0] ? cg : "" };
		sample(f, "rampart_socket_hooks_attached", 1, kv, (unsigned long long)hooks);
	}
	uint64_t drops;
	uint32_t prog = view_netns_hook(pd, &drops);
	gauge(f, "rampart_netns_hook_attached",
	      "Boot protection's network-namespace hook (sk_lookup) is attached (1) or not (0).", prog != 0);
	family(f, "rampart_netns_hook_dropped_total", "counter",
	       "New inbound connections the network-namespace hook refused (boot, lockdown).");
	sample(f, "rampart_netns_hook_dropped_total", 0, NULL, drops);
}

static void put_conntrack(FILE *f, const struct view *v)
{
	uint32_t capacity = view_map_capacity(v->conntrack_fd);
	gauge(f, "rampart_conntrack_entries", "Tracked connections now.", view_count_flows(v->conntrack_fd, capacity));
	gauge(f, "rampart_conntrack_capacity", "Size of the conntrack table (option conntrack-size).", capacity);
}

int metrics_write(FILE *f, const struct pin_dir *pd)
{
	struct view v;
	int e = view_open(&v, pd, VIEW_RULES | VIEW_COUNTERS | VIEW_CONNTRACK, true);
	if (e == -ENOENT) {
		gauge(f, "rampart_loaded", "A rampart instance is loaded in the pin dir (1) or not (0).", 0);
		put_mode(f, "unloaded");
		return 0;
	}
	if (e)
		return e;
	uint64_t ctr[RPC_COUNTER_COUNT];
	if ((e = datapath_counters(v.counters_fd, ctr))) {
		char path[PINS_PATH_MAX];
		pr_err_r(e, "cannot read the counters in %s; run `rampart apply` again",
			 pins_map(pd, RP_NAME(RP_MAP_COUNTERS), false, path));
		view_close(&v);
		return e;
	}
	gauge(f, "rampart_loaded", "A rampart instance is loaded in the pin dir (1) or not (0).", 1);
	put_mode(f, mode_name(v.cfg.mode));
	if (v.cfg.mode_changed_ns) {
		family(f, "rampart_mode_changed_timestamp_seconds", "gauge",
		       "When the mode last changed (Unix time), and by what.");
		uint64_t at = lifecycle_boot_to_realtime_ns(v.cfg.mode_changed_ns);
		fprintf(f, "rampart_mode_changed_timestamp_seconds{reason=");
		put_value(f, lifecycle_reason_name(v.cfg.mode_reason));
		fprintf(f, "} %llu.%03llu\n", (unsigned long long)(at / 1000000000ull),
			(unsigned long long)(at % 1000000000ull / 1000000ull));
	}
	put_policy(f, &v);
	put_rules(f, &v);
	put_counters(f, ctr);
	put_conntrack(f, &v);
	put_attachments(f, pd);
	view_close(&v);
	return ferror(f) ? -EIO : 0;
}

int metrics_write_file(const char *path, const struct pin_dir *pd)
{
	char tmp[4096];
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path + 1) : 0;
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp-%d", dlen, path, slash ? slash + 1 : path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return pr_err_r(-ENAMETOOLONG, "cannot write the metrics to %.64s...", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return pr_err_r(-errno, "cannot write %s", tmp);
	int e = metrics_write(f, pd);
	if (fclose(f) != 0 && !e)
		e = pr_err_r(-errno, "cannot write %s", tmp);
	/* node-exporter's textfile collector wants world-readable files */
	if (!e && (chmod(tmp, 0644) != 0 || rename(tmp, path) != 0))
		e = pr_err_r(-errno, "cannot replace %s", path);
	if (e)
		unlink(tmp);
	return e;
}
