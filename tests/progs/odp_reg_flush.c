/*
 * odp_reg_flush — an ODP MR cannot promise persistence (issue 11, item 9).
 *
 * IB_ACCESS_FLUSH_PERSISTENT lets a remote FLUSH(PERSISTENT) report that
 * the data is durable.  rxe grants it to a pinned MR only when every page
 * is persistent memory.  An ODP MR's pages are the page cache or device
 * memory (CMB) and change under it, so it must be refused there too, with
 * the error a pinned MR over DRAM gets.  Checked here:
 *
 *  - a pinned MR over DRAM with FLUSH_PERSISTENT is refused (the reference);
 *  - an ODP MR with FLUSH_PERSISTENT is refused with the same errno;
 *  - an ODP MR with FLUSH_GLOBAL is accepted (so it is the persistence that
 *    is refused, not the flush bits);
 *  - adding FLUSH_PERSISTENT to an ODP MR by rereg (access) is refused,
 *    adding FLUSH_GLOBAL is accepted.
 *
 * rdma-core 44 has neither IBV_ACCESS_FLUSH_* nor a rereg_mr hook in its
 * rxe provider: the access bits are the kernel's uapi values
 * (IB_UVERBS_ACCESS_FLUSH_*, passed through by ibv_reg_mr()), and the
 * rereg is the uverbs REREG_MR write command on the context's cmd_fd.
 *
 *   odp_reg_flush [DEVICE]     (default: $RXE_DEV, else the first device)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_verbs.h>

#include "open_dev.h"

/* uapi <rdma/ib_user_ioctl_verbs.h> of Linux >= 6.2; not in rdma-core 44 */
#define ACCESS_FLUSH_GLOBAL (1 << 8)
#define ACCESS_FLUSH_PERSISTENT (1 << 9)

#define LEN (64 * 1024)

static int failures;

static void check(int cond, const char *what, long v)
{
	printf("%s: %s (%ld)\n", cond ? "ok" : "FAIL", what, v);
	if (!cond)
		failures++;
}

/* Register; 0 on success (the MR is deregistered again), else errno. */
static int try_reg(struct ibv_pd *pd, void *buf, unsigned int access)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, buf, LEN, access);

	if (!mr)
		return errno ? errno : -1;
	ibv_dereg_mr(mr);
	return 0;
}

/* uverbs REREG_MR changing the access flags only; 0 or errno. */
static int rereg_access(struct ibv_mr *mr, unsigned int access)
{
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_rereg_mr cmd;
	} req;
	struct ib_uverbs_rereg_mr_resp resp;

	memset(&req, 0, sizeof(req));
	req.hdr.command = IB_USER_VERBS_CMD_REREG_MR;
	req.hdr.in_words = sizeof(req) / 4;
	req.hdr.out_words = sizeof(resp) / 4;
	req.cmd.response = (uintptr_t)&resp;
	req.cmd.mr_handle = mr->handle;
	req.cmd.flags = IBV_REREG_MR_CHANGE_ACCESS;
	req.cmd.access_flags = access;
	if (write(mr->context->cmd_fd, &req, sizeof(req)) != (ssize_t)sizeof(req))
		return errno;
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : getenv("RXE_DEV");
	struct ibv_context *ctx = open_dev(name);
	unsigned int rw = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ;
	unsigned int odp = rw | IBV_ACCESS_ON_DEMAND;
	int pinned_err, ret;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	uint8_t *buf;

	if (!ctx) {
		fprintf(stderr, "odp_reg_flush: no device %s\n", name ? name : "");
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (!pd || buf == MAP_FAILED)
		return 1;
	memset(buf, 0x5a, LEN);

	check(try_reg(pd, buf, rw) == 0, "pinned MR without flush access (errno)",
	      try_reg(pd, buf, rw));
	pinned_err = try_reg(pd, buf, rw | ACCESS_FLUSH_PERSISTENT);
	check(pinned_err != 0, "pinned MR over DRAM with FLUSH_PERSISTENT refused (errno)",
	      pinned_err);

	ret = try_reg(pd, buf, odp | ACCESS_FLUSH_PERSISTENT);
	check(ret != 0, "ODP MR with FLUSH_PERSISTENT refused (errno)", ret);
	check(ret == pinned_err, "... with the errno of the pinned MR (errno)", ret);
	ret = try_reg(pd, buf, odp | ACCESS_FLUSH_GLOBAL);
	check(ret == 0, "ODP MR with FLUSH_GLOBAL accepted (errno)", ret);

	mr = ibv_reg_mr(pd, buf, LEN, odp);
	if (!mr) {
		fprintf(stderr, "odp_reg_flush: ODP ibv_reg_mr: %s\n", strerror(errno));
		return 1;
	}
	ret = rereg_access(mr, odp | ACCESS_FLUSH_PERSISTENT);
	check(ret != 0, "rereg of an ODP MR to FLUSH_PERSISTENT refused (errno)", ret);
	ret = rereg_access(mr, odp | ACCESS_FLUSH_GLOBAL);
	check(ret == 0, "rereg of an ODP MR to FLUSH_GLOBAL accepted (errno)", ret);
	check(ibv_dereg_mr(mr) == 0, "dereg", 0);

	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	munmap(buf, LEN);
	printf("odp_reg_flush: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
