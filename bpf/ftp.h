/* The FTP helper: active and passive FTP without holes in the policy
 * (docs/datapath.md, "Protocol helpers").
 *
 * An FTP session is a control connection (to a port of option ftp-ports,
 * default 21) that announces each data connection before it is opened:
 *   client -> server  PORT h1,h2,h3,h4,p1,p2       active: the server connects
 *                     EPRT |1|a.b.c.d|port|         to the client's port
 *                     EPRT |2|ipv6|port|
 *   server -> client  227 ... (h1,h2,h3,h4,p1,p2)   passive: the client connects
 *                     229 ... (|||port|)            to the server's port
 * The helper reads the payload of the control connection's segments (both
 * directions, at whichever hook sees them) and turns each announcement into
 * an *expectation* (map rp_ftp_expect): exactly one new TCP connection from
 * the other end of the control connection (any source port) to the
 * announced address and port, within ftp-timeout (default 30 s).  The
 * first SYN that matches takes the expectation away and its flow is
 * admitted by the helper - not by a rule - tracked as its own flow and
 * remembered as RELATED to the control flow (rp_ftp_related).
 *
 * What is never opened (netfilter learned these the hard way):
 *   - an address other than the announcing side's own (the control packet's
 *     source): no FTP bounce, no pinholes to third parties;
 *   - ports below 1024;
 *   - anything announced other than at the start of a line, or in the wrong
 *     direction (a reply that quotes "PORT ..." announces nothing);
 *   - more than RP_FTP_MAX_EXPECT open expectations per control flow (a
 *     newer announcement replaces the oldest, counted).
 * Lines are tracked across segments by sequence number, one parser state
 * per direction of the control flow (rp_ftp_ctl), so a command split over
 * two segments is read whole.  A segment that does not follow the last
 * one read (a gap: lost or reordered before this hook) puts the parser in
 * "middle of a line" until the next line feed: what was announced there is
 * not seen, and the data connection is judged by the policy.
 */
#ifndef RP_FTP_H
#define RP_FTP_H

#include "rampart_maps.h"
#include "parse.h"
#include "conntrack.h"
#include "log.h"
#include "ftp_expect.h"

#define RP_FTP_SCAN	  512 /* payload bytes read per segment (a power of two) */
#define RP_FTP_LINE_MAX	  256 /* a longer line announces nothing */
#define RP_FTP_MAX_EXPECT 4   /* open expectations per control flow */
#define RP_FTP_FOUND_MAX  4   /* announcements taken from one segment */

/* Parser states, one machine per direction; fed one byte at a time. */
enum rp_ftp_st {
	RP_FTP_ST_MID = 0,  /* in a line that announces nothing: wait for its end */
	RP_FTP_ST_BOL,	    /* at the start of a line */
	RP_FTP_ST_KW,	    /* the command (client) or reply code (server) */
	RP_FTP_ST_SP,	    /* PORT/EPRT: the space after the command */
	RP_FTP_ST_TO_DIGIT, /* 227: text up to the first digit */
	RP_FTP_ST_TO_PAREN, /* 229: text up to '(' */
	RP_FTP_ST_NUMS,	    /* PORT/227: h1,h2,h3,h4,p1,p2 */
	RP_FTP_ST_DELIM,    /* EPRT/229: the first delimiter */
	RP_FTP_ST_AF,	    /* EPRT: 1 or 2 */
	RP_FTP_ST_DELIM2,   /* EPRT: the delimiter after it; 229: the 2nd and 3rd */
	RP_FTP_ST_ADDR4,    /* EPRT |1|: a.b.c.d */
	RP_FTP_ST_ADDR6,    /* EPRT |2|: hex groups, one "::" at most */
	RP_FTP_ST_PORT,	    /* EPRT/229: the port, up to the delimiter */
	RP_FTP_ST_EOL,	    /* EPRT: the end of the line */
};

/* One direction of a control connection. */
struct rp_ftp_dir {
	__u32 next_seq; /* host order: sequence number of the next byte */
	__u8 synced;	/* next_seq is known */
	__u8 st;	/* enum rp_ftp_st */
	__u8 cmd;	/* enum rp_ftp_cmd being read */
	__u8 n;		/* numbers, groups or delimiters done */
	__u8 delim;	/* EPRT/229 */
	__u8 af;	/* EPRT: 1 or 2 */
	__u8 digits;	/* of the current number */
	__u8 dc;	/* IPv6: groups before "::" (0xff: none) */
	__u8 colon;	/* IPv6: 1 after ':', 2 after "::" */
	__u8 pad;
	__u16 len;    /* bytes of the current line */
	__u32 cur;    /* the current number; the keyword while reading it */
	__u16 num[8]; /* PORT/227 numbers, IPv4 octets or IPv6 groups */
	__u16 port;   /* EPRT/229 */
	__u16 pad2;
};

/* Map rp_ftp_ctl: a control flow's parser state and its expectations. */
struct rp_ftp_ctl {
	struct rp_ftp_dir dir[2]; /* [0] client -> server (commands), [1] server -> client (replies) */
	struct rp_ftp_expect_key exp[RP_FTP_MAX_EXPECT];
	__u64 exp_until[RP_FTP_MAX_EXPECT];
};

/* An announcement read from a segment. */
struct rp_ftp_found {
	__u32 addr[4]; /* network order, IPv4 as ::ffff:a.b.c.d */
	__u16 port;    /* host order */
	__u8 cmd;      /* enum rp_ftp_cmd */
	__u8 has_addr; /* 229 names no address: the server's own */
};

struct rp_ftp_scratch {
	__u8 buf[RP_FTP_SCAN];
	struct rp_ftp_dir d;
	struct rp_ftp_found found[RP_FTP_FOUND_MAX];
	__u32 nfound;
	__u32 nbad;
	struct rp_ftp_ctl ctl0; /* a zeroed entry to insert */
	struct rp_ftp_expect_key ek;
	struct rp_ftp_expect ev;
	struct rp_ftp_related rel;
	__u8 rel_cmd; /* what announced the data flow just taken */
	__u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct ct_key);
	__type(value, struct rp_ftp_ctl);
} RP_MAP_FTP_CTL SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* losing an entry loses only the mark in `rampart flows` */
	__uint(max_entries, 4096);
	__type(key, struct ct_key);
	__type(value, struct rp_ftp_related);
} RP_MAP_FTP_RELATED SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_ftp_scratch);
} RP_MAP_FTP_SCRATCH SEC(".maps");

/* Map rp_ftp_live: how many entries rp_ftp_expect holds (every insert and
 * every successful delete adjusts it, so a new TCP flow looks for an
 * expectation - a hash lookup - only while there is one), and when the
 * helper's tables are swept next. */
struct rp_ftp_state {
	__s64 live;
	__u64 next_sweep_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_ftp_state);
} RP_MAP_FTP_LIVE SEC(".maps");

#define RP_FTP_SWEEP_NS (1000 * 1000000ull) /* expired expectations, ended control flows */

static __always_inline struct rp_ftp_state *rp_ftp_state(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&rp_ftp_live, &zero);
}

static __always_inline void rp_ftp_live_add(__s64 n)
{
	struct rp_ftp_state *st = rp_ftp_state();
	if (st)
		__sync_fetch_and_add(&st->live, n);
}

/* May any expectation exist?  (Negative after a mismatch: look.) */
static __always_inline int rp_ftp_any_expected(void)
{
	struct rp_ftp_state *st = rp_ftp_state();
	return !st || st->live != 0;
}

/* Delete an expectation; 0 when this call deleted it. */
static __always_inline int rp_ftp_expect_delete(const struct rp_ftp_expect_key *k)
{
	if (bpf_map_delete_elem(&rp_ftp_expect, k))
		return -1;
	rp_ftp_live_add(-1);
	return 0;
}

static __always_inline struct rp_ftp_scratch *rp_ftp_scratch_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&rp_ftp_scratch, &zero);
}

/* Is port (host order) one of option ftp-ports?  (With the helper off there
 * are no ranges.) */
static __always_inline int rp_ftp_port(const struct rp_config *cfg, __u16 port)
{
	if (port < cfg->ftp_port_min || port > cfg->ftp_port_max)
		return 0;
	for (int i = 0; i < RP_FTP_PORT_RANGES; i++) {
		if (i >= cfg->ftp_nranges)
			break;
		if (port >= cfg->ftp_port_lo[i] && port <= cfg->ftp_port_hi[i])
			return 1;
	}
	return 0;
}

/* Could this packet of a tracked flow be a control connection's data?
 * The fast path's only cost: for most packets two compares (neither port
 * within the FTP ports' bounds; with the helper off the bounds are 0-0). */
static __always_inline int rp_ftp_candidate(const struct rp_config *cfg, const struct rp_pkt *p)
{
	__u16 min = cfg->ftp_port_min, span = cfg->ftp_port_max - min;
	if ((__u16)(bpf_ntohs(p->dport) - min) > span && (__u16)(bpf_ntohs(p->sport) - min) > span)
		return 0;
	if (p->proto != RP_IPPROTO_TCP || !(cfg->flags & RP_CFG_F_FTP) || p->frag != RP_FRAG_NONE)
		return 0;
	if (p->l3end <= p->l4off + p->l4hlen)
		return 0; /* no payload */
	return rp_ftp_port(cfg, bpf_ntohs(p->dport)) || rp_ftp_port(cfg, bpf_ntohs(p->sport));
}

static __always_inline int rp_addr_eq(const __u32 *a, const __u32 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

/* ---------- the parser: one byte at a time ---------- */

#define RP_FTP_KW(a, b, c, d) ((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (__u32)(d))

static __always_inline int rp_ftp_hex(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The line announces nothing (more): wait for the next one.  -1 when it
 * had started like an announcement (counted as a bad command). */
static __always_inline int rp_ftp_fail(struct rp_ftp_dir *d, __u8 ch)
{
	int bad = d->cmd != RP_FTP_CMD_NONE;
	d->st = ch == '\n' ? RP_FTP_ST_BOL : RP_FTP_ST_MID;
	d->cmd = RP_FTP_CMD_NONE;
	return bad ? -1 : 0;
}

/* An announcement is complete (d->cmd, num, af, port say what). */
static __always_inline int rp_ftp_done(struct rp_ftp_dir *d, __u8 ch)
{
	d->st = ch == '\n' ? RP_FTP_ST_BOL : RP_FTP_ST_MID;
	return 1;
}

/* A decimal digit of a number of at most max_digits digits and value max. */
static __always_inline int rp_ftp_digit(struct rp_ftp_dir *d, __u8 ch, __u8 max_digits, __u32 max)
{
	if (d->digits >= max_digits)
		return 0;
	d->cur = d->cur * 10 + (ch - '0');
	d->digits++;
	return d->cur <= max;
}

static __always_inline void rp_ftp_number_start(struct rp_ftp_dir *d)
{
	d->n = 0;
	d->cur = 0;
	d->digits = 0;
}

/* Feed one byte.  replies: the server's direction (227/229), else the
 * client's (PORT/EPRT).  Returns 1 when an announcement is complete, -1
 * when a line that began like one went wrong, 0 otherwise. */
static __always_inline int rp_ftp_feed(struct rp_ftp_dir *d, __u8 ch, int replies)
{
	int isdigit = ch >= '0' && ch <= '9';
	if (d->st == RP_FTP_ST_MID) {
		if (ch == '\n')
			d->st = RP_FTP_ST_BOL;
		return 0;
	}
	if (d->st == RP_FTP_ST_BOL) {
		d->len = 0;
		d->cmd = RP_FTP_CMD_NONE;
		rp_ftp_number_start(d);
		d->st = RP_FTP_ST_KW;
	}
	if (++d->len > RP_FTP_LINE_MAX)
		return rp_ftp_fail(d, ch);
	switch (d->st) {
	case RP_FTP_ST_KW: {
		if (ch == '\n' || ch == '\r')
			return rp_ftp_fail(d, ch);
		__u8 up = ch >= 'a' && ch <= 'z' ? ch - 32 : ch;
		d->cur = d->cur << 8 | up;
		if (++d->n < 4)
			return 0;
		if (replies && d->cur == RP_FTP_KW('2', '2', '7', ' ')) {
			d->cmd = RP_FTP_CMD_PASV;
			d->st = RP_FTP_ST_TO_DIGIT;
		} else if (replies && d->cur == RP_FTP_KW('2', '2', '9', ' ')) {
			d->cmd = RP_FTP_CMD_EPSV;
			d->st = RP_FTP_ST_TO_PAREN;
		} else if (!replies && d->cur == RP_FTP_KW('P', 'O', 'R', 'T')) {
			d->cmd = RP_FTP_CMD_PORT;
			d->st = RP_FTP_ST_SP;
		} else if (!replies && d->cur == RP_FTP_KW('E', 'P', 'R', 'T')) {
			d->cmd = RP_FTP_CMD_EPRT;
			d->st = RP_FTP_ST_SP;
		} else {
			d->st = RP_FTP_ST_MID;
		}
		return 0;
	}
	case RP_FTP_ST_SP:
		if (ch != ' ')
			return rp_ftp_fail(d, ch);
		rp_ftp_number_start(d);
		d->st = d->cmd == RP_FTP_CMD_PORT ? RP_FTP_ST_NUMS : RP_FTP_ST_DELIM;
		return 0;
	case RP_FTP_ST_TO_DIGIT:
		if (ch == '\n')
			return rp_ftp_fail(d, ch);
		if (isdigit) {
			rp_ftp_number_start(d);
			d->st = RP_FTP_ST_NUMS;
			return rp_ftp_digit(d, ch, 3, 255) ? 0 : rp_ftp_fail(d, ch);
		}
		return 0;
	case RP_FTP_ST_TO_PAREN:
		if (ch == '\n')
			return rp_ftp_fail(d, ch);
		if (ch == '(')
			d->st = RP_FTP_ST_DELIM;
		return 0;
	case RP_FTP_ST_NUMS:
		if (isdigit)
			return rp_ftp_digit(d, ch, 3, 255) ? 0 : rp_ftp_fail(d, ch);
		if (ch == ',') {
			if (!d->digits || d->n >= 5)
				return rp_ftp_fail(d, ch);
			d->num[d->n & 7] = d->cur;
			d->n++;
			d->cur = 0;
			d->digits = 0;
			return 0;
		}
		/* anything else ends the sixth number; a command ends its line there */
		if (!d->digits || d->n != 5)
			return rp_ftp_fail(d, ch);
		if (d->cmd == RP_FTP_CMD_PORT && ch != '\r' && ch != '\n')
			return rp_ftp_fail(d, ch);
		d->num[5] = d->cur;
		return rp_ftp_done(d, ch);
	case RP_FTP_ST_DELIM:
		if (ch < 33 || ch > 126)
			return rp_ftp_fail(d, ch);
		d->delim = ch;
		d->n = 1;
		d->st = d->cmd == RP_FTP_CMD_EPRT ? RP_FTP_ST_AF : RP_FTP_ST_DELIM2;
		return 0;
	case RP_FTP_ST_AF:
		if (ch != '1' && ch != '2')
			return rp_ftp_fail(d, ch);
		d->af = ch - '0';
		d->st = RP_FTP_ST_DELIM2;
		return 0;
	case RP_FTP_ST_DELIM2:
		if (ch != d->delim)
			return rp_ftp_fail(d, ch);
		if (d->cmd == RP_FTP_CMD_EPRT) {
			rp_ftp_number_start(d);
			d->dc = 0xff;
			d->colon = 0;
			d->st = d->af == 1 ? RP_FTP_ST_ADDR4 : RP_FTP_ST_ADDR6;
		} else if (++d->n == 3) {
			rp_ftp_number_start(d);
			d->st = RP_FTP_ST_PORT;
		}
		return 0;
	case RP_FTP_ST_ADDR4:
		if (isdigit)
			return rp_ftp_digit(d, ch, 3, 255) ? 0 : rp_ftp_fail(d, ch);
		if (ch == '.' && d->digits && d->n < 3) {
			d->num[d->n & 7] = d->cur;
			d->n++;
			d->cur = 0;
			d->digits = 0;
			return 0;
		}
		if (ch == d->delim && d->digits && d->n == 3) {
			d->num[3] = d->cur;
			rp_ftp_number_start(d);
			d->st = RP_FTP_ST_PORT;
			return 0;
		}
		return rp_ftp_fail(d, ch);
	case RP_FTP_ST_ADDR6: {
		int h = rp_ftp_hex(ch);
		if (h >= 0) {
			/* ":1" (one leading colon) is not an address */
			if (d->digits >= 4 || (d->colon == 1 && d->n == 0 && d->dc == 0xff))
				return rp_ftp_fail(d, ch);
			d->cur = d->cur << 4 | h;
			d->digits++;
			d->colon = 0;
			return 0;
		}
		if (ch == ':') {
			if (d->digits) {
				if (d->n >= 8)
					return rp_ftp_fail(d, ch);
				d->num[d->n & 7] = d->cur;
				d->n++;
				d->cur = 0;
				d->digits = 0;
				d->colon = 1;
				return 0;
			}
			if (d->colon == 2 || (d->colon == 1 && d->dc != 0xff))
				return rp_ftp_fail(d, ch); /* ":::" or a second "::" */
			if (d->colon == 1) {
				d->dc = d->n;
				d->colon = 2;
			} else {
				d->colon = 1; /* the first colon of a leading "::" */
			}
			return 0;
		}
		if (ch != d->delim)
			return rp_ftp_fail(d, ch);
		if (d->digits) {
			if (d->n >= 8)
				return rp_ftp_fail(d, ch);
			d->num[d->n & 7] = d->cur;
			d->n++;
		} else if (d->colon != 2) {
			return rp_ftp_fail(d, ch); /* empty, or ends in a single ':' */
		}
		if (d->dc == 0xff ? d->n != 8 : d->n > 7)
			return rp_ftp_fail(d, ch);
		d->cur = 0;
		d->digits = 0;
		d->st = RP_FTP_ST_PORT;
		return 0;
	}
	case RP_FTP_ST_PORT:
		if (isdigit)
			return rp_ftp_digit(d, ch, 5, 65535) ? 0 : rp_ftp_fail(d, ch);
		if (ch != d->delim || !d->digits)
			return rp_ftp_fail(d, ch);
		d->port = d->cur;
		if (d->cmd == RP_FTP_CMD_EPRT) {
			d->st = RP_FTP_ST_EOL;
			return 0;
		}
		return rp_ftp_done(d, ch);
	case RP_FTP_ST_EOL:
		if (ch != '\r' && ch != '\n')
			return rp_ftp_fail(d, ch);
		return rp_ftp_done(d, ch);
	}
	return rp_ftp_fail(d, ch);
}

/* What the completed announcement in d says. */
static __always_inline void rp_ftp_result(const struct rp_ftp_dir *d, struct rp_ftp_found *f)
{
	f->cmd = d->cmd;
	f->has_addr = d->cmd != RP_FTP_CMD_EPSV;
	if (d->cmd == RP_FTP_CMD_PORT || d->cmd == RP_FTP_CMD_PASV)
		f->port = (__u16)(d->num[4] << 8 | d->num[5]);
	else
		f->port = d->port;
	if (d->cmd == RP_FTP_CMD_EPRT && d->af == 2) {
		/* groups before "::" first, the rest at the end, zeros between */
		__u16 g[8] = {};
		__u8 n = d->n, dc = d->dc == 0xff ? n : d->dc;
		for (int i = 0; i < 8; i++) {
			if (i < dc)
				g[i] = d->num[i];
			else if (i >= 8 - (n - dc))
				g[i] = d->num[((i - (8 - (n - dc))) + dc) & 7];
		}
		for (int i = 0; i < 4; i++)
			f->addr[i] = bpf_htonl((__u32)g[2 * i] << 16 | g[2 * i + 1]);
	} else if (f->has_addr) {
		rp_addr4(f->addr, bpf_htonl((__u32)d->num[0] << 24 | (__u32)d->num[1] << 16 | (__u32)d->num[2] << 8 |
					    d->num[3]));
	}
}

struct rp_ftp_loop {
	__u32 start;   /* first byte of the buffer to read */
	__u32 replies; /* the server's direction */
};

/* bpf_loop callback: one byte of the segment (rp_ftp_scratch.buf). */
static long rp_ftp_step(__u32 i, void *ctx)
{
	struct rp_ftp_loop *l = ctx;
	struct rp_ftp_scratch *s = rp_ftp_scratch_get();
	if (!s)
		return 1;
	__u8 ch = s->buf[(l->start + i) & (RP_FTP_SCAN - 1)];
	int r = rp_ftp_feed(&s->d, ch, l->replies);
	if (r < 0) {
		s->nbad++;
	} else if (r > 0) {
		__u32 n = s->nfound;
		if (n < RP_FTP_FOUND_MAX) {
			rp_ftp_result(&s->d, &s->found[n & (RP_FTP_FOUND_MAX - 1)]);
			s->nfound = n + 1;
		}
	}
	return 0;
}

/* ---------- expectations ---------- */

/* A helper decision in the log (rate-limited in the helper's slot).  The
 * expected data connection: p's destination (any port) -> p's source:port. */
static __always_inline void rp_ftp_log(const struct rp_config *cfg, __u8 what, __u8 cmd, const struct rp_pkt *p,
				       __u16 port, int egress, __u32 ifindex, __u64 now)
{
	struct rp_log_event *e = rp_log_begin(cfg, cfg->helper_slot);
	if (!e)
		return;
	e->kind = RP_LOG_HELPER;
	e->helper = what;
	e->helper_cmd = cmd;
	e->verdict = what == RP_HELPER_FTP_EXPECT ? VERDICT_ALLOW : VERDICT_DENY;
	e->event = EVENT_PACKET;
	e->family = p->family;
	e->proto = RP_IPPROTO_TCP;
	e->ifindex = ifindex;
	e->flags = egress ? RP_LOGF_EGRESS : 0;
	/* seen leaving: the data connection will come in, and the other way round */
	e->dir = egress ? DIR_IN : DIR_OUT;
	if (egress) {
		rp_copy_addr(e->laddr, p->saddr);
		rp_copy_addr(e->raddr, p->daddr);
		e->lport = port;
	} else {
		rp_copy_addr(e->laddr, p->daddr);
		rp_copy_addr(e->raddr, p->saddr);
		e->rport = port;
	}
	rp_log_send(e, cfg->helper_slot);
}

/* Does the expectation at key ek (a slot of control flow k) still wait? */
static __always_inline int rp_ftp_waiting(const struct rp_ftp_expect_key *ek, const struct ct_key *k, __u64 now)
{
	struct rp_ftp_expect *e = bpf_map_lookup_elem(&rp_ftp_expect, ek);
	return e && e->expires_ns > now && rp_fc_key_eq(&e->ctl, k);
}

/* Which of the control flow's slots the new expectation s->ek takes: its
 * own (renewed), a free one, or the oldest (that expectation is dropped). */
static __always_inline __u32 rp_ftp_slot(struct rp_ftp_ctl *ctl, const struct ct_key *k,
					 const struct rp_ftp_expect_key *ek, __u64 now)
{
	__u32 oldest = 0;
	for (__u32 i = 0; i < RP_FTP_MAX_EXPECT; i++)
		if (rp_addr_eq(ctl->exp[i].daddr, ek->daddr) && ctl->exp[i].dport == ek->dport)
			return i;
	for (__u32 i = 0; i < RP_FTP_MAX_EXPECT; i++)
		if (!ctl->exp_until[i] || !rp_ftp_waiting(&ctl->exp[i], k, now))
			return i;
	for (__u32 i = 1; i < RP_FTP_MAX_EXPECT; i++)
		if (ctl->exp_until[i] < ctl->exp_until[oldest])
			oldest = i;
	if (rp_ftp_expect_delete(&ctl->exp[oldest]) == 0)
		rp_count(RPC_FTP_REPLACED);
	return oldest;
}

/* An announcement f read from packet p of control flow k: check it, and
 * expect the data connection. */
static __always_inline void rp_ftp_announce(const struct rp_config *cfg, const struct rp_pkt *p, const struct ct_key *k,
					    struct rp_ftp_ctl *ctl, const struct rp_ftp_found *f,
					    struct rp_ftp_scratch *s, int egress, __u32 ifindex, __u64 now)
{
	/* only to the announcing side itself (229 names no address: it is) */
	if (f->has_addr && !rp_addr_eq(f->addr, p->saddr)) {
		rp_count(RPC_FTP_REFUSED_ADDR);
		rp_ftp_log(cfg, RP_HELPER_FTP_REFUSED_ADDR, f->cmd, p, f->port, egress, ifindex, now);
		return;
	}
	if (f->port < 1024) {
		rp_count(RPC_FTP_REFUSED_PORT);
		rp_ftp_log(cfg, RP_HELPER_FTP_REFUSED_PORT, f->cmd, p, f->port, egress, ifindex, now);
		return;
	}
	struct rp_ftp_expect_key *ek = &s->ek;
	struct rp_ftp_expect *ev = &s->ev;
	rp_copy_addr(ek->daddr, p->saddr);
	ek->dport = bpf_htons(f->port);
	ek->proto = RP_IPPROTO_TCP;
	ek->pad = 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	rp_copy_addr(ev->saddr, p->daddr);
	__builtin_memcpy(&ev->ctl, k, sizeof(*k));
	ev->created_ns = now;
	ev->expires_ns = now + cfg->ftp_timeout_ns;
	ev->cmd = f->cmd;
	__u32 i = rp_ftp_slot(ctl, k, ek, now) & (RP_FTP_MAX_EXPECT - 1);
	/* a new entry is counted in rp_ftp_live, a renewed one is not */
	long err = bpf_map_update_elem(&rp_ftp_expect, ek, ev, BPF_NOEXIST);
	if (err == -17 /* EEXIST */)
		err = bpf_map_update_elem(&rp_ftp_expect, ek, ev, BPF_EXIST);
	else if (!err)
		rp_ftp_live_add(1);
	if (err) {
		rp_count(RPC_FTP_TABLE_FULL);
		return;
	}
	__builtin_memcpy(&ctl->exp[i], ek, sizeof(*ek));
	ctl->exp_until[i] = ev->expires_ns;
	rp_count(RPC_FTP_EXPECT);
	rp_ftp_log(cfg, RP_HELPER_FTP_EXPECT, f->cmd, p, f->port, egress, ifindex, now);
}

/* rp_ftp_announce() for s->found[i], verified on its own (bpf/rampart.bpf.c).
 * where: the device's ifindex << 1 | seen at egress. */
__noinline int rp_ftp_announce_g(const struct rp_pkt *p, const struct ct_key *k, struct rp_ftp_ctl *ctl, __u32 i,
				 __u64 where);

/* The control flow's state, created on its first segment with payload. */
static __always_inline struct rp_ftp_ctl *rp_ftp_ctl_get(const struct ct_key *k, struct rp_ftp_scratch *s)
{
	struct rp_ftp_ctl *ctl = bpf_map_lookup_elem(&rp_ftp_ctl, k);
	if (ctl)
		return ctl;
	__builtin_memset(&s->ctl0, 0, sizeof(s->ctl0));
	bpf_map_update_elem(&rp_ftp_ctl, k, &s->ctl0, BPF_NOEXIST);
	ctl = bpf_map_lookup_elem(&rp_ftp_ctl, k);
	if (!ctl)
		rp_count(RPC_FTP_TABLE_FULL);
	return ctl;
}

/* One segment of a tracked TCP flow that may be a control connection.
 * The caller copied the first min(len, RP_FTP_SCAN) payload bytes into
 * s->buf; last is the payload's last byte.  k: the flow's key. */
static __always_inline void rp_ftp_segment(const struct rp_config *cfg, const struct rp_pkt *p, const struct ct_key *k,
					   __u32 len, __u8 last, struct rp_ftp_scratch *s, int egress, __u32 ifindex)
{
	struct ct_value *v = bpf_map_lookup_elem(&rp_conntrack, k);
	if (!v)
		return;
	int src_is_a = rp_ep_le(p->saddr, p->sport, p->daddr, p->dport); /* as rp_ct_key() */
	/* the server is the responder, and it is its port that must be an FTP port */
	int from_client = !!(v->flags & CT_F_ORIG_IS_A) == !!src_is_a;
	if (!rp_ftp_port(cfg, bpf_ntohs(from_client ? p->dport : p->sport)))
		return;
	struct rp_ftp_ctl *ctl = rp_ftp_ctl_get(k, s);
	if (!ctl)
		return;
	struct rp_ftp_dir *d = &ctl->dir[from_client ? 0 : 1];
	__u32 seq = bpf_ntohl(p->seq), n = len < RP_FTP_SCAN ? len : RP_FTP_SCAN, start = 0;
	if (!d->synced) {
		/* first payload seen this way (the banner, USER): not at a known line start */
		d->synced = 1;
		d->st = RP_FTP_ST_MID;
	} else if (seq != d->next_seq) {
		__s32 behind = (__s32)(d->next_seq - seq);
		if (behind > 0 && (__u32)behind >= len)
			return; /* a retransmission of what was read */
		if (behind > 0) {
			start = behind; /* partly new: go on with the new bytes */
		} else {
			d->st = RP_FTP_ST_MID; /* a gap: bytes this hook never saw */
			d->cmd = RP_FTP_CMD_NONE;
			rp_count(RPC_FTP_RESYNC);
		}
	}
	s->nfound = 0;
	s->nbad = 0;
	if (start < n) {
		struct rp_ftp_loop l = { .start = start, .replies = !from_client };
		__builtin_memcpy(&s->d, d, sizeof(s->d));
		bpf_loop(n - start, rp_ftp_step, &l, 0);
		__builtin_memcpy(d, &s->d, sizeof(*d));
	}
	if (len > n) {
		/* bytes beyond what is read: only whether they end a line is known */
		d->st = last == '\n' ? RP_FTP_ST_BOL : RP_FTP_ST_MID;
		d->cmd = RP_FTP_CMD_NONE;
	}
	d->next_seq = seq + len;
	if (s->nbad)
		rp_count(RPC_FTP_BAD_COMMAND);
	for (__u32 i = 0; i < RP_FTP_FOUND_MAX; i++) {
		if (i >= s->nfound)
			break;
		rp_ftp_announce_g(p, k, ctl, i, (__u64)ifindex << 1 | !!egress);
	}
}

/* A new TCP flow (its SYN, p): is it a data connection the helper expects?
 * Then the expectation is used up (exactly one flow per announcement) and
 * s->rel.ctl names the control flow.  Returns 1 when admitted. */
static __always_inline int rp_ftp_take(const struct rp_config *cfg, const struct rp_pkt *p, struct rp_ftp_scratch *s,
				       __u64 now)
{
	struct rp_ftp_expect_key *ek = &s->ek;
	rp_copy_addr(ek->daddr, p->daddr);
	ek->dport = p->dport;
	ek->proto = RP_IPPROTO_TCP;
	ek->pad = 0;
	struct rp_ftp_expect *e = bpf_map_lookup_elem(&rp_ftp_expect, ek);
	if (!e)
		return 0;
	if (e->expires_ns <= now) {
		if (rp_ftp_expect_delete(ek) == 0)
			rp_count(RPC_FTP_EXPIRED);
		return 0;
	}
	if (!rp_addr_eq(e->saddr, p->saddr)) {
		/* someone else (a hijack attempt): the policy judges it, the
		 * expectation stays for the host it names */
		rp_count(RPC_FTP_WRONG_SOURCE);
		return 0;
	}
	__builtin_memcpy(&s->rel.ctl, &e->ctl, sizeof(e->ctl));
	s->rel_cmd = e->cmd;
	/* the control connection must still be there */
	struct ct_value *cv = bpf_map_lookup_elem(&rp_conntrack, &s->rel.ctl);
	if (!cv || rp_ct_expired(cfg, cv, now)) {
		rp_ftp_expect_delete(ek);
		return 0;
	}
	/* whoever deletes it first has it */
	return rp_ftp_expect_delete(ek) == 0;
}

/* After rp_ftp_take: the data flow k was created (its created_ns);
 * remember its control flow for `rampart flows`. */
static __always_inline void rp_ftp_relate(const struct ct_key *k, struct rp_ftp_scratch *s, __u64 created)
{
	s->rel.data_created_ns = created;
	bpf_map_update_elem(&rp_ftp_related, k, &s->rel, BPF_ANY);
}

/* ---------- the sweeper's share ---------- */

struct rp_ftp_sweep_ctx {
	const struct rp_config *cfg;
	__u64 now;
	__u64 expired;
};

static long rp_ftp_sweep_expect(struct bpf_map *map, struct rp_ftp_expect_key *k, struct rp_ftp_expect *e,
				struct rp_ftp_sweep_ctx *c)
{
	if (e->expires_ns <= c->now && bpf_map_delete_elem(map, k) == 0)
		c->expired++;
	return 0;
}

/* A control flow's state goes with the control flow. */
static long rp_ftp_sweep_ctl(struct bpf_map *map, struct ct_key *k, struct rp_ftp_ctl *ctl, struct rp_ftp_sweep_ctx *c)
{
	struct ct_value *v = bpf_map_lookup_elem(&rp_conntrack, k);
	if (!v || rp_ct_expired(c->cfg, v, c->now))
		bpf_map_delete_elem(map, k);
	return 0;
}

/* Called on every tick of the conntrack sweeper's timer; sweeps once per
 * RP_FTP_SWEEP_NS: an expired expectation is gone within a second. */
static __always_inline void rp_ftp_sweep(const struct rp_config *cfg, __u64 now)
{
	struct rp_ftp_state *st = rp_ftp_state();
	if (!st || now < st->next_sweep_ns)
		return;
	st->next_sweep_ns = now + RP_FTP_SWEEP_NS;
	struct rp_ftp_sweep_ctx c = { .cfg = cfg, .now = now };
	bpf_for_each_map_elem(&rp_ftp_expect, rp_ftp_sweep_expect, &c, 0);
	bpf_for_each_map_elem(&rp_ftp_ctl, rp_ftp_sweep_ctl, &c, 0);
	/* no test of c.expired here: a branch on it would make the verifier
	 * track its exact value through every iteration of the callback */
	__u32 key = RPC_FTP_EXPIRED;
	__u64 *cnt = bpf_map_lookup_elem(&rp_counters, &key);
	if (cnt)
		*cnt += c.expired;
	rp_ftp_live_add(-(__s64)c.expired);
}

#endif
