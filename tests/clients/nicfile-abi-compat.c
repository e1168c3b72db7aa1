// SPDX-License-Identifier: MIT
/*
 * nicfile-abi-compat - a program as built against libnicfile 0.3's header:
 * it binds nicfile_connect@NICFILE_0.1 with 0.3's struct nicfile_conn_opts
 * (no comp_mask) and checks, without an RDMA device, that the library
 * reads that layout: a depth of 500 is refused (-EINVAL) while a depth of
 * 16 gets as far as the device (any error but -EINVAL); and that the
 * present nicfile_connect refuses a comp_mask bit it does not know.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include "nicfile.h"

struct conn_opts_0_3 {
	const char *device;
	uint16_t port;
	unsigned depth;
	uint32_t chunk;
	int timeout_ms;
	int connect_retry_ms;
};

int connect_0_3(const char *host, const struct conn_opts_0_3 *opts, struct nicfile_conn **out);
__asm__(".symver connect_0_3, nicfile_connect@NICFILE_0.1");

int main(void)
{
	struct conn_opts_0_3 bad = { .depth = 500, .timeout_ms = 100 }, good = { .depth = 16, .timeout_ms = 100 };
	struct nicfile_conn_opts unknown = { .comp_mask = 1u << 31, .timeout_ms = 100 };
	struct nicfile_conn *c;
	int e1 = connect_0_3("192.0.2.1", &bad, &c);
	int e2 = connect_0_3("192.0.2.1", &good, &c);
	int e3 = nicfile_connect("192.0.2.1", &unknown, &c);

	printf("0.3 layout: depth 500: %s; depth 16: %s; unknown comp_mask bit: %s\n",
	       nicfile_strerror(e1), nicfile_strerror(e2), nicfile_strerror(e3));
	if (e1 == -EINVAL && e2 != -EINVAL && e2 != 0 && e3 == -EINVAL)
		return 0;
	if (e2 == 0)
		nicfile_disconnect(c);
	return 1;
}
