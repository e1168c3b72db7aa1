/* SPDX-License-Identifier: MIT */
/*
 * nicfile.h - public C API of libnicfile.
 *
 * Server side: register an mmap'd file as a remote-readable memory region
 * with the best mode the device and kernel offer (ODP from CMB, ODP on the
 * page cache, pinned) and say which one is in use.
 * Client side: connect to nicfiled, open a remote file, read it with
 * pipelined one-sided RDMA READs.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno value on failure; nicfile_strerror() turns it into text.
 * There is no global state. A connection may be used from several threads:
 * its operations are serialised by a per-connection lock, which is not held
 * while a callback of nicfile_read_stream() or nicfile_list() runs.
 *
 * Growing structs: struct nicfile_conn_opts and struct nicfile_stat, which
 * the caller allocates, start with a comp_mask (rdma-core's _ex style);
 * fields added after this version come after the present ones and count
 * only where the caller set their bit (an unknown bit in an input is
 * -EINVAL; in struct nicfile_stat the library clears the bits of fields it
 * did not fill). Zero-initialise and set comp_mask to 0 today. struct
 * nicfile_dirent, which the library allocates, grows at its end and says in
 * its comp_mask which added fields are valid.
 */
#ifndef NICFILE_H
#define NICFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NICFILE_VERSION_MAJOR 0
#define NICFILE_VERSION_MINOR 4
#define NICFILE_DEFAULT_PORT 18516   /* perftest uses 18515 */

/* How a file's memory region is registered, best first. */
enum nicfile_mode {
	NICFILE_MODE_ODP_CMB = 0,  /* ODP, pages served from the NVMe CMB */
	NICFILE_MODE_ODP = 1,      /* ODP on the page cache */
	NICFILE_MODE_PINNED = 2,   /* classic pinned registration */
	NICFILE_MODE_ODP_PMR = 3,  /* ODP, pages served from the NVMe PMR (first) */
	NICFILE_MODE_COUNT
};

/* "odp-cmb", "odp", "pinned", "odp-pmr"; "unknown" for anything else. */
const char *nicfile_mode_name(int mode);

/* Message for a negative errno value returned by this library. */
const char *nicfile_strerror(int err);

/* Library version string, "MAJOR.MINOR". */
const char *nicfile_version(void);

/* ---------------------------------------------------------------- server */

struct ibv_pd;
struct ibv_mr;
struct nicfile_region;

/* Flags for nicfile_region_register(). */
#define NICFILE_REG_NO_ODP      (1u << 0)  /* skip the ODP modes, pin */
#define NICFILE_REG_NO_PREFAULT (1u << 1)  /* ODP: do not read the file in before registering */
#define NICFILE_REG_NO_CMB      (1u << 2)  /* ODP on the page cache even where device memory (CMB, PMR) could serve */

/*
 * Map @fd (a regular file open for reading) read-only and shared, and
 * register the mapping on @pd with remote-read access only, trying
 * ODP-from-CMB, then ODP on the page cache, then a pinned registration.
 * An empty file gets a region of length 0 (no MR; nothing to read).
 */
int nicfile_region_register(struct ibv_pd *pd, int fd, unsigned flags,
			    struct nicfile_region **out);
void nicfile_region_free(struct nicfile_region *r);
/*
 * Register the region's mapping once more, on @pd, in the region's mode:
 * one MR per peer (each peer its own PD), so that a peer's rkey works on
 * its own queue pair only and dies with ibv_dereg_mr(). Zero-based like
 * the region's own MR; an ODP MR is prefetched in the background
 * (ibv_advise_mr without FLUSH). *@out is NULL for an empty file.
 * 0 or -errno.
 */
int nicfile_region_reg_mr(const struct nicfile_region *r, struct ibv_pd *pd, struct ibv_mr **out);
/* The remote address of the file's first byte in the region's MRs: 0 (zero-based). */
uint64_t nicfile_region_addr(const struct nicfile_region *r);
uint32_t nicfile_region_rkey(const struct nicfile_region *r);
uint64_t nicfile_region_length(const struct nicfile_region *r);
int nicfile_region_mode(const struct nicfile_region *r);
const void *nicfile_region_data(const struct nicfile_region *r);

/*
 * Ask for [off, off+len) to be made resident for the NIC: ibv_advise_mr()
 * where the provider supports it, else populate the mapping. A pinned
 * region is resident already. Best effort; returns 0 or -errno.
 */
int nicfile_region_prefetch(struct nicfile_region *r, uint64_t off, uint64_t len);

/* ---------------------------------------------------------------- client */

struct nicfile_conn;
struct nicfile_file;

struct nicfile_conn_opts {
	uint32_t comp_mask;      /* 0: no field beyond these (see above) */
	const char *device;      /* RDMA device name or NULL for any */
	uint16_t port;           /* 0: NICFILE_DEFAULT_PORT */
	unsigned depth;          /* RDMA READs in flight; 0: 16 */
	uint32_t chunk;          /* bytes per RDMA READ; 0: 64 KiB */
	int timeout_ms;          /* per request and per connect attempt; 0: 15000 */
	int connect_retry_ms;    /* keep retrying a refused connect this long */
};

/*
 * @host: a host name, an IPv4 address or an IPv6 address (resolved with
 * rdma_getaddrinfo()). @opts may be NULL.
 */
int nicfile_connect(const char *host, const struct nicfile_conn_opts *opts,
		    struct nicfile_conn **out);
void nicfile_disconnect(struct nicfile_conn *c);
/* READs kept in flight: the depth asked for, capped by what the server granted. */
unsigned nicfile_conn_depth(const struct nicfile_conn *c);

enum nicfile_type { NICFILE_TYPE_REG = 1, NICFILE_TYPE_DIR = 2, NICFILE_TYPE_OTHER = 3 };

struct nicfile_stat {
	uint32_t comp_mask;      /* in: fields beyond these the caller has room for; out: those filled */
	uint64_t size;
	int64_t mtime_ns;        /* since the epoch */
	uint32_t perm;           /* permission bits */
	int type;                /* enum nicfile_type */
	uint64_t generation;     /* changes whenever the file changes */
	int mode;                /* enum nicfile_mode; -1 if not open on the server */
};

int nicfile_stat(struct nicfile_conn *c, const char *path, struct nicfile_stat *st);

/*
 * One directory entry for nicfile_list()'s callback; return non-zero to stop.
 * The callback runs without the connection's lock and may call the library,
 * but not nicfile_disconnect() on the listing's connection (stop first).
 */
struct nicfile_dirent {
	const char *name;
	int type;                /* enum nicfile_type */
	uint64_t size;
	uint32_t comp_mask;      /* fields added after this one that are valid (0 today) */
};
typedef int (*nicfile_list_cb)(const struct nicfile_dirent *e, void *arg);
/* List a directory; "" or "/" lists the exports. */
int nicfile_list(struct nicfile_conn *c, const char *path, nicfile_list_cb cb, void *arg);

int nicfile_open(struct nicfile_conn *c, const char *path, struct nicfile_file **out);
/* Attributes as of the open (size, generation, registration mode). */
int nicfile_fstat(struct nicfile_file *f, struct nicfile_stat *st);

/*
 * Read up to @len bytes at @off. Returns bytes read (short only at end of
 * file) or -errno; -ESTALE when the file changed since the open (the
 * library validates with the server after every read it completes).
 */
ssize_t nicfile_pread(struct nicfile_file *f, void *buf, size_t len, uint64_t off);

/*
 * Stream [off, off+len) in order through @cb without an extra copy: @cb gets
 * each chunk straight from the RDMA receive buffer. A non-zero return from
 * @cb stops the transfer and is returned. After the last chunk the file is
 * validated: -ESTALE means the chunks delivered may be torn or changed.
 *
 * @cb runs without the connection's lock: it may call the library, on this
 * connection too (nicfile_stat, nicfile_open, nicfile_validate...), except
 * for a second read on the same connection (nicfile_read_stream() and
 * nicfile_pread() return -EDEADLK) and nicfile_close() of a file being
 * streamed (-EBUSY). nicfile_disconnect() from @cb is deferred: the stream
 * stops with -ECANCELED and the connection is freed as it returns. Reads
 * from other threads on the same connection wait for this one to end.
 */
typedef int (*nicfile_chunk_cb)(const void *data, size_t len, uint64_t off, void *arg);
int nicfile_read_stream(struct nicfile_file *f, uint64_t off, uint64_t len,
			nicfile_chunk_cb cb, void *arg);

/*
 * Ask the server whether the file is still what was opened. 0 if unchanged,
 * -ESTALE if it was written, truncated or replaced since the open.
 * Call it after a transfer: data read before a change may be torn.
 */
int nicfile_validate(struct nicfile_file *f);

/* SHA-256 of the whole file as the server reads it now, and its generation. */
int nicfile_checksum(struct nicfile_file *f, uint8_t sha256[32]);

int nicfile_close(struct nicfile_file *f);

#ifdef __cplusplus
}
#endif
#endif /* NICFILE_H */
