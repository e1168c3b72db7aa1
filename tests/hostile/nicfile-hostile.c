// SPDX-License-Identifier: MIT
/*
 * nicfile-hostile - a misbehaving client for the VM tests. Each scenario
 * runs on a fresh connection and sends something malformed or forbidden;
 * the server must answer with an error or drop that connection, and must
 * still serve a well-behaved client afterwards.
 *   nicfile-hostile HOST EXPORT/GOODFILE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

static const char *host, *good;
static int fails;
static struct nicfile_conn_opts opts = { .timeout_ms = 10000, .connect_retry_ms = 30000 };

static void set32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static struct nicfile_conn *conn(void)
{
	struct nicfile_conn *c;
	int err = nicfile_connect(host, &opts, &c);
	if (err) {
		printf("FAIL: cannot connect: %s\n", nicfile_strerror(err));
		exit(1);
	}
	return c;
}

/* Send raw bytes; a pass is an error reply or a dropped connection. */
static void raw(const char *what, const void *buf, size_t len)
{
	struct nicfile_conn *c = conn();
	uint8_t type = 0;
	int32_t status = 0;
	int err = nicfile__send_raw(c, buf, len, 5000, &type, &status);
	if (err == 0 && status < 0)
		printf("ok   %-40s -> %s %s\n", what, nf_type_name(type), nicfile_strerror(status));
	else if (err == -ECONNRESET || err == -EREMOTEIO || err == -ETIMEDOUT)
		printf("ok   %-40s -> no reply (%s)\n", what, nicfile_strerror(err));
	else {
		printf("FAIL %-40s -> err %d type %s status %d\n", what, err, nf_type_name(type), status);
		fails++;
	}
	nicfile_disconnect(c);
}

static size_t msg(uint8_t *buf, uint8_t type, const struct nf_msg *body)
{
	struct nf_msg m;
	if (body)
		m = *body;
	else
		memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = 77;
	int n = nf_encode(&m, buf, NF_MSG_MAX);
	return n < 0 ? 0 : (size_t)n;
}

static void expect_err(const char *what, int got, int want)
{
	if (got == want)
		printf("ok   %-40s -> %s\n", what, nicfile_strerror(got));
	else {
		printf("FAIL %-40s -> %s (wanted %s)\n", what, nicfile_strerror(got), nicfile_strerror(want));
		fails++;
	}
}

/* A handle that names a region by (addr, rkey, length) without an open of ours. */
static struct nicfile_file *forged(struct nicfile_conn *c, const struct nicfile_file *from)
{
	struct nicfile_file *f = calloc(1, sizeof(*f));
	if (!f)
		exit(1);
	f->conn = c;
	f->handle = 0x7fffffff;  /* not one of ours: a validate would say EBADF */
	f->addr = from->addr;
	f->rkey = from->rkey;
	f->length = from->length;
	return f;
}

/*
 * Client B reads with the rkey client A got for its open; client A reads
 * with its own rkey after closing the file. Both READs must fail (the QP
 * dies: EREMOTEIO), and the OPEN reply must not reveal a server address.
 */
static void steal_rkeys(void)
{
	struct nicfile_conn *a = conn(), *b = conn();
	struct nicfile_file *fa, *fake;
	char buf[4096];
	int err;

	if ((err = nicfile_open(a, good, &fa))) {
		expect_err("open for the rkey tests", err, 0);
		return;
	}
	printf("     (open: addr 0x%llx rkey 0x%x length %llu)\n", (unsigned long long)fa->addr,
	       fa->rkey, (unsigned long long)fa->length);
	expect_err("OPEN reply: remote address is offset 0", fa->addr == 0 ? 0 : -EFAULT, 0);
	ssize_t r = nicfile_pread(fa, buf, sizeof(buf), 0);
	expect_err("its owner reads with the rkey", r < 0 ? (int)r : 0, 0);
	fake = forged(b, fa);
	r = nicfile_pread(fake, buf, sizeof(buf), 0);
	expect_err("another client READs with that rkey", r < 0 ? (int)r : 0, -EREMOTEIO);
	free(fake);
	nicfile_disconnect(b);

	fake = forged(a, fa);
	nicfile_close(fa);
	r = nicfile_pread(fake, buf, sizeof(buf), 0);
	expect_err("the owner READs with its rkey after CLOSE", r < 0 ? (int)r : 0, -EREMOTEIO);
	free(fake);
	nicfile_disconnect(a);
}

int main(int argc, char **argv)
{
	static uint8_t buf[NF_MSG_MAX], big[NF_MSG_MAX];
	static struct nf_msg m;
	size_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HOST EXPORT/GOODFILE\n", argv[0]);
		return 2;
	}
	host = argv[1];
	good = argv[2];

	raw("empty message", buf, 0);
	raw("3 bytes", "abc", 3);
	n = msg(buf, NF_OPEN_REQ, NULL);
	buf[0] ^= 0x55;
	raw("bad magic", buf, n);
	n = msg(buf, NF_HELLO_REQ, NULL);
	buf[4] = 9;
	raw("protocol version 9", buf, n);
	n = msg(buf, NF_CLOSE_REQ, NULL);
	set32(buf + 8, 4000);
	raw("length field larger than message", buf, n);
	n = msg(buf, NF_CLOSE_REQ, NULL);
	buf[5] = 99;
	raw("unknown type 99", buf, n);
	strcpy(m.u.path.path, "xx/abc");
	n = msg(buf, NF_OPEN_REQ, &m);
	buf[NF_HDR_LEN + 2 + 2] = 0;
	raw("path with a NUL byte", buf, n);
	n = msg(buf, NF_OPEN_REQ, &m);
	buf[NF_HDR_LEN] = 0xff;
	buf[NF_HDR_LEN + 1] = 0x0f;
	raw("path length past the end", buf, n);
	n = msg(buf, NF_OPEN_REP, NULL);
	raw("a reply sent as a request", buf, n);
	n = msg(buf, NF_NOTIFY, &(struct nf_msg){ .u.notify = { 1, 2, NF_CHANGED } });
	raw("NOTIFY sent to the server", buf, n);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	raw("4096 bytes of noise", big, sizeof(big));
	memcpy(big, buf, NF_HDR_LEN);
	set32(big + 8, NF_MSG_MAX);
	raw("4096 bytes after a valid header", big, sizeof(big));
	uint32_t handles[] = { 0, 1, 65, 9999, 0xffffffffu };
	for (unsigned i = 0; i < 5; i++) {
		char what[64];
		snprintf(what, sizeof(what), "CLOSE of handle %u", handles[i]);
		n = msg(buf, NF_CLOSE_REQ, &(struct nf_msg){ .u.handle.handle = handles[i] });
		raw(what, buf, n);
		snprintf(what, sizeof(what), "CHECKSUM of handle %u", handles[i]);
		n = msg(buf, NF_CHECKSUM_REQ, &(struct nf_msg){ .u.handle.handle = handles[i] });
		raw(what, buf, n);
	}

	/* Well-formed but forbidden: escapes and limits. */
	struct nicfile_conn *c = conn();
	struct nicfile_file *f, *fs[80];
	char exp[256];
	snprintf(exp, sizeof(exp), "%.*s", (int)strcspn(good, "/"), good);
	char p[512];
	snprintf(p, sizeof(p), "%s/../../../etc/passwd", exp);
	expect_err("open EXPORT/../../../etc/passwd", nicfile_open(c, p, &f), -EXDEV);
	snprintf(p, sizeof(p), "%s//etc/passwd", exp);
	expect_err("open EXPORT//etc/passwd", nicfile_open(c, p, &f), -EXDEV);
	expect_err("open ../etc/passwd", nicfile_open(c, "../etc/passwd", &f), -ENOENT);
	expect_err("open no-such-export/x", nicfile_open(c, "no-such-export/x", &f), -ENOENT);
	/* Too many opens: the limit answers, the connection stays usable. */
	int opened = 0, err = 0;
	for (; opened < 80; opened++)
		if ((err = nicfile_open(c, good, &fs[opened])))
			break;
	expect_err("open the same file 80 times", err, -EMFILE);
	printf("     (%d opens succeeded first)\n", opened);
	for (int i = 0; i < opened; i++)
		nicfile_close(fs[i]);

	/* One-sided abuse: READ past the region. Our QP dies, not the server. */
	if ((err = nicfile_open(c, good, &f)) == 0) {
		char b[64];
		f->length += 1 << 20;   /* lie to ourselves about the size */
		ssize_t r = nicfile_pread(f, b, sizeof(b), f->length - 100);
		expect_err("RDMA READ past the end of the region", r < 0 ? (int)r : 0, -EREMOTEIO);
	} else {
		expect_err("open before the READ past the end", err, 0);
	}
	nicfile_disconnect(c);

	/* Capabilities: an rkey is good only for the open it came with. */
	steal_rkeys();

	/* And the server still serves a well-behaved client. */
	struct nicfile_stat st;
	c = conn();
	err = nicfile_open(c, good, &f);
	if (!err) {
		nicfile_fstat(f, &st);
		char *data = malloc(st.size + 1);
		ssize_t r = nicfile_pread(f, data, st.size, 0);
		err = r == (ssize_t)st.size ? nicfile_validate(f) : (int)(r < 0 ? r : -EIO);
		free(data);
		nicfile_close(f);
	}
	expect_err("a good client afterwards reads the file", err, 0);
	nicfile_disconnect(c);
	printf("hostile: %d failure(s)\n", fails);
	return fails != 0;
}
