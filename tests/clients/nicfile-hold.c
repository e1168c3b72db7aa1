// SPDX-License-Identifier: MIT
/*
 * nicfile-hold - a well-behaved client that holds many files open and
 * reads nothing while they change: it must not be disconnected.
 *   nicfile-hold HOST EXPORT/DIR N OPENED-FLAG CHANGED-FLAG
 * Opens DIR/f0 .. DIR/f(N-1) on one connection, creates OPENED-FLAG, then
 * does nothing (no library call) until CHANGED-FLAG exists. Then every
 * handle must validate as -ESTALE (changed) and a STAT on the same
 * connection must still work.
 * Exit 0: so; 1: the connection was lost or a change went unreported;
 * 2: another error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "nicfile.h"

int main(int argc, char **argv)
{
	struct nicfile_conn_opts o = { .timeout_ms = 60000, .connect_retry_ms = 60000 };
	struct nicfile_conn *c;
	struct nicfile_stat st;
	struct nicfile_file **f;
	char path[1100];
	int n, err, stale = 0, rc = 0;

	if (argc != 6 || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s HOST EXPORT/DIR N OPENED-FLAG CHANGED-FLAG\n", argv[0]);
		return 2;
	}
	f = calloc((size_t)n, sizeof(*f));
	if (!f || (err = nicfile_connect(argv[1], &o, &c))) {
		fprintf(stderr, "connect: %s\n", f ? nicfile_strerror(err) : "out of memory");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%d", argv[2], i);
		if ((err = nicfile_open(c, path, &f[i]))) {
			fprintf(stderr, "open %s: %s\n", path, nicfile_strerror(err));
			return 2;
		}
	}
	FILE *flag = fopen(argv[4], "w");
	if (!flag)
		return 2;
	fclose(flag);
	printf("%d files open; idle until %s\n", n, argv[5]);
	fflush(stdout);
	for (int i = 0; access(argv[5], F_OK); i++) {
		if (i > 6000) {
			fprintf(stderr, "no %s after 600 s\n", argv[5]);
			return 2;
		}
		usleep(100000);
	}
	for (int i = 0; i < n; i++) {
		err = nicfile_validate(f[i]);
		if (err == -ESTALE) {
			stale++;
		} else {
			printf("f%d: validate: %s (wanted: changed)\n", i, nicfile_strerror(err));
			rc = 1;
		}
	}
	printf("%d of %d handles report the change\n", stale, n);
	snprintf(path, sizeof(path), "%s/f0", argv[2]);
	if ((err = nicfile_stat(c, path, &st))) {
		printf("stat after the changes: %s\n", nicfile_strerror(err));
		rc = 1;
	} else {
		printf("stat after the changes: ok, connection alive\n");
	}
	for (int i = 0; i < n; i++)
		nicfile_close(f[i]);
	nicfile_disconnect(c);
	free(f);
	return rc;
}
