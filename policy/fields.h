/* Names of fields, verdicts, events, directions and protocols, for the
 * parser and for printing. */
#ifndef RAMPART_FIELDS_H
#define RAMPART_FIELDS_H

#include <stdbool.h>
#include "rampart_types.h"

const char *verdict_name(enum verdict v);
bool verdict_from_name(const char *s, enum verdict *out);
const char *event_name(enum event_type e);
bool event_from_name(const char *s, enum event_type *out);
const char *direction_name(enum direction d);
/* The keyword users write for a field (e.g. "remote" for F_RADDR, "remote port" for F_RPORT). */
const char *field_name(enum field f);
/* "tcp" -> 6, "udp" -> 17, "icmp" -> 1, "icmpv6" -> 58, also "ipv6-icmp", "sctp", "gre"...
 * and decimal numbers 0..255.  "any" is handled by the caller. */
bool proto_from_name(const char *s, int *out);
const char *proto_name(int proto); /* NULL when unnamed */
/* ICMP type names: sets *v4 / *v6 to the type number or -1 when the name has no
 * counterpart in that family (e.g. "router-advertisement" is ICMPv6 only). */
bool icmp_type_from_name(const char *s, int *v4, int *v6);
/* For printing: name of ICMP (family 4) or ICMPv6 (family 6) type, or NULL. */
const char *icmp_type_name(int family, int type);

#endif
