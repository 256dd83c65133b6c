/* `rampart rules [--json] [TABLE]...`: the loaded rules in evaluation order
 * (rules in policy order, then the table defaults), each with where it was
 * written, its table and verdict, and how many new flows it decided or
 * recorded; with TABLEs, only the rules of those tables.  The FTP helper,
 * when on, is the last line: the data connections it admitted. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "datapath.h"
#include "fields.h"
#include "format.h"
#include "json.h"
#include "log.h"
#include "view.h"

/* The tables asked for (all when none). */
struct table_filter {
	int n;
	char **names;
};

static bool wanted(const struct table_filter *tf, const struct rp_rule_meta *m)
{
	for (int i = 0; i < tf->n; i++)
		if (!strncmp(tf->names[i], m->table, sizeof(m->table)))
			return true;
	return tf->n == 0;
}

static void where(const struct rp_rule_meta *m, char *buf, size_t n)
{
	if (m->rule_id == RP_RULE_HELPER)
		snprintf(buf, n, "(helper)");
	else if (m->rule_id != RP_SLOT_NONE)
		snprintf(buf, n, "%s:%u", m->file, m->line);
	else
		snprintf(buf, n, "%s", m->file[0] ? m->file : "(implicit)");
}

/* The rule in slot s (NULL: none, or not of the tables asked for) and its
 * counters. */
static const struct rp_rule_meta *rule_at(const struct view *v, const struct table_filter *tf, uint32_t s,
					  struct rp_rule_stats *st)
{
	const struct rp_rule_meta *m = view_rule(v, s);
	if (m && !wanted(tf, m))
		return NULL;
	if (m)
		datapath_rule_stats(v->stats_fd, s, st);
	return m;
}

static void print_json(const struct view *v, const struct table_filter *tf)
{
	bool first = true;
	printf("{\"policy\": ");
	if (v->have_info)
		json_str(stdout, v->info.path);
	else
		printf("null");
	printf(", \"rules\": [");
	for (uint32_t s = 0; s < v->nslots; s++) {
		struct rp_rule_stats st;
		const struct rp_rule_meta *m = rule_at(v, tf, s, &st);
		if (!m)
			continue;
		bool dflt = m->rule_id == RP_SLOT_NONE;
		printf("%s\n  {\"slot\": %u, \"file\": ", first ? "" : ",", s);
		json_str(stdout, m->file[0] ? m->file : NULL);
		printf(", \"line\": %u, \"table\": ", m->line);
		json_str(stdout, m->table);
		printf(", \"verdict\": ");
		json_str(stdout, verdict_name((enum verdict)m->verdict));
		printf(", \"default\": %s, \"helper\": %s, \"log\": %s, \"text\": ", dflt ? "true" : "false",
		       m->rule_id == RP_RULE_HELPER ? "true" : "false", m->log ? "true" : "false");
		json_str(stdout, m->text);
		printf(", \"packets\": %llu, \"bytes\": %llu, \"logged\": %llu, \"log_dropped\": %llu}",
		       (unsigned long long)st.packets, (unsigned long long)st.bytes, (unsigned long long)st.logged,
		       (unsigned long long)st.log_dropped);
		first = false;
	}
	printf("%s]}\n", first ? "" : "\n");
}

static void print_text(const struct view *v, const struct table_filter *tf)
{
	struct columns t;
	char num[16], where_buf[RP_FILE_LEN + 16], pk[32], by[32], text[RP_TEXT_LEN + 64];
	uint32_t shown = 0;
	/* columns: #, where, table, verdict, packets, bytes, rule */
	columns_init(&t, 7, 1u << 0 | 1u << 4 | 1u << 5);
	const char *head[] = { "#", "WHERE", "TABLE", "VERDICT", "PACKETS", "BYTES", "RULE" };
	columns_add(&t, head);
	for (uint32_t s = 0; s < v->nslots; s++) {
		struct rp_rule_stats st;
		const struct rp_rule_meta *m = rule_at(v, tf, s, &st);
		if (!m)
			continue;
		snprintf(num, sizeof(num), "%u", ++shown);
		where(m, where_buf, sizeof(where_buf));
		snprintf(pk, sizeof(pk), "%llu", (unsigned long long)st.packets);
		fmt_bytes(by, sizeof(by), st.bytes);
		if (st.log_dropped)
			snprintf(text, sizeof(text), "%s   [%llu log event%s rate-limited or lost]", m->text,
				 (unsigned long long)st.log_dropped, st.log_dropped == 1 ? "" : "s");
		else
			snprintf(text, sizeof(text), "%s", m->text);
		const char *cells[] = {
			num, where_buf, m->table[0] ? m->table : "-", verdict_name((enum verdict)m->verdict), pk,
			by,  text
		};
		columns_add(&t, cells);
	}
	if (v->have_info)
		printf("policy %s: %u rule%s, %u table%s (packets and bytes: of the new flows each rule decided "
		       "or recorded)\n\n",
		       v->info.path[0] ? v->info.path : "(unnamed)", v->info.nrules, v->info.nrules == 1 ? "" : "s",
		       v->info.ntables, v->info.ntables == 1 ? "" : "s");
	columns_print(&t, stdout, "");
	columns_free(&t);
}

/* Every table asked for is one of the loaded policy. */
static int check_tables(struct cli *c, const struct view *v, const struct table_filter *tf)
{
	for (int i = 0; i < tf->n; i++) {
		bool known = false;
		for (uint32_t s = 0; s < v->nslots && !known; s++)
			known = view_rule(v, s) && !strncmp(tf->names[i], v->meta[s].table, sizeof(v->meta[s].table));
		if (!known)
			return usage_error(c, "the loaded policy has no table `%s`", tf->names[i]);
	}
	return EXIT_OK;
}

static int cmd_rules(struct cli *c)
{
	struct table_filter tf = { .n = c->argc - 1, .names = c->argv + 1 };
	struct view v;
	int e = view_open(&v, &c->pins, VIEW_RULES, false);
	if (e)
		return exit_code(e);
	int rc = check_tables(c, &v, &tf);
	if (!rc && c->json)
		print_json(&v, &tf);
	else if (!rc)
		print_text(&v, &tf);
	view_close(&v);
	return rc;
}

const struct command rules_command = {
	.name = "rules",
	.run = cmd_rules,
	.args = "[TABLE]...",
	.arg_name = "TABLE",
	.max_args = -1,
	.help = "the loaded rules in order with their hit counters (of the TABLEs named)",
};
