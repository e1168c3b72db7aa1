/* SPDX-License-Identifier: MIT */
/*
 * allow.h - nicfiled's client allow-lists: CIDR prefixes, IPv4 and IPv6,
 * matched against the address a connection request comes from.
 */
#ifndef NICFILED_ALLOW_H
#define NICFILED_ALLOW_H
#include <stdint.h>
#include <sys/socket.h>

struct allow_entry {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network byte order, host bits cleared */
	unsigned prefix;        /* 0..32 or 0..128 */
};

struct allow_list {
	struct allow_entry *v;
	unsigned n;
};

/*
 * Parse "ADDR" or "ADDR/PREFIX" (numeric IPv4 or IPv6; no host names: an
 * allow-list must not depend on DNS). Host bits set beyond the prefix are
 * refused so that a typo does not silently widen the list. 0 or -EINVAL.
 */
int allow_parse(const char *text, struct allow_entry *out);
int allow_add(struct allow_list *l, const struct allow_entry *e);
/* Does @sa (AF_INET or AF_INET6; v4-mapped IPv6 counts as IPv4) match? */
int allow_match(const struct allow_list *l, const struct sockaddr *sa);
/* "ADDR/PREFIX" of @e into @buf. */
const char *allow_format(const struct allow_entry *e, char *buf, size_t cap);
void allow_free(struct allow_list *l);
#endif
