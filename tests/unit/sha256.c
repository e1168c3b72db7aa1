// SPDX-License-Identifier: MIT
/* SHA-256 known answers (FIPS 180-4 examples) and split updates. */
#include <stdio.h>
#include <string.h>
#include "sha256.h"

static int check(const char *what, const void *data, size_t len, size_t step, const char *want)
{
	struct nf_sha256 s;
	uint8_t d[32];
	char hex[65];
	nf_sha256_init(&s);
	for (size_t off = 0; off < len; off += step)
		nf_sha256_update(&s, (const char *)data + off, len - off < step ? len - off : step);
	nf_sha256_final(&s, d);
	nf_sha256_hex(d, hex);
	if (strcmp(hex, want)) {
		printf("FAIL %s (step %zu): %s\n", what, step, hex);
		return 1;
	}
	return 0;
}

int main(void)
{
	static char million[1000000];
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	int f = 0;
	memset(million, 'a', sizeof(million));
	f += check("empty", "", 0, 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	f += check("abc", "abc", 3, 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	for (size_t step = 1; step < 70; step += 13)
		f += check("two blocks", two, strlen(two), step,
			   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	f += check("million a", million, sizeof(million), 4099,
		   "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	printf("sha256: %d failure(s)\n", f);
	return f != 0;
}
