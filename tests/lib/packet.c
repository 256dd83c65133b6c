/* Test packets (see packet.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "packet.h"

const uint8_t PK_MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x0a };
const uint8_t PK_MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x0b };

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "test packet: %s%s\n", what, arg ? arg : "");
	abort();
}

void pk_put(struct pk *p, const void *b, size_t n)
{
	if (p->n + n > sizeof(p->d))
		die("longer than the buffer", NULL);
	if (b)
		memcpy(p->d + p->n, b, n);
	else
		memset(p->d + p->n, 0, n);
	p->n += (uint32_t)n;
}

void pk_put8(struct pk *p, uint8_t v)
{
	pk_put(p, &v, 1);
}

void pk_put16(struct pk *p, uint16_t v)
{
	v = htons(v);
	pk_put(p, &v, 2);
}

void pk_put32(struct pk *p, uint32_t v)
{
	v = htonl(v);
	pk_put(p, &v, 4);
}

uint16_t pk_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

uint32_t pk_get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void pk_eth(struct pk *p, int nvlan, uint16_t type)
{
	memset(p, 0, sizeof(*p));
	pk_put(p, PK_MAC_A, 6);
	pk_put(p, PK_MAC_B, 6);
	for (int i = 0; i < nvlan; i++) {
		pk_put16(p, i == 0 && nvlan > 1 ? 0x88a8 : 0x8100);
		pk_put16(p, (uint16_t)(100 + i));
	}
	pk_put16(p, type);
}

static void addr(int af, const char *text, void *out)
{
	if (inet_pton(af, text, out) != 1)
		die("not an address: ", text);
}

void pk_ip4(struct pk *p, const char *src, const char *dst, int optwords, uint16_t frag, uint16_t id)
{
	struct in_addr s, d;
	addr(AF_INET, src, &s);
	addr(AF_INET, dst, &d);
	p->l3 = p->n;
	p->fam = 4;
	pk_put8(p, (uint8_t)(0x45 + optwords));
	pk_put8(p, 0);
	pk_put16(p, 0); /* total length: pk_fin() */
	pk_put16(p, id);
	pk_put16(p, frag);
	pk_put8(p, 64);
	pk_put8(p, 0); /* protocol */
	pk_put16(p, 0);
	pk_put(p, &s, 4);
	pk_put(p, &d, 4);
	for (int i = 0; i < optwords; i++)
		pk_put32(p, 0x01010101); /* NOPs */
	p->nh = p->l3 + 9;
	p->l4 = p->n;
}

void pk_ip6(struct pk *p, const char *src, const char *dst, uint8_t hlim)
{
	struct in6_addr s, d;
	addr(AF_INET6, src, &s);
	addr(AF_INET6, dst, &d);
	p->l3 = p->n;
	p->fam = 6;
	pk_put32(p, 0x60000000);
	pk_put16(p, 0);
	pk_put8(p, 59);
	pk_put8(p, hlim);
	pk_put(p, &s, 16);
	pk_put(p, &d, 16);
	p->nh = p->l3 + 6;
	p->l4 = p->n;
}

void pk_set_nh(struct pk *p, uint8_t proto)
{
	p->d[p->nh] = proto;
}

void pk_ext6(struct pk *p, uint8_t type, int len8)
{
	pk_set_nh(p, type);
	p->nh = p->n;
	pk_put8(p, 59);
	pk_put8(p, (uint8_t)len8);
	pk_put8(p, 1); /* PadN */
	pk_put8(p, (uint8_t)(4 + len8 * 8));
	pk_put(p, NULL, 4 + (size_t)len8 * 8);
	p->l4 = p->n;
}

void pk_frag6(struct pk *p, uint16_t offset, int more, uint32_t id)
{
	pk_set_nh(p, 44);
	p->nh = p->n;
	pk_put8(p, 59);
	pk_put8(p, 0);
	pk_put16(p, (uint16_t)(offset | (more ? 1 : 0)));
	pk_put32(p, id);
	p->l4 = p->n;
}

void pk_tcp(struct pk *p, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags, int payload)
{
	pk_set_nh(p, 6);
	p->l4 = p->n;
	pk_put16(p, sp);
	pk_put16(p, dp);
	pk_put32(p, seq);
	pk_put32(p, ack);
	pk_put8(p, 5 << 4);
	pk_put8(p, flags);
	pk_put16(p, 65535);
	pk_put16(p, 0);
	pk_put16(p, 0);
	for (int i = 0; i < payload; i++)
		pk_put8(p, (uint8_t)('a' + i % 26));
}

void pk_udp(struct pk *p, uint16_t sp, uint16_t dp, int payload)
{
	pk_set_nh(p, 17);
	p->l4 = p->n;
	pk_put16(p, sp);
	pk_put16(p, dp);
	pk_put16(p, (uint16_t)(8 + payload));
	pk_put16(p, 0);
	for (int i = 0; i < payload; i++)
		pk_put8(p, (uint8_t)i);
}

void pk_icmp(struct pk *p, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	pk_set_nh(p, p->fam == 4 ? 1 : 58);
	p->l4 = p->n;
	pk_put8(p, type);
	pk_put8(p, code);
	pk_put16(p, 0);
	pk_put16(p, id);
	pk_put16(p, seq);
}

void pk_fin(struct pk *p)
{
	if (p->fam == 4) {
		uint16_t tot = htons((uint16_t)(p->n - p->l3));
		memcpy(p->d + p->l3 + 2, &tot, 2);
	} else {
		uint16_t pl = htons((uint16_t)(p->n - p->l3 - 40));
		memcpy(p->d + p->l3 + 4, &pl, 2);
	}
}

uint32_t pk_tcp4(struct pk *p, const char *src, uint16_t sp, const char *dst, uint16_t dp, uint8_t flags, uint32_t seq,
		 uint32_t ack, int payload)
{
	pk_eth(p, 0, 0x0800);
	pk_ip4(p, src, dst, 0, 0, 1);
	pk_tcp(p, sp, dp, seq, ack, flags, payload);
	pk_fin(p);
	return p->n;
}

/* ---------- checksums ---------- */

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

uint16_t pk_check_ip4_hdr(const uint8_t *ip)
{
	return fold(sum16(ip, (ip[0] & 15) * 4, 0));
}

uint16_t pk_check_l4(const uint8_t *frame, uint32_t l3, uint32_t len)
{
	const uint8_t *ip = frame + l3;
	uint32_t s = 0;
	if ((ip[0] >> 4) == 4) {
		uint32_t hl = (ip[0] & 15) * 4, tot = pk_get16(ip + 2);
		if (ip[9] != 1) /* ICMPv4 has no pseudo header */
			s = sum16(ip + 12, 8, 0) + ip[9] + (tot - hl);
		if (l3 + tot > len)
			die("IPv4 total length beyond the frame", NULL);
		return fold(sum16(ip + hl, tot - hl, s));
	}
	uint32_t pl = pk_get16(ip + 4);
	s = sum16(ip + 8, 32, 0) + ip[6] + pl;
	if (l3 + 40 + pl > len)
		die("IPv6 payload length beyond the frame", NULL);
	return fold(sum16(ip + 40, pl, s));
}
