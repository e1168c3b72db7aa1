// SPDX-License-Identifier: MIT
/*
 * proto.c - encode and decode nicfile control messages (doc/protocol.md).
 * All integers are little endian; strings are a u16 length and that many
 * bytes without NUL. The decoder checks every length against what is left
 * and rejects trailing bytes, so a message means exactly one thing.
 */
#include <errno.h>
#include <string.h>
#include "nicfile.h"
#include "proto.h"

/* ------------------------------------------------------------ writer */

struct wbuf { uint8_t *p; size_t len, cap; int err; };

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->err || n > w->cap - w->len) { w->err = -EMSGSIZE; return; }
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_uint(struct wbuf *w, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(w, b, (size_t)bytes);
}

#define put8(w, v)  put_uint(w, (uint8_t)(v), 1)
#define put16(w, v) put_uint(w, (uint16_t)(v), 2)
#define put32(w, v) put_uint(w, (uint32_t)(v), 4)
#define put64(w, v) put_uint(w, (uint64_t)(v), 8)

static void put_str(struct wbuf *w, const char *s, size_t n, size_t max)
{
	if (n > max || memchr(s, 0, n)) { w->err = -EINVAL; return; }
	put16(w, n);
	put(w, s, n);
}

/* ------------------------------------------------------------ reader */

struct rbuf { const uint8_t *p; size_t len, off; const char *why; };

static int fail(struct rbuf *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return 0;
}

static int take(struct rbuf *r, void *dst, size_t n)
{
	if (r->why)
		return 0;
	if (n > r->len - r->off)
		return fail(r, "field runs past the end of the message");
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return 1;
}

static uint64_t get_uint(struct rbuf *r, int bytes)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;
	if (!take(r, b, (size_t)bytes))
		return 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

#define get8(r)  ((uint8_t)get_uint(r, 1))
#define get16(r) ((uint16_t)get_uint(r, 2))
#define get32(r) ((uint32_t)get_uint(r, 4))
#define get64(r) ((uint64_t)get_uint(r, 8))

/* Copies a string into @dst (size max+1) and NUL-terminates it. */
static uint16_t get_str(struct rbuf *r, char *dst, size_t max)
{
	uint16_t n = get16(r);
	dst[0] = 0;
	if (r->why)
		return 0;
	if (n > max)
		return (uint16_t)fail(r, "string longer than allowed");
	if (!take(r, dst, n))
		return 0;
	dst[n] = 0;
	if (memchr(dst, 0, n))
		return (uint16_t)fail(r, "string contains a NUL byte");
	return n;
}

/* ------------------------------------------------------------ messages */

static const char *const type_names[] = {
	[NF_HELLO_REQ] = "HELLO", [NF_HELLO_REP] = "HELLO-REPLY",
	[NF_OPEN_REQ] = "OPEN", [NF_OPEN_REP] = "OPEN-REPLY",
	[NF_STAT_REQ] = "STAT", [NF_STAT_REP] = "STAT-REPLY",
	[NF_LIST_REQ] = "LIST", [NF_LIST_REP] = "LIST-REPLY",
	[NF_CLOSE_REQ] = "CLOSE", [NF_CLOSE_REP] = "CLOSE-REPLY",
	[NF_VALIDATE_REQ] = "VALIDATE", [NF_VALIDATE_REP] = "VALIDATE-REPLY",
	[NF_CHECKSUM_REQ] = "CHECKSUM", [NF_CHECKSUM_REP] = "CHECKSUM-REPLY",
	[NF_NOTIFY] = "NOTIFY", [NF_ERROR_REP] = "ERROR",
};

const char *nf_type_name(uint8_t type)
{
	if (type == 0 || type > NF_TYPE_MAX)
		return "unknown";
	return type_names[type];
}

int nf_is_reply(uint8_t type)
{
	switch (type) {
	case NF_HELLO_REP: case NF_OPEN_REP: case NF_STAT_REP: case NF_LIST_REP:
	case NF_CLOSE_REP: case NF_VALIDATE_REP: case NF_CHECKSUM_REP: case NF_ERROR_REP:
		return 1;
	}
	return 0;
}

int nf_encode(const struct nf_msg *m, void *buf, size_t cap)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (m->type == 0 || m->type > NF_TYPE_MAX)
		return -EINVAL;
	put32(&w, NF_MAGIC);
	put8(&w, NF_VERSION);
	put8(&w, m->type);
	put16(&w, 0);              /* flags, must be zero */
	put32(&w, 0);              /* total length, patched below */
	put32(&w, m->seq);
	if (nf_is_reply(m->type))
		put32(&w, (uint32_t)m->status);
	/* An error reply carries only its status. */
	if (m->status && m->type != NF_NOTIFY)
		goto done;

	switch (m->type) {
	case NF_HELLO_REQ:
		put16(&w, m->u.hello_req.min_version);
		put16(&w, m->u.hello_req.max_version);
		break;
	case NF_HELLO_REP:
		put16(&w, m->u.hello_rep.version);
		put16(&w, m->u.hello_rep.max_open);
		put32(&w, m->u.hello_rep.max_clients);
		break;
	case NF_OPEN_REQ: case NF_STAT_REQ:
		put_str(&w, m->u.path.path, strnlen(m->u.path.path, NF_PATH_MAX + 1), NF_PATH_MAX);
		break;
	case NF_LIST_REQ:
		put_str(&w, m->u.path.path, strnlen(m->u.path.path, NF_PATH_MAX + 1), NF_PATH_MAX);
		put32(&w, m->u.path.cookie);
		break;
	case NF_OPEN_REP:
		put32(&w, m->u.open_rep.handle);
		put64(&w, m->u.open_rep.addr);
		put32(&w, m->u.open_rep.rkey);
		put64(&w, m->u.open_rep.length);
		put64(&w, m->u.open_rep.generation);
		put8(&w, m->u.open_rep.mode);
		put8(&w, m->u.open_rep.ftype);
		put32(&w, m->u.open_rep.perm);
		put64(&w, m->u.open_rep.mtime_ns);
		break;
	case NF_STAT_REP:
		put64(&w, m->u.stat_rep.size);
		put64(&w, m->u.stat_rep.mtime_ns);
		put32(&w, m->u.stat_rep.perm);
		put8(&w, m->u.stat_rep.ftype);
		put64(&w, m->u.stat_rep.generation);
		put8(&w, m->u.stat_rep.mode);
		break;
	case NF_LIST_REP:
		if (m->u.list_rep.count > NF_LIST_MAX)
			return -EINVAL;
		put32(&w, m->u.list_rep.next_cookie);
		put16(&w, m->u.list_rep.count);
		for (unsigned i = 0; i < m->u.list_rep.count; i++) {
			const struct nf_dirent *e = &m->u.list_rep.e[i];
			put8(&w, e->type);
			put64(&w, e->size);
			put_str(&w, e->name, e->name_len, NF_NAME_MAX);
		}
		break;
	case NF_CLOSE_REQ: case NF_VALIDATE_REQ: case NF_CHECKSUM_REQ:
		put32(&w, m->u.handle.handle);
		break;
	case NF_CLOSE_REP: case NF_ERROR_REP:
		break;
	case NF_VALIDATE_REP:
		put64(&w, m->u.validate_rep.generation);
		put64(&w, m->u.validate_rep.size);
		break;
	case NF_CHECKSUM_REP:
		put(&w, m->u.checksum_rep.sha256, NF_SHA256_LEN);
		put64(&w, m->u.checksum_rep.generation);
		break;
	case NF_NOTIFY:
		put32(&w, m->u.notify.handle);
		put64(&w, m->u.notify.generation);
		put8(&w, m->u.notify.reason);
		break;
	}
done:
	if (w.err)
		return w.err;
	if (w.len > NF_MSG_MAX)
		return -EMSGSIZE;
	for (int i = 0; i < 4; i++)
		w.p[8 + i] = (uint8_t)(w.len >> (8 * i));
	return (int)w.len;
}

static int decode_body(struct rbuf *r, struct nf_msg *m)
{
	switch (m->type) {
	case NF_HELLO_REQ:
		m->u.hello_req.min_version = get16(r);
		m->u.hello_req.max_version = get16(r);
		if (!r->why && m->u.hello_req.min_version > m->u.hello_req.max_version)
			fail(r, "HELLO version range is empty");
		break;
	case NF_HELLO_REP:
		m->u.hello_rep.version = get16(r);
		m->u.hello_rep.max_open = get16(r);
		m->u.hello_rep.max_clients = get32(r);
		break;
	case NF_OPEN_REQ: case NF_STAT_REQ:
		m->u.path.len = get_str(r, m->u.path.path, NF_PATH_MAX);
		break;
	case NF_LIST_REQ:
		m->u.path.len = get_str(r, m->u.path.path, NF_PATH_MAX);
		m->u.path.cookie = get32(r);
		break;
	case NF_OPEN_REP:
		m->u.open_rep.handle = get32(r);
		m->u.open_rep.addr = get64(r);
		m->u.open_rep.rkey = get32(r);
		m->u.open_rep.length = get64(r);
		m->u.open_rep.generation = get64(r);
		m->u.open_rep.mode = get8(r);
		m->u.open_rep.ftype = get8(r);
		m->u.open_rep.perm = get32(r);
		m->u.open_rep.mtime_ns = (int64_t)get64(r);
		if (r->why)
			break;
		if (m->u.open_rep.mode >= NICFILE_MODE_COUNT)
			fail(r, "OPEN reply has an unknown registration mode");
		else if (m->u.open_rep.addr + m->u.open_rep.length < m->u.open_rep.addr)
			fail(r, "OPEN reply region wraps around the address space");
		break;
	case NF_STAT_REP:
		m->u.stat_rep.size = get64(r);
		m->u.stat_rep.mtime_ns = (int64_t)get64(r);
		m->u.stat_rep.perm = get32(r);
		m->u.stat_rep.ftype = get8(r);
		m->u.stat_rep.generation = get64(r);
		m->u.stat_rep.mode = (int8_t)get8(r);
		if (!r->why && (m->u.stat_rep.mode < -1 || m->u.stat_rep.mode >= NICFILE_MODE_COUNT))
			fail(r, "STAT reply has an unknown registration mode");
		break;
	case NF_LIST_REP:
		m->u.list_rep.next_cookie = get32(r);
		m->u.list_rep.count = get16(r);
		if (!r->why && m->u.list_rep.count > NF_LIST_MAX)
			return fail(r, "LIST reply has too many entries");
		for (unsigned i = 0; i < m->u.list_rep.count && !r->why; i++) {
			struct nf_dirent *e = &m->u.list_rep.e[i];
			e->type = get8(r);
			e->size = get64(r);
			e->name_len = get_str(r, e->name, NF_NAME_MAX);
			if (!r->why && (e->name_len == 0 || memchr(e->name, '/', e->name_len)))
				fail(r, "LIST entry name is empty or has a '/'");
		}
		break;
	case NF_CLOSE_REQ: case NF_VALIDATE_REQ: case NF_CHECKSUM_REQ:
		m->u.handle.handle = get32(r);
		break;
	case NF_CLOSE_REP: case NF_ERROR_REP:
		break;
	case NF_VALIDATE_REP:
		m->u.validate_rep.generation = get64(r);
		m->u.validate_rep.size = get64(r);
		break;
	case NF_CHECKSUM_REP:
		take(r, m->u.checksum_rep.sha256, NF_SHA256_LEN);
		m->u.checksum_rep.generation = get64(r);
		break;
	case NF_NOTIFY:
		m->u.notify.handle = get32(r);
		m->u.notify.generation = get64(r);
		m->u.notify.reason = get8(r);
		if (!r->why && m->u.notify.reason != NF_CHANGED && m->u.notify.reason != NF_GONE)
			fail(r, "NOTIFY has an unknown reason");
		break;
	default:
		fail(r, "unknown message type");
	}
	return 0;
}

int nf_decode(const void *buf, size_t len, struct nf_msg *m, const char **why)
{
	struct rbuf r = { .p = buf, .len = len };
	uint32_t magic, total;
	uint8_t version;
	uint16_t flags;

	memset(m, 0, offsetof(struct nf_msg, u));
	if (why)
		*why = NULL;
	if (len < NF_HDR_LEN) {
		fail(&r, "shorter than the header");
		goto bad;
	}
	if (len > NF_MSG_MAX) {
		fail(&r, "longer than the largest message");
		goto bad;
	}
	magic = get32(&r);
	version = get8(&r);
	m->type = get8(&r);
	flags = get16(&r);
	total = get32(&r);
	m->seq = get32(&r);
	if (magic != NF_MAGIC) {
		fail(&r, "bad magic");
		goto bad;
	}
	if (version != NF_VERSION) {
		if (why)
			*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (flags != 0)
		fail(&r, "reserved flags are set");
	else if (total != len)
		fail(&r, "length field does not match the message size");
	else if (m->type == 0 || m->type > NF_TYPE_MAX)
		fail(&r, "unknown message type");
	if (r.why)
		goto bad;
	if (nf_is_reply(m->type)) {
		m->status = (int32_t)get32(&r);
		if (!r.why && (m->status > 0 || m->status < -4095))
			fail(&r, "status is not 0 or a negative errno");
		if (!r.why && m->status == 0 && m->type == NF_ERROR_REP)
			fail(&r, "ERROR reply with status 0");
	}
	if (!r.why && !(m->status && nf_is_reply(m->type)))
		decode_body(&r, m);
	if (!r.why && r.off != len)
		fail(&r, "trailing bytes after the message");
	if (!r.why)
		return 0;
bad:
	if (why)
		*why = r.why;
	return -EBADMSG;
}
