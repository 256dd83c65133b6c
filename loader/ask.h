/* The `ask` agent (docs/ask.md): answers the questions the kernel raises
 * when an event reaches `ask` (bpf/ask.h), for `rampart ask` (terminal or
 * --json) and `rampart daemon --ask`.  One agent per pin dir: it holds a
 * lock on the pin dir and says it is alive in rp_ask_agent every second;
 * the kernel asks only while it does.  An answer releases the held flows
 * (a refused local connection fails at once: a RST is handed to the local
 * stack), and an "always" answer writes a rule into the policy file just
 * before the ask rule that fired and applies the policy. */
#ifndef RAMPART_ASK_AGENT_H
#define RAMPART_ASK_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "pins.h"
#include "rampart_ask.h"

struct ask_agent;

/* A question as the agent shows it (fields not carried are "" / -1). */
struct ask_question {
	uint64_t id;
	struct rp_question raw;
	struct rp_ask_key key;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC: ask-timeout */
	const char *event, *direction;
	char proto[16];
	char local[64], remote[64];
	int local_port, remote_port;
	char iface[IF_NAMESIZE + 1];
	char app[4096];
	int pid;
	long uid;
	char user[64];
	char cgroup[4096];
	char parents[256];		     /* socket events: the caller's parent processes, "NAME(PID) < ..." */
	char rule[4200];		     /* FILE:LINE of the ask rule (of the table for a default) */
	char table[64];			     /* the table it is in */
	bool changed;			     /* kind app-changed: the application's file changed since apply: */
	char old_sha256[65], new_sha256[65]; /* as approved, as it is now */
	char mtime[64];			     /* the file's modification time (UTC) */
	char package[256];		     /* the Debian package that owns it ("" unknown) */
};

/* What an answer did. */
struct ask_result {
	char rule[4200];   /* "always": FILE:LINE of the learned rule, else the ask rule's */
	char error[8400];  /* when it failed: why */
	unsigned released; /* held flows given the verdict */
};

typedef void (*ask_question_fn)(const struct ask_question *q, void *arg);
/* A question that expired (ask-timeout) with ask-default applied. */
typedef void (*ask_expired_fn)(const struct ask_question *q, const char *verdict, void *arg);

/* Connects to the policy pinned in pd: 0, -EBUSY when another agent
 * answers for it (its pid said), or -errno (said). */
int ask_open(struct ask_agent **ap, struct pin_dir *pd, ask_question_fn on_question, ask_expired_fn on_expired,
	     void *arg);
/* Tells the kernel nobody answers any more, unlocks, frees. */
void ask_close(struct ask_agent *a);
/* A file descriptor that becomes readable when questions wait. */
int ask_fd(const struct ask_agent *a);
/* Reads waiting questions (on_question for each), expires old ones, says
 * it is alive.  Call at least every second.  0 or -errno. */
int ask_poll(struct ask_agent *a);
/* The open question id, or NULL. */
const struct ask_question *ask_find(const struct ask_agent *a, uint64_t id);
/* The open question asked first, or NULL. */
const struct ask_question *ask_oldest(const struct ask_agent *a);
/* The tables of the running policy an answer may jump to ("handle as":
 * all but root): their count; names[i] valid until the next answer. */
int ask_tables(const struct ask_agent *a, const char ***names);
/* Answers question id: verdict "allow", "deny", "reject" or "jump TABLE";
 * always: write a rule of scope ("host-port", "port", "app") and apply.
 * 0, or -errno with r->error saying why. */
int ask_answer(struct ask_agent *a, uint64_t id, const char *verdict, bool always, const char *scope,
	       struct ask_result *r);

/* For `rampart status`: who answers (0: nobody) and the open questions.
 * 0, or -ENOENT when the pin dir has no learning mode. */
struct ask_status {
	int agent_pid;
	int open;
};
int ask_status(const struct pin_dir *pd, struct ask_status *st);

#endif
