// SPDX-License-Identifier: MIT
/*
 * requests.c - nicfiled's request handlers: one decoded request in, exactly
 * one reply out (doc/protocol.md). Paths go through the client's visible
 * exports and the confinement of confine.c; file data never goes through
 * here, only the description of the client's own region of it.
 *
 * A client's requests are answered in order, one at a time. HELLO, STAT
 * and VALIDATE are answered on the loop at once; OPEN, LIST, CHECKSUM and
 * CLOSE, whose work grows with a file or a directory, become the client's
 * job on a worker (workers.h), and its further requests wait in their
 * receive slots until the job is done. So a slow request delays its own
 * client only, and a client has at most one job and RECV_SLOTS requests
 * waiting.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "nicfile.h"
#include "../userlib/sha256.h"
#include "confine.h"
#include "server.h"
#include "log.h"

static uint8_t ftype_of(mode_t m)
{
	return S_ISREG(m) ? NICFILE_TYPE_REG : S_ISDIR(m) ? NICFILE_TYPE_DIR : NICFILE_TYPE_OTHER;
}

static struct client *job_client(struct job *j)
{
	return (struct client *)((char *)j - offsetof(struct client, job));
}

/* On a worker: register (or share) the file, then this client's MR of it. */
static void open_run(struct job *j)
{
	struct client *c = job_client(j);
	struct server *s = c->srv;
	const char *rest;
	int idx, err;

	c->job_file = NULL;
	c->job_mr = NULL;
	idx = exports_find(s, c, c->req.u.path.path, &rest);
	err = idx < 0 ? idx : 0;
	/* A file that changes while it is being registered is tried again. */
	for (int tries = 0; !err && tries < 3; tries++)
		if ((err = files_get(&s->files, idx, s->exports[idx].name, s->exports[idx].fd, rest,
				     &c->job_file)) != -EAGAIN)
			break;
	if (!err && (err = nicfile_region_reg_mr(c->job_file->region, c->pd, &c->job_mr)))
		log_warn("client %s: cannot register %s: %s", c->peer, c->job_file->name, nicfile_strerror(err));
	c->rep.status = err;
}

/* On the loop: the handle, and the reply. */
static void open_done(struct server *s, struct client *c)
{
	struct nf_msg *r = &c->rep;
	struct nf_file *f = c->job_file;
	uint32_t h;
	int err = r->status;

	if (!err && c->gone)
		err = -ECONNRESET;
	if (!err)
		err = client_open(s, c, f, c->job_mr, &h);
	if (err) {
		if (c->job_mr)
			ibv_dereg_mr(c->job_mr);
		if (f)
			files_put(&s->files, f);
		r->status = err;
		return;
	}
	r->u.open_rep.handle = h;
	r->u.open_rep.addr = 0;   /* zero-based: the peer reads byte N at address N */
	r->u.open_rep.rkey = c->job_mr ? c->job_mr->rkey : 0;   /* none for an empty file */
	r->u.open_rep.length = nicfile_region_length(f->region);
	r->u.open_rep.generation = f->generation;
	r->u.open_rep.mode = (uint8_t)nicfile_region_mode(f->region);
	r->u.open_rep.ftype = NICFILE_TYPE_REG;
	r->u.open_rep.perm = f->st0.st_mode & 07777;
	r->u.open_rep.mtime_ns = (int64_t)f->st0.st_mtim.tv_sec * 1000000000 + f->st0.st_mtim.tv_nsec;
	log_debug("client %s: open %s -> handle %u", c->peer, f->name, h);
}

static int do_stat(struct server *s, struct client *c, struct nf_msg *q, struct nf_msg *r)
{
	const char *rest;
	struct stat st;
	int idx, pfd = -1, err;

	if (q->u.path.path[0] == 0) {     /* the root of all exports */
		r->u.stat_rep.ftype = NICFILE_TYPE_DIR;
		r->u.stat_rep.perm = 0555;
		r->u.stat_rep.mode = -1;
		r->u.stat_rep.generation = 1;
		return 0;
	}
	idx = exports_find(s, c, q->u.path.path, &rest);
	if (idx < 0)
		return idx;
	err = confine_resolve(s->exports[idx].fd, rest, &pfd, &st);
	if (err)
		return err;
	close(pfd);
	r->u.stat_rep.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	r->u.stat_rep.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	r->u.stat_rep.perm = st.st_mode & 07777;
	r->u.stat_rep.ftype = ftype_of(st.st_mode);
	r->u.stat_rep.generation = files_generation_of(&st);
	r->u.stat_rep.mode = (int8_t)files_mode_of(&s->files, &st);
	return 0;
}

/* Bytes a LIST reply entry takes on the wire. */
static size_t entry_wire_len(size_t name_len) { return 1 + 8 + 2 + name_len; }

static int do_list(struct server *s, struct client *c, struct nf_msg *q, struct nf_msg *r)
{
	size_t used = NF_HDR_LEN + 4 + 4 + 2;
	uint32_t index = 0, cookie = q->u.path.cookie;
	const char *rest;
	struct dirent *de;
	DIR *d;
	int idx, fd;

	if (q->u.path.path[0] == 0) {      /* list the exports this client may see */
		for (int i = 0; i < s->nexports && r->u.list_rep.count < NF_LIST_MAX; i++) {
			if (!(c->exports & (1u << i)))
				continue;
			struct nf_dirent *e = &r->u.list_rep.e[r->u.list_rep.count++];
			e->type = NICFILE_TYPE_DIR;
			e->name_len = (uint16_t)strlen(s->exports[i].name);
			memcpy(e->name, s->exports[i].name, e->name_len + 1);
		}
		return 0;
	}
	idx = exports_find(s, c, q->u.path.path, &rest);
	if (idx < 0)
		return idx;
	fd = confine_open_dir(s->exports[idx].fd, rest);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* The cookie is the index of the next entry: stateless on our side. */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (index++ < cookie)
			continue;
		size_t n = strlen(de->d_name);
		if (n > NF_NAME_MAX)
			continue;
		if (r->u.list_rep.count == NF_LIST_MAX || used + entry_wire_len(n) > NF_MSG_MAX) {
			r->u.list_rep.next_cookie = index - 1;
			break;
		}
		struct stat st;
		struct nf_dirent *e = &r->u.list_rep.e[r->u.list_rep.count++];
		e->type = NICFILE_TYPE_OTHER;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			e->type = ftype_of(st.st_mode);
			e->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		}
		e->name_len = (uint16_t)n;
		memcpy(e->name, de->d_name, n + 1);
		used += entry_wire_len(n);
	}
	closedir(d);
	return 0;
}

/*
 * A descriptor of the same file opened O_DIRECT, or -1.  Hashing through it
 * leaves the page cache alone: a file served from the NVMe CMB must not be
 * pulled into it just because a client asked for a checksum.
 */
static int reopen_direct(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

/* Is @f still what was registered? Pending inotify events are read first. */
static int check_file(struct server *s, struct nf_file *f)
{
	files_inotify(&s->files);
	return files_check(&s->files, f, s->exports[f->export_idx].fd);
}

#define CHECKSUM_BUF (1u << 20)

static int do_checksum(struct server *s, struct nf_file *f, struct nf_msg *r)
{
	struct nf_sha256 h;
	uint64_t off = 0, len = nicfile_region_length(f->region);
	int err = check_file(s, f);
	int dfd, fd;
	/* O_DIRECT wants an aligned buffer; 4096 covers every block size here. */
	uint8_t *buf = err ? NULL : aligned_alloc(4096, CHECKSUM_BUF);

	if (err)
		return err;
	if (!buf)
		return -ENOMEM;
	dfd = reopen_direct(f->fd);
	fd = dfd >= 0 ? dfd : f->fd;
	/* pread, not the mapping: a truncate under us must not SIGBUS the server. */
	nf_sha256_init(&h);
	while (off < len && !err) {
		size_t want = len - off < CHECKSUM_BUF ? (size_t)(len - off) : CHECKSUM_BUF;
		ssize_t n;

		if (fd == dfd)	/* whole blocks; the read stops at EOF */
			want = (want + 4095) & ~(size_t)4095;
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0)
			err = -errno;
		else if (n == 0)
			err = -ESTALE;  /* shorter than registered: truncated */
		else {
			if ((uint64_t)n > len - off)
				n = (ssize_t)(len - off);  /* grown since: hash what was registered */
			nf_sha256_update(&h, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	free(buf);
	if (dfd >= 0)
		close(dfd);
	else
		posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (err)
		return err;
	nf_sha256_final(&h, r->u.checksum_rep.sha256);
	err = check_file(s, f);
	r->u.checksum_rep.generation = err ? f->generation ^ 2 : f->generation;
	return err;
}

static void list_run(struct job *j)
{
	struct client *c = job_client(j);
	c->rep.status = do_list(c->srv, c, &c->req, &c->rep);
}

static void checksum_run(struct job *j)
{
	struct client *c = job_client(j);
	c->rep.status = do_checksum(c->srv, c->open[c->job_handle - 1].f, &c->rep);
}

/* Deregistered before the reply: from then on the rkey is dead. */
static void close_run(struct job *j)
{
	struct client *c = job_client(j);
	struct handle *o = &c->open[c->job_handle - 1];
	if (o->mr)
		ibv_dereg_mr(o->mr);
	o->mr = NULL;
	c->rep.status = 0;
}

/* On the loop, after the job: finish, reply, start the next request. */
static void job_done(struct job *j)
{
	struct client *c = job_client(j);
	struct server *s = c->srv;

	c->busy = 0;
	if (c->req.type == NF_OPEN_REQ)
		open_done(s, c);
	else if (c->req.type == NF_CLOSE_REQ && !c->gone)
		client_close(s, c, c->job_handle);
	if (c->gone) {
		client_free(s, c);   /* off the list already; now it goes */
		return;
	}
	client_send(s, c, &c->rep);
	requests_next(s, c);
}

static void start_job(struct server *s, struct client *c, void (*run)(struct job *))
{
	int err;

	c->job.run = run;
	c->job.done = job_done;
	c->busy = 1;
	if ((err = workers_submit(&s->workers, &c->job))) {
		log_warn("client %s: no worker (%s): %s runs on the loop", c->peer, nicfile_strerror(err),
			 nf_type_name(c->req.type));
		run(&c->job);
		job_done(&c->job);
	}
}

static void bad_message(struct server *s, struct client *c, struct nf_msg *r, int err)
{
	r->type = NF_ERROR_REP;
	r->status = err;
	client_send(s, c, r);
	if (++c->strikes >= MAX_STRIKES)
		client_drop(s, c, "too many malformed messages");
}

void handle_request(struct server *s, struct client *c, const uint8_t *buf, size_t len)
{
	struct nf_msg *q = &c->req, *r = &c->rep;
	const char *why;
	struct handle *o;
	int err = nf_decode(buf, len, q, &why);

	memset(r, 0, sizeof(*r));
	r->seq = q->seq;
	if (err) {
		log_warn("client %s: bad message (%zu bytes): %s", c->peer, len, why ? why : "?");
		bad_message(s, c, r, err);
		return;
	}
	if (nf_is_reply(q->type) || q->type == NF_NOTIFY) {
		bad_message(s, c, r, -EBADMSG);
		return;
	}
	r->type = (uint8_t)(q->type + 1);   /* every request's reply follows it */
	if (q->type != NF_HELLO_REQ && !c->hello) {
		r->status = -EPROTO;
		client_send(s, c, r);
		return;
	}
	switch (q->type) {
	case NF_HELLO_REQ:
		if (q->u.hello_req.min_version > NF_VERSION || q->u.hello_req.max_version < NF_VERSION) {
			err = -EPROTONOSUPPORT;
			break;
		}
		c->hello = 1;
		r->u.hello_rep.version = NF_VERSION;
		r->u.hello_rep.max_open = (uint16_t)s->max_open;
		r->u.hello_rep.max_clients = s->max_clients;
		break;
	case NF_OPEN_REQ:
		if (c->nopen >= s->max_open) {
			err = -EMFILE;
			break;
		}
		start_job(s, c, open_run);
		return;
	case NF_STAT_REQ:
		err = do_stat(s, c, q, r);
		break;
	case NF_LIST_REQ:
		start_job(s, c, list_run);
		return;
	case NF_CLOSE_REQ:
	case NF_CHECKSUM_REQ:
		if (!client_handle(s, c, q->u.handle.handle)) {
			err = -EBADF;
			break;
		}
		c->job_handle = q->u.handle.handle;
		start_job(s, c, q->type == NF_CLOSE_REQ ? close_run : checksum_run);
		return;
	case NF_VALIDATE_REQ:
		if (!(o = client_handle(s, c, q->u.handle.handle))) {
			err = -EBADF;
			break;
		}
		err = check_file(s, o->f);
		r->u.validate_rep.generation = err ? o->f->generation ^ 2 : o->f->generation;
		r->u.validate_rep.size = nicfile_region_length(o->f->region);
		break;
	}
	r->status = err;
	client_send(s, c, r);
}

void requests_received(struct server *s, struct client *c, unsigned slot, uint32_t len)
{
	unsigned tail = (c->queue_head + c->queued) % RECV_SLOTS;

	c->last_heard = time(NULL);
	/* At most RECV_SLOTS receives are posted, so the queue cannot overflow. */
	c->queue[tail].slot = (uint8_t)slot;
	c->queue[tail].len = len;
	c->queued++;
	requests_next(s, c);
}

void requests_next(struct server *s, struct client *c)
{
	while (!c->busy && c->queued && !c->closing) {
		unsigned slot = c->queue[c->queue_head].slot;
		uint32_t len = c->queue[c->queue_head].len;

		c->queue_head = (c->queue_head + 1) % RECV_SLOTS;
		c->queued--;
		handle_request(s, c, client_recv_buf(c, slot), len);
		/* Decoded into c->req: the slot can take the next message. */
		if (!c->closing && client_repost(c, slot))
			client_drop(s, c, "cannot repost a receive");
	}
}
