// SPDX-License-Identifier: MIT
/*
 * rpc.c - one request, one reply over SEND/RECV (doc/protocol.md). The
 * caller holds the connection's lock; while it waits for the reply the
 * completion engine also completes READs and takes NOTIFYs.
 */
#include <errno.h>
#include <string.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

/* Post the send slot's first @len bytes; the reply to @seq is awaited. */
static int post_request(struct nicfile_conn *c, size_t len, uint32_t seq)
{
	struct ibv_sge sge = { .addr = (uintptr_t)conn_send_slot(c), .length = (uint32_t)len,
			       .lkey = c->msg_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = TAG_SEND, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	c->waiting = 1;
	c->waiting_seq = seq;
	c->have_reply = 0;
	c->send_busy = 1;
	if (ibv_post_send(c->id->qp, &wr, &bad)) {
		c->waiting = 0;
		c->send_busy = 0;
		conn_mark_dead(c, -ECONNRESET);
		return c->dead;
	}
	return 0;
}

/* Wait until the reply is in and the send slot is free again, or @deadline. */
static int await_reply(struct nicfile_conn *c, int64_t deadline)
{
	int err = 0;
	while ((!c->have_reply || c->send_busy) && !c->dead)
		if ((err = conn_wait_progress(c, deadline)) == -ETIMEDOUT)
			break;
	c->waiting = 0;
	return err;
}

int conn_rpc(struct nicfile_conn *c, struct nf_msg *req, uint8_t want, int timeout_ms)
{
	int len, err;

	if (c->dead)
		return c->dead;
	req->seq = ++c->seq;
	len = nf_encode(req, conn_send_slot(c), NF_MSG_MAX);
	if (len < 0)
		return len;
	if ((err = post_request(c, (size_t)len, req->seq)))
		return err;
	if (await_reply(c, nf_now_ms() + timeout_ms) == -ETIMEDOUT)
		conn_mark_dead(c, -ETIMEDOUT);
	if (!c->have_reply)
		return c->dead ? c->dead : -ETIMEDOUT;
	if (c->reply->type == NF_ERROR_REP)
		return c->reply->status;
	if (c->reply->type != want) {
		conn_mark_dead(c, -EBADMSG);
		return -EBADMSG;
	}
	return c->reply->status;
}

int conn_set_path(struct nf_msg *m, uint8_t type, const char *path)
{
	size_t n;
	memset(m, 0, sizeof(*m));
	m->type = type;
	while (*path == '/')     /* HOST:/export/file and export/file mean the same */
		path++;
	n = strlen(path);
	if (n > NF_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(m->u.path.path, path, n + 1);
	m->u.path.len = (uint16_t)n;
	return 0;
}

/* Internal: hand a raw, possibly malformed message to the server (tests). */
int nicfile__send_raw(struct nicfile_conn *c, const void *buf, size_t len, int wait_ms,
		      uint8_t *reply_type, int32_t *reply_status)
{
	const uint8_t *b = buf;
	int err;

	if (len > NF_MSG_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&c->lock);
	err = c->dead;
	if (!err) {
		memcpy(conn_send_slot(c), buf, len);
		/* Accept whatever reply comes back to the seq the bytes carry. */
		err = post_request(c, len, len >= 16 ? (uint32_t)b[12] | (uint32_t)b[13] << 8 |
				   (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24 : 0);
	}
	if (!err) {
		await_reply(c, nf_now_ms() + wait_ms);
		if (c->have_reply) {
			*reply_type = c->reply->type;
			*reply_status = c->reply->status;
		} else {
			err = c->dead ? c->dead : -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}
