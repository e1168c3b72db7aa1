/*
 * advise_mr.h - nicfile_advise_mr(): ibv_advise_mr() that also works on
 * rdma-core 44, whose rxe provider lacks it, by issuing the uverbs
 * ADVISE_MR method itself.  Self-contained so that programs can copy it;
 * see doc/odp-prefetch.md.  Included by the test programs that prefetch.
 */
#ifndef NICFILE_ADVISE_MR_H
#define NICFILE_ADVISE_MR_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/rdma_user_ioctl_cmds.h>

/*
 * nicfile_advise_mr - ibv_advise_mr() that also works where the provider
 * lacks it (rdma-core < 59 for rxe). Same arguments and return convention
 * as ibv_advise_mr(): 0 or an errno value.
 */
static int nicfile_advise_mr(struct ibv_pd *pd,
			     enum ibv_advise_mr_advice advice, uint32_t flags,
			     struct ibv_sge *sg_list, uint32_t num_sge)
{
	struct {
		struct ib_uverbs_ioctl_hdr hdr;
		struct ib_uverbs_attr attrs[4];
	} cmd;
	int ret;

	ret = ibv_advise_mr(pd, advice, flags, sg_list, num_sge);
	if (ret != EOPNOTSUPP)
		return ret;

	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr.length = sizeof(cmd);
	cmd.hdr.object_id = UVERBS_OBJECT_MR;
	cmd.hdr.method_id = UVERBS_METHOD_ADVISE_MR;
	cmd.hdr.num_attrs = 4;
	cmd.hdr.driver_id = RDMA_DRIVER_RXE; /* not checked by the core */

	/* the PD, by its uverbs handle */
	cmd.attrs[0].attr_id = UVERBS_ATTR_ADVISE_MR_PD_HANDLE;
	cmd.attrs[0].flags = UVERBS_ATTR_F_MANDATORY;
	cmd.attrs[0].data = pd->handle;
	/* const and flags attributes carry their value inline (len <= 8) */
	cmd.attrs[1].attr_id = UVERBS_ATTR_ADVISE_MR_ADVICE;
	cmd.attrs[1].flags = UVERBS_ATTR_F_MANDATORY;
	cmd.attrs[1].len = sizeof(uint64_t);
	cmd.attrs[1].data = advice;
	cmd.attrs[2].attr_id = UVERBS_ATTR_ADVISE_MR_FLAGS;
	cmd.attrs[2].flags = UVERBS_ATTR_F_MANDATORY;
	cmd.attrs[2].len = sizeof(uint32_t);
	cmd.attrs[2].data = flags;
	/* struct ibv_sge has the layout of the kernel's struct ib_sge */
	cmd.attrs[3].attr_id = UVERBS_ATTR_ADVISE_MR_SGE_LIST;
	cmd.attrs[3].flags = UVERBS_ATTR_F_MANDATORY;
	cmd.attrs[3].len = (uint16_t)(num_sge * sizeof(struct ibv_sge));
	cmd.attrs[3].data = (uintptr_t)sg_list;

	if (num_sge == 0 || num_sge > UINT16_MAX / sizeof(struct ibv_sge))
		return EINVAL;
	if (ioctl(pd->context->cmd_fd, RDMA_VERBS_IOCTL, &cmd))
		return errno;
	return 0;
}

#endif
