/* SHA-256 (FIPS 180-4), for the fingerprint of the applied policy file that
 * `rampart status` shows.  Small and self-contained so that rampart needs no
 * crypto library. */
#ifndef RAMPART_SHA256_H
#define RAMPART_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex of the digest into hex (65 bytes with the NUL). */
void sha256_hex(const uint8_t digest[32], char hex[65]);
/* SHA-256 of a file's contents, and its stat.  0 or -errno. */
struct stat;
int sha256_file(const char *path, uint8_t out[32], struct stat *st);

#endif
