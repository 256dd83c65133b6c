/* Addresses as 128-bit numbers: IPv6 as is, IPv4 mapped into ::ffff:0:0/96
 * so one interval set covers both families (inet_pton does the parsing). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "policy.h"

bool addr_parse(const char *s, u128 *out, int *family)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*out = addr_from_v4(ntohl(a4.s_addr));
		if (family)
			*family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		u128 v = 0;
		for (int i = 0; i < 16; i++)
			v = (v << 8) | a6.s6_addr[i];
		*out = v;
		if (family)
			*family = 6;
		return true;
	}
	return false;
}

const char *addr_format(u128 a, char *buf, int len)
{
	if (addr_is_v4(a)) {
		struct in_addr a4 = { .s_addr = htonl((uint32_t)a) };
		if (!inet_ntop(AF_INET, &a4, buf, len))
			snprintf(buf, len, "?");
		return buf;
	}
	struct in6_addr a6;
	for (int i = 15; i >= 0; i--) {
		a6.s6_addr[i] = (uint8_t)a;
		a >>= 8;
	}
	if (!inet_ntop(AF_INET6, &a6, buf, len))
		snprintf(buf, len, "?");
	return buf;
}
