// SPDX-License-Identifier: MIT
/*
 * compat.c - the ABI of libnicfile 0.1-0.3 for the structs that grew a
 * comp_mask in 0.4. A program linked before 0.4 calls nicfile_connect,
 * nicfile_stat and nicfile_fstat at version NICFILE_0.1 with the layouts
 * below; these translate to and from the present ones.
 */
#include <string.h>
#include "nicfile.h"
#include "conn_internal.h"

struct nicfile_conn_opts_v01 {
	const char *device;
	uint16_t port;
	unsigned depth;
	uint32_t chunk;
	int timeout_ms;
	int connect_retry_ms;
};

struct nicfile_stat_v01 {
	uint64_t size;
	int64_t mtime_ns;
	uint32_t perm;
	int type;
	uint64_t generation;
	int mode;
};

int nicfile_connect_v01(const char *host, const struct nicfile_conn_opts_v01 *opts,
			struct nicfile_conn **out);
int nicfile_stat_v01(struct nicfile_conn *c, const char *path, struct nicfile_stat_v01 *st);
int nicfile_fstat_v01(struct nicfile_file *f, struct nicfile_stat_v01 *st);

__asm__(".symver nicfile_connect_v01, nicfile_connect@NICFILE_0.1");
__asm__(".symver nicfile_stat_v01, nicfile_stat@NICFILE_0.1");
__asm__(".symver nicfile_fstat_v01, nicfile_fstat@NICFILE_0.1");

int nicfile_connect_v01(const char *host, const struct nicfile_conn_opts_v01 *opts,
			struct nicfile_conn **out)
{
	struct nicfile_conn_opts o = { .comp_mask = 0 };
	if (opts) {
		o.device = opts->device;
		o.port = opts->port;
		o.depth = opts->depth;
		o.chunk = opts->chunk;
		o.timeout_ms = opts->timeout_ms;
		o.connect_retry_ms = opts->connect_retry_ms;
	}
	return nicfile_connect_v04(host, &o, out);
}

static void stat_to_v01(const struct nicfile_stat *st, struct nicfile_stat_v01 *old)
{
	old->size = st->size;
	old->mtime_ns = st->mtime_ns;
	old->perm = st->perm;
	old->type = st->type;
	old->generation = st->generation;
	old->mode = st->mode;
}

int nicfile_stat_v01(struct nicfile_conn *c, const char *path, struct nicfile_stat_v01 *old)
{
	struct nicfile_stat st = { .comp_mask = 0 };
	int err = nicfile_stat_v04(c, path, &st);
	if (!err)
		stat_to_v01(&st, old);
	return err;
}

int nicfile_fstat_v01(struct nicfile_file *f, struct nicfile_stat_v01 *old)
{
	struct nicfile_stat st = { .comp_mask = 0 };
	int err = nicfile_fstat_v04(f, &st);
	if (!err)
		stat_to_v01(&st, old);
	return err;
}
