/* SPDX-License-Identifier: MIT */
/*
 * server.h - nicfiled's objects and how its parts call each other:
 * nicfiled.c (options, main loop), exports.c (exports and who sees them),
 * cm.c (the connection manager: accept or reject), client.c (per-client
 * state, message slots, open handles), requests.c (the request handlers).
 */
#ifndef NICFILED_SERVER_H
#define NICFILED_SERVER_H
#include <stdint.h>
#include <rdma/rdma_cma.h>
#include "../userlib/proto.h"
#include "allow.h"
#include "files.h"

#define RECV_SLOTS 8
#define SEND_SLOTS 8
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
};

struct client {
	struct client *next;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;     /* this client's alone: no other client's rkey works on its QP */
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;          /* RECV_SLOTS receive slots, then SEND_SLOTS send slots */
	unsigned sends_out;
	unsigned send_next;
	int established, hello, closing, strikes;
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
	unsigned max_clients, max_open;
	int idle_s;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	struct ibv_context *verbs;
	struct ibv_pd *pd;         /* the files' own registrations: no QP ever uses it */
	struct ibv_comp_channel *cc;
	struct client *clients;
	unsigned nclients;
	struct files files;
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
void client_completions(struct server *s, struct client *c);
void cq_events(struct server *s);
/* Handles: open @f for @c (registers @c's own MR of it), and close. */
int client_open(struct server *s, struct client *c, struct nf_file *f, uint32_t *handle);
struct handle *client_handle(struct server *s, struct client *c, uint32_t h);
void client_close(struct server *s, struct client *c, uint32_t h);
void client_notify_change(struct nf_file *f, void *arg);

/* requests.c */
void handle_request(struct server *s, struct client *c, const uint8_t *buf, size_t len);
#endif
