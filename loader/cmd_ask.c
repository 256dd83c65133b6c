/* `rampart ask [--json]`: the agent that answers `ask` questions (ask.h,
 * docs/ask.md).  In a terminal each question is one block and one key
 * answers it; with --json it speaks the line protocol of SPEC 3.5 on
 * stdin/stdout (one JSON object per line each way).  Runs until SIGINT,
 * SIGTERM or the end of its input. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "ask.h"
#include "cli.h"
#include "json.h"
#include "log.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct ask_front {
	struct ask_agent *a;
	bool json;
	bool input; /* stdin is open */
	bool tty;   /* the terminal is in raw mode (saved: as it was) */
	struct termios saved;
	/* terminal: the question on screen and the scope an "always" gets */
	uint64_t current;
	int scope;
	bool picking_table;
	bool picking_always; /* the table picked is the answer for good */
	char line[65536];    /* --json: the answer line being read */
	size_t len;
};

static const char *const scopes[] = { "host-port", "port", "app" };

/* ---------- --json ---------- */

static void json_member_str(const char *name, const char *v)
{
	printf(", \"%s\": ", name);
	json_str(stdout, v);
}

static void json_question(const struct ask_question *q)
{
	printf("{\"id\": %llu, \"event\": \"%s\", \"direction\": \"%s\", \"proto\": ", (unsigned long long)q->id,
	       q->changed ? "app-changed" : q->event, q->direction);
	json_str(stdout, q->proto);
	if (q->local[0])
		json_member_str("local", q->local);
	if (q->local_port >= 0)
		printf(", \"local_port\": %d", q->local_port);
	if (q->remote[0])
		json_member_str("remote", q->remote);
	if (q->remote_port >= 0)
		printf(", \"remote_port\": %d", q->remote_port);
	if (q->iface[0])
		json_member_str("iface", q->iface);
	if (q->app[0])
		json_member_str("app", q->app);
	if (q->pid >= 0)
		printf(", \"pid\": %d", q->pid);
	if (q->uid >= 0)
		printf(", \"uid\": %ld", q->uid);
	if (q->user[0])
		json_member_str("user", q->user);
	if (q->cgroup[0])
		json_member_str("cgroup", q->cgroup);
	if (q->rule[0])
		json_member_str("rule", q->rule);
	if (q->changed) {
		printf(", \"changed\": {\"old_sha256\": ");
		json_str(stdout, q->old_sha256[0] ? q->old_sha256 : NULL);
		printf(", \"new_sha256\": ");
		json_str(stdout, q->new_sha256[0] ? q->new_sha256 : NULL);
		printf(", \"mtime\": ");
		json_str(stdout, q->mtime[0] ? q->mtime : NULL);
		printf(", \"package\": ");
		json_str(stdout, q->package[0] ? q->package : NULL);
		printf("}");
	}
	printf("}\n");
	fflush(stdout);
}

static void json_result(uint64_t id, int e, const struct ask_result *r)
{
	if (e) {
		printf("{\"id\": %llu, \"error\": ", (unsigned long long)id);
		json_str(stdout, r->error);
		printf("}\n");
	} else {
		printf("{\"id\": %llu, \"applied\": true, \"rule\": ", (unsigned long long)id);
		json_str(stdout, r->rule);
		printf("}\n");
	}
	fflush(stdout);
}

/* An answer line: a flat JSON object of strings and numbers. */
struct answer {
	uint64_t id;
	bool has_id;
	char verdict[256], remember[256], scope[256];
};

static const char *skip_ws(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* A JSON string at p (after its opening quote) into out; past its end or NULL. */
static const char *json_string(const char *p, char *out, size_t n)
{
	size_t len = 0;
	for (; *p && *p != '"'; p++) {
		char c = *p;
		if (c == '\\') {
			c = *++p;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'u') /* not needed by the protocol: kept as '?' */
				for (int i = 0; i < 4 && p[1]; i++, p++, c = '?')
					;
			else if (!c)
				return NULL;
		}
		if (len + 1 < n)
			out[len++] = c;
	}
	if (*p != '"')
		return NULL;
	out[len] = 0;
	return p + 1;
}

static int parse_answer(const char *line, struct answer *ans, const char **why)
{
	memset(ans, 0, sizeof(*ans));
	const char *p = skip_ws(line);
	*why = "an answer is one JSON object per line";
	if (*p++ != '{')
		return -EINVAL;
	for (p = skip_ws(p); *p && *p != '}';) {
		char key[32], val[256];
		if (*p != '"' || !(p = json_string(p + 1, key, sizeof(key))))
			return -EINVAL;
		p = skip_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_ws(p);
		if (*p == '"') {
			if (!(p = json_string(p + 1, val, sizeof(val))))
				return -EINVAL;
		} else {
			size_t n = strcspn(p, ",} \t\r\n");
			if (!n || n >= sizeof(val))
				return -EINVAL;
			snprintf(val, sizeof(val), "%.*s", (int)n, p);
			p += n;
		}
		if (!strcmp(key, "id")) {
			char *end;
			ans->id = strtoull(val, &end, 10);
			ans->has_id = !*end && val[0];
		} else if (!strcmp(key, "verdict")) {
			snprintf(ans->verdict, sizeof(ans->verdict), "%s", val);
		} else if (!strcmp(key, "remember")) {
			snprintf(ans->remember, sizeof(ans->remember), "%s", val);
		} else if (!strcmp(key, "scope")) {
			snprintf(ans->scope, sizeof(ans->scope), "%s", val);
		}
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
		else if (*p != '}')
			return -EINVAL;
	}
	if (*p != '}')
		return -EINVAL;
	*why = "an answer needs \"id\" and \"verdict\"";
	if (!ans->has_id || !ans->verdict[0])
		return -EINVAL;
	*why = "\"remember\" is \"once\" or \"always\"";
	if (ans->remember[0] && strcmp(ans->remember, "once") && strcmp(ans->remember, "always"))
		return -EINVAL;
	return 0;
}

static void json_answer_line(struct ask_front *f, const char *line)
{
	struct answer ans;
	struct ask_result r = { 0 };
	const char *why;
	if (!*skip_ws(line))
		return;
	if (parse_answer(line, &ans, &why)) {
		snprintf(r.error, sizeof(r.error), "%s", why);
		json_result(ans.id, -EINVAL, &r);
		return;
	}
	int e = ask_answer(f->a, ans.id, ans.verdict, !strcmp(ans.remember, "always"), ans.scope[0] ? ans.scope : NULL,
			   &r);
	json_result(ans.id, e, &r);
}

/* Reads what stdin has; each complete line is an answer.  false at its end. */
static bool json_read(struct ask_front *f)
{
	ssize_t n = read(0, f->line + f->len, sizeof(f->line) - 1 - f->len);
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	f->len += (size_t)n;
	f->line[f->len] = 0;
	char *start = f->line, *nl;
	while ((nl = strchr(start, '\n'))) {
		*nl = 0;
		json_answer_line(f, start);
		start = nl + 1;
	}
	f->len -= (size_t)(start - f->line);
	memmove(f->line, start, f->len);
	if (f->len == sizeof(f->line) - 1)
		f->len = 0; /* a line longer than any answer: dropped */
	return true;
}

/* ---------- the terminal ---------- */

static void term_prompt(struct ask_front *f)
{
	const char **tables;
	int nt = ask_tables(f->a, &tables);
	if (f->picking_table) {
		printf("  handle as which table%s?", f->picking_always ? ", always" : "");
		for (int i = 0; i < nt && i < 9; i++)
			printf("  [%d] %s", i + 1, tables[i]);
		printf("  [Esc] back\n");
	} else {
		printf("  [a] allow once  [d] deny once  [A] allow always  [D] deny always%s  [s] scope of always: "
		       "%s\n",
		       nt ? "  [j] handle as a table  [J] always" : "", scopes[f->scope]);
	}
	fflush(stdout);
}

static void term_show(struct ask_front *f, const struct ask_question *q)
{
	const char *who = q->app[0] ? q->app : "(no application: forwarded or kernel traffic)";
	printf("\n=== question %llu: %s ===\n", (unsigned long long)q->id,
	       q->changed ? "an approved application has changed since apply" : "no rule decides this");
	printf("  %s\n", who);
	if (q->pid >= 0)
		printf("  pid %d, user %s (uid %ld)%s%s\n", q->pid, q->user[0] ? q->user : "?", q->uid,
		       q->cgroup[0] ? ", cgroup " : "", q->cgroup);
	if (q->parents[0])
		printf("  started by %s\n", q->parents);
	printf("  wants: %s %s %s", q->event, q->direction, q->proto);
	if (q->remote[0])
		printf("  remote %s", q->remote);
	if (q->remote_port >= 0)
		printf(" port %d", q->remote_port);
	if (q->local[0] || q->local_port >= 0)
		printf("  local %s", q->local[0] ? q->local : "*");
	if (q->local_port >= 0)
		printf(" port %d", q->local_port);
	if (q->iface[0])
		printf("  on %s", q->iface);
	if (q->changed)
		printf("\n  changed since apply: sha256 %.16s... -> %.16s..., modified %s%s%s", q->old_sha256,
		       q->new_sha256[0] ? q->new_sha256 : "?", q->mtime, q->package[0] ? ", package " : "", q->package);
	printf("\n  asked by %s%s%s\n", q->rule[0] ? q->rule : "?", q->table[0] ? " in table " : "", q->table);
	f->current = q->id;
	f->picking_table = false;
	term_prompt(f);
}

static void on_question(const struct ask_question *q, void *arg)
{
	struct ask_front *f = arg;
	if (f->json)
		json_question(q);
	else if (!f->current)
		term_show(f, q);
	else
		printf("(question %llu waits: %s %s %s)\n", (unsigned long long)q->id, q->app[0] ? q->app : "-",
		       q->remote, q->proto);
	fflush(stdout);
}

static void on_expired(const struct ask_question *q, const char *verdict, void *arg)
{
	struct ask_front *f = arg;
	struct ask_result r = { 0 };
	snprintf(r.error, sizeof(r.error), "not answered within ask-timeout: ask-default %s applied", verdict);
	if (f->json) {
		json_result(q->id, -ETIMEDOUT, &r);
		return;
	}
	printf("question %llu: %s\n", (unsigned long long)q->id, r.error);
	if (f->current == q->id)
		f->current = 0;
}

/* The next open question on screen, if any. */
static void term_next(struct ask_front *f, const struct ask_question *next)
{
	f->current = 0;
	if (next)
		term_show(f, next);
}

static void term_answer(struct ask_front *f, const char *verdict, bool always)
{
	struct ask_result r;
	uint64_t id = f->current;
	int e = ask_answer(f->a, id, verdict, always, scopes[f->scope], &r);
	if (e)
		printf("question %llu: %s\n", (unsigned long long)id, r.error);
	else if (always)
		printf("question %llu: %s always, rule written at %s and applied\n", (unsigned long long)id, verdict,
		       r.rule);
	else
		printf("question %llu: %s once\n", (unsigned long long)id, verdict);
	f->current = 0;
}

static void term_key(struct ask_front *f, int key)
{
	if (!f->current)
		return;
	if (f->picking_table) {
		const char **tables;
		int nt = ask_tables(f->a, &tables);
		if (key >= '1' && key <= '9' && key - '1' < nt) {
			char v[300];
			snprintf(v, sizeof(v), "jump %s", tables[key - '1']);
			term_answer(f, v, f->picking_always);
		} else {
			f->picking_table = false;
			term_prompt(f);
		}
	} else if (key == 'a' || key == 'd' || key == 'A' || key == 'D') {
		term_answer(f, tolower(key) == 'a' ? "allow" : "deny", isupper(key));
	} else if (key == 's') {
		f->scope = (f->scope + 1) % 3;
		term_prompt(f);
		return;
	} else if (key == 'j' || key == 'J') {
		f->picking_table = true;
		f->picking_always = key == 'J';
		term_prompt(f);
		return;
	} else {
		return;
	}
	if (!f->current)
		term_next(f, ask_oldest(f->a));
	fflush(stdout);
}

/* ---------- the command ---------- */

int ask_front_open(struct ask_front **fp, struct pin_dir *pd, bool json)
{
	struct ask_front *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->json = json;
	int e = ask_open(&f->a, pd, on_question, on_expired, f);
	if (e) {
		free(f);
		return e;
	}
	f->input = true;
	f->tty = !json && isatty(0) && tcgetattr(0, &f->saved) == 0;
	if (f->tty) {
		struct termios raw = f->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(0, TCSANOW, &raw);
	}
	if (!json)
		printf("rampart: answering the questions of %s\n", pd->path);
	fflush(stdout);
	*fp = f;
	return 0;
}

int ask_front_step(struct ask_front *f, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = ask_fd(f->a), .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	if (poll(p, f->input ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
		return pr_err_r(-errno, "poll");
	int e = ask_poll(f->a);
	if (e)
		return e;
	if (!f->json && !f->current)
		term_next(f, ask_oldest(f->a));
	if (!f->input || !(p[1].revents & (POLLIN | POLLHUP)))
		return 0;
	if (f->json) {
		f->input = json_read(f);
	} else {
		char k;
		ssize_t r = read(0, &k, 1);
		if (r == 1)
			term_key(f, k);
		else if (r == 0)
			f->input = false;
	}
	/* --json: the other end closed, nobody answers any more */
	return !f->input && f->json ? 1 : 0;
}

void ask_front_close(struct ask_front *f)
{
	if (!f)
		return;
	if (f->tty)
		tcsetattr(0, TCSANOW, &f->saved);
	ask_close(f->a);
	free(f);
}

static int cmd_ask(struct cli *c)
{
	struct ask_front *f;
	int e = ask_front_open(&f, &c->pins, c->json);
	if (e)
		return exit_code(e);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop_requested && !e)
		e = ask_front_step(f, 200);
	ask_front_close(f);
	return exit_code(e < 0 ? e : 0);
}

const struct command ask_command = {
	.name = "ask",
	.run = cmd_ask,
	.max_args = 0,
	.root = true,
	.help = "answer `ask` questions: in the terminal, or with --json as a line protocol (docs/ask.md)",
};
