// SPDX-License-Identifier: MIT
/*
 * read.c - the READ pipeline: up to depth one-sided RDMA READs in flight,
 * one per staging slot, delivered to the caller in file order, and the
 * file validated with the server after every read that completes.
 *
 * The staging slots belong to one stream at a time (pipe_busy). The
 * caller's callback runs without the connection's lock, so it may call the
 * library; no READ targets the slot it is reading, since only the stream
 * itself posts READs.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

static int post_read(struct nicfile_conn *c, struct nicfile_file *f, unsigned slot,
		     uint64_t off, uint32_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)c->data + (size_t)slot * c->chunk,
			       .length = len, .lkey = c->data_mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = TAG_READ | slot, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_RDMA_READ, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = f->addr + off, .rkey = f->rkey },
	}, *bad;
	c->slot_done[slot] = 0;
	if (ibv_post_send(c->id->qp, &wr, &bad)) {
		conn_mark_dead(c, -ECONNRESET);
		return c->dead;
	}
	c->reads_out++;
	return 0;
}

/* Wait until no READ is in flight, so the staging buffer is ours again. */
static void drain_reads(struct nicfile_conn *c)
{
	int64_t deadline = nf_now_ms() + c->timeout_ms;
	while (c->reads_out && !c->dead)
		if (conn_wait_progress(c, deadline) == -ETIMEDOUT)
			conn_mark_dead(c, -ETIMEDOUT);
}

/* Take the staging slots for this thread's stream (lock held). */
static int pipe_take(struct nicfile_conn *c)
{
	if (c->pipe_busy && pthread_equal(c->pipe_owner, pthread_self()))
		return -EDEADLK;   /* a read from this stream's own callback */
	while (c->pipe_busy)
		pthread_cond_wait(&c->pipe_free, &c->lock);
	c->pipe_busy = 1;
	c->pipe_owner = pthread_self();
	return 0;
}

static void pipe_release(struct nicfile_conn *c)
{
	c->pipe_busy = 0;
	pthread_cond_broadcast(&c->pipe_free);
}

/* Stream [off, end) through @cb (lock and pipe held; the lock is dropped around @cb). */
static int stream(struct nicfile_file *f, uint64_t off, uint64_t end, nicfile_chunk_cb cb, void *arg)
{
	struct nicfile_conn *c = f->conn;
	uint64_t next_post = off, next_deliver = off;
	unsigned posted = 0, delivered = 0;
	int err = 0;

	while (next_deliver < end) {
		if (c->dead)
			return c->dead;
		if (f->stale)
			return -ESTALE;
		/* Keep the pipe full: up to depth READs, one per staging slot. */
		while (next_post < end && posted - delivered < c->depth) {
			uint32_t n = end - next_post > c->chunk ? c->chunk : (uint32_t)(end - next_post);
			if ((err = post_read(c, f, posted % c->depth, next_post, n)))
				return err;
			next_post += n;
			posted++;
		}
		unsigned slot = delivered % c->depth;
		if (!c->slot_done[slot]) {
			if (conn_wait_progress(c, nf_now_ms() + c->timeout_ms) == -ETIMEDOUT)
				conn_mark_dead(c, -ETIMEDOUT);
			continue;
		}
		uint32_t n = end - next_deliver > c->chunk ? c->chunk : (uint32_t)(end - next_deliver);
		c->slot_done[slot] = 0;
		pthread_mutex_unlock(&c->lock);
		err = cb(c->data + (size_t)slot * c->chunk, n, next_deliver, arg);
		pthread_mutex_lock(&c->lock);
		if (err)
			return err;
		next_deliver += n;
		delivered++;
	}
	return 0;
}

int nicfile_read_stream(struct nicfile_file *f, uint64_t off, uint64_t len,
			nicfile_chunk_cb cb, void *arg)
{
	struct nicfile_conn *c = f->conn;
	uint64_t end;
	int err;

	if (off >= f->length || len == 0)
		return 0;
	end = len > f->length - off ? f->length : off + len;
	pthread_mutex_lock(&c->lock);
	if ((err = pipe_take(c))) {
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	f->streaming++;
	err = stream(f, off, end, cb, arg);
	drain_reads(c);
	f->streaming--;
	pipe_release(c);
	if (c->free_after_stream) {
		/* nicfile_disconnect() from the callback: the connection goes now. */
		pthread_mutex_unlock(&c->lock);
		conn_destroy(c);
		return -ECANCELED;
	}
	/* A READ error after the server said the file changed is that change. */
	if (err && err != -ESTALE && f->stale && (err == -EREMOTEIO || err == -ECONNRESET))
		err = -ESTALE;
	/*
	 * Every read that completes is validated before it counts: data that
	 * changed under the READs (a write, a store through a mapping, a
	 * truncate) comes back as -ESTALE, never as a good read.
	 */
	if (!err)
		err = file_validate_locked(f);
	pthread_mutex_unlock(&c->lock);
	return err;
}

struct copy_arg { uint8_t *dst; uint64_t base; };

static int copy_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	struct copy_arg *a = arg;
	memcpy(a->dst + (off - a->base), data, len);
	return 0;
}

ssize_t nicfile_pread(struct nicfile_file *f, void *buf, size_t len, uint64_t off)
{
	struct copy_arg a = { .dst = buf, .base = off };
	int err;
	if (off >= f->length)
		return 0;
	if (len > f->length - off)
		len = (size_t)(f->length - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	err = nicfile_read_stream(f, off, len, copy_chunk, &a);
	return err ? err : (ssize_t)len;
}
