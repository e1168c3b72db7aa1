/*
 * odp_advise_dereg — deregister an ODP MR while asynchronous prefetch work
 * on it is queued and running (issue 11, item 7).
 *
 * Registers an ODP MR over 256 MiB of anonymous memory whose pages are all
 * present, queues asynchronous prefetches (no IBV_ADVISE_MR_FLAG_FLUSH)
 * that cover the MR thousands of times over, and deregisters the MR at
 * once.  PREFETCH_NO_FAULT is the advice because it walks the page table
 * for every piece even when the MR is mapped already, so the queued work
 * is minutes long even on a fast machine; the other advices return at
 * once for pages that are mapped.
 *
 * The kernel must stop that work and wait for it before it frees the MR:
 * not wait a fixed time and then free the MR under the running work (a
 * warning, then a use-after-free), and not run the whole queued prefetch
 * first (a hang).  The caller (tests/vm/odp-advise-unload.test) then
 * removes the device and unloads rdma_rxe.
 *
 *   odp_advise_dereg [DEVICE]     (default: $RXE_DEV, else the first device)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <infiniband/verbs.h>

#include "advise_mr.h"
#include "open_dev.h"

#define MB (1UL << 20)
#define MR_LEN (256 * MB)
/* as many SGEs as one ADVISE_MR call carries (a u16 length of 16-byte SGEs) */
#define NUM_SGE 4095
/*
 * asynchronous calls queued before deregistration: each is one work item
 * of about a minute even where a 256 MiB piece takes only 15 ms; a few, so
 * that the work items do not starve the rest of a one-CPU guest
 */
#define NUM_CALLS 4

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : getenv("RXE_DEV");
	struct ibv_context *ctx = open_dev(name);
	struct ibv_sge *sges;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	double t0, t1;
	uint8_t *buf;
	int ret, calls;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ctx) {
		fprintf(stderr, "odp_advise_dereg: no device %s\n", name ? name : "");
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	/* read-only and populated: every page is the zero page, no memory used */
	buf = mmap(NULL, MR_LEN, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		   -1, 0);
	sges = calloc(NUM_SGE, sizeof(*sges));
	if (!pd || buf == MAP_FAILED || !sges) {
		fprintf(stderr, "odp_advise_dereg: setup: %s\n", strerror(errno));
		return 1;
	}
	mr = ibv_reg_mr(pd, buf, MR_LEN, IBV_ACCESS_ON_DEMAND);
	if (!mr) {
		fprintf(stderr, "odp_advise_dereg: ODP ibv_reg_mr: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < NUM_SGE; i++)
		sges[i] = (struct ibv_sge){ (uintptr_t)buf, MR_LEN, mr->lkey };

	for (calls = 0; calls < NUM_CALLS; calls++) {
		ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT, 0,
					sges, NUM_SGE);
		if (ret) {
			fprintf(stderr, "FAIL: async prefetch %d: %s\n", calls, strerror(ret));
			return 1;
		}
	}
	printf("ok: %d asynchronous prefetches queued, %lu MiB each\n", calls,
	       NUM_SGE * MR_LEN / MB);

	t0 = now();
	ret = ibv_dereg_mr(mr);
	t1 = now();
	if (ret) {
		fprintf(stderr, "FAIL: ibv_dereg_mr: %s\n", strerror(ret));
		return 1;
	}
	printf("ok: MR deregistered with the prefetch queued (info: %.2f s)\n", t1 - t0);

	if (ibv_dealloc_pd(pd) || ibv_close_device(ctx)) {
		fprintf(stderr, "FAIL: dealloc_pd/close_device\n");
		return 1;
	}
	munmap(buf, MR_LEN);
	free(sges);
	printf("odp_advise_dereg: PASS\n");
	return 0;
}
