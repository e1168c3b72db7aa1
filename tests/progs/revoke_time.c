/*
 * revoke_time — how long the filesystem takes to take a file back from a
 * NIC: an ODP MR over a read-only shared mapping of a file is prefetched
 * (advise_mr, so the NIC's entries exist: from the CMB when the kernel
 * serves the file from there, else from the page cache), then the file is
 * truncated to zero.  Measured per round, from the truncate() call:
 *   gone   — until /sys/class/infiniband_verbs/odp_pages_invalidated shows
 *            the MR's entries cleared (a polling thread; an upper bound),
 *   return — until truncate() returns.
 * One JSON line per round and a summary line with p50/p99 of both.
 *
 *   revoke_time DEVICE DIR ROUNDS SIZE [--populate]
 * --populate reads the file into the page cache before registering, so the
 * entries are page-cache pages whatever the kernel could do.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "advise_mr.h"
#include "cold_file.h"
#include "odp_stat.h"
#include "open_dev.h"


static void die(const char *what)
{
	fprintf(stderr, "revoke_time: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The poller: records when the invalidation counter reaches its target. */
static struct {
	int fd;
	long long target;
	atomic_int armed;
	atomic_int stop;
	double when;
} poll_state;

static void *poller(void *arg)
{
	(void)arg;
	while (!atomic_load(&poll_state.stop)) {
		if (atomic_load(&poll_state.armed) &&
		    odp_stat_fd(poll_state.fd) >= poll_state.target) {
			poll_state.when = now_us();
			atomic_store(&poll_state.armed, 0);
		}
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd;
	char path[4096];
	double *gone, *ret;
	int rounds, populate = argc > 5 && !strcmp(argv[5], "--populate");
	size_t size, pages;
	long long cmb_total = 0;
	pthread_t th;
	char buf[128];

	if (argc < 5)
		return fprintf(stderr, "usage: revoke_time DEVICE DIR ROUNDS SIZE [--populate]\n"), 2;
	rounds = atoi(argv[3]);
	size = strtoull(argv[4], NULL, 0);
	if (rounds < 1 || size < 4096 || size % 4096)
		return fprintf(stderr, "revoke_time: ROUNDS >= 1, SIZE a multiple of 4096\n"), 2;
	pages = size / 4096;
	ctx = open_dev(argv[1]);
	if (!ctx)
		die("open device");
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd");
	snprintf(path, sizeof(path), "%s/revoke_time.dat", argv[2]);
	gone = calloc(rounds, sizeof(*gone));
	ret = calloc(rounds, sizeof(*ret));
	snprintf(buf, sizeof(buf), ODP_STATS "odp_pages_invalidated");
	poll_state.fd = open(buf, O_RDONLY);
	if (poll_state.fd < 0)
		die(buf);
	pthread_create(&th, NULL, poller, NULL);

	for (int r = 0; r < rounds; r++) {
		struct ibv_sge sge;
		struct ibv_mr *mr;
		long long cmb0, cmb1, inv0;
		double t0, t1;
		uint8_t *map;
		int fd, err;

		/* a written, synced file with nothing of it in the page cache */
		fd = cold_file(path, size, 0x5a ^ r);
		if (fd < 0)
			die(path);
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			die("mmap");
		if (populate && madvise(map, size, MADV_POPULATE_READ))
			die("madvise");
		mr = ibv_reg_mr(pd, map, size, IBV_ACCESS_REMOTE_READ | IBV_ACCESS_ON_DEMAND);
		if (!mr)
			die("ibv_reg_mr (ODP)");
		cmb0 = odp_stat("pages_cmb");
		sge = (struct ibv_sge){ .addr = (uintptr_t)map, .length = (uint32_t)size,
					.lkey = mr->lkey };
		err = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
		if (err) {
			errno = err;
			die("advise_mr prefetch");
		}
		cmb1 = odp_stat("pages_cmb");
		cmb_total += cmb1 - cmb0;

		inv0 = odp_stat("pages_invalidated");
		poll_state.target = inv0 + (long long)pages;
		poll_state.when = 0;
		atomic_store(&poll_state.armed, 1);
		t0 = now_us();
		if (ftruncate(fd, 0))
			die("ftruncate");
		t1 = now_us();
		/* the entries are cleared before truncate returns: wait for the poller */
		for (int i = 0; i < 100000 && atomic_load(&poll_state.armed); i++)
			usleep(10);
		atomic_store(&poll_state.armed, 0);
		ret[r] = t1 - t0;
		gone[r] = poll_state.when ? poll_state.when - t0 : -1;
		printf("{\"round\":%d,\"pages\":%zu,\"cmb_pages\":%lld,\"gone_us\":%.1f,\"return_us\":%.1f}\n",
		       r, pages, cmb1 - cmb0, gone[r], ret[r]);
		ibv_dereg_mr(mr);
		munmap(map, size);
		close(fd);
	}
	atomic_store(&poll_state.stop, 1);
	pthread_join(th, NULL);
	unlink(path);
	qsort(gone, rounds, sizeof(*gone), cmp_double);
	qsort(ret, rounds, sizeof(*ret), cmp_double);
	printf("{\"summary\":true,\"rounds\":%d,\"pages\":%zu,\"source\":\"%s\",\"gone_p50_us\":%.1f,\"gone_p99_us\":%.1f,"
	       "\"return_p50_us\":%.1f,\"return_p99_us\":%.1f}\n",
	       rounds, pages, cmb_total >= (long long)(pages * rounds) ? "cmb" : "page cache",
	       pct(gone, rounds, 0.5), pct(gone, rounds, 0.99), pct(ret, rounds, 0.5),
	       pct(ret, rounds, 0.99));
	return 0;
}
