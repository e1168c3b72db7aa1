// SPDX-License-Identifier: MIT
/*
 * client.c - one connected client: its protection domain, queue pair,
 * message slots, and the files it has open. Every open registers the
 * client's own memory region of the file on the client's own PD, so an
 * rkey is a capability for exactly one open of one client: another
 * client's QP (another PD) cannot use it, and CLOSE or a disconnect
 * deregisters it.
 *
 * NOTIFY flow control: the client keeps 16 receives posted and reposts
 * one as it takes its message, which it does at the latest while it waits
 * for a reply. So NOTIFY_WINDOW (7) NOTIFYs between two of its requests
 * can never find its receive queue empty: at most the rest of one window,
 * a whole next one and a reply are untaken at any time. Changes beyond
 * the window are kept as one pending flag per handle (several changes,
 * one NOTIFY) and sent after its next request; VALIDATE reports them
 * meanwhile. A client that reads nothing for hours while its files change
 * is therefore never dropped; only one that does not take its replies is.
 * NOTIFYs also take NOTIFY_SLOTS send slots at most, the rest are the
 * replies'.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "nicfile.h"
#include "server.h"
#include "log.h"

static uint8_t *recv_slot(struct client *c, unsigned i) { return c->buf + (size_t)i * NF_MSG_MAX; }
static uint8_t *send_slot(struct client *c, unsigned i)
{
	return c->buf + (size_t)(RECV_SLOTS + i) * NF_MSG_MAX;
}

#define WR_NOTIFY (1u << 16)   /* in a send's wr_id: a NOTIFY */
#define NOTIFY_WINDOW 7        /* NOTIFYs between two requests: (16 - 1 reply) / 2 */

const uint8_t *client_recv_buf(struct client *c, unsigned slot) { return recv_slot(c, slot); }

static int post_recv(struct client *c, unsigned i)
{
	struct ibv_sge sge = { .addr = (uintptr_t)recv_slot(c, i), .length = NF_MSG_MAX, .lkey = c->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;
	return ibv_post_recv(c->id->qp, &wr, &bad);
}

/*
 * The one teardown path of a client, for a half-built one too, in two
 * halves: the verbs objects (deregistering its regions takes time in
 * proportion to the files: pinned ones are unpinned), which may run on a
 * worker, then its files and memory, on the loop.
 */
static void client_release_verbs(struct server *s, struct client *c)
{
	/* The rkeys die first. */
	for (unsigned i = 0; c->open && i < s->max_open; i++)
		if (c->open[i].mr) {
			ibv_dereg_mr(c->open[i].mr);
			c->open[i].mr = NULL;
		}
	if (c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
}

static void client_release_rest(struct server *s, struct client *c)
{
	for (unsigned i = 0; c->open && i < s->max_open; i++)
		if (c->open[i].f)
			client_close(s, c, i + 1);
	free(c->buf);
	free(c->open);
	free(c);
}

static void client_destroy(struct server *s, struct client *c)
{
	client_release_verbs(s, c);
	client_release_rest(s, c);
}

static void teardown_run(struct job *j)
{
	struct client *c = (struct client *)((char *)j - offsetof(struct client, job));
	client_release_verbs(c->srv, c);
	rdma_destroy_id(c->id);
}

static void teardown_done(struct job *j)
{
	struct client *c = (struct client *)((char *)j - offsetof(struct client, job));
	client_release_rest(c->srv, c);
}

struct client *client_new(struct server *s, struct rdma_cm_id *id, const char **why)
{
	struct client *c = calloc(1, sizeof(*c));

	*why = "out of memory";
	if (!c)
		return NULL;
	c->id = id;
	c->srv = s;
	c->since = c->last_heard = time(NULL);
	c->notify_credit = NOTIFY_WINDOW;
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

int client_repost(struct client *c, unsigned slot)
{
	return post_recv(c, slot);
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
	c->closing = 1;
	if (c->torn)
		return;
	if (c->busy) {
		c->gone = 1;    /* its job is running: the job's end frees it */
		return;
	}
	/*
	 * From here the loop leaves it alone (its CQ's events are only acked,
	 * its CM events ignored) while a worker destroys its verbs objects and
	 * its CM id; then its files and memory go, on the loop.
	 */
	c->torn = 1;
	c->job.run = teardown_run;
	c->job.done = teardown_done;
	if (workers_submit(&s->workers, &c->job)) {
		client_destroy(s, c);
		rdma_destroy_id(id);
	}
}

static int post_send(struct server *s, struct client *c, struct nf_msg *m, unsigned flag)
{
	unsigned slot = c->send_next++ % SEND_SLOTS;
	int len = nf_encode(m, send_slot(c, slot), NF_MSG_MAX);

	if (len < 0) {
		log_warn("client %s: cannot encode %s: %s", c->peer, nf_type_name(m->type), nicfile_strerror(len));
		c->send_next--;
		return len;
	}
	struct ibv_sge sge = { .addr = (uintptr_t)send_slot(c, slot), .length = (uint32_t)len, .lkey = c->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = (RECV_SLOTS + slot) | flag, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	if (ibv_post_send(c->id->qp, &wr, &bad)) {
		client_drop(s, c, "send failed");
		return -ECONNRESET;
	}
	return 0;
}

int client_send(struct server *s, struct client *c, struct nf_msg *m)
{
	int err;

	if (c->closing)
		return -ECONNRESET;
	if (c->sends_out >= SEND_SLOTS - NOTIFY_SLOTS) {
		/* It is not taking our replies: it loses its seat, nobody else waits. */
		client_drop(s, c, "not receiving replies");
		return -ENOBUFS;
	}
	if ((err = post_send(s, c, m, 0)) == 0)
		c->sends_out++;
	return err;
}

/* Send pending NOTIFYs while NOTIFY slots are free. */
static void notify_pump(struct server *s, struct client *c)
{
	struct nf_msg note, *m = &note;   /* not c->rep: a job may be building it */

	for (unsigned i = 0; i < s->max_open && c->notifies_out < NOTIFY_SLOTS && c->notify_credit; i++) {
		struct handle *o = &c->open[i];
		if (!o->notify || c->closing || !c->established)
			continue;
		o->notify = 0;
		memset(m, 0, offsetof(struct nf_msg, u) + sizeof(m->u.notify));
		m->type = NF_NOTIFY;
		m->u.notify.handle = i + 1;
		m->u.notify.generation = o->f->generation ^ 2; /* any other value */
		m->u.notify.reason = NF_CHANGED;
		if (post_send(s, c, m, WR_NOTIFY) == 0) {
			c->notifies_out++;
			c->notify_credit--;
		}
	}
}

int client_open(struct server *s, struct client *c, struct nf_file *f, struct ibv_mr *mr, uint32_t *handle)
{
	unsigned slot;

	if (c->nopen >= s->max_open)
		return -EMFILE;
	for (slot = 0; c->open[slot].f; slot++)
		;
	c->open[slot].f = f;
	c->open[slot].mr = mr;
	c->open[slot].notify = 0;
	c->nopen++;
	*handle = slot + 1;
	return 0;
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
	o->notify = 0;
	c->nopen--;
}

void client_notify_change(struct nf_file *f, void *arg)
{
	struct server *s = arg;

	for (struct client *c = s->clients; c; c = c->next) {
		int any = 0;
		for (unsigned i = 0; i < s->max_open; i++)
			if (c->open[i].f == f)
				c->open[i].notify = any = 1;
		if (any)
			notify_pump(s, c);
	}
}

void client_completions(struct server *s, struct client *c)
{
	struct ibv_wc wc[16];
	int n;

	while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
		for (int i = 0; i < n; i++) {
			if (wc[i].wr_id & WR_NOTIFY) {
				if (c->notifies_out)
					c->notifies_out--;
			} else if (wc[i].wr_id >= RECV_SLOTS && c->sends_out) {
				c->sends_out--;
			}
			if (wc[i].status != IBV_WC_SUCCESS) {
				if (wc[i].status != IBV_WC_WR_FLUSH_ERR)
					client_drop(s, c, ibv_wc_status_str(wc[i].status));
				continue;
			}
			if (wc[i].wr_id < RECV_SLOTS && !c->closing) {
				c->notify_credit = NOTIFY_WINDOW;  /* it took all before our last reply */
				requests_received(s, c, (unsigned)wc[i].wr_id, wc[i].byte_len);
			}
		}
	}
	if (!c->closing)
		notify_pump(s, c);
}

void cq_events(struct server *s)
{
	struct ibv_cq *cq;
	void *ctx;

	while (ibv_get_cq_event(s->cc, &cq, &ctx) == 0) {
		struct client *c = ctx;
		if (c->torn) {
			/* A worker is destroying this CQ: the ack lets it; then hands off. */
			ibv_ack_cq_events(cq, 1);
			continue;
		}
		ibv_ack_cq_events(cq, 1);
		ibv_req_notify_cq(cq, 0);
		client_completions(s, c);
	}
}

void clients_sweep(struct server *s, time_t now)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->closing)
			continue;
		if (!c->hello && s->hello_s && now - c->since >= s->hello_s)
			client_drop(s, c, "no HELLO in time (--hello-timeout)");
		else if (c->hello && s->client_idle_s && !c->nopen && !c->busy && !c->queued &&
			 now - c->last_heard >= s->client_idle_s)
			client_drop(s, c, "idle, nothing open (--client-idle-timeout)");
	}
}

unsigned clients_seated(const struct server *s, const char *peer)
{
	unsigned n = 0;

	for (const struct client *c = s->clients; c; c = c->next)
		if (!c->closing && (!peer || !strcmp(c->peer, peer)))
			n++;
	return n;
}

struct client *clients_silent(const struct server *s, const char *peer)
{
	struct client *oldest = NULL;

	for (struct client *c = s->clients; c; c = c->next)
		if (!c->closing && !c->hello && (!peer || !strcmp(c->peer, peer)) &&
		    (!oldest || c->since <= oldest->since))
			oldest = c;
	return oldest;
}
