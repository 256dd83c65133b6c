/* Names users write for verdicts, events, fields, protocols and ICMP types.
 * One table per kind so parsing and printing cannot disagree. */
#include "fields.h"

#include <stddef.h>
#include <string.h>

#define ARRAY_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const verdict_names[VERDICT_COUNT] = {
	[VERDICT_ALLOW] = "allow", [VERDICT_DENY] = "deny",	    [VERDICT_REJECT] = "reject",
	[VERDICT_ASK] = "ask",	   [VERDICT_CONTINUE] = "continue", [VERDICT_JUMP] = "jump",
};

static const char *const event_names[EVENT_COUNT] = {
	[EVENT_NETWORK] = "network", [EVENT_CONNECT] = "connect", [EVENT_LISTEN] = "listen", [EVENT_ACCEPT] = "accept",
	[EVENT_SEND] = "send",	     [EVENT_RECEIVE] = "receive", [EVENT_PACKET] = "packet",
};

static const char *const direction_names[DIR_COUNT] = {
	[DIR_IN] = "in",
	[DIR_OUT] = "out",
};

static const char *const field_names[F_COUNT] = {
	[F_DIR] = "direction",	   [F_EVENT] = "event",	       [F_FAMILY] = "family",	 [F_PROTO] = "proto",
	[F_IFACE] = "on",	   [F_LADDR] = "local",	       [F_LPORT] = "local port", [F_RADDR] = "remote",
	[F_RPORT] = "remote port", [F_ICMPTYPE] = "icmp-type", [F_APP] = "app",		 [F_CGROUP] = "cgroup",
	[F_USER] = "user",
};

const char *verdict_name(enum verdict v)
{
	return (unsigned)v < VERDICT_COUNT ? verdict_names[v] : "?";
}

bool verdict_from_name(const char *s, enum verdict *out)
{
	for (int i = 0; i < VERDICT_COUNT; i++)
		if (strcmp(s, verdict_names[i]) == 0) {
			*out = (enum verdict)i;
			return true;
		}
	return false;
}

const char *event_name(enum event_type e)
{
	return (unsigned)e < EVENT_COUNT ? event_names[e] : "?";
}

bool event_from_name(const char *s, enum event_type *out)
{
	for (int i = 0; i < EVENT_COUNT; i++)
		if (strcmp(s, event_names[i]) == 0) {
			*out = (enum event_type)i;
			return true;
		}
	return false;
}

const char *direction_name(enum direction d)
{
	return (unsigned)d < DIR_COUNT ? direction_names[d] : "?";
}

const char *field_name(enum field f)
{
	return (unsigned)f < F_COUNT ? field_names[f] : "?";
}

/* The first name of a number is the one printed. */
static const struct {
	const char *name;
	int num;
} protos[] = {
	{ "icmp", 1 },	{ "igmp", 2 },	 { "ipip", 4 },	   { "ipencap", 4 },	{ "tcp", 6 },
	{ "egp", 8 },	{ "udp", 17 },	 { "ipv6", 41 },   { "rsvp", 46 },	{ "gre", 47 },
	{ "esp", 50 },	{ "ah", 51 },	 { "icmpv6", 58 }, { "ipv6-icmp", 58 }, { "ospf", 89 },
	{ "pim", 103 }, { "vrrp", 112 }, { "l2tp", 115 },  { "sctp", 132 },	{ "udplite", 136 },
};

/* Strict decimal in [0, max]: no sign, no spaces, no hex, no overflow. */
static bool parse_small_uint(const char *s, int max, int *out)
{
	if (!*s)
		return false;
	long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
		if (v > max)
			return false;
	}
	*out = (int)v;
	return true;
}

bool proto_from_name(const char *s, int *out)
{
	for (int i = 0; i < ARRAY_LEN(protos); i++)
		if (strcmp(s, protos[i].name) == 0) {
			*out = protos[i].num;
			return true;
		}
	return parse_small_uint(s, 255, out);
}

const char *proto_name(int proto)
{
	for (int i = 0; i < ARRAY_LEN(protos); i++)
		if (protos[i].num == proto)
			return protos[i].name;
	return NULL;
}

/* ICMP (v4) and ICMPv6 types with the same meaning share a name, so
 * `icmp-type echo-request` matches both families.  -1: no such type in that
 * family.  The first name of a (family, type) is the one printed. */
static const struct {
	const char *name;
	int v4, v6;
} icmp_types[] = {
	{ "echo-reply", 0, 129 },
	{ "dest-unreach", 3, 1 },
	{ "destination-unreachable", 3, 1 },
	{ "source-quench", 4, -1 },
	{ "redirect", 5, 137 },
	{ "echo-request", 8, 128 },
	{ "router-advertisement", 9, 134 },
	{ "router-solicitation", 10, 133 },
	{ "time-exceeded", 11, 3 },
	{ "parameter-problem", 12, 4 },
	{ "timestamp-request", 13, -1 },
	{ "timestamp-reply", 14, -1 },
	{ "info-request", 15, -1 },
	{ "info-reply", 16, -1 },
	{ "address-mask-request", 17, -1 },
	{ "address-mask-reply", 18, -1 },
	{ "packet-too-big", -1, 2 },
	{ "mld-query", -1, 130 },
	{ "mld-listener-query", -1, 130 },
	{ "mld-report", -1, 131 },
	{ "mld-listener-report", -1, 131 },
	{ "mld-done", -1, 132 },
	{ "mld-listener-done", -1, 132 },
	{ "neighbour-solicitation", -1, 135 },
	{ "neighbor-solicitation", -1, 135 },
	{ "neighbour-advertisement", -1, 136 },
	{ "neighbor-advertisement", -1, 136 },
	{ "mld2-report", -1, 143 },
};

bool icmp_type_from_name(const char *s, int *v4, int *v6)
{
	for (int i = 0; i < ARRAY_LEN(icmp_types); i++)
		if (strcmp(s, icmp_types[i].name) == 0) {
			*v4 = icmp_types[i].v4;
			*v6 = icmp_types[i].v6;
			return true;
		}
	return false;
}

const char *icmp_type_name(int family, int type)
{
	if (type < 0)
		return NULL;
	for (int i = 0; i < ARRAY_LEN(icmp_types); i++) {
		int t = family == 6 ? icmp_types[i].v6 : family == 4 ? icmp_types[i].v4 : -1;
		if (t == type)
			return icmp_types[i].name;
	}
	return NULL;
}
