/*
 * reg_time — how long ibv_reg_mr takes against the size of the region.
 *
 *   reg_time DEV DIR MODE SIZE...
 *
 * MODE pinned: anonymous private memory, registered LOCAL_WRITE|REMOTE_READ
 *              (ib_umem_get pins and faults every page);
 * MODE odp:    a sparse file created in DIR, mapped shared read-only and
 *              registered ON_DEMAND|REMOTE_READ (nothing is faulted or pinned).
 * One JSON object per size on stdout: {"mode":..,"bytes":..,"usec":..} or,
 * when the registration fails, {"mode":..,"bytes":..,"error":".."}.
 */
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

/* Map SIZE bytes for MODE; returns MAP_FAILED with errno set on failure. */
static void *map_region(const char *mode, const char *dir, uint64_t size)
{
	char path[4096];
	void *p;
	int fd;

	if (!strcmp(mode, "pinned"))
		return mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	snprintf(path, sizeof(path), "%s/reg_time.%" PRIu64, dir, size);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return MAP_FAILED;
	}
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	unlink(path);
	return p;
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	const char *mode;
	int access;

	if (argc < 5) {
		fprintf(stderr, "usage: reg_time DEV DIR pinned|odp SIZE...\n");
		return 2;
	}
	mode = argv[3];
	if (strcmp(mode, "pinned") && strcmp(mode, "odp")) {
		fprintf(stderr, "reg_time: mode must be pinned or odp, not '%s'\n", mode);
		return 2;
	}
	access = !strcmp(mode, "odp") ? IBV_ACCESS_ON_DEMAND | IBV_ACCESS_REMOTE_READ
				      : IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ;
	ctx = open_dev(argv[1]);
	if (!ctx) {
		fprintf(stderr, "reg_time: cannot open device %s\n", argv[1]);
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		fprintf(stderr, "reg_time: ibv_alloc_pd failed\n");
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		char *end;
		uint64_t size = strtoull(argv[i], &end, 0);
		struct ibv_mr *mr;
		double t0, t1;
		void *p;

		if (*end || !size) {
			fprintf(stderr, "reg_time: bad size '%s'\n", argv[i]);
			return 2;
		}
		p = map_region(mode, argv[2], size);
		if (p == MAP_FAILED) {
			printf("{\"mode\":\"%s\",\"bytes\":%" PRIu64 ",\"error\":\"mmap: %s\"}\n",
			       mode, size, strerror(errno));
			continue;
		}
		t0 = now_us();
		mr = ibv_reg_mr(pd, p, size, access);
		t1 = now_us();
		if (!mr)
			printf("{\"mode\":\"%s\",\"bytes\":%" PRIu64 ",\"error\":\"ibv_reg_mr: %s\"}\n",
			       mode, size, strerror(errno));
		else
			printf("{\"mode\":\"%s\",\"bytes\":%" PRIu64 ",\"usec\":%.1f}\n",
			       mode, size, t1 - t0);
		fflush(stdout);
		if (mr)
			ibv_dereg_mr(mr);
		munmap(p, size);
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}
