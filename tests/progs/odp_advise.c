/*
 * odp_advise — prefetch into ODP MRs (advise_mr) on rdma-core 44.
 *
 * Debian bookworm's rdma-core 44 rxe provider has no advise_mr hook, so
 * ibv_advise_mr() returns EOPNOTSUPP there.  nicfile_advise_mr() below
 * tries ibv_advise_mr() first and otherwise issues the uverbs ADVISE_MR
 * method itself, as an RDMA_VERBS_IOCTL on the context's cmd_fd.  The
 * function (advise_mr.h) is self-contained so that userland code can copy
 * it; see doc/odp-prefetch.md.
 *
 * The test (run in a VM with rxe): registers ODP MRs over untouched
 * anonymous memory and checks with mincore() that PREFETCH and
 * PREFETCH_WRITE (synchronous with IBV_ADVISE_MR_FLAG_FLUSH, and
 * asynchronous without it) fault pages in, that PREFETCH_NO_FAULT does
 * not, and that bad requests fail.
 *
 *   odp_advise [DEVICE]      (default: $RXE_DEV, else the first device)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#include "advise_mr.h"
#include "open_dev.h"

/* ---- the test ------------------------------------------------------------ */

#define MB (1UL << 20)

static int failures;

static void check(int cond, const char *what, long v)
{
	printf("%s: %s (%ld)\n", cond ? "ok" : "FAIL", what, v);
	if (!cond)
		failures++;
}

static long resident(void *p, size_t len)
{
	size_t n = len / 4096;
	unsigned char *v = malloc(n);
	long r = 0;

	if (mincore(p, len, v))
		return -1;
	for (size_t i = 0; i < n; i++)
		r += v[i] & 1;
	free(v);
	return r;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : getenv("RXE_DEV");
	struct ibv_context *ctx = open_dev(name);
	struct ibv_pd *pd;
	struct ibv_mr *mr, *pinned;
	struct ibv_sge sge;
	uint8_t *buf, *small;
	size_t len = 8 * MB;
	int ret;

	if (!ctx) {
		fprintf(stderr, "odp_advise: no device %s\n", name ? name : "");
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pd || buf == MAP_FAILED)
		return 1;
	madvise(buf, len, MADV_NOHUGEPAGE);
	mr = ibv_reg_mr(pd, buf, len,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_ON_DEMAND);
	if (!mr) {
		fprintf(stderr, "odp_advise: ODP ibv_reg_mr: %s\n",
			strerror(errno));
		return 1;
	}
	check(resident(buf, len) == 0, "nothing resident after registration",
	      resident(buf, len));

	sge = (struct ibv_sge){ (uintptr_t)buf, MB, mr->lkey };
	ret = ibv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			    IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	printf("info: ibv_advise_mr() itself returns %d (%s)\n", ret,
	       strerror(ret));

	/* [0, 1M): synchronous PREFETCH_WRITE */
	ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	check(ret == 0, "sync PREFETCH_WRITE returns 0", ret);
	check(resident(buf, MB) == 256, "sync PREFETCH_WRITE faulted 1 MiB in (pages)",
	      resident(buf, MB));

	/* [1M, 2M): synchronous PREFETCH (read) */
	sge.addr = (uintptr_t)(buf + MB);
	ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
				IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	check(ret == 0, "sync PREFETCH returns 0", ret);
	check(resident(buf + MB, MB) == 256, "sync PREFETCH mapped 1 MiB (pages)",
	      resident(buf + MB, MB));

	/* [2M, 3M): PREFETCH_NO_FAULT on untouched memory maps nothing */
	sge.addr = (uintptr_t)(buf + 2 * MB);
	ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT,
				IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	check(ret == 0, "PREFETCH_NO_FAULT returns 0", ret);
	check(resident(buf + 2 * MB, MB) == 0, "PREFETCH_NO_FAULT faulted nothing (pages)",
	      resident(buf + 2 * MB, MB));

	/* [3M, 5M): asynchronous PREFETCH_WRITE, two SGEs */
	{
		struct ibv_sge two[2] = {
			{ (uintptr_t)(buf + 3 * MB), MB, mr->lkey },
			{ (uintptr_t)(buf + 4 * MB), MB, mr->lkey },
		};
		long r = 0;

		ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
					0, two, 2);
		check(ret == 0, "async PREFETCH_WRITE returns 0", ret);
		for (int i = 0; i < 100; i++) {
			r = resident(buf + 3 * MB, 2 * MB);
			if (r == 512)
				break;
			usleep(100000);
		}
		check(r == 512, "async PREFETCH_WRITE faulted 2 MiB in (pages)", r);
	}

	/* errors */
	sge = (struct ibv_sge){ (uintptr_t)(buf + 5 * MB), MB, mr->lkey + 1 };
	ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
				IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	check(ret != 0, "a bad lkey is refused (errno)", ret);
	sge = (struct ibv_sge){ (uintptr_t)(buf + 7 * MB), 2 * MB, mr->lkey };
	ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
				IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	check(ret != 0, "a range beyond the MR is refused (errno)", ret);
	check(resident(buf + 5 * MB, 3 * MB) == 0, "nothing faulted by refused requests",
	      resident(buf + 5 * MB, 3 * MB));

	small = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small[0] = 1;
	pinned = ibv_reg_mr(pd, small, 4096, IBV_ACCESS_LOCAL_WRITE);
	if (pinned) {
		sge = (struct ibv_sge){ (uintptr_t)small, 4096, pinned->lkey };
		ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
		check(ret != 0, "a non-ODP MR is refused (errno)", ret);
		ibv_dereg_mr(pinned);
	}

	/* deregistration with an async prefetch still queued */
	sge = (struct ibv_sge){ (uintptr_t)(buf + 5 * MB), 3 * MB, mr->lkey };
	ret = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0,
				&sge, 1);
	check(ret == 0, "async PREFETCH_WRITE before dereg returns 0", ret);
	check(ibv_dereg_mr(mr) == 0, "dereg with a prefetch queued", 0);
	munmap(buf, len);

	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("odp_advise: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
