/* Test packets, built field by field: the one packet builder of the kernel
 * tests (BPF_PROG_TEST_RUN) and the benchmarks.  A packet is built front
 * to back: pk_eth() starts it, an IP header, optional IPv6 extension
 * headers and a transport header follow, pk_fin() sets the IP lengths.
 * Addresses are text ("192.0.2.1", "2001:db8::1"); numbers are in host
 * order.  A malformed request (a bad address, a packet too long) aborts
 * the test with a message. */
#ifndef RAMPART_TEST_PACKET_H
#define RAMPART_TEST_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_PSH 0x08
#define TF_ACK 0x10
#define TF_URG 0x20

struct pk {
	uint8_t d[2048];
	uint32_t n;  /* length */
	uint32_t l3; /* offset of the IP header */
	uint32_t l4; /* offset of the transport header */
	uint32_t nh; /* offset of the byte naming the next protocol */
	int fam;     /* 4 or 6 */
};

/* The two MAC addresses: the frame goes from PK_MAC_B to PK_MAC_A (us). */
extern const uint8_t PK_MAC_A[6], PK_MAC_B[6];

void pk_put(struct pk *p, const void *b, size_t n); /* b NULL: n zero bytes */
void pk_put8(struct pk *p, uint8_t v);
void pk_put16(struct pk *p, uint16_t v);
void pk_put32(struct pk *p, uint32_t v);
uint16_t pk_get16(const uint8_t *b);
uint32_t pk_get32(const uint8_t *b);

/* A new frame: Ethernet, nvlan VLAN tags (802.1ad outside when two), type. */
void pk_eth(struct pk *p, int nvlan, uint16_t type);
/* IPv4 with optwords 4-byte NOP option words, the fragment field and id. */
void pk_ip4(struct pk *p, const char *src, const char *dst, int optwords, uint16_t frag, uint16_t id);
void pk_ip6(struct pk *p, const char *src, const char *dst, uint8_t hlim);
/* An options-type IPv6 extension header of (len8 + 1) * 8 bytes. */
void pk_ext6(struct pk *p, uint8_t type, int len8);
void pk_frag6(struct pk *p, uint16_t offset, int more, uint32_t id);
/* Sets the byte naming the next protocol. */
void pk_set_nh(struct pk *p, uint8_t proto);
void pk_tcp(struct pk *p, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags, int payload);
void pk_udp(struct pk *p, uint16_t sp, uint16_t dp, int payload);
/* ICMP or ICMPv6 (after the family's IP header): type, code, id, sequence. */
void pk_icmp(struct pk *p, uint8_t type, uint8_t code, uint16_t id, uint16_t seq);
/* Sets the IP length fields from the frame's length. */
void pk_fin(struct pk *p);
/* Ethernet + IPv4 + TCP + payload bytes, finished; returns the length. */
uint32_t pk_tcp4(struct pk *p, const char *src, uint16_t sp, const char *dst, uint16_t dp, uint8_t flags, uint32_t seq,
		 uint32_t ack, int payload);

/* Checksums of answers: 0xffff when the checksum over the IPv4 header, or
 * over the transport segment with its pseudo header, is right. */
uint16_t pk_check_ip4_hdr(const uint8_t *ip);
uint16_t pk_check_l4(const uint8_t *frame, uint32_t l3, uint32_t len);

#endif
