/* Enumerations shared by the policy compiler (user space) and the BPF
 * programs.  Plain C, no kernel or libbpf headers, so both sides include it. */
#ifndef RAMPART_TYPES_H
#define RAMPART_TYPES_H

/* Verdicts.  The order matters to nobody; the values are stored in maps. */
enum verdict {
	VERDICT_ALLOW = 0,
	VERDICT_DENY = 1,
	VERDICT_REJECT = 2,
	VERDICT_ASK = 3,
	VERDICT_CONTINUE = 4, /* record the match, go on with the next rule */
	VERDICT_JUMP = 5,     /* judge with another table, return if undecided */
	VERDICT_COUNT
};

/* Event types (docs/policy.md, Events). */
enum event_type {
	EVENT_NETWORK = 0, /* socket creation ("access to network") */
	EVENT_CONNECT = 1,
	EVENT_LISTEN = 2,
	EVENT_ACCEPT = 3,
	EVENT_SEND = 4,
	EVENT_RECEIVE = 5,
	EVENT_PACKET = 6,
	EVENT_COUNT
};

enum direction { DIR_IN = 0, DIR_OUT = 1, DIR_COUNT };

/* The fields an event can carry and a rule can test.  Every field value is
 * a number (addresses are 128-bit, IPv4 mapped into ::ffff:0:0/96), so a
 * rule condition is a set of value intervals over one field. */
enum field {
	F_DIR = 0,  /* enum direction */
	F_EVENT,    /* enum event_type */
	F_FAMILY,   /* 4 or 6 */
	F_PROTO,    /* IP protocol number 0..255 */
	F_IFACE,    /* interface id: 0 = not named in the policy, 1.. = named */
	F_LADDR,    /* local address, 128-bit */
	F_LPORT,    /* local port (tcp/udp only) */
	F_RADDR,    /* remote address, 128-bit */
	F_RPORT,    /* remote port (tcp/udp only) */
	F_ICMPTYPE, /* ICMP type t -> t, ICMPv6 type t -> 256 + t */
	F_APP,	    /* application id: 0 = not named in the policy */
	F_CGROUP,   /* cgroup id in preorder numbering of named cgroups (see policy.h) */
	F_USER,	    /* uid */
	F_COUNT
};

#define ICMPV6_TYPE_BASE 256

#endif
