// SPDX-License-Identifier: MIT
/*
 * file.c - the calls on paths (stat, list, open) and on open files (fstat,
 * validate, checksum, close): each one request and its reply, under the
 * connection's lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

/* The fields of struct nicfile_stat beyond comp_mask this version fills. */
#define STAT_COMP_KNOWN 0u

static void fill_stat(struct nicfile_stat *st, uint64_t size, int64_t mtime_ns, uint32_t perm,
		      int type, uint64_t generation, int mode)
{
	st->comp_mask &= STAT_COMP_KNOWN;
	st->size = size;
	st->mtime_ns = mtime_ns;
	st->perm = perm;
	st->type = type;
	st->generation = generation;
	st->mode = mode;
}

/* Default version 0.4 (comp_mask); 0.1's layout is in compat.c. */
__asm__(".symver nicfile_stat_v04, nicfile_stat@@NICFILE_0.4");
int nicfile_stat_v04(struct nicfile_conn *c, const char *path, struct nicfile_stat *st)
{
	struct nf_msg *req = malloc(sizeof(*req));
	int err;
	if (!req)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	err = conn_set_path(req, NF_STAT_REQ, path);
	if (!err)
		err = conn_rpc(c, req, NF_STAT_REP, c->timeout_ms);
	if (!err) {
		const struct nf_msg *r = c->reply;
		fill_stat(st, r->u.stat_rep.size, r->u.stat_rep.mtime_ns, r->u.stat_rep.perm,
			  r->u.stat_rep.ftype, r->u.stat_rep.generation, r->u.stat_rep.mode);
	}
	pthread_mutex_unlock(&c->lock);
	free(req);
	return err;
}

int nicfile_list(struct nicfile_conn *c, const char *path, nicfile_list_cb cb, void *arg)
{
	struct nf_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
	uint32_t cookie = 0;
	int err = req && rep ? 0 : -ENOMEM;

	for (unsigned round = 0; !err; round++) {
		pthread_mutex_lock(&c->lock);
		err = conn_set_path(req, NF_LIST_REQ, path);
		req->u.path.cookie = cookie;
		if (!err)
			err = conn_rpc(c, req, NF_LIST_REP, c->timeout_ms);
		if (!err)
			memcpy(rep, c->reply, sizeof(*rep));
		pthread_mutex_unlock(&c->lock);
		if (err)
			break;
		/* The callback runs without the lock: it may call the library. */
		for (unsigned i = 0; i < rep->u.list_rep.count; i++) {
			struct nicfile_dirent e = { .name = rep->u.list_rep.e[i].name,
						    .type = rep->u.list_rep.e[i].type,
						    .size = rep->u.list_rep.e[i].size };
			if ((err = cb(&e, arg)))
				break;
		}
		/* The cookie must move forward, so a server cannot loop us forever. */
		if (err || rep->u.list_rep.next_cookie == 0)
			break;
		if (rep->u.list_rep.next_cookie <= cookie) {
			err = -EBADMSG;
			break;
		}
		cookie = rep->u.list_rep.next_cookie;
	}
	free(req);
	free(rep);
	return err;
}

int nicfile_open(struct nicfile_conn *c, const char *path, struct nicfile_file **out)
{
	struct nf_msg *req = malloc(sizeof(*req));
	struct nicfile_file *f = calloc(1, sizeof(*f));
	int err = req && f ? 0 : -ENOMEM;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (!err)
		err = conn_set_path(req, NF_OPEN_REQ, path);
	if (!err)
		err = conn_rpc(c, req, NF_OPEN_REP, c->timeout_ms);
	if (!err) {
		const struct nf_msg *r = c->reply;
		f->conn = c;
		f->handle = r->u.open_rep.handle;
		f->addr = r->u.open_rep.addr;
		f->rkey = r->u.open_rep.rkey;
		f->length = r->u.open_rep.length;
		f->generation = r->u.open_rep.generation;
		f->mode = r->u.open_rep.mode;
		f->ftype = r->u.open_rep.ftype;
		f->perm = r->u.open_rep.perm;
		f->mtime_ns = r->u.open_rep.mtime_ns;
		f->next = c->files;
		c->files = f;
		*out = f;
		f = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	free(req);
	free(f);
	return err;
}

__asm__(".symver nicfile_fstat_v04, nicfile_fstat@@NICFILE_0.4");
int nicfile_fstat_v04(struct nicfile_file *f, struct nicfile_stat *st)
{
	fill_stat(st, f->length, f->mtime_ns, f->perm, f->ftype, f->generation, f->mode);
	return 0;
}

static int handle_rpc(struct nicfile_file *f, uint8_t type, uint8_t want, int timeout_ms)
{
	struct nf_msg req = { .type = type, .u.handle.handle = f->handle };
	return conn_rpc(f->conn, &req, want, timeout_ms);
}

int nicfile_close(struct nicfile_file *f)
{
	struct nicfile_conn *c;
	int err;
	if (!f)
		return 0;
	c = f->conn;
	pthread_mutex_lock(&c->lock);
	if (f->streaming) {      /* from a callback of its own stream */
		pthread_mutex_unlock(&c->lock);
		return -EBUSY;
	}
	err = c->dead ? 0 : handle_rpc(f, NF_CLOSE_REQ, NF_CLOSE_REP, c->timeout_ms);
	for (struct nicfile_file **p = &c->files; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	free(f);
	return err;
}

int file_validate_locked(struct nicfile_file *f)
{
	struct nicfile_conn *c = f->conn;
	int err;

	conn_poll_cq(c);      /* pick up a NOTIFY that is already there */
	err = handle_rpc(f, NF_VALIDATE_REQ, NF_VALIDATE_REP, c->timeout_ms);
	if (!err && (c->reply->u.validate_rep.generation != f->generation ||
		     c->reply->u.validate_rep.size != f->length))
		err = -ESTALE;
	if (err == -ESTALE)
		f->stale = 1;
	if (!err && f->stale)
		err = -ESTALE;
	return err;
}

int nicfile_validate(struct nicfile_file *f)
{
	struct nicfile_conn *c = f->conn;
	int err;
	pthread_mutex_lock(&c->lock);
	err = file_validate_locked(f);
	pthread_mutex_unlock(&c->lock);
	return err;
}

int nicfile_checksum(struct nicfile_file *f, uint8_t sha256[32])
{
	struct nicfile_conn *c = f->conn;
	int err;
	pthread_mutex_lock(&c->lock);
	/* Hashing a large file takes the server a while; allow for it. */
	err = handle_rpc(f, NF_CHECKSUM_REQ, NF_CHECKSUM_REP, c->timeout_ms * 8);
	if (!err) {
		memcpy(sha256, c->reply->u.checksum_rep.sha256, 32);
		if (c->reply->u.checksum_rep.generation != f->generation)
			err = -ESTALE;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}
