// SPDX-License-Identifier: MIT
/*
 * nicfiled's allow-lists: CIDR parsing (IPv4, IPv6, bad input refused) and
 * matching of IPv4, IPv6 and v4-mapped IPv6 peer addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "allow.h"

static int fails;

static void expect_parse(const char *text, int want)
{
	struct allow_entry e;
	char buf[80];
	int got = allow_parse(text, &e);
	printf("%s parse '%s': %s%s\n", got == want ? "ok  " : "FAIL", text, got ? "refused" : "accepted as ",
	       got ? "" : allow_format(&e, buf, sizeof(buf)));
	fails += got != want;
}

static void expect_match(const char *list, const char *peer, int want)
{
	struct allow_list l = { 0 };
	struct allow_entry e;
	char copy[256], *save, *tok;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const struct sockaddr *sa = (struct sockaddr *)&sin;

	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (allow_parse(tok, &e) || allow_add(&l, &e)) {
			printf("FAIL cannot build list '%s'\n", list);
			fails++;
			return;
		}
	if (inet_pton(AF_INET, peer, &sin.sin_addr) != 1) {
		inet_pton(AF_INET6, peer, &sin6.sin6_addr);
		sa = (struct sockaddr *)&sin6;
	}
	int got = allow_match(&l, sa);
	printf("%s %s in [%s]: %s\n", got == want ? "ok  " : "FAIL", peer, list, got ? "allowed" : "refused");
	fails += got != want;
	allow_free(&l);
}

int main(void)
{
	expect_parse("192.0.2.2", 0);
	expect_parse("192.0.2.0/24", 0);
	expect_parse("0.0.0.0/0", 0);
	expect_parse("2001:db8::/32", 0);
	expect_parse("::1", 0);
	expect_parse("::/0", 0);
	expect_parse("192.0.2.1/24", -EINVAL);    /* host bits set: a typo, not a network */
	expect_parse("192.0.2.0/33", -EINVAL);
	expect_parse("2001:db8::/129", -EINVAL);
	expect_parse("192.0.2.0/", -EINVAL);
	expect_parse("192.0.2.0/-1", -EINVAL);
	expect_parse("192.0.2.0/24x", -EINVAL);
	expect_parse("host.example", -EINVAL);
	expect_parse("", -EINVAL);
	expect_parse("/8", -EINVAL);

	expect_match("192.0.2.2", "192.0.2.2", 1);
	expect_match("192.0.2.2", "192.0.2.3", 0);
	expect_match("192.0.2.0/24", "192.0.2.200", 1);
	expect_match("192.0.2.128/25", "192.0.2.2", 0);
	expect_match("10.0.0.0/8 192.0.2.0/30", "192.0.2.3", 1);
	expect_match("10.0.0.0/8 192.0.2.0/30", "192.0.2.4", 0);
	expect_match("0.0.0.0/0", "203.0.113.9", 1);
	expect_match("2001:db8::/32", "2001:db8:1::5", 1);
	expect_match("2001:db8::/32", "2001:db9::5", 0);
	expect_match("2001:db8::/33", "2001:db8:8000::1", 0);
	expect_match("::1", "::1", 1);
	expect_match("::/0", "192.0.2.2", 0);          /* an IPv6 rule never admits IPv4 */
	expect_match("192.0.2.0/24", "::ffff:192.0.2.7", 1);   /* v4-mapped is IPv4 */
	expect_match("192.0.2.0/24", "::ffff:198.51.100.7", 0);
	expect_match("", "192.0.2.2", 0);
	printf("allow: %d failure(s)\n", fails);
	return fails != 0;
}
