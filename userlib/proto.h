/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the nicfile control protocol (SEND/RECV messages), see
 * doc/protocol.md. Encoding and decoding live in proto.c; the decoder is a
 * pure function over bytes so host tests and the fuzzer can drive it.
 */
#ifndef NICFILE_PROTO_H
#define NICFILE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define NF_MAGIC        0x4649434eu  /* "NCIF" little endian: 'N','C','I','F' */
#define NF_VERSION      1
#define NF_MSG_MAX      4096         /* every message fits one receive buffer */
#define NF_HDR_LEN      16
#define NF_PATH_MAX     1024         /* bytes in a path, no NUL */
#define NF_NAME_MAX     255
#define NF_LIST_MAX     32           /* entries in one LIST reply */
#define NF_SHA256_LEN   32
/* Private data of the CM rejects nicfiled sends (the string and its NUL). */
#define NF_REJECT_FULL   "nicfiled:full"     /* too many clients */
#define NF_REJECT_DENIED "nicfiled:denied"   /* the address is not in --allow */

enum nf_type {
	NF_HELLO_REQ = 1, NF_HELLO_REP,
	NF_OPEN_REQ, NF_OPEN_REP,
	NF_STAT_REQ, NF_STAT_REP,
	NF_LIST_REQ, NF_LIST_REP,
	NF_CLOSE_REQ, NF_CLOSE_REP,
	NF_VALIDATE_REQ, NF_VALIDATE_REP,
	NF_CHECKSUM_REQ, NF_CHECKSUM_REP,
	NF_NOTIFY,      /* server -> client, unsolicited, seq 0 */
	NF_ERROR_REP,   /* reply to a request the server could not decode */
	NF_TYPE_MAX = NF_ERROR_REP
};

enum nf_notify_reason { NF_CHANGED = 1, NF_GONE = 2 };

struct nf_dirent {
	uint8_t type;
	uint64_t size;
	uint16_t name_len;
	char name[NF_NAME_MAX + 1];
};

struct nf_msg {
	uint8_t type;
	uint32_t seq;
	int32_t status;          /* replies: 0 or -errno */
	union {
		struct { uint16_t min_version, max_version; } hello_req;
		struct { uint16_t version, max_open; uint32_t max_clients; } hello_rep;
		struct { uint16_t len; char path[NF_PATH_MAX + 1]; uint32_t cookie; } path; /* OPEN/STAT/LIST req */
		struct {
			uint32_t handle; uint64_t addr; uint32_t rkey; uint64_t length;
			uint64_t generation; uint8_t mode; uint8_t ftype; uint32_t perm; int64_t mtime_ns;
		} open_rep;
		struct {
			uint64_t size; int64_t mtime_ns; uint32_t perm; uint8_t ftype;
			uint64_t generation; int8_t mode;
		} stat_rep;
		struct { uint32_t next_cookie; uint16_t count; struct nf_dirent e[NF_LIST_MAX]; } list_rep;
		struct { uint32_t handle; } handle;  /* CLOSE/VALIDATE/CHECKSUM req */
		struct { uint64_t generation, size; } validate_rep;
		struct { uint8_t sha256[NF_SHA256_LEN]; uint64_t generation; } checksum_rep;
		struct { uint32_t handle; uint64_t generation; uint8_t reason; } notify;
	} u;
};

/* Is this type a reply (carries a status)? */
int nf_is_reply(uint8_t type);
const char *nf_type_name(uint8_t type);

/* Encode @m into @buf; returns the length or -EMSGSIZE / -EINVAL. */
int nf_encode(const struct nf_msg *m, void *buf, size_t cap);

/*
 * Decode one message. Returns 0, -EBADMSG for any malformed message (with a
 * reason in *why when why is not NULL), or -EPROTONOSUPPORT for a
 * well-formed header of another protocol version. Never reads past @len.
 */
int nf_decode(const void *buf, size_t len, struct nf_msg *m, const char **why);

#endif
