/*
 * revoke_range — a change takes back from the NIC only the pages it
 * changes.  Per KIND: a written, synced file of PAGES pages with nothing
 * of it in the page cache is mapped shared read-only, registered as an
 * ODP MR and prefetched (its entries come from device memory when the
 * kernel serves the file from there: checked), then one change is made
 * through KIND at the middle page M, and the MR's entries cleared by the
 * change (odp_pages_invalidated) are counted.  They must number at least
 * one (the changed pages were taken back) and no more than the pages the
 * change touches:
 *   write     pwrite(2) of page M, then fsync          1
 *   direct    O_DIRECT pwrite(2) of page M              1
 *   store     a store through a shared writable mapping, msync   1
 *   punch     fallocate PUNCH_HOLE of page M            1
 *   zero      fallocate ZERO_RANGE of page M            1
 *   clone     FICLONERANGE of one page onto page M      1
 *   truncate  ftruncate to M pages                       PAGES - M
 *   collapse  fallocate COLLAPSE_RANGE of page M         PAGES - M + 1
 *   append    pwrite(2) of a page at EOF, then fsync    0 (exactly)
 * (XFS flushes and unmaps the page cache from the block before M for a
 * collapse, to stabilise the boundary extent, and unmapping invalidates
 * ODP entries too.)  Then the MR is prefetched again and must be whole
 * once more.  One JSON
 * line per kind; exit status 1 if a check failed.
 *
 *   revoke_range DEVICE DIR PAGES KIND...
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "advise_mr.h"
#include "cold_file.h"
#include "odp_stat.h"
#include "open_dev.h"

#define PAGE 4096

static void die(const char *what)
{
	fprintf(stderr, "revoke_range: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of @pages pages of @fill, on disk, none of it in the page cache. */
static int make_file(const char *path, size_t pages, int fill)
{
	int fd = cold_file(path, pages * PAGE, fill);

	if (fd < 0)
		die(path);
	return fd;
}

static void prefetch(struct ibv_pd *pd, struct ibv_mr *mr, void *map, size_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)map, .length = (uint32_t)len,
			       .lkey = mr->lkey };
	int err = nicfile_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
				    IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);

	if (err) {
		errno = err;
		die("advise_mr prefetch");
	}
}

/* Make the change @kind at page @m of @fd; return the pages it may take back. */
static long long change(const char *kind, int fd, const char *dir, size_t pages, size_t m)
{
	static uint8_t page[PAGE] __attribute__((aligned(PAGE)));
	off_t at = (off_t)(m * PAGE);

	memset(page, 0xc3, sizeof(page));
	if (!strcmp(kind, "write")) {
		if (pwrite(fd, page, PAGE, at) != PAGE || fsync(fd))
			die("pwrite");
		return 1;
	}
	if (!strcmp(kind, "direct")) {
		char path[64];
		int dfd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		dfd = open(path, O_WRONLY | O_DIRECT);
		if (dfd < 0)
			die("open O_DIRECT");
		if (pwrite(dfd, page, PAGE, at) != PAGE)
			die("pwrite O_DIRECT");
		close(dfd);
		return 1;
	}
	if (!strcmp(kind, "store")) {
		uint8_t *w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, at);

		if (w == MAP_FAILED)
			die("mmap writable");
		w[17] ^= 0xff;
		if (msync(w, PAGE, MS_SYNC))
			die("msync");
		munmap(w, PAGE);
		return 1;
	}
	if (!strcmp(kind, "punch") || !strcmp(kind, "zero")) {
		int mode = FALLOC_FL_KEEP_SIZE |
			   (kind[0] == 'p' ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);

		if (fallocate(fd, mode, at, PAGE))
			die(kind);
		return 1;
	}
	if (!strcmp(kind, "clone")) {
		char path[4096];
		int src;
		struct file_clone_range fcr;

		snprintf(path, sizeof(path), "%s/revoke_range.src", dir);
		src = make_file(path, 1, 0xc3);
		fcr = (struct file_clone_range){ .src_fd = src, .src_offset = 0,
						 .src_length = PAGE, .dest_offset = (uint64_t)at };
		if (ioctl(fd, FICLONERANGE, &fcr))
			die("FICLONERANGE");
		close(src);
		unlink(path);
		return 1;
	}
	if (!strcmp(kind, "truncate")) {
		if (ftruncate(fd, at))
			die("ftruncate");
		return (long long)(pages - m);
	}
	if (!strcmp(kind, "collapse")) {
		if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, at, PAGE))
			die("collapse");
		return (long long)(pages - m + 1);
	}
	if (!strcmp(kind, "append")) {
		if (pwrite(fd, page, PAGE, (off_t)(pages * PAGE)) != PAGE || fsync(fd))
			die("pwrite at EOF");
		return 0;
	}
	fprintf(stderr, "revoke_range: unknown KIND %s\n", kind);
	exit(2);
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd;
	char path[4096];
	size_t pages, m;
	int failed = 0;

	if (argc < 5)
		return fprintf(stderr, "usage: revoke_range DEVICE DIR PAGES KIND...\n"), 2;
	pages = strtoull(argv[3], NULL, 0);
	if (pages < 4 || pages > 65536)
		return fprintf(stderr, "revoke_range: 4 <= PAGES <= 65536\n"), 2;
	m = pages / 2;
	snprintf(path, sizeof(path), "%s/revoke_range.dat", argv[2]);
	ctx = open_dev(argv[1]);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd)
		die(ctx ? "ibv_alloc_pd" : "open device");

	for (int k = 4; k < argc; k++) {
		const char *kind = argv[k];
		long long dev0, dev1, inv0, inv, most;
		size_t len = pages * PAGE, relen;
		struct ibv_mr *mr;
		uint8_t *map;
		int fd, ok;

		fd = make_file(path, pages, 0x5a);
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			die("mmap");
		mr = ibv_reg_mr(pd, map, len, IBV_ACCESS_REMOTE_READ | IBV_ACCESS_ON_DEMAND);
		if (!mr)
			die("ibv_reg_mr (ODP)");
		dev0 = odp_stat("pages_cmb");
		prefetch(pd, mr, map, len);
		dev1 = odp_stat("pages_cmb");

		inv0 = odp_stat("pages_invalidated");
		most = change(kind, fd, argv[2], pages, m);
		inv = odp_stat("pages_invalidated") - inv0;

		/* the MR still covers the first @pages pages, whatever the size */
		relen = !strcmp(kind, "truncate") || !strcmp(kind, "collapse") ? m * PAGE : len;
		prefetch(pd, mr, map, relen);

		ok = dev1 - dev0 >= (long long)pages &&
		     (most ? inv >= 1 && inv <= most : inv == 0);
		printf("{\"kind\":\"%s\",\"pages\":%zu,\"device_pages\":%lld,\"invalidated\":%lld,"
		       "\"allowed\":%lld,\"ok\":%s}\n", kind, pages, dev1 - dev0, inv, most,
		       ok ? "true" : "false");
		if (!ok) {
			failed = 1;
			if (dev1 - dev0 < (long long)pages)
				printf("FAIL: %s: %lld of %zu pages came from device memory\n", kind,
				       dev1 - dev0, pages);
			else
				printf("FAIL: %s: the change took back %lld pages; it changes %lld\n",
				       kind, inv, most);
		}
		ibv_dereg_mr(mr);
		munmap(map, len);
		close(fd);
	}
	unlink(path);
	return failed;
}
