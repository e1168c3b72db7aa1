// SPDX-License-Identifier: MIT
/*
 * cm.c - nicfiled's connection manager: listen, judge each connection
 * request (allow-list, client limits, device), accept with the READ depth
 * the client asks for, and follow connections to their end. A refusal
 * carries a reason in the REJ private data (NF_REJECT_*), so the client
 * can say why and not retry.
 *
 * Seats: --max-clients in all, --max-per-address from one address. When
 * a limit is reached, the oldest connection (of that address, for the
 * per-address limit) that has not said HELLO yet gives up its seat, so
 * connections that say nothing cannot lock real clients out; the
 * first-message deadline (--hello-timeout, client.c) ends them anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "nicfile.h"
#include "server.h"
#include "log.h"

static int setup_device(struct server *s, struct ibv_context *verbs)
{
	struct ibv_device_attr_ex attr;

	if (s->verbs)
		return s->verbs == verbs ? 0 : -ENODEV;
	if (s->device && strcmp(ibv_get_device_name(verbs->device), s->device))
		return -ENODEV;
	s->pd = ibv_alloc_pd(verbs);
	s->cc = s->pd ? ibv_create_comp_channel(verbs) : NULL;
	if (!s->cc)
		return -ENOMEM;
	fcntl(s->cc->fd, F_SETFL, fcntl(s->cc->fd, F_GETFL) | O_NONBLOCK);
	s->verbs = verbs;
	s->files.pd = s->pd;
	int odp = 0;
	if (ibv_query_device_ex(verbs, NULL, &attr) == 0)
		odp = (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
		      (attr.odp_caps.per_transport_caps.rc_odp_caps & IBV_ODP_SUPPORT_READ);
	log_info("device %s: ODP for RC READ %s; peer block cache %s; files register as %s",
		 ibv_get_device_name(verbs->device), odp ? "supported" : "not supported",
		 access("/sys/kernel/mm/peer_block_cache", F_OK) ? "absent" : "present",
		 odp && !(s->files.reg_flags & NICFILE_REG_NO_ODP) ?
		 "odp-pmr or odp-cmb where the file's device has a PMR or CMB, else odp (fallback pinned)" : "pinned");
	return 0;
}

static socklen_t sockaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void refuse(struct rdma_cm_id *id, const char *reason)
{
	rdma_reject(id, reason, reason ? (uint8_t)(strlen(reason) + 1) : 0);
	rdma_destroy_id(id);
}

/* Is there a seat under @limit (for @peer, or all if NULL)? Frees one if it can. */
static int seat(struct server *s, const char *peer, unsigned limit, const char *option)
{
	struct client *victim;

	if (clients_seated(s, peer) < limit)
		return 1;
	victim = clients_silent(s, peer);
	if (!victim) {
		log_warn("refusing client %s: %u clients connected%s%s (%s)", peer ? peer : "",
			 clients_seated(s, peer), peer ? " from " : "", peer ? peer : "", option);
		return 0;
	}
	client_drop(s, victim, "its seat is needed and it has not said HELLO");
	return 1;
}

static void on_connect_request(struct server *s, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct sockaddr *peer = rdma_get_peer_addr(id);
	struct ibv_device_attr dattr;
	struct client *c;
	char name[64] = "?";
	const char *why;
	uint32_t visible;
	int err;

	getnameinfo(peer, sockaddr_len(peer), name, sizeof(name), NULL, 0, NI_NUMERICHOST);
	/* First, before any resource is spent on it: may this address connect at all? */
	visible = exports_visible(s, peer);
	if (!visible) {
		log_warn("refusing client %s: not allowed (--allow)", name);
		refuse(id, NF_REJECT_DENIED);
		return;
	}
	if (!seat(s, name, s->max_per_addr, "--max-per-address") ||
	    !seat(s, NULL, s->max_clients, "--max-clients")) {
		refuse(id, NF_REJECT_FULL);  /* so that it does not retry */
		return;
	}
	if ((err = setup_device(s, id->verbs))) {
		log_warn("refusing client %s on device %s: %s", name, ibv_get_device_name(id->verbs->device),
			 err == -ENODEV ? "not the served device" : nicfile_strerror(err));
		refuse(id, NULL);
		return;
	}
	c = client_new(s, id, &why);
	if (!c)
		goto reject;
	c->exports = visible;
	snprintf(c->peer, sizeof(c->peer), "%s", name);
	why = "cannot query the device";
	if (ibv_query_device(id->verbs, &dattr))
		goto reject_client;
	/*
	 * The request event gives the client's values from our side: its
	 * initiator depth (the READs it keeps in flight) arrives as
	 * responder_resources. Granting fewer would serialize its READs.
	 */
	struct rdma_conn_param cp = {
		.responder_resources = (uint8_t)(ev->param.conn.responder_resources < dattr.max_qp_rd_atom ?
						 ev->param.conn.responder_resources : dattr.max_qp_rd_atom),
		.initiator_depth = 0,
		.retry_count = 7,
		.rnr_retry_count = 7,
	};
	why = "accept failed";
	if (rdma_accept(id, &cp))
		goto reject_client;
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
	return;
reject_client:
	log_warn("refusing client %s: %s", name, why);
	rdma_reject(id, NULL, 0);
	client_free(s, c);
	return;
reject:
	log_warn("refusing client %s: %s", name, why);
	refuse(id, NULL);
}

void cm_events(struct server *s)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(s->ec, &ev) == 0) {
		struct rdma_cm_event copy = *ev;
		struct client *c = ev->id->context;
		if (copy.event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			on_connect_request(s, ev);
			rdma_ack_cm_event(ev);
			continue;
		}
		rdma_ack_cm_event(ev);
		if (copy.id == s->listen_id || !c || c->torn)
			continue;
		switch (copy.event) {
		case RDMA_CM_EVENT_ESTABLISHED:
			c->established = 1;
			if (c->closing) {   /* dropped while it was connecting */
				rdma_disconnect(c->id);
				break;
			}
			log_info("client %s: connected (%u connected)", c->peer, s->nclients);
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			if (!c->closing) {
				c->closing = 1;
				rdma_disconnect(c->id);
			}
			client_free(s, c);
			break;
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
		case RDMA_CM_EVENT_REJECTED:
			client_free(s, c);
			break;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			log_warn("device removed; stopping");
			s->stop = 1;
			break;
		default:
			break;
		}
	}
}

int cm_listen(struct server *s)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	s->ec = rdma_create_event_channel();
	if (!s->ec || rdma_create_id(s->ec, &s->listen_id, NULL, RDMA_PS_TCP)) {
		fprintf(stderr, "nicfiled: cannot use the RDMA CM (is rdma_ucm loaded?): %s\n", strerror(errno));
		return 1;
	}
	fcntl(s->ec->fd, F_SETFL, fcntl(s->ec->fd, F_GETFL) | O_NONBLOCK);
	sin->sin_family = AF_INET;
	if (s->listen_addr) {
		struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE }, *ai;
		if (getaddrinfo(s->listen_addr, NULL, &hints, &ai)) {
			fprintf(stderr, "nicfiled: --listen %s: not a numeric IPv4 or IPv6 address\n", s->listen_addr);
			return 2;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
	}
	/* The port is at the same offset in sockaddr_in and sockaddr_in6. */
	sin->sin_port = htons(s->port);
	if (rdma_bind_addr(s->listen_id, (struct sockaddr *)&ss) || rdma_listen(s->listen_id, 32)) {
		fprintf(stderr, "nicfiled: cannot listen on port %u: %s\n", s->port, strerror(errno));
		return 1;
	}
	if (s->listen_id->verbs && setup_device(s, s->listen_id->verbs)) {
		fprintf(stderr, "nicfiled: %s is not on device %s\n", s->listen_addr, s->device);
		return 1;
	}
	return 0;
}
