// SPDX-License-Identifier: MIT
/*
 * cq.c - the client's completion engine. One completion queue serves
 * receives (replies and NOTIFYs), the send of a request and the pipelined
 * READs; its completion channel and the CM event channel are polled
 * together, so a server that dies or disconnects ends any wait with a
 * clear error.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

int64_t nf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void conn_mark_dead(struct nicfile_conn *c, int err)
{
	if (!c->dead)
		c->dead = err;
}

/* ------------------------------------------------------------ CM events */

static int private_data_is(const struct rdma_cm_event *ev, const char *what, size_t len)
{
	return ev->param.conn.private_data && ev->param.conn.private_data_len >= len &&
	       !memcmp(ev->param.conn.private_data, what, len);
}

/* Why nicfiled refused us: it says so in the REJ's private data. */
static int reject_reason(const struct rdma_cm_event *ev)
{
	if (private_data_is(ev, NF_REJECT_FULL, sizeof(NF_REJECT_FULL)))
		return -EUSERS;
	if (private_data_is(ev, NF_REJECT_DENIED, sizeof(NF_REJECT_DENIED)))
		return -EACCES;
	return -ECONNREFUSED;   /* nobody listening, or a server still starting */
}

int conn_wait_cm_event(struct nicfile_conn *c, enum rdma_cm_event_type want, int timeout_ms)
{
	int64_t deadline = nf_now_ms() + timeout_ms;
	for (;;) {
		struct rdma_cm_event *ev;
		struct pollfd p = { .fd = c->ec->fd, .events = POLLIN };
		int left = (int)(deadline - nf_now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -errno;
		if (rdma_get_cm_event(c->ec, &ev)) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		enum rdma_cm_event_type t = ev->event;
		int reject = t == RDMA_CM_EVENT_REJECTED ? reject_reason(ev) : 0;
		rdma_ack_cm_event(ev);
		if (t == want)
			return 0;
		switch (t) {
		case RDMA_CM_EVENT_REJECTED:
			return reject;
		case RDMA_CM_EVENT_ADDR_ERROR:
		case RDMA_CM_EVENT_ROUTE_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
			return -EHOSTUNREACH;
		case RDMA_CM_EVENT_CONNECT_ERROR:
			return -ECONNREFUSED;
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			return -ECONNRESET;
		default:
			break;   /* ignore anything else and keep waiting */
		}
	}
}

/* Notice a disconnect from the CM without blocking. */
static void check_cm(struct nicfile_conn *c)
{
	struct rdma_cm_event *ev;
	while (rdma_get_cm_event(c->ec, &ev) == 0) {
		if (ev->event == RDMA_CM_EVENT_DISCONNECTED ||
		    ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL ||
		    ev->event == RDMA_CM_EVENT_TIMEWAIT_EXIT)
			conn_mark_dead(c, -ECONNRESET);
		rdma_ack_cm_event(ev);
	}
}

/* ------------------------------------------------------------ posting */

static uint8_t *recv_slot(struct nicfile_conn *c, unsigned i)
{
	return c->msg_buf + (size_t)i * NF_MSG_MAX;
}

uint8_t *conn_send_slot(struct nicfile_conn *c)
{
	return c->msg_buf + (size_t)RECV_SLOTS * NF_MSG_MAX;
}

int conn_post_recv(struct nicfile_conn *c, unsigned i)
{
	struct ibv_sge sge = { .addr = (uintptr_t)recv_slot(c, i), .length = NF_MSG_MAX,
			       .lkey = c->msg_mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = TAG_RECV | i, .sg_list = &sge, .num_sge = 1 }, *bad;
	return -ibv_post_recv(c->id->qp, &wr, &bad);
}

/* ------------------------------------------------------------ completions */

static void handle_message(struct nicfile_conn *c, const uint8_t *buf, size_t len)
{
	struct nf_msg *m = c->scratch;
	if (nf_decode(buf, len, m, NULL)) {
		conn_mark_dead(c, -EBADMSG);
		return;
	}
	if (m->type == NF_NOTIFY) {
		for (struct nicfile_file *f = c->files; f; f = f->next)
			if (f->handle == m->u.notify.handle)
				f->stale = 1;
		return;
	}
	if (!nf_is_reply(m->type) || !c->waiting || m->seq != c->waiting_seq)
		return;    /* a late reply to a request we gave up on */
	memcpy(c->reply, m, sizeof(*m));
	c->waiting = 0;
	c->have_reply = 1;
}

static void handle_wc(struct nicfile_conn *c, const struct ibv_wc *wc)
{
	uint64_t tag = wc->wr_id & TAG_MASK, idx = wc->wr_id & ~TAG_MASK;

	if (wc->status != IBV_WC_SUCCESS) {
		if (tag == TAG_READ && c->reads_out)
			c->reads_out--;
		if (tag == TAG_SEND)
			c->send_busy = 0;
		conn_mark_dead(c, wc->status == IBV_WC_WR_FLUSH_ERR ? -ECONNRESET : -EREMOTEIO);
		if (!c->wc_error)
			c->wc_error = wc->status;
		return;
	}
	switch (tag) {
	case TAG_RECV:
		handle_message(c, recv_slot(c, (unsigned)idx), wc->byte_len);
		if (!c->dead && conn_post_recv(c, (unsigned)idx))
			conn_mark_dead(c, -ECONNRESET);
		break;
	case TAG_SEND:
		c->send_busy = 0;
		break;
	case TAG_READ:
		c->slot_done[idx] = 1;
		c->reads_out--;
		break;
	}
}

int conn_poll_cq(struct nicfile_conn *c)
{
	struct ibv_wc wc[16];
	int n, total = 0;
	while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
		for (int i = 0; i < n; i++)
			handle_wc(c, &wc[i]);
		total += n;
	}
	if (n < 0)
		conn_mark_dead(c, -EIO);
	return total;
}

int conn_wait_progress(struct nicfile_conn *c, int64_t deadline)
{
	for (;;) {
		if (conn_poll_cq(c) > 0)
			return 0;
		if (ibv_req_notify_cq(c->cq, 0)) {
			conn_mark_dead(c, -EIO);
			return 0;
		}
		if (conn_poll_cq(c) > 0)
			return 0;
		check_cm(c);
		if (c->dead)
			return 0;
		struct pollfd p[2] = { { .fd = c->cc->fd, .events = POLLIN },
				       { .fd = c->ec->fd, .events = POLLIN } };
		int left = (int)(deadline - nf_now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(p, 2, left > 1000 ? 1000 : left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & POLLIN) {
			struct ibv_cq *cq;
			void *ctx;
			if (ibv_get_cq_event(c->cc, &cq, &ctx) == 0)
				ibv_ack_cq_events(cq, 1);
		}
	}
}
