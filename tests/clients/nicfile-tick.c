// SPDX-License-Identifier: MIT
/*
 * nicfile-tick - same-size writes within one timestamp tick. Run on the
 * server's host, against a nicfiled that serves FILE as EXPORT/FILE:
 *   nicfile-tick HOST EXPORT/FILE FILE ROUNDS
 * Each round rewrites the first 4 KiB of FILE (same size), opens it
 * remotely, rewrites it again, and reads it all with nicfile_pread. The
 * file changed after every OPEN, so every read must end in -ESTALE. A
 * round whose second write left (size, mtime, ctime) as the OPEN saw
 * them (the same tick) is counted: only stat cannot see those.
 * Exit 0: every read said -ESTALE; 1: some read returned changed data as
 * good; 2: error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "nicfile.h"

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int rewrite(int fd, unsigned round, unsigned which)
{
	char block[4096];
	memset(block, (int)('a' + (round * 2 + which) % 26), sizeof(block));
	return pwrite(fd, block, sizeof(block), 0) == (ssize_t)sizeof(block) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct nicfile_conn_opts o = { .timeout_ms = 30000, .connect_retry_ms = 60000 };
	struct nicfile_conn *c;
	unsigned rounds, same_tick = 0, silent = 0;
	int fd, err;

	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST EXPORT/FILE FILE ROUNDS\n", argv[0]);
		return 2;
	}
	rounds = (unsigned)atoi(argv[4]);
	fd = open(argv[3], O_WRONLY);
	if (fd < 0 || (err = nicfile_connect(argv[1], &o, &c))) {
		fprintf(stderr, "%s: cannot start\n", argv[0]);
		return 2;
	}
	for (unsigned r = 0; r < rounds; r++) {
		struct nicfile_file *f;
		struct nicfile_stat st;
		struct stat before, after;

		if (rewrite(fd, r, 0) || fstat(fd, &before))
			return 2;
		if ((err = nicfile_open(c, argv[2], &f))) {
			fprintf(stderr, "open: %s\n", nicfile_strerror(err));
			return 2;
		}
		if (rewrite(fd, r, 1) || fstat(fd, &after))
			return 2;
		int tick = same_stat(&before, &after);
		nicfile_fstat(f, &st);
		char *buf = malloc(st.size);
		ssize_t n = nicfile_pread(f, buf, st.size, 0);
		if (n != -ESTALE) {
			silent++;
			printf("round %u: read %zd (%s)%s: changed data returned as good\n", r, n,
			       n < 0 ? nicfile_strerror((int)n) : "ok", tick ? ", second write in the same tick" : "");
		}
		same_tick += tick;
		free(buf);
		nicfile_close(f);
	}
	printf("%u rounds, %u with the second write in the open's timestamp tick, %u read changed data as good\n",
	       rounds, same_tick, silent);
	nicfile_disconnect(c);
	close(fd);
	return silent ? 1 : 0;
}
