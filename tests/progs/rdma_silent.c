// SPDX-License-Identifier: MIT
/*
 * rdma_silent - connections that say nothing: opens N RC connections to
 * HOST:PORT with librdmacm and never sends a message on them. For the
 * limits of nicfiled: silent connections must not lock real clients out,
 * and must be ended by the server.
 *   rdma_silent HOST PORT N READY-FLAG SECONDS
 * Creates READY-FLAG once every attempt has ended in a connection or a
 * refusal, then waits until the server has ended every connection it
 * accepted, or SECONDS passed. Prints one summary line:
 *   "established E refused R failed F ended-by-server D last-end-s T open O"
 * (E counts connections that were ever established; O those still open).
 * Exit 0 when it ran (the caller judges the counts); 2: error.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>
#include <rdma/rdma_cma.h>

enum state { CONNECTING, ESTABLISHED, REFUSED, FAILED, ENDED };

struct conn {
	struct rdma_cm_id *id;
	enum state state;
	double established_at;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rdma_event_channel *ec;
	struct rdma_addrinfo hints = { .ai_port_space = RDMA_PS_TCP }, *ai;
	struct ibv_pd *pd = NULL;
	struct ibv_cq *cq = NULL;
	struct conn *v;
	int n, pending, ready = 0;
	double t0 = now_s(), last_end = 0, limit;

	if (argc != 6 || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s HOST PORT N READY-FLAG SECONDS\n", argv[0]);
		return 2;
	}
	limit = atof(argv[5]);
	if (rdma_getaddrinfo(argv[1], argv[2], &hints, &ai)) {
		fprintf(stderr, "rdma_getaddrinfo %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	ec = rdma_create_event_channel();
	v = calloc((size_t)n, sizeof(*v));
	if (!ec || !v)
		return 2;
	for (int i = 0; i < n; i++) {
		if (rdma_create_id(ec, &v[i].id, &v[i], RDMA_PS_TCP) ||
		    rdma_resolve_addr(v[i].id, NULL, ai->ai_dst_addr, 5000)) {
			fprintf(stderr, "connection %d: %s\n", i, strerror(errno));
			return 2;
		}
	}
	pending = n;
	while (now_s() - t0 < limit) {
		struct pollfd p = { .fd = ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;
		int open = 0;

		for (int i = 0; i < n; i++)
			open += v[i].state == ESTABLISHED;
		if (!pending && !ready) {
			FILE *f = fopen(argv[4], "w");
			if (f)
				fclose(f);
			ready = 1;
		}
		if (ready && !open)
			break;
		if (poll(&p, 1, 200) <= 0 || rdma_get_cm_event(ec, &ev))
			continue;
		struct conn *c = ev->id->context;
		enum rdma_cm_event_type type = ev->event;
		rdma_ack_cm_event(ev);
		switch (type) {
		case RDMA_CM_EVENT_ADDR_RESOLVED:
			if (rdma_resolve_route(c->id, 5000))
				c->state = FAILED, pending--;
			break;
		case RDMA_CM_EVENT_ROUTE_RESOLVED: {
			if (!pd) {
				pd = ibv_alloc_pd(c->id->verbs);
				cq = pd ? ibv_create_cq(c->id->verbs, 4 * n + 4, NULL, NULL, 0) : NULL;
				if (!cq)
					return 2;
			}
			struct ibv_qp_init_attr qa = {
				.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
				.cap = { .max_send_wr = 1, .max_recv_wr = 1, .max_send_sge = 1, .max_recv_sge = 1 },
			};
			struct rdma_conn_param cp = { .retry_count = 7, .rnr_retry_count = 7 };
			if (rdma_create_qp(c->id, pd, &qa) || rdma_connect(c->id, &cp))
				c->state = FAILED, pending--;
			break;
		}
		case RDMA_CM_EVENT_ESTABLISHED:
			c->state = ESTABLISHED;
			c->established_at = now_s();
			pending--;
			break;
		case RDMA_CM_EVENT_REJECTED:
			if (c->state == CONNECTING)
				pending--;
			c->state = REFUSED;
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			if (c->state == ESTABLISHED) {
				c->state = ENDED;
				last_end = now_s() - t0;
				rdma_disconnect(c->id);
			}
			break;
		case RDMA_CM_EVENT_ADDR_ERROR:
		case RDMA_CM_EVENT_ROUTE_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
		case RDMA_CM_EVENT_CONNECT_ERROR:
			if (c->state == CONNECTING)
				pending--;
			if (c->state == CONNECTING || c->state == ESTABLISHED)
				c->state = FAILED;
			break;
		default:
			break;
		}
	}
	int est = 0, refused = 0, failed = 0, ended = 0, open = 0;
	for (int i = 0; i < n; i++) {
		est += v[i].state == ESTABLISHED || v[i].state == ENDED;
		refused += v[i].state == REFUSED;
		failed += v[i].state == FAILED || v[i].state == CONNECTING;
		ended += v[i].state == ENDED;
		open += v[i].state == ESTABLISHED;
	}
	printf("established %d refused %d failed %d ended-by-server %d last-end-s %.1f open %d\n",
	       est, refused, failed, ended, last_end, open);
	for (int i = 0; i < n; i++) {
		if (v[i].state == ESTABLISHED)
			rdma_disconnect(v[i].id);
		if (v[i].id->qp)
			rdma_destroy_qp(v[i].id);
		rdma_destroy_id(v[i].id);
	}
	if (cq)
		ibv_destroy_cq(cq);
	if (pd)
		ibv_dealloc_pd(pd);
	rdma_destroy_event_channel(ec);
	rdma_freeaddrinfo(ai);
	free(v);
	return 0;
}
