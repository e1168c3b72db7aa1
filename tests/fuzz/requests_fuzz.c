// SPDX-License-Identifier: MIT
/*
 * requests_fuzz - nicfiled's request handler (server/requests.c,
 * handle_request) driven with bytes, through a fake transport.
 *
 * The real handler, exports, confinement and file table run against a
 * real directory tree; what is fake is what needs a NIC: the client's
 * transport (client.c: a reply is captured instead of posted; an open
 * takes a handle without registering an MR) and the file registration
 * (region.c: a region is the file's length, no MR). Each input is one
 * client's session: a flags byte, then messages, each a 16-bit
 * little-endian length and that many bytes, handed to handle_request
 * exactly as a receive completion would.
 *
 * Properties, any breach an abort (besides ASan/UBSan):
 *  - every message gets exactly one reply, which encodes, decodes back to
 *    the same bytes, is a reply type, and carries the request's seq;
 *  - an open succeeds only for a regular file inside an export the client
 *    may see, never for the file outside the exports (a symlink and ".."
 *    paths point at it);
 *  - an export the client may not see is neither listed nor answered for;
 *  - a CHECKSUM reply is the SHA-256 of the file's bytes;
 *  - a session leaves no file of the table referenced once its handles
 *    are closed.
 *
 * Build: make -f userland.mk build/tests/fuzz/requests-fuzz (clang libFuzzer).
 * Short run: tests/host/nicfile-fuzz-requests.test; long: that with --long.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "nicfile.h"
#include "proto.h"
#include "sha256.h"
#include "server.h"

int log_verbose;

#define MAX_OPEN 8
#define MAX_MSGS 16

static struct server srv;
static struct client cl;
static struct handle handles[MAX_OPEN];
static struct stat secret_st;
static unsigned replies;
static uint8_t want_type;
static int want_seq_set;
static uint32_t want_seq;
static char root[] = "/dev/shm/nicfile-fuzz.XXXXXX";

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "requests-fuzz: " __VA_ARGS__); \
	fputc('\n', stderr); abort(); } } while (0)

/* ------------------------------------------------------------ fake registration (region.c) */

struct nicfile_region { uint64_t length; };

int nicfile_region_register(struct ibv_pd *pd, int fd, unsigned flags, struct nicfile_region **out)
{
	struct stat st;
	(void)pd; (void)flags;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->length = (uint64_t)st.st_size;
	return 0;
}

void nicfile_region_free(struct nicfile_region *r) { free(r); }
uint64_t nicfile_region_length(const struct nicfile_region *r) { return r ? r->length : 0; }
int nicfile_region_mode(const struct nicfile_region *r) { (void)r; return NICFILE_MODE_PINNED; }
int nicfile_region_prefetch(struct nicfile_region *r, uint64_t off, uint64_t len)
{
	(void)r; (void)off; (void)len;
	return 0;
}

/* A client's MR of a file: only its rkey is read; freed by ibv_dereg_mr() below. */
int nicfile_region_reg_mr(const struct nicfile_region *r, struct ibv_pd *pd, struct ibv_mr **out)
{
	(void)r; (void)pd;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->rkey = 0x1234;
	return 0;
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	free(mr);
	return 0;
}

/* ------------------------------------------------------------ fake workers (workers.c) */

/*
 * A job runs at once, and its done() once handle_request() has returned, as
 * on the loop: the same order of events as with threads, deterministically.
 */
static struct job *job_pending;

int workers_submit(struct workers *w, struct job *j)
{
	(void)w;
	CHECK(!job_pending, "a second job while one is pending");
	j->run(j);
	job_pending = j;
	return 0;
}

static void jobs_complete(void)
{
	struct job *j = job_pending;

	job_pending = NULL;
	if (j)
		j->done(j);
}

/* ------------------------------------------------------------ fake transport (client.c) */

static void check_checksum(const struct nf_msg *m)
{
	struct handle *o = client_handle(&srv, &cl, cl.req.u.handle.handle);
	static uint8_t buf[1 << 16];
	struct nf_sha256 h;
	uint8_t sum[32];
	uint64_t off = 0, len = nicfile_region_length(o->f->region);
	ssize_t n;

	nf_sha256_init(&h);
	while (off < len && (n = pread(o->f->fd, buf, sizeof(buf), (off_t)off)) > 0) {
		nf_sha256_update(&h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	nf_sha256_final(&h, sum);
	CHECK(!memcmp(sum, m->u.checksum_rep.sha256, 32), "CHECKSUM of %s: not the file's SHA-256", o->f->name);
}

/* Export y does not exist for this client: not listed, nothing under it answered. */
static void check_invisible(const struct nf_msg *m)
{
	const struct nf_msg *q = &cl.req;
	const char *p = q->u.path.path;

	if (m->status || (m->type != NF_OPEN_REP && m->type != NF_STAT_REP && m->type != NF_LIST_REP))
		return;
	CHECK(!(p[0] == 'y' && (p[1] == 0 || p[1] == '/')), "%s of '%s' answered: export y is not visible",
	      nf_type_name(m->type), p);
	if (m->type == NF_LIST_REP && p[0] == 0)
		for (unsigned i = 0; i < m->u.list_rep.count; i++)
			CHECK(!strcmp(m->u.list_rep.e[i].name, "x"), "the export list shows '%s'",
			      m->u.list_rep.e[i].name);
}

int client_send(struct server *s, struct client *c, struct nf_msg *m)
{
	static uint8_t wire[NF_MSG_MAX], again[NF_MSG_MAX];
	static struct nf_msg back;
	int n, n2;

	(void)s; (void)c;
	replies++;
	CHECK(nf_is_reply(m->type), "sent a %s, not a reply", nf_type_name(m->type));
	CHECK(m->type == want_type || m->type == NF_ERROR_REP, "a %s answers a request that wants %s",
	      nf_type_name(m->type), nf_type_name(want_type));
	CHECK(!want_seq_set || m->seq == want_seq, "reply seq %u, request seq %u", m->seq, want_seq);
	n = nf_encode(m, wire, sizeof(wire));
	CHECK(n > 0, "the reply (%s, status %d) does not encode: %d", nf_type_name(m->type), m->status, n);
	CHECK(nf_decode(wire, (size_t)n, &back, NULL) == 0, "the reply (%s) does not decode", nf_type_name(m->type));
	n2 = nf_encode(&back, again, sizeof(again));
	CHECK(n2 == n && !memcmp(wire, again, (size_t)n), "the reply (%s) changes on a round trip",
	      nf_type_name(m->type));
	if (m->type == NF_CHECKSUM_REP && m->status == 0)
		check_checksum(m);
	check_invisible(m);
	return 0;
}

void client_drop(struct server *s, struct client *c, const char *why)
{
	(void)s; (void)why;
	c->closing = 1;
}

int client_open(struct server *s, struct client *c, struct nf_file *f, struct ibv_mr *mr, uint32_t *handle)
{
	struct stat st;
	unsigned slot;

	CHECK(fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode), "opened %s, not a regular file", f->name);
	CHECK(!(st.st_dev == secret_st.st_dev && st.st_ino == secret_st.st_ino),
	      "opened the file outside the exports as %s", f->name);
	CHECK(c->exports & (1u << f->export_idx), "opened %s in an export the client may not see", f->name);
	if (c->nopen >= s->max_open)
		return -EMFILE;
	for (slot = 0; c->open[slot].f; slot++)
		;
	c->open[slot].f = f;
	c->open[slot].mr = mr;
	c->nopen++;
	*handle = slot + 1;
	return 0;
}

/* Not reached: one message at a time, nothing queued, the client never gone. */
const uint8_t *client_recv_buf(struct client *c, unsigned slot)
{
	(void)c; (void)slot;
	CHECK(0, "client_recv_buf() called");
	return NULL;
}

int client_repost(struct client *c, unsigned slot)
{
	(void)c; (void)slot;
	CHECK(0, "client_repost() called");
	return -1;
}

void client_free(struct server *s, struct client *c)
{
	(void)s; (void)c;
	CHECK(0, "client_free() called");
}

void client_close(struct server *s, struct client *c, uint32_t h)
{
	struct handle *o = &c->open[h - 1];
	files_put(&s->files, o->f);
	ibv_dereg_mr(o->mr);
	o->f = NULL;
	c->nopen--;
}

/* ------------------------------------------------------------ the tree */

static void put(const char *rel, const void *data, size_t len, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len && close(fd) == 0, "cannot write %s", p);
}

static void mk(const char *rel, const char *link_to)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (link_to)
		CHECK(symlink(link_to, p) == 0, "symlink %s", p);
	else
		CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);
}

static int open_export(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0, "open %s", p);
	return fd;
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "requests-fuzz: could not remove %s\n", root);
}

/*
 *   ROOT/secret                  outside every export
 *   ROOT/x/{f1,big,empty}        export x (visible)
 *   ROOT/x/dir/{sub,deeper/g}
 *   ROOT/x/{escape,abs,loop,dotdot}  symlinks: ../secret, /etc/passwd, itself, dir/../../secret
 *   ROOT/x/fifo
 *   ROOT/y/f                     export y (not visible to the client)
 */
static void make_tree(void)
{
	static uint8_t big[5000];   /* more than a page; small, as hashing it is not the point */
	char p[256];

	CHECK(mkdtemp(root) || (strcpy(root, "/tmp/nicfile-fuzz.XXXXXX"), mkdtemp(root)), "mkdtemp");
	atexit(cleanup);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 2654435761u >> 24);
	put("secret", "the key of the server", 21, 0600);
	mk("x", NULL);
	mk("y", NULL);
	mk("x/dir", NULL);
	mk("x/dir/deeper", NULL);
	put("x/f1", "hello", 5, 0644);
	put("x/big", big, sizeof(big), 0644);
	put("x/empty", "", 0, 0644);
	put("x/dir/sub", "sub", 3, 0644);
	put("x/dir/deeper/g", "g", 1, 0644);
	put("y/f", "y", 1, 0644);
	mk("x/escape", "../secret");
	mk("x/abs", "/etc/passwd");
	mk("x/loop", "loop");
	mk("x/dotdot", "dir/../../secret");
	snprintf(p, sizeof(p), "%s/x/fifo", root);
	CHECK(mkfifo(p, 0644) == 0, "mkfifo");
	snprintf(p, sizeof(p), "%s/secret", root);
	CHECK(stat(p, &secret_st) == 0, "stat secret");
	/* Out of the current timestamp tick, so opens need not wait for it (files.c, settle). */
	struct timespec old[2] = { { 1, 0 }, { 1, 0 } };
	const char *files[] = { "secret", "x/f1", "x/big", "x/empty", "x/dir/sub", "x/dir/deeper/g", "y/f" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, files[i]);
		utimensat(AT_FDCWD, p, old, 0);
	}
}

static void init(void)
{
	make_tree();
	srv.exports[0] = (struct export){ .name = "x", .dir = "x", .fd = open_export("x") };
	srv.exports[1] = (struct export){ .name = "y", .dir = "y", .fd = open_export("y") };
	srv.nexports = 2;
	srv.max_open = MAX_OPEN;
	srv.max_clients = 4;
	CHECK(files_init(&srv.files) == 0, "files_init");
	srv.files.on_change = NULL;   /* nothing changes the tree while the fuzzer runs */
}

/* ------------------------------------------------------------ seeds */

struct seed { uint8_t buf[16384]; size_t len; uint32_t seq; };

static void seed_msg(struct seed *sd, uint8_t type, const char *path, uint32_t arg)
{
	static struct nf_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = ++sd->seq;
	if (type == NF_HELLO_REQ) {
		m.u.hello_req.min_version = (uint16_t)(arg ? arg : NF_VERSION);
		m.u.hello_req.max_version = (uint16_t)(arg ? arg : NF_VERSION);
	} else if (path) {
		m.u.path.len = (uint16_t)strlen(path);
		memcpy(m.u.path.path, path, m.u.path.len + 1);
		m.u.path.cookie = arg;
	} else {
		m.u.handle.handle = arg;
	}
	int n = nf_encode(&m, sd->buf + sd->len + 2, sizeof(sd->buf) - sd->len - 2);
	CHECK(n > 0, "seed does not encode");
	sd->buf[sd->len] = (uint8_t)n;
	sd->buf[sd->len + 1] = (uint8_t)(n >> 8);
	sd->len += 2 + (size_t)n;
}

static void seed_write(const char *dir, int i, struct seed *sd)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/seed-%02d", dir, i);
	FILE *f = fopen(p, "wb");
	CHECK(f && fwrite(sd->buf, 1, sd->len, f) == sd->len && fclose(f) == 0, "cannot write %s", p);
	memset(sd, 0, sizeof(*sd));
}

/* NICFILE_FUZZ_SEEDS=DIR: write sessions of valid messages there, then run as asked. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct seed sd;
	const char *dir = getenv("NICFILE_FUZZ_SEEDS");
	const char *bad_paths[] = { "x/escape", "x/dotdot", "x/abs", "x/fifo", "x/dir", "y/f", "x/../secret",
				    "/etc/passwd", "x//etc/passwd", "x/loop", "x/f1/", "x/./f1", "nope/f" };
	int i = 0;

	(void)argc; (void)argv;
	if (!dir)
		return 0;
	sd.buf[sd.len++] = 0;
	seed_msg(&sd, NF_HELLO_REQ, NULL, 0);
	seed_msg(&sd, NF_OPEN_REQ, "x/f1", 0);
	seed_msg(&sd, NF_CHECKSUM_REQ, NULL, 1);
	seed_msg(&sd, NF_VALIDATE_REQ, NULL, 1);
	seed_msg(&sd, NF_CLOSE_REQ, NULL, 1);
	seed_write(dir, i++, &sd);
	sd.buf[sd.len++] = 0;
	seed_msg(&sd, NF_HELLO_REQ, NULL, 0);
	seed_msg(&sd, NF_LIST_REQ, "x", 0);
	seed_msg(&sd, NF_LIST_REQ, "x", 3);
	seed_msg(&sd, NF_LIST_REQ, "", 0);
	seed_msg(&sd, NF_STAT_REQ, "x/dir", 0);
	seed_msg(&sd, NF_STAT_REQ, "", 0);
	seed_write(dir, i++, &sd);
	sd.buf[sd.len++] = 1;
	for (size_t k = 0; k < sizeof(bad_paths) / sizeof(bad_paths[0]); k++)
		seed_msg(&sd, NF_OPEN_REQ, bad_paths[k], 0);
	seed_write(dir, i++, &sd);
	sd.buf[sd.len++] = 1;
	seed_msg(&sd, NF_OPEN_REQ, "x/big", 0);
	seed_msg(&sd, NF_OPEN_REQ, "x/big", 0);
	seed_msg(&sd, NF_CHECKSUM_REQ, NULL, 1);
	seed_msg(&sd, NF_CHECKSUM_REQ, NULL, 2);
	seed_msg(&sd, NF_CLOSE_REQ, NULL, 2);
	seed_msg(&sd, NF_CLOSE_REQ, NULL, 2);
	seed_msg(&sd, NF_VALIDATE_REQ, NULL, 9);
	seed_msg(&sd, NF_OPEN_REQ, "x/empty", 0);
	seed_msg(&sd, NF_CHECKSUM_REQ, NULL, 2);
	seed_msg(&sd, NF_OPEN_REQ, "x/dir/deeper/g", 0);
	seed_write(dir, i++, &sd);
	sd.buf[sd.len++] = 1;
	seed_msg(&sd, NF_STAT_REQ, "x/loop", 0);
	seed_msg(&sd, NF_LIST_REQ, "x/dir/deeper", 0);
	seed_msg(&sd, NF_LIST_REQ, "x/f1", 0);
	seed_msg(&sd, NF_STAT_REQ, "x/nonexistent", 0);
	seed_msg(&sd, NF_STAT_REQ, "x/escape", 0);
	seed_msg(&sd, NF_LIST_REQ, "x/dir/..", 0);
	seed_write(dir, i++, &sd);
	sd.buf[sd.len++] = 1;
	for (int k = 0; k < MAX_OPEN + 1; k++)
		seed_msg(&sd, NF_OPEN_REQ, "x/f1", 0);
	seed_write(dir, i++, &sd);
	sd.buf[sd.len++] = 0;
	seed_msg(&sd, NF_OPEN_REQ, "x/f1", 0);     /* before HELLO */
	seed_msg(&sd, NF_HELLO_REQ, NULL, 7);       /* another version */
	seed_msg(&sd, NF_HELLO_REQ, NULL, 0);
	seed_msg(&sd, NF_CLOSE_REQ, NULL, 0);
	seed_write(dir, i++, &sd);
	return 0;
}

/* ------------------------------------------------------------ one input */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t msg[NF_MSG_MAX + 64];

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	memset(&cl, 0, sizeof(cl));
	memset(handles, 0, sizeof(handles));
	cl.open = handles;
	cl.srv = &srv;
	cl.exports = 1u << 0;              /* export x only */
	cl.hello = data[0] & 1;            /* start past HELLO, or not */
	snprintf(cl.peer, sizeof(cl.peer), "fuzz");
	data++, size--;
	for (int i = 0; i < MAX_MSGS && size >= 2 && !cl.closing; i++) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2, size -= 2;
		if (len > size)
			len = size;
		if (len > sizeof(msg))
			len = sizeof(msg);
		/* A copy, as in a receive slot: the handler may not read past it (ASan). */
		uint8_t *m = len ? memcpy(malloc(len), data, len) : malloc(1);
		data += len, size -= len;
		/* What the reply must carry: the request's seq once there is a header to take it from. */
		want_type = len >= 6 ? (uint8_t)(m[5] + 1) : NF_ERROR_REP;
		want_seq_set = len >= NF_HDR_LEN && len <= NF_MSG_MAX;
		want_seq = want_seq_set ? le32(m + 12) : 0;
		replies = 0;
		handle_request(&srv, &cl, m, len);
		jobs_complete();
		free(m);
		CHECK(replies == 1, "%u replies to one message of %zu bytes", replies, len);
	}
	for (uint32_t h = 1; h <= MAX_OPEN; h++)
		if (handles[h - 1].f)
			client_close(&srv, &cl, h);
	/* Kept a second after their last close, as nicfiled keeps them 30 s: the cache path runs too. */
	files_sweep(&srv.files, time(NULL), 1);
	for (struct nf_file *f = srv.files.list; f; f = f->next)
		CHECK(f->refs == 0, "%s still referenced after its session", f->name);
	return 0;
}
