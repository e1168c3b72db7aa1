// SPDX-License-Identifier: MIT
/*
 * client.c - one connected client: its protection domain, queue pair,
 * message slots, and the files it has open. Every open registers the
 * client's own memory region of the file on the client's own PD, so an
 * rkey is a capability for exactly one open of one client: another
 * client's QP (another PD) cannot use it, and CLOSE or a disconnect
 * deregisters it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nicfile.h"
#include "server.h"
#include "log.h"

static uint8_t *recv_slot(struct client *c, unsigned i) { return c->buf + (size_t)i * NF_MSG_MAX; }
static uint8_t *send_slot(struct client *c, unsigned i)
{
	return c->buf + (size_t)(RECV_SLOTS + i) * NF_MSG_MAX;
}

static int post_recv(struct client *c, unsigned i)
{
	struct ibv_sge sge = { .addr = (uintptr_t)recv_slot(c, i), .length = NF_MSG_MAX, .lkey = c->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;
	return ibv_post_recv(c->id->qp, &wr, &bad);
}

/* The one teardown path of a client, for a half-built one too. */
static void client_destroy(struct server *s, struct client *c)
{
	for (unsigned i = 0; c->open && i < s->max_open; i++)
		if (c->open[i].f)
			client_close(s, c, i + 1);
	if (c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	free(c->buf);
	free(c->open);
	free(c);
}

struct client *client_new(struct server *s, struct rdma_cm_id *id, const char **why)
{
	struct client *c = calloc(1, sizeof(*c));

	*why = "out of memory";
	if (!c)
		return NULL;
	c->id = id;
	c->open = calloc(s->max_open, sizeof(*c->open));
	c->buf = aligned_alloc(4096, (size_t)(RECV_SLOTS + SEND_SLOTS) * NF_MSG_MAX);
	if (!c->open || !c->buf)
		goto fail;
	*why = "cannot allocate a protection domain";
	if (!(c->pd = ibv_alloc_pd(id->verbs)))
		goto fail;
	*why = "cannot create a CQ";
	c->cq = ibv_create_cq(id->verbs, RECV_SLOTS + SEND_SLOTS + 2, c, s->cc, 0);
	if (!c->cq)
		goto fail;
	struct ibv_qp_init_attr qa = {
		.send_cq = c->cq, .recv_cq = c->cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = SEND_SLOTS, .max_recv_wr = RECV_SLOTS, .max_send_sge = 1, .max_recv_sge = 1 },
	};
	*why = "cannot create a QP";
	if (rdma_create_qp(id, c->pd, &qa))
		goto fail;
	c->mr = ibv_reg_mr(c->pd, c->buf, (size_t)(RECV_SLOTS + SEND_SLOTS) * NF_MSG_MAX, IBV_ACCESS_LOCAL_WRITE);
	*why = "cannot register message buffers";
	if (!c->mr)
		goto fail;
	*why = "cannot post receives";
	for (unsigned i = 0; i < RECV_SLOTS; i++)
		if (post_recv(c, i))
			goto fail;
	if (ibv_req_notify_cq(c->cq, 0))
		goto fail;
	id->context = c;
	return c;
fail:
	client_destroy(s, c);
	return NULL;
}

void client_drop(struct server *s, struct client *c, const char *why)
{
	(void)s;
	if (c->closing)
		return;
	c->closing = 1;
	log_info("client %s: disconnecting: %s", c->peer, why);
	rdma_disconnect(c->id);
}

void client_free(struct server *s, struct client *c)
{
	struct rdma_cm_id *id = c->id;

	/* A client refused after it was built was never on the list. */
	for (struct client **p = &s->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			s->nclients--;
			log_info("client %s: gone (%u connected)", c->peer, s->nclients);
			break;
		}
	client_destroy(s, c);
	rdma_destroy_id(id);
}

int client_send(struct server *s, struct client *c, struct nf_msg *m)
{
	unsigned slot;
	int len;

	if (c->closing)
		return -ECONNRESET;
	if (c->sends_out >= SEND_SLOTS) {
		/* It is not taking our messages: it loses its seat, nobody else waits. */
		client_drop(s, c, "not receiving replies");
		return -ENOBUFS;
	}
	slot = c->send_next++ % SEND_SLOTS;
	len = nf_encode(m, send_slot(c, slot), NF_MSG_MAX);
	if (len < 0) {
		log_warn("client %s: cannot encode %s: %s", c->peer, nf_type_name(m->type), nicfile_strerror(len));
		return len;
	}
	struct ibv_sge sge = { .addr = (uintptr_t)send_slot(c, slot), .length = (uint32_t)len, .lkey = c->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = RECV_SLOTS + slot, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	if (ibv_post_send(c->id->qp, &wr, &bad)) {
		client_drop(s, c, "send failed");
		return -ECONNRESET;
	}
	c->sends_out++;
	return 0;
}

int client_open(struct server *s, struct client *c, struct nf_file *f, uint32_t *handle)
{
	unsigned slot;
	int err;

	if (c->nopen >= s->max_open)
		return -EMFILE;
	for (slot = 0; c->open[slot].f; slot++)
		;
	err = nicfile_region_reg_mr(f->region, c->pd, &c->open[slot].mr);
	if (err) {
		log_warn("client %s: cannot register %s: %s", c->peer, f->name, nicfile_strerror(err));
		return err;
	}
	c->open[slot].f = f;
	c->nopen++;
	*handle = slot + 1;
	return 0;
}

struct handle *client_handle(struct server *s, struct client *c, uint32_t h)
{
	if (h == 0 || h > s->max_open || !c->open[h - 1].f)
		return NULL;
	return &c->open[h - 1];
}

void client_close(struct server *s, struct client *c, uint32_t h)
{
	struct handle *o = &c->open[h - 1];

	/* Deregistered before anything else: from here on the rkey is dead. */
	if (o->mr)
		ibv_dereg_mr(o->mr);
	files_put(&s->files, o->f);
	o->mr = NULL;
	o->f = NULL;
	c->nopen--;
}

void client_notify_change(struct nf_file *f, void *arg)
{
	struct server *s = arg;
	/* Its own message: this may run while a reply is being built in c->rep. */
	struct nf_msg note, *m = &note;
	for (struct client *c = s->clients; c; c = c->next)
		for (unsigned i = 0; i < s->max_open && c->established; i++)
			if (c->open[i].f == f) {
				memset(m, 0, offsetof(struct nf_msg, u) + sizeof(m->u.notify));
				m->type = NF_NOTIFY;
				m->u.notify.handle = i + 1;
				m->u.notify.generation = f->generation ^ 2; /* any other value */
				m->u.notify.reason = NF_CHANGED;
				client_send(s, c, m);
			}
}

void client_completions(struct server *s, struct client *c)
{
	struct ibv_wc wc[16];
	int n;

	while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
		for (int i = 0; i < n; i++) {
			if (wc[i].wr_id >= RECV_SLOTS && c->sends_out)
				c->sends_out--;
			if (wc[i].status != IBV_WC_SUCCESS) {
				if (wc[i].status != IBV_WC_WR_FLUSH_ERR)
					client_drop(s, c, ibv_wc_status_str(wc[i].status));
				continue;
			}
			if (wc[i].wr_id < RECV_SLOTS && !c->closing) {
				unsigned slot = (unsigned)wc[i].wr_id;
				handle_request(s, c, recv_slot(c, slot), wc[i].byte_len);
				if (!c->closing && post_recv(c, slot))
					client_drop(s, c, "cannot repost a receive");
			}
		}
	}
}

void cq_events(struct server *s)
{
	struct ibv_cq *cq;
	void *ctx;

	while (ibv_get_cq_event(s->cc, &cq, &ctx) == 0) {
		struct client *c = ctx;
		ibv_ack_cq_events(cq, 1);
		ibv_req_notify_cq(cq, 0);
		client_completions(s, c);
	}
}
