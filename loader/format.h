/* Text formatting shared by the read-only commands (status, rules, flows,
 * log): addresses, durations, byte counts, times, and aligned columns. */
#ifndef RAMPART_FORMAT_H
#define RAMPART_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FMT_ADDR_LEN 64 /* enough for any address, endpoint or duration below */

/* A 16-byte address in network order (IPv4 as ::ffff:a.b.c.d) as text:
 * "192.0.2.1" or "2001:db8::1". */
const char *fmt_addr(char *buf, size_t n, const uint32_t addr[4]);
/* 4 for a v4-mapped address, 6 otherwise. */
int addr_family(const uint32_t addr[4]);
/* "192.0.2.1:80", "[2001:db8::1]:80", or the bare address when !has_port. */
const char *fmt_endpoint(char *buf, size_t n, const uint32_t addr[4], uint16_t port, bool has_port);
/* Protocols that have ports in rampart's events and flows. */
bool proto_has_ports(int proto);
/* "tcp", "udp", ... or the number. */
const char *fmt_proto(char *buf, size_t n, int proto);
/* Durations for people: "0s", "42s", "3m05s", "2h07m", "4d03h". */
const char *fmt_duration(char *buf, size_t n, uint64_t ns);
/* Byte counts for people: "842 B", "1.2 KiB", "3.4 MiB". */
const char *fmt_bytes(char *buf, size_t n, uint64_t bytes);
/* Wall-clock times: local "2024-05-01 12:00:03" (+".123" with ms) for text,
 * UTC "2024-05-01T12:00:03.123Z" for JSON. */
const char *fmt_time_local(char *buf, size_t n, uint64_t realtime_ns, bool ms);
const char *fmt_time_utc(char *buf, size_t n, uint64_t realtime_ns);
/* The CLOCK_REALTIME time of a CLOCK_MONOTONIC timestamp (what the
 * datapath records), for printing. */
uint64_t mono_to_realtime_ns(uint64_t mono_ns);
uint64_t now_mono_ns(void);
uint64_t now_realtime_ns(void);
/* Lower-case hex of n bytes. */
const char *fmt_hex(char *buf, size_t buflen, const uint8_t *b, size_t n);
/* TCP flags as "SYN,ACK" ("" when none). */
const char *fmt_tcp_flags(char *buf, size_t n, uint8_t flags);

/* Aligned columns: add rows of cells, then print with every column padded
 * to its widest cell.  Columns listed in right_align are right-aligned
 * (numbers); the last column is never padded. */
struct columns {
	int ncols;
	unsigned right_align; /* bit i: column i */
	int nrows, cap;
	char **cells; /* nrows * ncols, owned */
};

void columns_init(struct columns *t, int ncols, unsigned right_align);
/* Adds a row of ncols strings (copied; NULL prints as "-"). */
void columns_add(struct columns *t, const char *const *cells);
void columns_print(const struct columns *t, FILE *f, const char *indent);
void columns_free(struct columns *t);

#endif
