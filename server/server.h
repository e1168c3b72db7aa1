/* SPDX-License-Identifier: MIT */
/*
 * server.h - nicfiled's objects and how its parts call each other:
 * nicfiled.c (options, main loop), exports.c (exports and who sees them),
 * cm.c (the connection manager: accept or reject), client.c (per-client
 * state, message slots, open handles, NOTIFY), requests.c (the request
 * handlers), workers.c (threads for the slow part of a request).
 *
 * Threads: the loop owns every object here. A request whose work grows
 * with a file or a directory (OPEN, LIST, CHECKSUM, CLOSE) runs as its
 * client's job on a worker; while it does, the client is busy: the loop
 * starts none of its other requests, leaves its open table, PD and
 * message scratch to the job, and defers freeing it (client_free() marks
 * it gone). Besides those, a job reads only the immutable configuration
 * (exports, limits) and the files table (locked, files.h). Two more jobs
 * release what takes time to release: files out of the table (reap) and
 * a disconnected client's verbs objects (torn: the loop leaves it alone).
 */
#ifndef NICFILED_SERVER_H
#define NICFILED_SERVER_H
#include <stdint.h>
#include <rdma/rdma_cma.h>
#include "../userlib/proto.h"
#include "allow.h"
#include "files.h"
#include "workers.h"

#define RECV_SLOTS 8
#define SEND_SLOTS 8
#define NOTIFY_SLOTS 2         /* of the send slots, the most NOTIFYs take */
#define MAX_EXPORTS 16
#define MAX_STRIKES 3          /* malformed messages before a disconnect */

struct export {
	const char *name, *dir;
	int fd;
	struct allow_list allow;   /* clients that see this export (beside the global list) */
};

/* One open of one client: the shared file and this client's own MR of it. */
struct handle {
	struct nf_file *f;
	struct ibv_mr *mr;     /* on the client's PD, zero-based; its rkey is the capability */
	int notify;            /* its file changed; NOTIFY not sent yet */
};

struct client {
	struct client *next;
	struct server *srv;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;     /* this client's alone: no other client's rkey works on its QP */
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;          /* RECV_SLOTS receive slots, then SEND_SLOTS send slots */
	unsigned sends_out;    /* replies in flight */
	unsigned notifies_out; /* NOTIFYs in flight, at most NOTIFY_SLOTS */
	unsigned notify_credit; /* NOTIFYs it can still take before its next request */
	unsigned send_next;
	int established, hello, closing, strikes;
	int busy;              /* its job is on a worker */
	int gone;              /* freed while busy: the job's end frees it */
	int torn;              /* being torn down on a worker: the loop leaves it alone */
	unsigned queued, queue_head; /* received requests waiting for the job to end */
	struct { uint8_t slot; uint32_t len; } queue[RECV_SLOTS];
	struct job job;
	struct nf_file *job_file;   /* OPEN's result */
	struct ibv_mr *job_mr;
	uint32_t job_handle;        /* CLOSE's and CHECKSUM's handle */
	time_t since, last_heard;
	uint32_t exports;      /* bit i: export i is visible to this client */
	unsigned nopen;
	struct handle *open;   /* max_open handles; handle = index + 1 */
	char peer[64];
	struct nf_msg req, rep; /* scratch, too big for the stack */
};

struct server {
	struct export exports[MAX_EXPORTS];
	int nexports;
	struct allow_list allow;   /* clients that see every export */
	const char *device, *listen_addr, *user;
	uint16_t port;
	unsigned max_clients, max_open, max_per_addr;
	int idle_s;                /* a file's registration kept after its last close */
	int hello_s;               /* a connection's first message within this, or dropped */
	int client_idle_s;         /* a client with nothing open and no request: dropped */
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	struct ibv_context *verbs;
	struct ibv_pd *pd;         /* the files' own registrations: no QP ever uses it */
	struct ibv_comp_channel *cc;
	struct client *clients;
	unsigned nclients;
	struct files files;
	struct workers workers;
	struct job reap;           /* releases files out of the table (files_reap) */
	int reaping;
	int sig_fd;
	int stop;
};

/* exports.c */
int exports_add(struct server *s, char *arg);
int exports_add_allow(struct server *s, const char *arg);
void exports_default_allow(struct server *s);
/* Bit i set: export i is visible to a client at @peer. */
uint32_t exports_visible(const struct server *s, const struct sockaddr *peer);
/* Split "export/rest" into an export index (visible to @c) and the rest. */
int exports_find(const struct server *s, const struct client *c, const char *path, const char **rest);
void exports_close(struct server *s);

/* cm.c */
int cm_listen(struct server *s);
void cm_events(struct server *s);

/* client.c */
struct client *client_new(struct server *s, struct rdma_cm_id *id, const char **why);
void client_free(struct server *s, struct client *c);
void client_drop(struct server *s, struct client *c, const char *why);
int client_send(struct server *s, struct client *c, struct nf_msg *m);
const uint8_t *client_recv_buf(struct client *c, unsigned slot);
int client_repost(struct client *c, unsigned slot);
void client_completions(struct server *s, struct client *c);
void cq_events(struct server *s);
/* Handles: @c's open of @f through @mr (its own MR of @f, on c->pd), and close. */
int client_open(struct server *s, struct client *c, struct nf_file *f, struct ibv_mr *mr, uint32_t *handle);
/* The open handle @h of @c, or NULL (also the fuzz target's, which fakes client.c). */
static inline struct handle *client_handle(struct server *s, struct client *c, uint32_t h)
{
	if (h == 0 || h > s->max_open || !c->open[h - 1].f)
		return NULL;
	return &c->open[h - 1];
}
void client_close(struct server *s, struct client *c, uint32_t h);
void client_notify_change(struct nf_file *f, void *arg);
/* Every second: first-message deadline and idle timeout. */
void clients_sweep(struct server *s, time_t now);
/* Connections from @peer (by address) that still hold a seat. */
unsigned clients_seated(const struct server *s, const char *peer);
/* The oldest seated client (from @peer, or any if NULL) not yet past HELLO. */
struct client *clients_silent(const struct server *s, const char *peer);

/* requests.c */
/* Answer @buf now, or start it as @c's job (then c->busy). */
void handle_request(struct server *s, struct client *c, const uint8_t *buf, size_t len);
/* A request arrived in receive slot @slot: queue it and start what can start. */
void requests_received(struct server *s, struct client *c, unsigned slot, uint32_t len);
/* Start @c's queued requests until one becomes a job. */
void requests_next(struct server *s, struct client *c);
#endif
