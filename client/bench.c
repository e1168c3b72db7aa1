// SPDX-License-Identifier: MIT
/*
 * bench.c - nicfile bench: RDMA READ bandwidth from a file, in perftest's
 * table (ib_read_bw's columns; MiB/sec, perftest's MB being 2^20 bytes).
 * -n ITERS messages, or -D SECONDS; -a every size from 512 bytes to 8 MiB.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "client.h"

struct bench {
	unsigned long want;       /* messages, or 0 with a duration */
	double until;             /* end of a -D run */
	size_t n, cap;
	double *t;                /* completion time of each message */
};

static int bench_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	struct bench *b = arg;
	double now = now_s();
	(void)data; (void)len; (void)off;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		double *t = realloc(b->t, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		b->t = t;
		b->cap = cap;
	}
	b->t[b->n++] = now;
	return (b->want ? b->n >= b->want : now >= b->until) ? 1 : 0;
}

static int discard_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	(void)data; (void)len; (void)off; (void)arg;
	return 0;
}

#define TOO_SMALL 100   /* -a: the file is smaller than this size: stop */

#define RESULT_LINE "---------------------------------------------------------------------------------------\n"

static void table_head(const char *target, int mode, unsigned depth)
{
	printf(RESULT_LINE);
	printf("                    RDMA_Read BW Test (nicfile)\n");
	printf(" File           : %s\n", target);
	printf(" Server mode    : %s\n", nicfile_mode_name(mode));
	printf(" Outstand reads : %u\n", depth);
	printf(RESULT_LINE);
	printf(" #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]\n");
}

/* One size: its own connection (the size is the connection's chunk). */
static int bench_size(struct opts *o, const char *target, uint32_t size, int first, int last)
{
	struct nicfile_conn *c;
	struct nicfile_file *f;
	struct nicfile_stat st = { .comp_mask = 0 };
	struct bench b = { .want = o->duration ? 0 : o->iters };
	const char *path;
	int err, rc;

	o->conn.chunk = size;
	if ((rc = connect_to(target, o, &c, &path, &err)))
		return rc;
	if ((err = nicfile_open(c, path, &f))) {
		rc = report(target, err);
		nicfile_disconnect(c);
		return rc;
	}
	nicfile_fstat(f, &st);
	if (st.size < size) {
		if (o->all_sizes && !first) {
			rc = TOO_SMALL;
			goto out;
		}
		fprintf(stderr, "nicfile: bench: %s is smaller than one message (%u bytes)\n", target, size);
		rc = EX_USAGE;
		goto out;
	}
	/* Whole messages only; wrap around the file until the run is over. */
	uint64_t span = st.size / size * size;
	/*
	 * perftest's --perform_warm_up: read the span once untimed, so the
	 * figure is the steady state (the NIC's pages mapped, the file's blocks
	 * in the page cache or the CMB) and not the first faults.
	 */
	if (o->warm_up && (err = nicfile_read_stream(f, 0, span, discard_chunk, NULL))) {
		rc = report(target, err);
		goto out;
	}
	double t0 = now_s();
	b.until = t0 + o->duration;
	do {
		err = nicfile_read_stream(f, 0, span, bench_chunk, &b);
	} while (err >= 0 && (b.want ? b.n < b.want : now_s() < b.until));
	double t1 = b.n ? b.t[b.n - 1] : now_s();
	if (err < 0) {
		rc = report(target, err);
		goto out;
	}
	unsigned depth = nicfile_conn_depth(c);
	double avg = t1 > t0 ? (double)size * b.n / (t1 - t0) / MIB : 0;
	/* Peak: the best tenth of the run (TCG makes single gaps meaningless). */
	size_t w = b.n / 10 > depth ? b.n / 10 : depth;
	double peak = avg;
	for (size_t i = 0; w && i + w < b.n; i++) {
		double dt = b.t[i + w] - b.t[i];
		if (dt > 0 && (double)size * w / dt / MIB > peak)
			peak = (double)size * w / dt / MIB;
	}
	double mpps = t1 > t0 ? b.n / (t1 - t0) / 1e6 : 0;
	if (o->json) {
		printf("{\"test\": \"nicfile_read_bw\", \"mode\": \"%s\", \"bytes\": %u, \"iterations\": %zu, "
		       "\"depth\": %u, \"seconds\": %.6f, \"bw_peak_MiBps\": %.2f, \"bw_avg_MiBps\": %.2f, "
		       "\"msg_rate_Mpps\": %.6f}\n",
		       nicfile_mode_name(st.mode), size, b.n, depth, t1 - t0, peak, avg, mpps);
	} else {
		if (first)
			table_head(target, st.mode, depth);
		printf(" %-7u    %-10zu       %-7.2lf            %-7.2lf\t\t   %-7.6lf\n", size, b.n, peak, avg, mpps);
		if (last)
			printf(RESULT_LINE);
	}
out:
	nicfile_close(f);
	nicfile_disconnect(c);
	free(b.t);
	return rc;
}

int cmd_bench(struct opts *o, int argc, char **argv)
{
	uint32_t size = o->conn.chunk ? o->conn.chunk : 65536;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "usage: nicfile bench [-s BYTES | -a] [-o READS] [-n ITERS | -D SECONDS] HOST:/PATH\n");
		return EX_USAGE;
	}
	if (!o->all_sizes)
		return bench_size(o, argv[0], size, 1, 1);
	/* perftest's -a: every power of two up to 8 MiB (from 512, our least message). */
	for (size = 512; size <= (8u << 20); size *= 2) {
		rc = bench_size(o, argv[0], size, size == 512, size == (8u << 20));
		if (rc == TOO_SMALL && !o->json)
			printf(RESULT_LINE);
		if (rc)
			return rc == TOO_SMALL ? EX_OK : rc;
	}
	return EX_OK;
}
