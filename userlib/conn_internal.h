/* SPDX-License-Identifier: MIT */
/*
 * conn_internal.h - the client connection and open-file objects (private),
 * and how the parts of the client side call each other:
 *   connect.c  connect (rping-style steps, each with its own undo), the one
 *              teardown path, disconnect
 *   cq.c       the completion engine: receives, sends and READs on one CQ,
 *              CM events, waiting for progress
 *   rpc.c      one request, one reply
 *   file.c     the calls on paths and open files
 *   read.c     the READ pipeline (nicfile_read_stream, nicfile_pread)
 *   compat.c   the 0.1-0.3 ABI of the structs that grew a comp_mask
 */
#ifndef NICFILE_CONN_INTERNAL_H
#define NICFILE_CONN_INTERNAL_H
#include <pthread.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define NICFILE_MAX_DEPTH 128
#define RECV_SLOTS 16
#define TAG_RECV  (1ull << 60)
#define TAG_SEND  (2ull << 60)
#define TAG_READ  (3ull << 60)
#define TAG_MASK  (0xfull << 60)

struct nf_msg;

struct nicfile_file {
	struct nicfile_conn *conn;
	struct nicfile_file *next;
	uint32_t handle, rkey, perm;
	uint64_t addr, length, generation;
	int64_t mtime_ns;
	int mode, ftype;
	int stale;              /* the server sent NOTIFY for this handle */
	unsigned streaming;     /* a read_stream of it is running */
};

struct nicfile_conn {
	pthread_mutex_t lock;   /* everything below; not held while a callback runs */
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_mr *msg_mr, *data_mr;
	uint8_t *msg_buf;       /* receive slots, then one send slot */
	uint8_t *data;          /* depth staging slots of chunk bytes for READs */
	size_t data_len;
	unsigned depth;
	uint32_t chunk;
	int timeout_ms;
	uint32_t seq;
	int dead;               /* 0, or why the connection is unusable */
	int wc_error;           /* first failed work completion status */
	int send_busy, waiting, have_reply;
	uint32_t waiting_seq;
	unsigned reads_out;
	uint8_t slot_done[NICFILE_MAX_DEPTH];
	struct nf_msg *reply, *scratch;
	struct nicfile_file *files;
	/* The READ pipeline (staging slots) belongs to one stream at a time. */
	int pipe_busy;
	pthread_t pipe_owner;
	pthread_cond_t pipe_free;
	int free_after_stream;  /* nicfile_disconnect() from a stream callback */
};

int64_t nf_now_ms(void);

/* cq.c */
void conn_mark_dead(struct nicfile_conn *c, int err);
int conn_post_recv(struct nicfile_conn *c, unsigned slot);
uint8_t *conn_send_slot(struct nicfile_conn *c);
int conn_poll_cq(struct nicfile_conn *c);
/* Wait for a completion or until @deadline (ms); 0 or -ETIMEDOUT. Loss shows in c->dead. */
int conn_wait_progress(struct nicfile_conn *c, int64_t deadline);
/* Wait for CM event @want; another event that ends the attempt is its errno. */
int conn_wait_cm_event(struct nicfile_conn *c, enum rdma_cm_event_type want, int timeout_ms);

/* rpc.c */
/* Send @req, wait for its reply in c->reply; the reply's status (lock held). */
int conn_rpc(struct nicfile_conn *c, struct nf_msg *req, uint8_t want, int timeout_ms);
int conn_set_path(struct nf_msg *m, uint8_t type, const char *path);

/* connect.c */
void conn_destroy(struct nicfile_conn *c);

/* file.c */
int file_validate_locked(struct nicfile_file *f);

/* The present versions of the functions whose structs grew (compat.c). */
struct nicfile_conn_opts;
struct nicfile_stat;
int nicfile_connect_v04(const char *host, const struct nicfile_conn_opts *opts, struct nicfile_conn **out);
int nicfile_stat_v04(struct nicfile_conn *c, const char *path, struct nicfile_stat *st);
int nicfile_fstat_v04(struct nicfile_file *f, struct nicfile_stat *st);

/* Tests only: send raw bytes and report the reply's type and status. */
int nicfile__send_raw(struct nicfile_conn *c, const void *buf, size_t len, int wait_ms,
		      uint8_t *reply_type, int32_t *reply_status);
#endif
