// SPDX-License-Identifier: MIT
/*
 * nicfile-stream-reenter - a nicfile_read_stream() callback that calls the
 * library on its own connection (libnicfile(3), "Callbacks"):
 *   nicfile-stream-reenter HOST EXPORT/FILE
 * From the first chunk's callback: nicfile_stat() and nicfile_validate()
 * answer; a nested nicfile_pread() on the same connection fails with
 * -EDEADLK and nicfile_close() of the file being streamed with -EBUSY,
 * instead of hanging or freeing it. The stream then completes. Exit 0 if
 * all of that holds, 1 if not (a hang is the caller's timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "nicfile.h"

struct ctx {
	struct nicfile_conn *c;
	struct nicfile_file *f;
	const char *path;
	unsigned chunks;
	int bad;
};

static void check(struct ctx *x, const char *what, long got, long want)
{
	printf("%s: %ld (%s)%s\n", what, got, got < 0 ? nicfile_strerror((int)got) : "ok",
	       got == want ? "" : "  <- wrong");
	if (got != want)
		x->bad = 1;
}

static int on_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	struct ctx *x = arg;
	(void)data; (void)len; (void)off;
	if (x->chunks++)
		return 0;
	struct nicfile_stat st = { 0 };
	char byte;
	check(x, "nicfile_stat from the callback", nicfile_stat(x->c, x->path, &st), 0);
	check(x, "nicfile_validate from the callback", nicfile_validate(x->f), 0);
	check(x, "nested nicfile_pread", (long)nicfile_pread(x->f, &byte, 1, 0), -EDEADLK);
	check(x, "nicfile_close of the streamed file", nicfile_close(x->f), -EBUSY);
	return 0;
}

int main(int argc, char **argv)
{
	struct nicfile_conn_opts o = { .timeout_ms = 30000, .connect_retry_ms = 60000, .chunk = 65536 };
	struct ctx x = { 0 };
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST EXPORT/FILE\n", argv[0]);
		return 2;
	}
	x.path = argv[2];
	if ((err = nicfile_connect(argv[1], &o, &x.c)) || (err = nicfile_open(x.c, x.path, &x.f))) {
		fprintf(stderr, "open %s: %s\n", x.path, nicfile_strerror(err));
		return 2;
	}
	err = nicfile_read_stream(x.f, 0, UINT64_MAX, on_chunk, &x);
	check(&x, "the stream", err, 0);
	printf("%u chunks\n", x.chunks);
	if (x.chunks < 2)
		x.bad = 1;
	check(&x, "nicfile_close after the stream", nicfile_close(x.f), 0);
	nicfile_disconnect(x.c);
	return x.bad;
}
