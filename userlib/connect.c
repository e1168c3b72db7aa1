// SPDX-License-Identifier: MIT
/*
 * connect.c - connecting to nicfiled, rping-style: each step sets up one
 * set of objects and has one undo, used both by the unwinding of a failed
 * connect and by the one teardown path (conn_destroy):
 *   setup_cm       resolve the host (rdma_getaddrinfo: names, IPv4, IPv6),
 *                  the CM id, address and route      undo: free_cm
 *   setup_cq       PD, completion channel, CQ         undo: free_cq
 *   setup_buffers  message slots and READ staging, their MRs
 *                                                     undo: free_buffers
 *   setup_qp       the RC QP and its posted receives  undo: free_qp
 *   connect_server rdma_connect, the READ depth granted
 *                                                     undo: rdma_disconnect
 *   hello          the protocol version
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>
#include "nicfile.h"
#include "proto.h"
#include "conn_internal.h"

/* ------------------------------------------------------------ the object */

static int conn_alloc(const struct nicfile_conn_opts *o, struct nicfile_conn **out)
{
	struct nicfile_conn *c;

	if (o->comp_mask)
		return -EINVAL;   /* no extension field known yet */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->depth = o->depth ? o->depth : 16;
	c->chunk = o->chunk ? o->chunk : 64u << 10;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 15000;
	if (c->depth > NICFILE_MAX_DEPTH || c->chunk < 512 || c->chunk > (1u << 30)) {
		free(c);
		return -EINVAL;
	}
	c->reply = malloc(sizeof(struct nf_msg) * 2);
	if (!c->reply) {
		free(c);
		return -ENOMEM;
	}
	c->scratch = c->reply + 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->pipe_free, NULL);
	*out = c;
	return 0;
}

static void conn_free(struct nicfile_conn *c)
{
	while (c->files) {
		struct nicfile_file *f = c->files;
		c->files = f->next;
		free(f);
	}
	pthread_cond_destroy(&c->pipe_free);
	pthread_mutex_destroy(&c->lock);
	free(c->reply);
	free(c);
}

/* ------------------------------------------------------------ CM id, address, route */

static int setup_cm(struct nicfile_conn *c, const char *host, const struct nicfile_conn_opts *o)
{
	struct rdma_addrinfo hints = { .ai_port_space = RDMA_PS_TCP }, *rai = NULL;
	char port[8];
	int err;

	snprintf(port, sizeof(port), "%u", o->port ? o->port : NICFILE_DEFAULT_PORT);
	errno = 0;
	if (rdma_getaddrinfo(host, port, &hints, &rai))
		return errno == ENODEV ? -ENODEV : -EHOSTUNREACH;
	c->ec = rdma_create_event_channel();
	if (!c->ec || rdma_create_id(c->ec, &c->id, c, RDMA_PS_TCP)) {
		err = errno ? -errno : -ENODEV;
		goto out;
	}
	fcntl(c->ec->fd, F_SETFL, fcntl(c->ec->fd, F_GETFL) | O_NONBLOCK);
	if (rdma_resolve_addr(c->id, rai->ai_src_addr, rai->ai_dst_addr, c->timeout_ms)) {
		err = -errno;
		goto out;
	}
	if ((err = conn_wait_cm_event(c, RDMA_CM_EVENT_ADDR_RESOLVED, c->timeout_ms)))
		goto out;
	if (o->device && strcmp(ibv_get_device_name(c->id->verbs->device), o->device)) {
		err = -ENODEV;
		goto out;
	}
	if (rdma_resolve_route(c->id, c->timeout_ms)) {
		err = -errno;
		goto out;
	}
	err = conn_wait_cm_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED, c->timeout_ms);
out:
	rdma_freeaddrinfo(rai);
	return err;
}

static void free_cm(struct nicfile_conn *c)
{
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	c->id = NULL;
	c->ec = NULL;
}

/* ------------------------------------------------------------ PD, CQ */

static int setup_cq(struct nicfile_conn *c)
{
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cc = c->pd ? ibv_create_comp_channel(c->id->verbs) : NULL;
	c->cq = c->cc ? ibv_create_cq(c->id->verbs, (int)c->depth + RECV_SLOTS + 4, NULL, c->cc, 0) : NULL;
	if (!c->cq)
		return -ENOMEM;
	fcntl(c->cc->fd, F_SETFL, fcntl(c->cc->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

static void free_cq(struct nicfile_conn *c)
{
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->cc)
		ibv_destroy_comp_channel(c->cc);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	c->cq = NULL;
	c->cc = NULL;
	c->pd = NULL;
}

/* ------------------------------------------------------------ buffers */

static int setup_buffers(struct nicfile_conn *c)
{
	size_t msg_len = (size_t)(RECV_SLOTS + 1) * NF_MSG_MAX;

	c->data_len = ((size_t)c->depth * c->chunk + 4095) & ~(size_t)4095;
	c->msg_buf = aligned_alloc(4096, msg_len);
	c->data = aligned_alloc(4096, c->data_len);
	if (!c->msg_buf || !c->data)
		return -ENOMEM;
	c->msg_mr = ibv_reg_mr(c->pd, c->msg_buf, msg_len, IBV_ACCESS_LOCAL_WRITE);
	c->data_mr = ibv_reg_mr(c->pd, c->data, c->data_len, IBV_ACCESS_LOCAL_WRITE);
	if (!c->msg_mr || !c->data_mr)
		return errno ? -errno : -ENOMEM;
	return 0;
}

static void free_buffers(struct nicfile_conn *c)
{
	if (c->msg_mr)
		ibv_dereg_mr(c->msg_mr);
	if (c->data_mr)
		ibv_dereg_mr(c->data_mr);
	free(c->msg_buf);
	free(c->data);
	c->msg_mr = c->data_mr = NULL;
	c->msg_buf = c->data = NULL;
}

/* ------------------------------------------------------------ QP */

static int setup_qp(struct nicfile_conn *c)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = c->cq, .recv_cq = c->cq, .qp_type = IBV_QPT_RC, .sq_sig_all = 1,
		.cap = { .max_send_wr = c->depth + 2, .max_recv_wr = RECV_SLOTS,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	int err;

	if (rdma_create_qp(c->id, c->pd, &qa))
		return -errno;
	for (unsigned i = 0; i < RECV_SLOTS; i++)
		if ((err = conn_post_recv(c, i)))
			return err;
	return 0;
}

static void free_qp(struct nicfile_conn *c)
{
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
}

/* ------------------------------------------------------------ connect, hello */

static int connect_server(struct nicfile_conn *c)
{
	struct ibv_device_attr dattr;
	struct ibv_qp_attr qattr;
	struct ibv_qp_init_attr qinit;
	int err;

	if (ibv_query_device(c->id->verbs, &dattr))
		return -EIO;
	struct rdma_conn_param cp = {
		.initiator_depth = (uint8_t)(dattr.max_qp_init_rd_atom < (int)c->depth ?
					     dattr.max_qp_init_rd_atom : (int)c->depth),
		.responder_resources = 1,
		.retry_count = 7,
		.rnr_retry_count = 7,  /* ODP regions may RNR-NAK while they fault */
	};
	if (rdma_connect(c->id, &cp))
		return -errno;
	if ((err = conn_wait_cm_event(c, RDMA_CM_EVENT_ESTABLISHED, c->timeout_ms)))
		return err;
	/* The server may grant fewer READs in flight than asked for. */
	if (ibv_query_qp(c->id->qp, &qattr, IBV_QP_MAX_QP_RD_ATOMIC, &qinit))
		return -EIO;
	if (qattr.max_rd_atomic == 0)
		return -EPROTO;   /* a server that allows no READ at all */
	if (qattr.max_rd_atomic < c->depth)
		c->depth = qattr.max_rd_atomic;
	return 0;
}

static int hello(struct nicfile_conn *c)
{
	struct nf_msg req = { .type = NF_HELLO_REQ,
			      .u.hello_req = { .min_version = NF_VERSION, .max_version = NF_VERSION } };
	int err = conn_rpc(c, &req, NF_HELLO_REP, c->timeout_ms);
	if (!err && c->reply->u.hello_rep.version != NF_VERSION)
		err = -EPROTONOSUPPORT;
	return err;
}

/* ------------------------------------------------------------ the sequence */

static int connect_once(const char *host, const struct nicfile_conn_opts *o, struct nicfile_conn **out)
{
	struct nicfile_conn *c;
	int err;

	if ((err = conn_alloc(o, &c)))
		return err;
	if ((err = setup_cm(c, host, o)))
		goto out_cm;
	if ((err = setup_cq(c)))
		goto out_cq;
	if ((err = setup_buffers(c)))
		goto out_buffers;
	if ((err = setup_qp(c)))
		goto out_qp;
	if ((err = connect_server(c)))
		goto out_disconnect;
	if ((err = hello(c)))
		goto out_disconnect;
	*out = c;
	return 0;

out_disconnect:
	if (!c->dead)
		rdma_disconnect(c->id);
out_qp:
	free_qp(c);
out_buffers:
	free_buffers(c);
out_cq:
	free_cq(c);
out_cm:
	free_cm(c);
	conn_free(c);
	return err;
}

/* The one teardown path of a connection. */
void conn_destroy(struct nicfile_conn *c)
{
	free_qp(c);
	free_buffers(c);
	free_cq(c);
	free_cm(c);
	conn_free(c);
}

/* Default version 0.4 (comp_mask); 0.1's layout is in compat.c. */
__asm__(".symver nicfile_connect_v04, nicfile_connect@@NICFILE_0.4");
int nicfile_connect_v04(const char *host, const struct nicfile_conn_opts *opts,
			struct nicfile_conn **out)
{
	struct nicfile_conn_opts def = { 0 };
	const struct nicfile_conn_opts *o = opts ? opts : &def;
	int64_t give_up = nf_now_ms() + (o->connect_retry_ms > 0 ? o->connect_retry_ms : 0);
	int err;

	*out = NULL;
	for (;;) {
		err = connect_once(host, o, out);
		/* Retry only what a server that is still starting would cause. */
		if (err != -ECONNREFUSED && err != -EHOSTUNREACH && err != -ETIMEDOUT)
			return err;
		if (nf_now_ms() >= give_up)
			return err;
		usleep(300 * 1000);
	}
}

unsigned nicfile_conn_depth(const struct nicfile_conn *c)
{
	return c->depth;
}

static void disconnect_and_destroy(struct nicfile_conn *c)
{
	if (!c->dead) {
		rdma_disconnect(c->id);
		/* Wait briefly for DISCONNECTED so the server sees a clean close. */
		conn_wait_cm_event(c, RDMA_CM_EVENT_DISCONNECTED, 2000);
	}
	pthread_mutex_unlock(&c->lock);
	conn_destroy(c);
}

void nicfile_disconnect(struct nicfile_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->pipe_busy && pthread_equal(c->pipe_owner, pthread_self())) {
		/* From a stream callback: the stream ends it as it returns. */
		c->free_after_stream = 1;
		conn_mark_dead(c, -ECANCELED);
		rdma_disconnect(c->id);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	while (c->pipe_busy)     /* a stream on another thread ends first */
		pthread_cond_wait(&c->pipe_free, &c->lock);
	disconnect_and_destroy(c);
}
