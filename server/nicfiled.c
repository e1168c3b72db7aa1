// SPDX-License-Identifier: MIT
/*
 * nicfiled - export directories read-only over RDMA. Clients speak the
 * control protocol (doc/protocol.md) over SEND/RECV and read file data with
 * one-sided RDMA READs from regions registered once per file.
 *
 * One thread, one poll loop: CM events, completions (one channel for all
 * clients), inotify, signals. A misbehaving client gets an error reply or is
 * disconnected; nothing it sends can stop the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <rdma/rdma_cma.h>
#include "nicfile.h"
#include "../userlib/proto.h"
#include "../userlib/sha256.h"
#include "confine.h"
#include "files.h"
#include "log.h"

#define RECV_SLOTS 8
#define SEND_SLOTS 8
#define MAX_EXPORTS 16
#define MAX_STRIKES 3          /* malformed messages before a disconnect */

int log_verbose;

struct export { const char *name; const char *dir; int fd; };

struct client {
	struct client *next;
	struct rdma_cm_id *id;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;          /* RECV_SLOTS receive slots, then SEND_SLOTS send slots */
	unsigned sends_out;
	unsigned send_next;
	int established, hello, closing, strikes;
	unsigned nopen;
	struct nf_file **open;  /* max_open handles; handle = index + 1 */
	char peer[64];
	struct nf_msg req, rep; /* scratch, too big for the stack */
};

struct server {
	struct export exports[MAX_EXPORTS];
	int nexports;
	const char *device, *listen_addr;
	uint16_t port;
	unsigned max_clients, max_open;
	int idle_s;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct client *clients;
	unsigned nclients;
	struct files files;
	int sig_fd;
	int stop;
};

/* ------------------------------------------------------------ clients */

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

static void client_drop(struct server *s, struct client *c, const char *why)
{
	(void)s;
	if (c->closing)
		return;
	c->closing = 1;
	log_info("client %s: disconnecting: %s", c->peer, why);
	rdma_disconnect(c->id);
}

static void client_free(struct server *s, struct client *c)
{
	for (struct client **p = &s->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->nclients--;
	for (unsigned i = 0; i < s->max_open; i++)
		if (c->open && c->open[i])
			files_put(&s->files, c->open[i]);
	if (c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	rdma_destroy_id(c->id);
	free(c->buf);
	free(c->open);
	log_info("client %s: gone (%u connected)", c->peer, s->nclients);
	free(c);
}

static int send_msg(struct server *s, struct client *c, struct nf_msg *m)
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

static void notify_change(struct nf_file *f, void *arg)
{
	struct server *s = arg;
	/* Its own message: this may run while a reply is being built in c->rep. */
	struct nf_msg note, *m = &note;
	for (struct client *c = s->clients; c; c = c->next)
		for (unsigned i = 0; i < s->max_open && c->established; i++)
			if (c->open[i] == f) {
				memset(m, 0, offsetof(struct nf_msg, u) + sizeof(m->u.notify));
				m->type = NF_NOTIFY;
				m->u.notify.handle = i + 1;
				m->u.notify.generation = f->generation ^ 2; /* any other value */
				m->u.notify.reason = NF_CHANGED;
				send_msg(s, c, m);
			}
}

/* ------------------------------------------------------------ requests */

/* Split "export/rest" into an export index and the rest ("" for the root). */
static int find_export(struct server *s, const char *path, const char **rest)
{
	size_t n = strcspn(path, "/");
	for (int i = 0; i < s->nexports; i++)
		if (strlen(s->exports[i].name) == n && !strncmp(path, s->exports[i].name, n)) {
			*rest = path[n] ? path + n + 1 : "";
			if (**rest == '/')
				return -EXDEV;   /* "export//etc": an absolute path in disguise */
			return i;
		}
	return path[0] == '/' ? -EXDEV : -ENOENT;
}

static struct nf_file *handle_file(struct server *s, struct client *c, uint32_t h)
{
	if (h == 0 || h > s->max_open)
		return NULL;
	return c->open[h - 1];
}

static uint8_t ftype_of(mode_t m)
{
	return S_ISREG(m) ? NICFILE_TYPE_REG : S_ISDIR(m) ? NICFILE_TYPE_DIR : NICFILE_TYPE_OTHER;
}

static int do_open(struct server *s, struct client *c, struct nf_msg *q, struct nf_msg *r)
{
	const char *rest;
	struct nf_file *f;
	unsigned slot;
	int idx, err;

	if (c->nopen >= s->max_open)
		return -EMFILE;
	idx = find_export(s, q->u.path.path, &rest);
	if (idx < 0)
		return idx;
	/* A file that changes while it is being registered is tried again. */
	for (int tries = 0; tries < 3; tries++)
		if ((err = files_get(&s->files, idx, s->exports[idx].name, s->exports[idx].fd, rest, &f)) != -EAGAIN)
			break;
	if (err)
		return err;
	for (slot = 0; c->open[slot]; slot++)
		;
	c->open[slot] = f;
	c->nopen++;
	r->u.open_rep.handle = slot + 1;
	r->u.open_rep.addr = nicfile_region_addr(f->region);
	r->u.open_rep.rkey = nicfile_region_rkey(f->region);
	r->u.open_rep.length = nicfile_region_length(f->region);
	r->u.open_rep.generation = f->generation;
	r->u.open_rep.mode = (uint8_t)nicfile_region_mode(f->region);
	r->u.open_rep.ftype = NICFILE_TYPE_REG;
	r->u.open_rep.perm = f->st0.st_mode & 07777;
	r->u.open_rep.mtime_ns = (int64_t)f->st0.st_mtim.tv_sec * 1000000000 + f->st0.st_mtim.tv_nsec;
	log_debug("client %s: open %s -> handle %u", c->peer, f->name, slot + 1);
	return 0;
}

static int do_stat(struct server *s, struct nf_msg *q, struct nf_msg *r)
{
	const char *rest;
	struct stat st;
	int idx, pfd = -1, err;

	if (q->u.path.path[0] == 0) {     /* the root of all exports */
		r->u.stat_rep.ftype = NICFILE_TYPE_DIR;
		r->u.stat_rep.perm = 0555;
		r->u.stat_rep.mode = -1;
		r->u.stat_rep.generation = 1;
		return 0;
	}
	idx = find_export(s, q->u.path.path, &rest);
	if (idx < 0)
		return idx;
	err = confine_resolve(s->exports[idx].fd, rest, &pfd, &st);
	if (err)
		return err;
	close(pfd);
	r->u.stat_rep.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	r->u.stat_rep.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	r->u.stat_rep.perm = st.st_mode & 07777;
	r->u.stat_rep.ftype = ftype_of(st.st_mode);
	r->u.stat_rep.generation = files_generation_of(&st);
	r->u.stat_rep.mode = -1;
	for (struct nf_file *f = s->files.list; f; f = f->next)
		if (!f->changed && f->st0.st_ino == st.st_ino && f->st0.st_dev == st.st_dev)
			r->u.stat_rep.mode = (int8_t)nicfile_region_mode(f->region);
	return 0;
}

/* Bytes a LIST reply entry takes on the wire. */
static size_t entry_wire_len(size_t name_len) { return 1 + 8 + 2 + name_len; }

static int do_list(struct server *s, struct nf_msg *q, struct nf_msg *r)
{
	size_t used = NF_HDR_LEN + 4 + 4 + 2;
	uint32_t index = 0, cookie = q->u.path.cookie;
	const char *rest;
	struct dirent *de;
	DIR *d;
	int idx, fd;

	if (q->u.path.path[0] == 0) {      /* list the exports */
		for (int i = 0; i < s->nexports && r->u.list_rep.count < NF_LIST_MAX; i++) {
			struct nf_dirent *e = &r->u.list_rep.e[r->u.list_rep.count++];
			e->type = NICFILE_TYPE_DIR;
			e->name_len = (uint16_t)strlen(s->exports[i].name);
			memcpy(e->name, s->exports[i].name, e->name_len + 1);
		}
		return 0;
	}
	idx = find_export(s, q->u.path.path, &rest);
	if (idx < 0)
		return idx;
	fd = confine_open_dir(s->exports[idx].fd, rest);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* The cookie is the index of the next entry: stateless on our side. */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (index++ < cookie)
			continue;
		size_t n = strlen(de->d_name);
		if (n > NF_NAME_MAX)
			continue;
		if (r->u.list_rep.count == NF_LIST_MAX || used + entry_wire_len(n) > NF_MSG_MAX) {
			r->u.list_rep.next_cookie = index - 1;
			break;
		}
		struct stat st;
		struct nf_dirent *e = &r->u.list_rep.e[r->u.list_rep.count++];
		e->type = NICFILE_TYPE_OTHER;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			e->type = ftype_of(st.st_mode);
			e->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		}
		e->name_len = (uint16_t)n;
		memcpy(e->name, de->d_name, n + 1);
		used += entry_wire_len(n);
	}
	closedir(d);
	return 0;
}

/*
 * A descriptor of the same file opened O_DIRECT, or -1.  Hashing through it
 * leaves the page cache alone: a file served from the NVMe CMB must not be
 * pulled into it just because a client asked for a checksum.
 */
static int reopen_direct(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

static int do_checksum(struct server *s, struct nf_file *f, struct nf_msg *r)
{
	/* O_DIRECT wants an aligned buffer; 4096 covers every block size here. */
	static _Alignas(4096) uint8_t buf[1 << 20];
	struct nf_sha256 h;
	uint64_t off = 0, len = nicfile_region_length(f->region);
	int err = files_check(&s->files, f, s->exports[f->export_idx].fd);
	int dfd, fd;

	if (err)
		return err;
	dfd = reopen_direct(f->fd);
	fd = dfd >= 0 ? dfd : f->fd;
	/* pread, not the mapping: a truncate under us must not SIGBUS the server. */
	nf_sha256_init(&h);
	while (off < len && !err) {
		size_t want = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		ssize_t n;

		if (fd == dfd)	/* whole blocks; the read stops at EOF */
			want = (want + 4095) & ~(size_t)4095;
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0)
			err = -errno;
		else if (n == 0)
			err = -ESTALE;  /* shorter than registered: truncated */
		else {
			if ((uint64_t)n > len - off)
				n = (ssize_t)(len - off);  /* grown since: hash what was registered */
			nf_sha256_update(&h, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	if (dfd >= 0)
		close(dfd);
	else
		posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (err)
		return err;
	nf_sha256_final(&h, r->u.checksum_rep.sha256);
	err = files_check(&s->files, f, s->exports[f->export_idx].fd);
	r->u.checksum_rep.generation = err ? f->generation ^ 2 : f->generation;
	return err;
}

static void handle_request(struct server *s, struct client *c, const uint8_t *buf, size_t len)
{
	struct nf_msg *q = &c->req, *r = &c->rep;
	const char *why;
	struct nf_file *f;
	int err = nf_decode(buf, len, q, &why);

	memset(r, 0, sizeof(*r));
	r->seq = q->seq;
	if (err) {
		log_warn("client %s: bad message (%zu bytes): %s", c->peer, len, why ? why : "?");
		r->type = NF_ERROR_REP;
		r->status = err;
		send_msg(s, c, r);
		if (++c->strikes >= MAX_STRIKES)
			client_drop(s, c, "too many malformed messages");
		return;
	}
	if (nf_is_reply(q->type) || q->type == NF_NOTIFY) {
		r->type = NF_ERROR_REP;
		r->status = -EBADMSG;
		send_msg(s, c, r);
		if (++c->strikes >= MAX_STRIKES)
			client_drop(s, c, "too many malformed messages");
		return;
	}
	r->type = (uint8_t)(q->type + 1);   /* every request's reply follows it */
	if (q->type != NF_HELLO_REQ && !c->hello) {
		r->status = -EPROTO;
		send_msg(s, c, r);
		return;
	}
	switch (q->type) {
	case NF_HELLO_REQ:
		if (q->u.hello_req.min_version > NF_VERSION || q->u.hello_req.max_version < NF_VERSION) {
			err = -EPROTONOSUPPORT;
			break;
		}
		c->hello = 1;
		r->u.hello_rep.version = NF_VERSION;
		r->u.hello_rep.max_open = (uint16_t)s->max_open;
		r->u.hello_rep.max_clients = s->max_clients;
		break;
	case NF_OPEN_REQ:
		err = do_open(s, c, q, r);
		break;
	case NF_STAT_REQ:
		err = do_stat(s, q, r);
		break;
	case NF_LIST_REQ:
		err = do_list(s, q, r);
		break;
	case NF_CLOSE_REQ:
		if (!(f = handle_file(s, c, q->u.handle.handle))) {
			err = -EBADF;
			break;
		}
		c->open[q->u.handle.handle - 1] = NULL;
		c->nopen--;
		files_put(&s->files, f);
		break;
	case NF_VALIDATE_REQ:
		if (!(f = handle_file(s, c, q->u.handle.handle))) {
			err = -EBADF;
			break;
		}
		err = files_check(&s->files, f, s->exports[f->export_idx].fd);
		r->u.validate_rep.generation = err ? f->generation ^ 2 : f->generation;
		r->u.validate_rep.size = nicfile_region_length(f->region);
		break;
	case NF_CHECKSUM_REQ:
		if (!(f = handle_file(s, c, q->u.handle.handle))) {
			err = -EBADF;
			break;
		}
		err = do_checksum(s, f, r);
		break;
	}
	r->status = err;
	send_msg(s, c, r);
}

static void client_completions(struct server *s, struct client *c)
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

/* ------------------------------------------------------------ CM */

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
		 "odp-cmb where the file's device has a CMB, else odp (fallback pinned)" : "pinned");
	return 0;
}

static void on_connect_request(struct server *s, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct client *c = NULL;
	struct ibv_device_attr dattr;
	const char *why = "out of memory";
	int err;

	if (s->nclients >= s->max_clients) {
		log_warn("refusing a client: %u clients connected (--max-clients)", s->nclients);
		/* Tell it why, so it does not retry: see NF_REJECT_FULL. */
		rdma_reject(id, NF_REJECT_FULL, sizeof(NF_REJECT_FULL));
		rdma_destroy_id(id);
		return;
	}
	if ((err = setup_device(s, id->verbs))) {
		log_warn("refusing a client on device %s: %s", ibv_get_device_name(id->verbs->device),
			 err == -ENODEV ? "not the served device" : nicfile_strerror(err));
		rdma_reject(id, NULL, 0);
		rdma_destroy_id(id);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto reject;
	c->id = id;
	id->context = c;
	struct sockaddr_in *sa = (struct sockaddr_in *)rdma_get_peer_addr(id);
	getnameinfo((struct sockaddr *)sa, sizeof(*sa), c->peer, sizeof(c->peer), NULL, 0, NI_NUMERICHOST);
	c->open = calloc(s->max_open, sizeof(*c->open));
	c->buf = aligned_alloc(4096, (size_t)(RECV_SLOTS + SEND_SLOTS) * NF_MSG_MAX);
	if (!c->open || !c->buf)
		goto reject;
	c->cq = ibv_create_cq(id->verbs, RECV_SLOTS + SEND_SLOTS + 2, c, s->cc, 0);
	why = "cannot create a CQ";
	if (!c->cq)
		goto reject;
	struct ibv_qp_init_attr qa = {
		.send_cq = c->cq, .recv_cq = c->cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = SEND_SLOTS, .max_recv_wr = RECV_SLOTS, .max_send_sge = 1, .max_recv_sge = 1 },
	};
	why = "cannot create a QP";
	if (rdma_create_qp(id, s->pd, &qa))
		goto reject;
	c->mr = ibv_reg_mr(s->pd, c->buf, (size_t)(RECV_SLOTS + SEND_SLOTS) * NF_MSG_MAX, IBV_ACCESS_LOCAL_WRITE);
	why = "cannot register message buffers";
	if (!c->mr)
		goto reject;
	for (unsigned i = 0; i < RECV_SLOTS; i++)
		if (post_recv(c, i))
			goto reject;
	if (ibv_req_notify_cq(c->cq, 0))
		goto reject;
	if (ibv_query_device(id->verbs, &dattr))
		goto reject;
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
		goto reject;
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
	return;
reject:
	log_warn("refusing a client: %s", why);
	rdma_reject(id, NULL, 0);
	if (c) {
		if (id->qp)
			rdma_destroy_qp(id);
		if (c->mr)
			ibv_dereg_mr(c->mr);
		if (c->cq)
			ibv_destroy_cq(c->cq);
		free(c->buf);
		free(c->open);
		free(c);
	}
	rdma_destroy_id(id);
}

static void cm_events(struct server *s)
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
		if (copy.id == s->listen_id)
			continue;
		switch (copy.event) {
		case RDMA_CM_EVENT_ESTABLISHED:
			c->established = 1;
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

static void cq_events(struct server *s)
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

/* ------------------------------------------------------------ main */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: nicfiled --export DIR [--export NAME=DIR ...] [options]\n"
		"  -e, --export [NAME=]DIR  export DIR read-only; clients name it NAME (default: DIR's basename)\n"
		"  -l, --listen ADDR        listen on ADDR (default: all addresses)\n"
		"  -p, --port N             RDMA CM port (default %d)\n"
		"  -d, --ib-dev DEV         serve only on RDMA device DEV\n"
		"  -c, --max-clients N      clients at once (default 64)\n"
		"  -m, --max-open N         open files per client (default 64)\n"
		"  -i, --idle-timeout S     close a file S seconds after its last client (default 30)\n"
		"      --no-odp             register pinned even if the device has ODP\n"
		"      --no-cmb             ODP on the page cache even where the NVMe CMB could serve\n"
		"  -v, --verbose            log every open\n"
		"See nicfiled(8).\n", NICFILE_DEFAULT_PORT);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int add_export(struct server *s, char *arg)
{
	struct export *e;
	char *eq = strchr(arg, '=');
	char *dir = eq ? eq + 1 : arg;
	const char *name;

	if (s->nexports == MAX_EXPORTS) {
		fprintf(stderr, "nicfiled: at most %d exports\n", MAX_EXPORTS);
		return -1;
	}
	if (eq) {
		*eq = 0;
		name = arg;
	} else {
		size_t n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			dir[--n] = 0;
		name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	}
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "nicfiled: cannot name export '%s': use --export NAME=DIR\n", dir);
		return -1;
	}
	for (int i = 0; i < s->nexports; i++)
		if (!strcmp(s->exports[i].name, name)) {
			fprintf(stderr, "nicfiled: two exports named '%s': use --export NAME=DIR\n", name);
			return -1;
		}
	e = &s->exports[s->nexports];
	e->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->fd < 0) {
		fprintf(stderr, "nicfiled: cannot export %s: %s\n", dir, strerror(errno));
		return -1;
	}
	e->name = name;
	e->dir = dir;
	s->nexports++;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "export", required_argument, NULL, 'e' }, { "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' }, { "ib-dev", required_argument, NULL, 'd' },
		{ "max-clients", required_argument, NULL, 'c' }, { "max-open", required_argument, NULL, 'm' },
		{ "idle-timeout", required_argument, NULL, 'i' }, { "no-odp", no_argument, NULL, 'N' },
		{ "no-cmb", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct server *s = calloc(1, sizeof(*s));
	unsigned long v;
	int opt;

	if (!s)
		return 1;
	s->port = NICFILE_DEFAULT_PORT;
	s->max_clients = 64;
	s->max_open = 64;
	s->idle_s = 30;
	if (files_init(&s->files))
		log_warn("no inotify (%s): file changes are found by stat checks at open, validate and checksum only",
			 strerror(errno));
	while ((opt = getopt_long(argc, argv, "e:l:p:d:c:m:i:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'e': if (add_export(s, optarg)) return 2; break;
		case 'l': s->listen_addr = optarg; break;
		case 'd': s->device = optarg; break;
		case 'p': if (parse_uint(optarg, 65535, &v) || !v) goto bad; s->port = (uint16_t)v; break;
		case 'c': if (parse_uint(optarg, 100000, &v) || !v) goto bad; s->max_clients = (unsigned)v; break;
		case 'm': if (parse_uint(optarg, 4096, &v) || !v) goto bad; s->max_open = (unsigned)v; break;
		case 'i': if (parse_uint(optarg, 86400, &v)) goto bad; s->idle_s = (int)v; break;
		case 'N': s->files.reg_flags |= NICFILE_REG_NO_ODP; break;
		case 'C': s->files.reg_flags |= NICFILE_REG_NO_CMB; break;
		case 'v': log_verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || s->nexports == 0) {
		fprintf(stderr, "nicfiled: %s\n", s->nexports ? "unexpected arguments" : "nothing to export: give --export DIR");
		usage(stderr);
		return 2;
	}
	s->files.on_change = notify_change;
	s->files.arg = s;

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	s->ec = rdma_create_event_channel();
	if (!s->ec || rdma_create_id(s->ec, &s->listen_id, NULL, RDMA_PS_TCP)) {
		fprintf(stderr, "nicfiled: cannot use the RDMA CM (is rdma_ucm loaded?): %s\n", strerror(errno));
		return 1;
	}
	fcntl(s->ec->fd, F_SETFL, fcntl(s->ec->fd, F_GETFL) | O_NONBLOCK);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(s->port) };
	if (s->listen_addr) {
		struct addrinfo hints = { .ai_family = AF_INET }, *ai;
		if (getaddrinfo(s->listen_addr, NULL, &hints, &ai)) {
			fprintf(stderr, "nicfiled: cannot resolve %s\n", s->listen_addr);
			return 2;
		}
		sin.sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		freeaddrinfo(ai);
	}
	if (rdma_bind_addr(s->listen_id, (struct sockaddr *)&sin) || rdma_listen(s->listen_id, 32)) {
		fprintf(stderr, "nicfiled: cannot listen on port %u: %s\n", s->port, strerror(errno));
		return 1;
	}
	if (s->listen_id->verbs && setup_device(s, s->listen_id->verbs)) {
		fprintf(stderr, "nicfiled: %s is not on device %s\n", s->listen_addr, s->device);
		return 1;
	}
	for (int i = 0; i < s->nexports; i++)
		log_info("exporting %s as '%s' (read-only)", s->exports[i].dir, s->exports[i].name);
	log_info("listening on %s port %u (pid %d)", s->listen_addr ? s->listen_addr : "*", s->port, getpid());

	while (!s->stop) {
		struct pollfd p[4] = {
			{ .fd = s->ec->fd, .events = POLLIN },
			{ .fd = s->cc ? s->cc->fd : -1, .events = POLLIN },
			{ .fd = s->files.inotify_fd, .events = POLLIN },
			{ .fd = s->sig_fd, .events = POLLIN },
		};
		if (poll(p, 4, 1000) < 0 && errno != EINTR) {
			perror("nicfiled: poll");
			break;
		}
		if (p[3].revents & POLLIN) {
			log_info("signal received; shutting down");
			break;
		}
		if (p[2].revents & POLLIN)
			files_inotify(&s->files);
		if (p[1].revents & POLLIN)
			cq_events(s);
		if (p[0].revents & POLLIN)
			cm_events(s);
		files_sweep(&s->files, time(NULL), s->idle_s);
	}

	/* Clean shutdown: every client, every region, every descriptor. */
	while (s->clients) {
		struct client *c = s->clients;
		if (!c->closing)
			rdma_disconnect(c->id);
		client_free(s, c);
	}
	files_sweep(&s->files, time(NULL), 0);
	files_destroy(&s->files);
	rdma_destroy_id(s->listen_id);
	rdma_destroy_event_channel(s->ec);
	if (s->cc)
		ibv_destroy_comp_channel(s->cc);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	for (int i = 0; i < s->nexports; i++)
		close(s->exports[i].fd);
	log_info("stopped");
	free(s);
	return 0;
bad:
	fprintf(stderr, "nicfiled: bad value '%s' for -%c\n", optarg, opt);
	return 2;
}
