// SPDX-License-Identifier: MIT
/*
 * allow.c - CIDR allow-lists for nicfiled. A connection request is judged
 * by its source address only: RDMA CM carries no credentials, so this is
 * the same trust an NFS export's client list gives (nicfiled(8), SECURITY).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "allow.h"

static int host_bits_clear(const uint8_t *a, unsigned bytes, unsigned prefix)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;
		if (a[i] & (uint8_t)~mask)
			return 0;
	}
	return 1;
}

int allow_parse(const char *text, struct allow_entry *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, n);
	addr[n] = 0;
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	unsigned max = out->family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		char *end;
		if (!slash[1] || slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > max)
			return -EINVAL;
	}
	out->prefix = (unsigned)prefix;
	if (!host_bits_clear(out->addr, max / 8, out->prefix))
		return -EINVAL;
	return 0;
}

int allow_add(struct allow_list *l, const struct allow_entry *e)
{
	struct allow_entry *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[l->n++] = *e;
	l->v = v;
	return 0;
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, full))
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int allow_match(const struct allow_list *l, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;
	int family;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		family = AF_INET6;
		if (!memcmp(a, v4mapped, sizeof(v4mapped))) {
			family = AF_INET;
			a += 12;
		}
	} else {
		return 0;       /* AF_IB and anything else: not an address we can judge */
	}
	for (unsigned i = 0; i < l->n; i++)
		if (l->v[i].family == family && prefix_equal(a, l->v[i].addr, l->v[i].prefix))
			return 1;
	return 0;
}

const char *allow_format(const struct allow_entry *e, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(e->family, e->addr, a, sizeof(a));
	snprintf(buf, cap, "%s/%u", a, e->prefix);
	return buf;
}

void allow_free(struct allow_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
