// SPDX-License-Identifier: MIT
/*
 * nicfile-cycle - many open/read/close cycles on one connection, each on
 * another file: DIR/f0 .. DIR/f(N-1).
 *   nicfile-cycle HOST EXPORT/DIR N
 * Exit 0: every cycle worked; 1: one failed (printed); 2: usage/connect.
 */
#include <stdio.h>
#include <stdlib.h>
#include "nicfile.h"

int main(int argc, char **argv)
{
	struct nicfile_conn_opts o = { .timeout_ms = 60000, .connect_retry_ms = 60000 };
	struct nicfile_conn *c;
	struct nicfile_file *f;
	char path[1100], byte;
	int n, err;

	if (argc != 4 || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s HOST EXPORT/DIR N\n", argv[0]);
		return 2;
	}
	if ((err = nicfile_connect(argv[1], &o, &c))) {
		fprintf(stderr, "connect: %s\n", nicfile_strerror(err));
		return 2;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%d", argv[2], i);
		if ((err = nicfile_open(c, path, &f))) {
			printf("cycle %d: open %s: %s\n", i, path, nicfile_strerror(err));
			return 1;
		}
		ssize_t r = nicfile_pread(f, &byte, 1, 0);
		if ((err = nicfile_close(f)) || r != 1) {
			printf("cycle %d: %s: read %zd, close %s\n", i, path, r, nicfile_strerror(err));
			return 1;
		}
	}
	printf("%d open/read/close cycles\n", n);
	nicfile_disconnect(c);
	return 0;
}
