// SPDX-License-Identifier: MIT
/*
 * conn.c - the client side: an RC connection to nicfiled (librdmacm, rping
 * style), request/reply over SEND/RECV, and pipelined one-sided RDMA READs
 * straight from the server's file region.
 *
 * One completion queue serves receives, sends and READs; a completion
 * channel and the CM event channel are polled together so a server that
 * dies or disconnects ends any wait with a clear error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

#define RECV_SLOTS 16
#define TAG_RECV  (1ull << 60)
#define TAG_SEND  (2ull << 60)
#define TAG_READ  (3ull << 60)
#define TAG_MASK  (0xfull << 60)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static int wait_cm_event(struct nicfile_conn *c, enum rdma_cm_event_type want, int timeout_ms,
			 struct rdma_conn_param *param_out)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		struct rdma_cm_event *ev;
		struct pollfd p = { .fd = c->ec->fd, .events = POLLIN };
		int left = (int)(deadline - now_ms());
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
		if (param_out && t == want)
			*param_out = ev->param.conn;
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

/* ------------------------------------------------------------ teardown */

static void conn_destroy(struct nicfile_conn *c)
{
	if (!c)
		return;
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->msg_mr)
		ibv_dereg_mr(c->msg_mr);
	if (c->data_mr)
		ibv_dereg_mr(c->data_mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->cc)
		ibv_destroy_comp_channel(c->cc);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	free(c->msg_buf);
	free(c->data);
	free(c->reply);
	while (c->files) {
		struct nicfile_file *f = c->files;
		c->files = f->next;
		free(f);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ------------------------------------------------------------ posting */

static uint8_t *recv_slot(struct nicfile_conn *c, unsigned i)
{
	return c->msg_buf + (size_t)i * NF_MSG_MAX;
}

static uint8_t *send_slot(struct nicfile_conn *c)
{
	return c->msg_buf + (size_t)RECV_SLOTS * NF_MSG_MAX;
}

static int post_recv(struct nicfile_conn *c, unsigned i)
{
	struct ibv_sge sge = { .addr = (uintptr_t)recv_slot(c, i), .length = NF_MSG_MAX,
			       .lkey = c->msg_mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = TAG_RECV | i, .sg_list = &sge, .num_sge = 1 }, *bad;
	return -ibv_post_recv(c->id->qp, &wr, &bad);
}

/* ------------------------------------------------------------ completions */

static void mark_dead(struct nicfile_conn *c, int err)
{
	if (!c->dead)
		c->dead = err;
}

static void handle_message(struct nicfile_conn *c, const uint8_t *buf, size_t len)
{
	struct nf_msg *m = c->scratch;
	if (nf_decode(buf, len, m, NULL)) {
		mark_dead(c, -EBADMSG);
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
		mark_dead(c, wc->status == IBV_WC_WR_FLUSH_ERR ? -ECONNRESET : -EREMOTEIO);
		if (!c->wc_error)
			c->wc_error = wc->status;
		return;
	}
	switch (tag) {
	case TAG_RECV:
		handle_message(c, recv_slot(c, (unsigned)idx), wc->byte_len);
		if (!c->dead && post_recv(c, (unsigned)idx))
			mark_dead(c, -ECONNRESET);
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

/* Drain the CQ; returns the number of completions handled. */
static int poll_cq(struct nicfile_conn *c)
{
	struct ibv_wc wc[16];
	int n, total = 0;
	while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
		for (int i = 0; i < n; i++)
			handle_wc(c, &wc[i]);
		total += n;
	}
	if (n < 0)
		mark_dead(c, -EIO);
	return total;
}

/* Notice a disconnect from the CM without blocking. */
static void check_cm(struct nicfile_conn *c)
{
	struct rdma_cm_event *ev;
	while (rdma_get_cm_event(c->ec, &ev) == 0) {
		if (ev->event == RDMA_CM_EVENT_DISCONNECTED ||
		    ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL ||
		    ev->event == RDMA_CM_EVENT_TIMEWAIT_EXIT)
			mark_dead(c, -ECONNRESET);
		rdma_ack_cm_event(ev);
	}
}

/*
 * Wait for at least one completion or until the deadline. Returns 0, or
 * -ETIMEDOUT. Connection loss shows in c->dead.
 */
static int wait_progress(struct nicfile_conn *c, int64_t deadline)
{
	for (;;) {
		if (poll_cq(c) > 0)
			return 0;
		if (ibv_req_notify_cq(c->cq, 0)) {
			mark_dead(c, -EIO);
			return 0;
		}
		if (poll_cq(c) > 0)
			return 0;
		check_cm(c);
		if (c->dead)
			return 0;
		struct pollfd p[2] = { { .fd = c->cc->fd, .events = POLLIN },
				       { .fd = c->ec->fd, .events = POLLIN } };
		int left = (int)(deadline - now_ms());
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

/* ------------------------------------------------------------ requests */

/* Send @req and wait for its reply in c->reply. Returns the reply status. */
static int rpc(struct nicfile_conn *c, struct nf_msg *req, uint8_t want, int timeout_ms)
{
	int len, err;
	int64_t deadline;

	if (c->dead)
		return c->dead;
	req->seq = ++c->seq;
	len = nf_encode(req, send_slot(c), NF_MSG_MAX);
	if (len < 0)
		return len;
	struct ibv_sge sge = { .addr = (uintptr_t)send_slot(c), .length = (uint32_t)len,
			       .lkey = c->msg_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = TAG_SEND, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	c->waiting = 1;
	c->waiting_seq = req->seq;
	c->have_reply = 0;
	c->send_busy = 1;
	err = ibv_post_send(c->id->qp, &wr, &bad);
	if (err) {
		c->waiting = 0;
		c->send_busy = 0;
		mark_dead(c, -ECONNRESET);
		return c->dead;
	}
	deadline = now_ms() + timeout_ms;
	while ((!c->have_reply || c->send_busy) && !c->dead) {
		if (wait_progress(c, deadline) == -ETIMEDOUT) {
			mark_dead(c, -ETIMEDOUT);
			break;
		}
	}
	c->waiting = 0;
	if (!c->have_reply)
		return c->dead ? c->dead : -ETIMEDOUT;
	if (c->reply->type == NF_ERROR_REP)
		return c->reply->status;
	if (c->reply->type != want) {
		mark_dead(c, -EBADMSG);
		return -EBADMSG;
	}
	return c->reply->status;
}

static int set_path(struct nf_msg *m, uint8_t type, const char *path)
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

/* ------------------------------------------------------------ connect */

static int connect_once(const char *host, const struct nicfile_conn_opts *o,
			struct nicfile_conn **out)
{
	struct nicfile_conn *c;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char port[8];
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->depth = o->depth ? o->depth : 16;
	c->chunk = o->chunk ? o->chunk : 64u << 10;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 15000;
	if (c->depth > NICFILE_MAX_DEPTH || c->chunk < 512 || c->chunk > (1u << 30)) {
		err = -EINVAL;
		goto fail;
	}
	c->reply = malloc(sizeof(struct nf_msg) * 2);
	if (!c->reply) {
		err = -ENOMEM;
		goto fail;
	}
	c->scratch = c->reply + 1;

	c->ec = rdma_create_event_channel();
	if (!c->ec || rdma_create_id(c->ec, &c->id, c, RDMA_PS_TCP)) {
		err = errno ? -errno : -ENODEV;
		goto fail;
	}
	fcntl(c->ec->fd, F_SETFL, fcntl(c->ec->fd, F_GETFL) | O_NONBLOCK);
	snprintf(port, sizeof(port), "%u", o->port ? o->port : NICFILE_DEFAULT_PORT);
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		err = -EHOSTUNREACH;
		goto fail;
	}
	if (rdma_resolve_addr(c->id, NULL, ai->ai_addr, c->timeout_ms)) {
		err = -errno;
		goto fail;
	}
	if ((err = wait_cm_event(c, RDMA_CM_EVENT_ADDR_RESOLVED, c->timeout_ms, NULL)))
		goto fail;
	if (o->device && strcmp(ibv_get_device_name(c->id->verbs->device), o->device)) {
		err = -ENODEV;
		goto fail;
	}
	if (rdma_resolve_route(c->id, c->timeout_ms)) {
		err = -errno;
		goto fail;
	}
	if ((err = wait_cm_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED, c->timeout_ms, NULL)))
		goto fail;

	struct ibv_device_attr dattr;
	if (ibv_query_device(c->id->verbs, &dattr)) {
		err = -EIO;
		goto fail;
	}
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cc = c->pd ? ibv_create_comp_channel(c->id->verbs) : NULL;
	c->cq = c->cc ? ibv_create_cq(c->id->verbs, (int)c->depth + RECV_SLOTS + 4, NULL, c->cc, 0) : NULL;
	if (!c->cq) {
		err = -ENOMEM;
		goto fail;
	}
	fcntl(c->cc->fd, F_SETFL, fcntl(c->cc->fd, F_GETFL) | O_NONBLOCK);
	struct ibv_qp_init_attr qa = {
		.send_cq = c->cq, .recv_cq = c->cq, .qp_type = IBV_QPT_RC, .sq_sig_all = 1,
		.cap = { .max_send_wr = c->depth + 2, .max_recv_wr = RECV_SLOTS,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	if (rdma_create_qp(c->id, c->pd, &qa)) {
		err = -errno;
		goto fail;
	}
	c->msg_buf = aligned_alloc(4096, (size_t)(RECV_SLOTS + 1) * NF_MSG_MAX);
	size_t data_len = ((size_t)c->depth * c->chunk + 4095) & ~(size_t)4095;
	c->data = aligned_alloc(4096, data_len);
	if (!c->msg_buf || !c->data) {
		err = -ENOMEM;
		goto fail;
	}
	c->msg_mr = ibv_reg_mr(c->pd, c->msg_buf, (size_t)(RECV_SLOTS + 1) * NF_MSG_MAX,
			       IBV_ACCESS_LOCAL_WRITE);
	c->data_mr = ibv_reg_mr(c->pd, c->data, data_len, IBV_ACCESS_LOCAL_WRITE);
	if (!c->msg_mr || !c->data_mr) {
		err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < RECV_SLOTS; i++)
		if ((err = post_recv(c, i)))
			goto fail;

	struct rdma_conn_param cp = {
		.initiator_depth = (uint8_t)(dattr.max_qp_init_rd_atom < (int)c->depth ?
					     dattr.max_qp_init_rd_atom : (int)c->depth),
		.responder_resources = 1,
		.retry_count = 7,
		.rnr_retry_count = 7,  /* ODP regions may RNR-NAK while they fault */
	};
	if (rdma_connect(c->id, &cp)) {
		err = -errno;
		goto fail;
	}
	if ((err = wait_cm_event(c, RDMA_CM_EVENT_ESTABLISHED, c->timeout_ms, NULL)))
		goto fail;
	/* The server may grant fewer READs in flight than asked for. */
	struct ibv_qp_attr qattr;
	struct ibv_qp_init_attr qinit;
	if (ibv_query_qp(c->id->qp, &qattr, IBV_QP_MAX_QP_RD_ATOMIC, &qinit)) {
		err = -EIO;
		goto fail;
	}
	if (qattr.max_rd_atomic == 0) {
		err = -EPROTO;   /* a server that allows no READ at all */
		goto fail;
	}
	if (qattr.max_rd_atomic < c->depth)
		c->depth = qattr.max_rd_atomic;
	freeaddrinfo(ai);
	ai = NULL;

	struct nf_msg req = { .type = NF_HELLO_REQ,
			      .u.hello_req = { .min_version = NF_VERSION, .max_version = NF_VERSION } };
	err = rpc(c, &req, NF_HELLO_REP, c->timeout_ms);
	if (err)
		goto fail;
	if (c->reply->u.hello_rep.version != NF_VERSION) {
		err = -EPROTONOSUPPORT;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	if (c->id && c->dead == 0 && c->id->qp)
		rdma_disconnect(c->id);
	conn_destroy(c);
	return err;
}

int nicfile_connect(const char *host, const struct nicfile_conn_opts *opts,
		    struct nicfile_conn **out)
{
	struct nicfile_conn_opts def = { 0 };
	const struct nicfile_conn_opts *o = opts ? opts : &def;
	int64_t give_up = now_ms() + (o->connect_retry_ms > 0 ? o->connect_retry_ms : 0);
	int err;

	*out = NULL;
	for (;;) {
		err = connect_once(host, o, out);
		/* Retry only what a server that is still starting would cause. */
		if (err != -ECONNREFUSED && err != -EHOSTUNREACH && err != -ETIMEDOUT)
			return err;
		if (now_ms() >= give_up)
			return err;
		usleep(300 * 1000);
	}
}

unsigned nicfile_conn_depth(const struct nicfile_conn *c)
{
	return c->depth;
}

void nicfile_disconnect(struct nicfile_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (!c->dead) {
		rdma_disconnect(c->id);
		/* Wait briefly for DISCONNECTED so the server sees a clean close. */
		wait_cm_event(c, RDMA_CM_EVENT_DISCONNECTED, 2000, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	conn_destroy(c);
}

/* ------------------------------------------------------------ metadata */

static void fill_stat(struct nicfile_stat *st, const struct nf_msg *r)
{
	st->size = r->u.stat_rep.size;
	st->mtime_ns = r->u.stat_rep.mtime_ns;
	st->perm = r->u.stat_rep.perm;
	st->type = r->u.stat_rep.ftype;
	st->generation = r->u.stat_rep.generation;
	st->mode = r->u.stat_rep.mode;
}

int nicfile_stat(struct nicfile_conn *c, const char *path, struct nicfile_stat *st)
{
	struct nf_msg *req = malloc(sizeof(*req));
	int err;
	if (!req)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	err = set_path(req, NF_STAT_REQ, path);
	if (!err)
		err = rpc(c, req, NF_STAT_REP, c->timeout_ms);
	if (!err)
		fill_stat(st, c->reply);
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
		err = set_path(req, NF_LIST_REQ, path);
		req->u.path.cookie = cookie;
		if (!err)
			err = rpc(c, req, NF_LIST_REP, c->timeout_ms);
		if (!err)
			memcpy(rep, c->reply, sizeof(*rep));
		pthread_mutex_unlock(&c->lock);
		if (err)
			break;
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

/* ------------------------------------------------------------ files */

int nicfile_open(struct nicfile_conn *c, const char *path, struct nicfile_file **out)
{
	struct nf_msg *req = malloc(sizeof(*req));
	struct nicfile_file *f = calloc(1, sizeof(*f));
	int err = req && f ? 0 : -ENOMEM;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (!err)
		err = set_path(req, NF_OPEN_REQ, path);
	if (!err)
		err = rpc(c, req, NF_OPEN_REP, c->timeout_ms);
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

int nicfile_fstat(struct nicfile_file *f, struct nicfile_stat *st)
{
	st->size = f->length;
	st->mtime_ns = f->mtime_ns;
	st->perm = f->perm;
	st->type = f->ftype;
	st->generation = f->generation;
	st->mode = f->mode;
	return 0;
}

static int handle_rpc(struct nicfile_file *f, uint8_t type, uint8_t want, int timeout_ms)
{
	struct nf_msg req = { .type = type, .u.handle.handle = f->handle };
	return rpc(f->conn, &req, want, timeout_ms);
}

int nicfile_close(struct nicfile_file *f)
{
	struct nicfile_conn *c;
	int err;
	if (!f)
		return 0;
	c = f->conn;
	pthread_mutex_lock(&c->lock);
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

/* VALIDATE with the connection lock held. */
static int validate_locked(struct nicfile_file *f)
{
	struct nicfile_conn *c = f->conn;
	int err;

	poll_cq(c);      /* pick up a NOTIFY that is already there */
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
	err = validate_locked(f);
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

/* ------------------------------------------------------------ data */

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
		mark_dead(c, -ECONNRESET);
		return c->dead;
	}
	c->reads_out++;
	return 0;
}

/* Wait until no READ is in flight, so the staging buffer is ours again. */
static void drain_reads(struct nicfile_conn *c)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	while (c->reads_out && !c->dead)
		if (wait_progress(c, deadline) == -ETIMEDOUT)
			mark_dead(c, -ETIMEDOUT);
}

int nicfile_read_stream(struct nicfile_file *f, uint64_t off, uint64_t len,
			nicfile_chunk_cb cb, void *arg)
{
	struct nicfile_conn *c = f->conn;
	uint64_t end, next_post, next_deliver;
	unsigned posted = 0, delivered = 0;
	int err = 0;

	if (off >= f->length || len == 0)
		return 0;
	end = len > f->length - off ? f->length : off + len;
	pthread_mutex_lock(&c->lock);
	next_post = next_deliver = off;
	while (next_deliver < end) {
		if (c->dead) {
			err = c->dead;
			break;
		}
		if (f->stale) {
			err = -ESTALE;
			break;
		}
		/* Keep the pipe full: up to depth READs, one per staging slot. */
		while (next_post < end && posted - delivered < c->depth) {
			uint32_t n = end - next_post > c->chunk ? c->chunk : (uint32_t)(end - next_post);
			if ((err = post_read(c, f, posted % c->depth, next_post, n)))
				break;
			next_post += n;
			posted++;
		}
		if (err)
			break;
		unsigned slot = delivered % c->depth;
		if (!c->slot_done[slot]) {
			if (wait_progress(c, now_ms() + c->timeout_ms) == -ETIMEDOUT)
				mark_dead(c, -ETIMEDOUT);
			continue;
		}
		uint32_t n = end - next_deliver > c->chunk ? c->chunk : (uint32_t)(end - next_deliver);
		c->slot_done[slot] = 0;
		err = cb(c->data + (size_t)slot * c->chunk, n, next_deliver, arg);
		if (err)
			break;
		next_deliver += n;
		delivered++;
	}
	drain_reads(c);
	/* A READ error after the server said the file changed is that change. */
	if (err && err != -ESTALE && f->stale && (err == -EREMOTEIO || err == -ECONNRESET))
		err = -ESTALE;
	/*
	 * Every read that completes is validated before it counts: data that
	 * changed under the READs (a write, a store through a mapping, a
	 * truncate) comes back as -ESTALE, never as a good read.
	 */
	if (!err)
		err = validate_locked(f);
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

/* Internal: hand a raw, possibly malformed message to the server (tests). */
int nicfile__send_raw(struct nicfile_conn *c, const void *buf, size_t len, int wait_ms,
		      uint8_t *reply_type, int32_t *reply_status)
{
	int64_t deadline;
	int err;

	if (len > NF_MSG_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&c->lock);
	if (c->dead) {
		err = c->dead;
		goto out;
	}
	memcpy(send_slot(c), buf, len);
	struct ibv_sge sge = { .addr = (uintptr_t)send_slot(c), .length = (uint32_t)len,
			       .lkey = c->msg_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = TAG_SEND, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	/* Accept whatever reply comes back: match on "any seq". */
	c->waiting = 1;
	c->waiting_seq = len >= 16 ? (uint32_t)((const uint8_t *)buf)[12] |
			 (uint32_t)((const uint8_t *)buf)[13] << 8 |
			 (uint32_t)((const uint8_t *)buf)[14] << 16 |
			 (uint32_t)((const uint8_t *)buf)[15] << 24 : 0;
	c->have_reply = 0;
	c->send_busy = 1;
	if (ibv_post_send(c->id->qp, &wr, &bad)) {
		mark_dead(c, -ECONNRESET);
		err = c->dead;
		goto out;
	}
	deadline = now_ms() + wait_ms;
	while ((!c->have_reply || c->send_busy) && !c->dead)
		if (wait_progress(c, deadline) == -ETIMEDOUT)
			break;
	c->waiting = 0;
	if (c->have_reply) {
		*reply_type = c->reply->type;
		*reply_status = c->reply->status;
		err = 0;
	} else {
		err = c->dead ? c->dead : -ETIMEDOUT;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}
