/* SPDX-License-Identifier: MIT */
/* sha256.h - a small SHA-256 (FIPS 180-4) so the library needs no crypto dependency. */
#ifndef NICFILE_SHA256_H
#define NICFILE_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct nf_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void nf_sha256_init(struct nf_sha256 *s);
void nf_sha256_update(struct nf_sha256 *s, const void *data, size_t len);
void nf_sha256_final(struct nf_sha256 *s, uint8_t out[32]);
/* Lower-case hex of a 32-byte digest into @hex (65 bytes). */
void nf_sha256_hex(const uint8_t d[32], char hex[65]);
#endif
