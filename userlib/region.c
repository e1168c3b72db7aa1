// SPDX-License-Identifier: MIT
/*
 * region.c - register an mmap'd file for remote reads, best mode first:
 * ODP from NVMe device memory (PMR, CMB), ODP on the page cache, pinned.
 *
 * The mapping is PROT_READ + MAP_SHARED and the MR gets
 * IBV_ACCESS_REMOTE_READ only: 6.12 refuses a writable long-term pin of an
 * XFS file but accepts a read-only one, and a remote peer never writes.
 * MRs are zero-based (ibv_reg_mr_iova2 with iova 0): the address a peer
 * uses is an offset in the file, never this process's mapping address.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include "nicfile.h"

struct nicfile_region {
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	void *map;
	size_t map_len;
	uint64_t length;
	int mode;
};

/* Does the device serve RC RDMA READs from ODP memory? */
static int device_has_rc_read_odp(struct ibv_context *ctx)
{
	struct ibv_device_attr_ex attr;

	if (ibv_query_device_ex(ctx, NULL, &attr))
		return 0;
	if (!(attr.odp_caps.general_caps & IBV_ODP_SUPPORT))
		return 0;
	return !!(attr.odp_caps.per_transport_caps.rc_odp_caps & IBV_ODP_SUPPORT_READ);
}

/*
 * ODP from device memory: the kernel's peer block cache exists, the file
 * lives on XFS (the filesystem that implements device_map), and the block
 * device sits below a PCI device that publishes p2pmem (an NVMe CMB or
 * PMR).  The sysfs path of the block device leads up through its parents
 * to that device.  Which memory the cache draws from first is in
 * providers/<PCI name> (doc/cmb.md): "pmr ..." gives odp-pmr; a kernel
 * without that file only knows the CMB.
 */
#define XFS_MAGIC 0x58465342
#define PEER_CACHE_SYSFS "/sys/kernel/mm/peer_block_cache"

/* The device-memory mode for @fd (NICFILE_MODE_ODP_CMB or _PMR), or -1. */
static int file_device_memory_mode(int fd)
{
	char link[64], path[PATH_MAX], probe[PATH_MAX + 32], kind[8] = "";
	struct statfs sfs;
	struct stat st;
	char *slash;

	if (access(PEER_CACHE_SYSFS, F_OK))
		return -1;
	if (fstatfs(fd, &sfs) || sfs.f_type != XFS_MAGIC || fstat(fd, &st))
		return -1;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u",
		 major(st.st_dev), minor(st.st_dev));
	if (!realpath(link, path))
		return -1;
	while ((slash = strrchr(path, '/')) && slash != path) {
		FILE *f;
		int published = 0;

		snprintf(probe, sizeof(probe), "%s/p2pmem/published", path);
		f = fopen(probe, "r");
		if (f) {
			published = fgetc(f) == '1';
			fclose(f);
			if (!published)
				return -1;
			snprintf(probe, sizeof(probe), PEER_CACHE_SYSFS "/providers/%s", slash + 1);
			f = fopen(probe, "r");
			if (f) {
				if (!fgets(kind, sizeof(kind), f))
					kind[0] = '\0';
				fclose(f);
			}
			return strncmp(kind, "pmr", 3) ? NICFILE_MODE_ODP_CMB : NICFILE_MODE_ODP_PMR;
		}
		*slash = '\0';
	}
	return -1;
}

/*
 * Make pages resident without the provider's help: one read fault per page.
 * MADV_POPULATE_READ does exactly that and fails with EFAULT instead of
 * raising SIGBUS when the file was truncated under us; touching one byte per
 * page is the last resort for kernels without it. Kept in one function so
 * it can be replaced once the provider's advise_mr works.
 */
static int populate_pages(const uint8_t *p, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
	size_t n = len + ((uintptr_t)p - start);

	if (madvise((void *)start, n, MADV_POPULATE_READ) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	for (size_t off = 0; off < n; off += (size_t)page)
		(void)*(volatile const uint8_t *)(start + off);
	return 0;
}

/*
 * Register @len bytes at @map for remote reads only, zero-based (iova 0):
 * a peer addresses byte N of the file as N and never learns where the
 * file is mapped here.
 */
static struct ibv_mr *reg_zero_based(struct ibv_pd *pd, void *map, size_t len, int mode)
{
	int acc = IBV_ACCESS_REMOTE_READ;

	if (mode != NICFILE_MODE_PINNED)
		acc |= IBV_ACCESS_ON_DEMAND;
	return ibv_reg_mr_iova2(pd, map, len, 0, (unsigned)acc);
}

int nicfile_region_register(struct ibv_pd *pd, int fd, unsigned flags,
			    struct nicfile_region **out)
{
	struct nicfile_region *r;
	struct stat st;
	int odp, err;

	*out = NULL;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pd = pd;
	r->length = (uint64_t)st.st_size;
	odp = !(flags & NICFILE_REG_NO_ODP) && device_has_rc_read_odp(pd->context);
	/* An empty file has no MR; report the mode a non-empty one would get. */
	r->mode = odp ? NICFILE_MODE_ODP : NICFILE_MODE_PINNED;
	if (r->length == 0) {
		*out = r;
		return 0;
	}
	if (r->length > SIZE_MAX / 2) {
		free(r);
		return -EFBIG;
	}
	r->map_len = (size_t)r->length;
	r->map = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED) {
		err = -errno;
		free(r);
		return err;
	}
	r->mode = NICFILE_MODE_PINNED;
	if (odp) {
		int dev = (flags & NICFILE_REG_NO_CMB) ? -1 : file_device_memory_mode(fd);
		/*
		 * rxe's ODP registration records the pages already present, and
		 * a page found at registration never faults later; a NIC fault
		 * costs far more than reading the page in first. So populate
		 * first (best effort), then register. Not with device memory behind
		 * the file: there the point is to keep the data out of the page cache.
		 */
		if (dev < 0 && !(flags & NICFILE_REG_NO_PREFAULT))
			populate_pages(r->map, r->map_len);
		r->mr = reg_zero_based(pd, r->map, r->map_len, NICFILE_MODE_ODP);
		if (r->mr)
			r->mode = dev >= 0 ? dev : NICFILE_MODE_ODP;
	}
	if (!r->mr) {
		r->mr = reg_zero_based(pd, r->map, r->map_len, NICFILE_MODE_PINNED);
		r->mode = NICFILE_MODE_PINNED;
	}
	if (!r->mr) {
		err = errno ? -errno : -EIO;
		munmap(r->map, r->map_len);
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void nicfile_region_free(struct nicfile_region *r)
{
	if (!r)
		return;
	if (r->mr)
		ibv_dereg_mr(r->mr);
	if (r->map && r->map != MAP_FAILED)
		munmap(r->map, r->map_len);
	free(r);
}

/*
 * Ask the provider to map [0, len) of an ODP MR in the background (no
 * IBV_ADVISE_MR_FLAG_FLUSH: the call only queues the work). Best effort.
 */
static void prefetch_async(struct ibv_pd *pd, struct ibv_mr *mr, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 1u << 30) {
		struct ibv_sge sge = {
			.addr = off,
			.length = (uint32_t)(len - off > (1u << 30) ? (1u << 30) : len - off),
			.lkey = mr->lkey,
		};
		if (ibv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH, 0, &sge, 1))
			return;
	}
}

int nicfile_region_reg_mr(const struct nicfile_region *r, struct ibv_pd *pd, struct ibv_mr **out)
{
	*out = NULL;
	if (!r->mr)
		return 0;       /* an empty file: nothing to read, no MR */
	*out = reg_zero_based(pd, r->map, r->map_len, r->mode);
	if (!*out)
		return errno ? -errno : -EIO;
	/*
	 * An ODP MR starts with no pages of its own that registration did not
	 * find in the page table (none for odp-cmb, odp-pmr): without this every peer
	 * would fault every page on its first READ, once per MR.
	 */
	if (r->mode != NICFILE_MODE_PINNED)
		prefetch_async(pd, *out, r->length);
	return 0;
}

uint64_t nicfile_region_addr(const struct nicfile_region *r) { (void)r; return 0; }
uint32_t nicfile_region_rkey(const struct nicfile_region *r) { return r->mr ? r->mr->rkey : 0; }
uint64_t nicfile_region_length(const struct nicfile_region *r) { return r->length; }
int nicfile_region_mode(const struct nicfile_region *r) { return r->mode; }
const void *nicfile_region_data(const struct nicfile_region *r) { return r->map; }

int nicfile_region_prefetch(struct nicfile_region *r, uint64_t off, uint64_t len)
{
	if (!r->mr || off >= r->length || len == 0)
		return 0;
	if (len > r->length - off)
		len = r->length - off;
	if (r->mode == NICFILE_MODE_PINNED)
		return 0;       /* pinned pages are resident already */
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done > (1u << 30) ? (1u << 30) : len - done;
		struct ibv_sge sge = {
			.addr = off + done,     /* an address in the MR: zero-based */
			.length = (uint32_t)n,
			.lkey = r->mr->lkey,
		};
		int rc = ibv_advise_mr(r->pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
				       IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
		if (rc == EOPNOTSUPP || rc == ENOSYS || rc == EINVAL) {
			/* Populating would fill the page cache device memory spares. */
			if (r->mode == NICFILE_MODE_ODP_CMB || r->mode == NICFILE_MODE_ODP_PMR)
				return 0;
			return populate_pages((const uint8_t *)r->map + off, (size_t)len);
		}
		if (rc)
			return -rc;
		done += n;
	}
	return 0;
}
