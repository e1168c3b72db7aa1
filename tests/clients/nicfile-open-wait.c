// SPDX-License-Identifier: MIT
/*
 * nicfile-open-wait - open a remote file, let the server side change it,
 * then read it: the library must report the change (-ESTALE), never hand
 * back data that changed after the open as if it were unchanged.
 *   nicfile-open-wait HOST EXPORT/FILE OPENED-FLAG CHANGED-FLAG
 * Creates OPENED-FLAG once the file is open, waits for CHANGED-FLAG, reads
 * the whole file with nicfile_pread(). Exit 0: the read said -ESTALE;
 * 1: the read returned the data and only a validate after it said
 * -ESTALE; 3: both called the changed data valid; 2: another error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "nicfile.h"

int main(int argc, char **argv)
{
	struct nicfile_conn_opts o = { .timeout_ms = 30000, .connect_retry_ms = 60000 };
	struct nicfile_conn *c;
	struct nicfile_file *f;
	struct nicfile_stat st;
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST EXPORT/FILE OPENED-FLAG CHANGED-FLAG\n", argv[0]);
		return 2;
	}
	if ((err = nicfile_connect(argv[1], &o, &c)) || (err = nicfile_open(c, argv[2], &f))) {
		fprintf(stderr, "open %s: %s\n", argv[2], nicfile_strerror(err));
		return 2;
	}
	nicfile_fstat(f, &st);
	FILE *flag = fopen(argv[3], "w");
	if (!flag)
		return 2;
	fclose(flag);
	for (int i = 0; access(argv[4], F_OK); i++) {
		if (i > 3000) {
			fprintf(stderr, "no %s after 300 s\n", argv[4]);
			return 2;
		}
		usleep(100000);
	}
	char *buf = malloc(st.size + 1);
	ssize_t n = nicfile_pread(f, buf, st.size, 0);
	err = n < 0 ? (int)n : nicfile_validate(f);
	printf("read %zd of %llu bytes; then: %s\n", n, (unsigned long long)st.size, nicfile_strerror(err));
	nicfile_close(f);
	nicfile_disconnect(c);
	free(buf);
	if (n == -ESTALE)
		return 0;
	return err == -ESTALE ? 1 : err == 0 ? 3 : 2;
}
