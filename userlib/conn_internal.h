/* SPDX-License-Identifier: MIT */
/* conn_internal.h - the client connection and open-file objects (private). */
#ifndef NICFILE_CONN_INTERNAL_H
#define NICFILE_CONN_INTERNAL_H
#include <pthread.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define NICFILE_MAX_DEPTH 128

struct nf_msg;

struct nicfile_file {
	struct nicfile_conn *conn;
	struct nicfile_file *next;
	uint32_t handle, rkey, perm;
	uint64_t addr, length, generation;
	int64_t mtime_ns;
	int mode, ftype;
	int stale;              /* the server sent NOTIFY for this handle */
};

struct nicfile_conn {
	pthread_mutex_t lock;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_mr *msg_mr, *data_mr;
	uint8_t *msg_buf;       /* receive slots, then one send slot */
	uint8_t *data;          /* depth staging slots of chunk bytes for READs */
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
};

/* Tests only: send raw bytes and report the reply's type and status. */
int nicfile__send_raw(struct nicfile_conn *c, const void *buf, size_t len, int wait_ms,
		      uint8_t *reply_type, int32_t *reply_status);
#endif
