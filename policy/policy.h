/* The resolved policy, events, the reference interpreter and the flattened
 * intermediate form.  Plain C, no libbpf: unit-tested without a kernel.
 *
 * Pipeline:  text --parse--> ast_policy --resolve--> policy --flatten--> flat_policy
 *                                                       |
 *                                  event ------------> eval (reference interpreter)
 */
#ifndef RAMPART_POLICY_H
#define RAMPART_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "diag.h"
#include "ast.h"
#include "fields.h"

typedef unsigned __int128 u128;

/* ---------- value sets ---------- */

/* A closed interval [lo, hi] of field values. */
struct vrange {
	u128 lo, hi;
};

/* A set of values: sorted, non-overlapping, non-adjacent intervals. */
struct vset {
	struct vrange *r;
	int n;
};

/* Largest value of each field (addresses: 2^128-1, ports: 65535, ...). */
u128 field_max(enum field f);

void vset_free(struct vset *s);
void vset_add(struct vset *s, u128 lo, u128 hi); /* keeps the set normalised */
bool vset_contains(const struct vset *s, u128 v);
bool vset_empty(const struct vset *s);
bool vset_subset(const struct vset *a, const struct vset *b); /* a within b */
bool vset_equal(const struct vset *a, const struct vset *b);
void vset_copy(struct vset *dst, const struct vset *src);
void vset_intersect(struct vset *dst, const struct vset *a, const struct vset *b);
void vset_union(struct vset *dst, const struct vset *a, const struct vset *b);
void vset_complement(struct vset *dst, const struct vset *a, u128 max);

/* A rule's condition on one field.  !used means the rule does not name the
 * field ("any": matches whether or not the event carries it).  used means
 * the event must carry the field and its value must be in `set`. */
struct cond {
	bool used;
	struct vset set;
};

/* IPv4 a.b.c.d is stored as ::ffff:a.b.c.d */
#define V4_MAPPED_PREFIX ((u128)0xffff << 32)
static inline u128 addr_from_v4(uint32_t host_order)
{
	return V4_MAPPED_PREFIX | host_order;
}
static inline bool addr_is_v4(u128 a)
{
	return (a >> 32) == 0xffff;
}
/* Parse "192.0.2.1" or "2001:db8::1" (inet_pton). */
bool addr_parse(const char *s, u128 *out, int *family);
/* Format into buf (INET6_ADDRSTRLEN at least); IPv4-mapped prints dotted. */
const char *addr_format(u128 a, char *buf, int len);

/* ---------- the resolved policy ---------- */

struct rule {
	int id;	   /* index in policy.rules */
	int table; /* index of the table it belongs to */
	enum verdict verdict;
	int jump_table; /* VERDICT_JUMP: target table index */
	struct cond cond[F_COUNT];
	bool log;
	char *comment;
	struct src_loc loc;
	char *text; /* the rule as written (one line, for display) */
};

struct table {
	char *name;
	enum verdict dflt; /* allow/deny/reject/ask/continue */
	bool dflt_explicit;
	int *rules; /* indices into policy.rules, in order */
	int nrules;
	struct src_loc loc;
};

/* Named cgroups are numbered in preorder of their path tree: a cgroup's
 * descendants (among named ones) get the ids pre+1..post.  An event's
 * cgroup value is the id of its nearest named ancestor-or-self (0: none),
 * so "cgroup X" (X and its descendants) is the interval [pre(X), post(X)]. */
struct named_cgroup {
	char *path; /* normalised: leading '/', no trailing '/', "/" for the root */
	uint32_t pre, post;
};

/* option ftp-ports: at most this many ports or ranges (the datapath's
 * RP_FTP_PORT_RANGES) */
#define POLICY_FTP_PORT_RANGES 8

struct options {
	int boot_timeout;	  /* seconds, default 300 */
	int ask_timeout;	  /* seconds, default 30 */
	enum verdict ask_default; /* default deny */
	int log_rate;		  /* events per second per rule and CPU, default 10; 0: logging off */
	int reject_rate;	  /* reject answers per second per CPU, default 1000; 0: never answer */
	int conntrack_size;	  /* entries, default 65536 */
	int tcp_timeout;	  /* established TCP, seconds, default 3600 */
	int udp_timeout;	  /* default 60 */
	int icmp_timeout;	  /* default 30 */
	bool ancestry;		  /* default off */
	bool separate_userns;	  /* default off: on, a process in a user namespace is no application */
	int ingress_hook;	  /* enum ingress_hook, default auto (docs/datapath.md) */
	/* the FTP helper (docs/datapath.md, "Protocol helpers") */
	bool ftp_helper; /* default on */
	int ftp_timeout; /* seconds an announced data connection is expected, default 30 */
	int ftp_nports;	 /* ranges in ftp_ports; default one: { 21 } */
	struct port_range {
		uint16_t lo, hi;
	} ftp_ports[POLICY_FTP_PORT_RANGES]; /* the control connections' server ports */
	int app_changed;		     /* enum app_changed, default ask (docs/ask.md) */
	bool fast_path;			     /* forwarded flows leave from tc ingress, default on (docs/gateway.md) */
};

/* option app-changed: an approved binary that changed since apply (the
 * values are include/rampart_ask.h's enum rp_app_changed). */
enum app_changed {
	APP_CHANGED_ASK = 0,  /* asked about at its next connection while an agent is connected, else kept */
	APP_CHANGED_KEEP = 1, /* its rules still match it (reported by status) */
	APP_CHANGED_DENY = 2, /* its rules stop matching it until `apply` approves it */
};

/* option ingress-hook: which program judges arriving packets. */
enum ingress_hook {
	INGRESS_HOOK_AUTO = 0, /* XDP on hardware NICs with native XDP, tc elsewhere */
	INGRESS_HOOK_XDP,      /* XDP wherever the driver has native XDP (veth too), tc elsewhere */
	INGRESS_HOOK_TC,       /* tc everywhere */
};

struct named_set {
	char *name;
	enum set_kind kind;
	struct src_loc loc;
	int uses;
};

struct policy {
	struct table *tables;
	int ntables;
	int root; /* index of table "root" (always present) */
	struct rule *rules;
	int nrules;
	char **ifaces; /* the interface names and patterns the policy names (after aliases) */
	int nifaces;
	/* With patterns (`br-*`): literal names keep ids 1..iface_nlit (their
	 * order in ifaces), and a device that no literal names gets
	 * iface_nlit + S, S the bitmask of the patterns it matches (pattern j
	 * = bit j, in the order of iface_pats).  See policy_iface_id(). */
	int iface_nlit;
	char **iface_pats; /* points into ifaces */
	int iface_npats;
	char **apps; /* app id i+1 -> absolute path */
	int napps;
	struct named_cgroup *cgroups; /* sorted by pre; cgroups[i].pre == i+1 */
	int ncgroups;
	struct named_set *sets;
	int nsets;
	struct options opt;
	struct sources srcs; /* every file that was read (main + includes) */
	char *main_file;
	char **unresolved; /* host names that did not resolve (they match nothing) */
	int nunresolved;
};

struct load_opts {
	bool resolve_hosts; /* resolve host names with getaddrinfo (off in the fuzzer) */
	bool lookup_users;  /* resolve user names with getpwnam (off in the fuzzer) */
};

/* Parse, resolve and validate a policy file (with its includes).  Returns 0
 * when there were no errors; errors and warnings go to d.  The policy must
 * be freed with policy_free even on failure. */
int policy_load_file(struct policy *p, const char *path, const struct load_opts *o, struct diag *d);
/* The host names that did not resolve, separated by spaces, in buf (cut
 * at n - 1 bytes). */
void policy_unresolved_str(const struct policy *p, char *buf, size_t n);
int policy_load_string(struct policy *p, const char *name, const char *text, const struct load_opts *o, struct diag *d);
void policy_free(struct policy *p);

/* Lower-level steps (used by policy_load_*). */
int parse_source(struct ast_policy *ast, struct sources *srcs, const struct source *src, struct diag *d);
int resolve_policy(struct policy *p, const struct ast_policy *ast, const struct load_opts *o, struct diag *d);

#define POLICY_MAX_IFACE_PATTERNS 8 /* 2^8 interface ids for the devices they match */

/* ---------- events ---------- */

struct event {
	bool has[F_COUNT];
	u128 val[F_COUNT];
	/* What the user named, for display (the numeric ids above come from
	 * these through the policy's symbol tables). */
	char app[4096];
	char cgroup[4096];
	char iface[64];
};

/* Id lookups for event building: 0 when the policy does not name it. */
uint32_t policy_iface_id(const struct policy *p, const char *ifname);
/* The same from a policy's interface names alone (policy->ifaces, in their
 * order): what the loader pins so that a device appearing later gets the
 * id the loaded policy gives it. */
uint32_t iface_id_among(char *const *names, int n, const char *ifname);
uint32_t policy_app_id(const struct policy *p, const char *path);
uint32_t policy_cgroup_value(const struct policy *p, const char *path);
/* The normal forms names are compared in (malloc'd results).  Applications:
 * duplicate slashes collapsed, otherwise as written.  Cgroups: leading '/',
 * single slashes, no trailing '/', "/" for the root; NULL when the path has
 * a `.` or `..` component. */
char *app_path_normalise(const char *path);
char *cgroup_path_normalise(const char *path);

/* Parse an event written in rule-condition syntax, e.g.
 *   "in proto tcp remote 203.0.113.5 port 40000 local port 80 app /usr/sbin/nginx"
 * Missing event type and direction are inferred (documented in docs/policy.md).
 * Returns 0 on success; errors go to d with positions in `text`. */
int event_parse(struct event *ev, const struct policy *p, const char *text, struct diag *d);
/* One-line description of an event, in the same syntax. */
void event_format(const struct event *ev, char *buf, int len);

/* ---------- the reference interpreter ---------- */

enum step_kind {
	STEP_NOMATCH,  /* rule tried, did not match (field says the first failing field) */
	STEP_MATCH,    /* rule matched and decided */
	STEP_CONTINUE, /* continue rule matched: recorded, go on */
	STEP_JUMP,     /* jump rule matched: enter table */
	STEP_RETURN,   /* end of a table with default continue: back to the caller */
	STEP_DEFAULT,  /* table default decided */
};

struct step {
	enum step_kind kind;
	int table;
	int rule;	  /* -1 for RETURN/DEFAULT */
	enum field field; /* NOMATCH: first condition that failed */
	bool not_carried; /* NOMATCH: the event does not carry that field */
};

struct eval_result {
	enum verdict verdict; /* allow/deny/reject/ask */
	int table;	      /* table whose rule or default decided */
	int rule;	      /* deciding rule, -1 when a table default decided */
	bool log;	      /* the deciding rule has `log` */
	int *recorded;	      /* continue and jump rules that matched, in order */
	int nrecorded;
	struct step *steps; /* only when tracing */
	int nsteps;
};

/* Judge an event exactly as docs/policy.md says (tables, rules, events). */
void eval_event(const struct policy *p, const struct event *ev, struct eval_result *r, bool trace);
void eval_result_free(struct eval_result *r);
/* Does the rule's condition set match the event? (first failing field in *failed) */
bool rule_matches(const struct rule *r, const struct event *ev, enum field *failed, bool *not_carried);
bool cond_matches(const struct cond *c, const struct event *ev, enum field f);

/* ---------- the flattened intermediate form ---------- */

/* Jumps inlined (conditions conjoined), table defaults made explicit, so
 * judging is: walk entries in order; a RECORD entry that matches is
 * recorded (counters/log) and the walk goes on; the first TERMINAL entry
 * that matches decides.  The last entry is the root default, with no
 * conditions, so every event is decided. */
enum flat_kind { FLAT_TERMINAL, FLAT_RECORD };

struct flat_entry {
	enum flat_kind kind;
	enum verdict verdict; /* TERMINAL: allow/deny/reject/ask; RECORD: continue/jump */
	int rule;	      /* source rule id, -1 for a table default */
	int table;	      /* table of that rule/default */
	bool log;
	struct cond cond[F_COUNT];
};

struct flat_policy {
	struct flat_entry *e;
	int n;
};

#define FLAT_MAX_ENTRIES 4000000

/* Returns 0, or -1 with an error in d (e.g. more than FLAT_MAX_ENTRIES). */
int flatten_policy(const struct policy *p, struct flat_policy *fp, struct diag *d);
void flat_policy_free(struct flat_policy *fp);
/* Judge an event with the flat form (must equal eval_event; used in tests). */
void flat_eval(const struct flat_policy *fp, const struct event *ev, struct eval_result *r);

/* ---------- lint ---------- */

/* Warnings of `rampart check`: shadowed rules (naming the covering rules),
 * unused sets, tables never jumped to, root without explicit default, ... */
void lint_policy(const struct policy *p, struct diag *d);

#endif
