// SPDX-License-Identifier: MIT
/*
 * nicfile-fetch - the smallest libnicfile program: read a remote file with
 * nicfile_pread() and write it to standard output.
 *   cc -o nicfile-fetch nicfile-fetch.c $(pkg-config --cflags --libs nicfile)
 *   ./nicfile-fetch 192.0.2.1 export/file > copy
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <nicfile.h>

int main(int argc, char **argv)
{
	struct nicfile_conn_opts opts = { .depth = 4, .chunk = 256 * 1024, .connect_retry_ms = 10000 };
	struct nicfile_conn *conn;
	struct nicfile_file *file;
	struct nicfile_stat st;
	static char buf[1 << 20];
	uint64_t off = 0;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST EXPORT/PATH\n", argv[0]);
		return 2;
	}
	if ((err = nicfile_connect(argv[1], &opts, &conn))) {
		fprintf(stderr, "connect: %s\n", nicfile_strerror(err));
		return 1;
	}
	if ((err = nicfile_open(conn, argv[2], &file))) {
		fprintf(stderr, "open %s: %s\n", argv[2], nicfile_strerror(err));
		nicfile_disconnect(conn);
		return 1;
	}
	nicfile_fstat(file, &st);
	fprintf(stderr, "%s: %llu bytes, served %s\n", argv[2], (unsigned long long)st.size,
		nicfile_mode_name(st.mode));
	while (off < st.size) {
		ssize_t n = nicfile_pread(file, buf, sizeof(buf), off);
		if (n <= 0) {
			err = n ? (int)n : -EIO;
			break;
		}
		fwrite(buf, 1, (size_t)n, stdout);
		off += (uint64_t)n;
	}
	/* Torn data is worse than none: check the file did not change meanwhile. */
	if (!err)
		err = nicfile_validate(file);
	if (err)
		fprintf(stderr, "read %s: %s\n", argv[2], nicfile_strerror(err));
	nicfile_close(file);
	nicfile_disconnect(conn);
	return err ? 1 : 0;
}
