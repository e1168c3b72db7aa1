// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control-message parser. Properties: nf_decode
 * never reads out of bounds or crashes (ASan/UBSan), and any message it
 * accepts re-encodes to exactly the same bytes (one meaning per message).
 *   make -f userland.mk fuzz && build/tests/fuzz/proto-fuzz -max_total_time=600 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nf_msg m;
	static uint8_t out[NF_MSG_MAX];
	const char *why;

	if (nf_decode(data, size, &m, &why) != 0)
		return 0;
	int n = nf_encode(&m, out, sizeof(out));
	if (n != (int)size || memcmp(out, data, size))
		abort();
	return 0;
}
