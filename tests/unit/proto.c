// SPDX-License-Identifier: MIT
/*
 * Protocol unit test: every message type survives encode -> decode, and
 * every class of malformed message is rejected (never crashes, never reads
 * past the buffer: ASan watches). With an argument DIR it also writes each
 * valid message there as a seed corpus for the fuzzer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto.h"

static int fails;
#define CHECK(cond, ...) do { if (!(cond)) { fails++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); } } while (0)

static struct nf_msg samples[NF_TYPE_MAX + 1];

static void make_samples(void)
{
	struct nf_msg *m;
	for (int t = 1; t <= NF_TYPE_MAX; t++) {
		m = &samples[t];
		memset(m, 0, sizeof(*m));
		m->type = (uint8_t)t;
		m->seq = 0x01020304u + (uint32_t)t;
	}
	samples[NF_HELLO_REQ].u.hello_req.min_version = 1;
	samples[NF_HELLO_REQ].u.hello_req.max_version = 1;
	samples[NF_HELLO_REP].u.hello_rep.version = 1;
	samples[NF_HELLO_REP].u.hello_rep.max_open = 64;
	samples[NF_HELLO_REP].u.hello_rep.max_clients = 1000;
	strcpy(samples[NF_OPEN_REQ].u.path.path, "export/dir/file.bin");
	strcpy(samples[NF_STAT_REQ].u.path.path, "export/x");
	strcpy(samples[NF_LIST_REQ].u.path.path, "export");
	samples[NF_LIST_REQ].u.path.cookie = 77;
	m = &samples[NF_OPEN_REP];
	m->u.open_rep.handle = 3; m->u.open_rep.addr = 0x7f0000001000ull; m->u.open_rep.rkey = 0xabcdef12;
	m->u.open_rep.length = (1ull << 40) + 5; m->u.open_rep.generation = 0xfeedfacecafebeefull;
	m->u.open_rep.mode = 2; m->u.open_rep.ftype = 1; m->u.open_rep.perm = 0644; m->u.open_rep.mtime_ns = -5;
	m = &samples[NF_STAT_REP];
	m->u.stat_rep.size = 4097; m->u.stat_rep.mtime_ns = 1700000000123456789ll; m->u.stat_rep.perm = 0755;
	m->u.stat_rep.ftype = 2; m->u.stat_rep.generation = 42; m->u.stat_rep.mode = -1;
	m = &samples[NF_LIST_REP];
	m->u.list_rep.next_cookie = 9; m->u.list_rep.count = 3;
	const char *names[] = { "a", "bb.txt", "a name with spaces" };
	for (int i = 0; i < 3; i++) {
		m->u.list_rep.e[i].type = (uint8_t)(1 + i % 3);
		m->u.list_rep.e[i].size = (uint64_t)i * 1000;
		m->u.list_rep.e[i].name_len = (uint16_t)strlen(names[i]);
		strcpy(m->u.list_rep.e[i].name, names[i]);
	}
	samples[NF_CLOSE_REQ].u.handle.handle = 1;
	samples[NF_VALIDATE_REQ].u.handle.handle = 2;
	samples[NF_CHECKSUM_REQ].u.handle.handle = 64;
	samples[NF_VALIDATE_REP].u.validate_rep.generation = 5;
	samples[NF_VALIDATE_REP].u.validate_rep.size = 6;
	for (int i = 0; i < 32; i++)
		samples[NF_CHECKSUM_REP].u.checksum_rep.sha256[i] = (uint8_t)(i * 7);
	samples[NF_CHECKSUM_REP].u.checksum_rep.generation = 99;
	samples[NF_NOTIFY].u.notify.handle = 4;
	samples[NF_NOTIFY].u.notify.generation = 8;
	samples[NF_NOTIFY].u.notify.reason = NF_CHANGED;
	samples[NF_NOTIFY].seq = 0;
	samples[NF_ERROR_REP].status = -EBADMSG;
}

static int enc(const struct nf_msg *m, uint8_t *buf)
{
	int n = nf_encode(m, buf, NF_MSG_MAX);
	CHECK(n >= NF_HDR_LEN, "encode %s: %d", nf_type_name(m->type), n);
	return n;
}

static void set32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Expect rejection of buf[0..len). */
static void reject(const char *what, const uint8_t *buf, size_t len)
{
	struct nf_msg m;
	const char *why;
	uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan catches over-reads */
	memcpy(copy, buf, len);
	int r = nf_decode(copy, len, &m, &why);
	CHECK(r < 0, "%s: accepted", what);
	if (r < 0 && !why)
		CHECK(0, "%s: rejected without a reason", what);
	free(copy);
}

/* Re-encode after patching the sample and fix the length field. */
static size_t patched(int type, uint8_t *buf, void (*patch)(struct nf_msg *))
{
	struct nf_msg m = samples[type];
	patch(&m);
	return (size_t)nf_encode(&m, buf, NF_MSG_MAX);
}

static void roundtrip(const char *seed_dir)
{
	uint8_t buf[NF_MSG_MAX], buf2[NF_MSG_MAX];
	struct nf_msg out;
	for (int t = 1; t <= NF_TYPE_MAX; t++) {
		int n = enc(&samples[t], buf);
		const char *why = NULL;
		int r = nf_decode(buf, (size_t)n, &out, &why);
		CHECK(r == 0, "decode %s: %d (%s)", nf_type_name((uint8_t)t), r, why ? why : "");
		CHECK(out.type == t && out.seq == samples[t].seq && out.status == samples[t].status,
		      "header of %s differs", nf_type_name((uint8_t)t));
		int n2 = nf_encode(&out, buf2, sizeof(buf2));
		CHECK(n2 == n && !memcmp(buf, buf2, (size_t)n), "%s: re-encoding differs", nf_type_name((uint8_t)t));
		if (seed_dir) {
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", seed_dir, nf_type_name((uint8_t)t));
			FILE *f = fopen(p, "wb");
			if (f) { fwrite(buf, 1, (size_t)n, f); fclose(f); }
		}
	}
	/* Field-level checks on a few. */
	int n = enc(&samples[NF_OPEN_REP], buf);
	nf_decode(buf, (size_t)n, &out, NULL);
	CHECK(out.u.open_rep.addr == samples[NF_OPEN_REP].u.open_rep.addr &&
	      out.u.open_rep.length == samples[NF_OPEN_REP].u.open_rep.length &&
	      out.u.open_rep.rkey == 0xabcdef12 && out.u.open_rep.mtime_ns == -5, "OPEN reply fields");
	n = enc(&samples[NF_LIST_REP], buf);
	nf_decode(buf, (size_t)n, &out, NULL);
	CHECK(out.u.list_rep.count == 3 && !strcmp(out.u.list_rep.e[2].name, "a name with spaces") &&
	      out.u.list_rep.e[1].size == 1000, "LIST reply entries");
	n = enc(&samples[NF_OPEN_REQ], buf);
	nf_decode(buf, (size_t)n, &out, NULL);
	CHECK(!strcmp(out.u.path.path, "export/dir/file.bin"), "OPEN path");
	/* An error reply carries only the status, whatever the type. */
	struct nf_msg e = samples[NF_OPEN_REP];
	e.status = -ENOENT;
	n = enc(&e, buf);
	CHECK(n == NF_HDR_LEN + 4, "error reply length %d", n);
	CHECK(nf_decode(buf, (size_t)n, &out, NULL) == 0 && out.status == -ENOENT, "error reply decode");
	/* The largest path fits. */
	struct nf_msg big = samples[NF_OPEN_REQ];
	memset(big.u.path.path, 'x', NF_PATH_MAX);
	big.u.path.path[NF_PATH_MAX] = 0;
	n = enc(&big, buf);
	CHECK(nf_decode(buf, (size_t)n, &out, NULL) == 0 && strlen(out.u.path.path) == NF_PATH_MAX, "longest path");
}

static void p_badmode(struct nf_msg *m) { m->u.open_rep.mode = 7; }
static void p_pmrmode(struct nf_msg *m) { m->u.open_rep.mode = 3; }   /* odp-pmr */
static void p_statpmr(struct nf_msg *m) { m->u.stat_rep.mode = 3; }
static void p_wrap(struct nf_msg *m) { m->u.open_rep.addr = ~0ull - 10; m->u.open_rep.length = 100; }
static void p_statmode(struct nf_msg *m) { m->u.stat_rep.mode = 5; }
static void p_reason(struct nf_msg *m) { m->u.notify.reason = 9; }
static void p_hello(struct nf_msg *m) { m->u.hello_req.min_version = 3; m->u.hello_req.max_version = 2; }
static void p_slash(struct nf_msg *m) { strcpy(m->u.list_rep.e[0].name, "a/b"); m->u.list_rep.e[0].name_len = 3; }
static void p_empty(struct nf_msg *m) { m->u.list_rep.e[1].name[0] = 0; m->u.list_rep.e[1].name_len = 0; }

static void malformed(void)
{
	uint8_t buf[NF_MSG_MAX + 64], good[NF_MSG_MAX];
	int n;
	struct nf_msg m;

	/* 1. shorter than a header, at every length */
	n = enc(&samples[NF_HELLO_REQ], good);
	for (int i = 0; i < NF_HDR_LEN; i++)
		reject("short header", good, (size_t)i);
	/* 2. every message truncated at every byte (length field kept consistent) */
	for (int t = 1; t <= NF_TYPE_MAX; t++) {
		n = enc(&samples[t], good);
		for (int cut = NF_HDR_LEN; cut < n; cut++) {
			memcpy(buf, good, (size_t)cut);
			set32(buf + 8, (uint32_t)cut);
			reject("truncated body", buf, (size_t)cut);
			reject("truncated, length field says more", good, (size_t)cut);
		}
		/* 3. trailing bytes */
		memcpy(buf, good, (size_t)n);
		buf[n] = 0;
		set32(buf + 8, (uint32_t)n + 1);
		reject("trailing byte", buf, (size_t)n + 1);
	}
	n = enc(&samples[NF_OPEN_REQ], good);
	/* 4. bad magic */
	memcpy(buf, good, (size_t)n); buf[0] ^= 0xff; reject("bad magic", buf, (size_t)n);
	/* 5. other version: its own error */
	memcpy(buf, good, (size_t)n); buf[4] = 2;
	CHECK(nf_decode(buf, (size_t)n, &m, NULL) == -EPROTONOSUPPORT, "version 2 not EPROTONOSUPPORT");
	/* 6. reserved flags */
	memcpy(buf, good, (size_t)n); buf[6] = 1; reject("flags set", buf, (size_t)n);
	/* 7. length field too large / too small */
	memcpy(buf, good, (size_t)n); set32(buf + 8, (uint32_t)n + 100); reject("length too large", buf, (size_t)n);
	memcpy(buf, good, (size_t)n); set32(buf + 8, 3); reject("length too small", buf, (size_t)n);
	/* 8. unknown types */
	int types[] = { 0, NF_TYPE_MAX + 1, 200, 255 };
	for (unsigned i = 0; i < 4; i++) {
		memcpy(buf, good, (size_t)n); buf[5] = (uint8_t)types[i]; reject("unknown type", buf, (size_t)n);
	}
	/* 9. string length beyond the message, beyond the limit, with NUL */
	memcpy(buf, good, (size_t)n); buf[NF_HDR_LEN] = 0xff; buf[NF_HDR_LEN + 1] = 0x00;
	reject("string runs past end", buf, (size_t)n);
	memcpy(buf, good, (size_t)n); buf[NF_HDR_LEN] = 0xff; buf[NF_HDR_LEN + 1] = 0xff;
	reject("string length 65535", buf, (size_t)n);
	memcpy(buf, good, (size_t)n); buf[NF_HDR_LEN + 2 + 3] = 0; reject("NUL in path", buf, (size_t)n);
	{
		/* a path one byte longer than allowed, hand-built */
		size_t len = NF_HDR_LEN + 2 + NF_PATH_MAX + 1;
		memcpy(buf, good, NF_HDR_LEN);
		set32(buf + 8, (uint32_t)len);
		buf[NF_HDR_LEN] = (uint8_t)((NF_PATH_MAX + 1) & 0xff);
		buf[NF_HDR_LEN + 1] = (uint8_t)((NF_PATH_MAX + 1) >> 8);
		memset(buf + NF_HDR_LEN + 2, 'a', NF_PATH_MAX + 1);
		reject("path too long", buf, len);
	}
	/* 10. larger than the biggest message */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, good, (size_t)n);
	set32(buf + 8, NF_MSG_MAX + 1);
	reject("oversized", buf, NF_MSG_MAX + 1);
	/* 11. replies: positive status, status beyond errno range, ERROR with 0 */
	n = enc(&samples[NF_CLOSE_REP], good);
	memcpy(buf, good, (size_t)n); set32(buf + NF_HDR_LEN, 5); reject("positive status", buf, (size_t)n);
	memcpy(buf, good, (size_t)n); set32(buf + NF_HDR_LEN, (uint32_t)-100000); reject("status not an errno", buf, (size_t)n);
	n = enc(&samples[NF_ERROR_REP], good);
	memcpy(buf, good, (size_t)n); set32(buf + NF_HDR_LEN, 0); reject("ERROR with status 0", buf, (size_t)n);
	/* 12. field values out of range */
	reject("OPEN reply bad mode", buf, patched(NF_OPEN_REP, buf, p_badmode));
	n = (int)patched(NF_OPEN_REP, buf, p_pmrmode);
	CHECK(nf_decode(buf, (size_t)n, &m, NULL) == 0 && m.u.open_rep.mode == 3, "OPEN reply mode odp-pmr refused");
	n = (int)patched(NF_STAT_REP, buf, p_statpmr);
	CHECK(nf_decode(buf, (size_t)n, &m, NULL) == 0 && m.u.stat_rep.mode == 3, "STAT reply mode odp-pmr refused");
	reject("OPEN reply wraps", buf, patched(NF_OPEN_REP, buf, p_wrap));
	reject("STAT reply bad mode", buf, patched(NF_STAT_REP, buf, p_statmode));
	reject("NOTIFY bad reason", buf, patched(NF_NOTIFY, buf, p_reason));
	reject("HELLO empty range", buf, patched(NF_HELLO_REQ, buf, p_hello));
	reject("LIST name with slash", buf, patched(NF_LIST_REP, buf, p_slash));
	reject("LIST empty name", buf, patched(NF_LIST_REP, buf, p_empty));
	/* 13. LIST count larger than allowed */
	n = enc(&samples[NF_LIST_REP], good);
	memcpy(buf, good, (size_t)n); buf[NF_HDR_LEN + 4 + 4] = NF_LIST_MAX + 1; buf[NF_HDR_LEN + 4 + 5] = 0;
	reject("LIST count too big", buf, (size_t)n);
	/* 14. the encoder refuses what the decoder would refuse */
	struct nf_msg big = samples[NF_LIST_REP];
	big.u.list_rep.count = NF_LIST_MAX + 1;
	CHECK(nf_encode(&big, buf, NF_MSG_MAX) < 0, "encoder took a too-long list");
	struct nf_msg bad = samples[NF_OPEN_REQ];
	memset(bad.u.path.path, 'y', sizeof(bad.u.path.path));  /* no NUL within the limit */
	CHECK(nf_encode(&bad, buf, NF_MSG_MAX) < 0, "encoder took a too-long path");
	bad.type = 0;
	CHECK(nf_encode(&bad, buf, NF_MSG_MAX) < 0, "encoder took type 0");
	CHECK(nf_encode(&samples[NF_OPEN_REP], buf, 20) == -EMSGSIZE, "encoder overflowed a small buffer");
}

int main(int argc, char **argv)
{
	make_samples();
	roundtrip(argc > 1 ? argv[1] : NULL);
	malformed();
	printf("%s: %d failure(s)\n", argv[0], fails);
	return fails ? 1 : 0;
}
