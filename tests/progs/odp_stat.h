/*
 * odp_stat.h — the ODP counters umem_odp keeps in
 * /sys/class/infiniband_verbs/odp_* (header only).
 */
#ifndef NICFILE_TESTS_ODP_STAT_H
#define NICFILE_TESTS_ODP_STAT_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ODP_STATS "/sys/class/infiniband_verbs/"

/* The counter open at @fd, read from its start; -1 on error. */
static inline long long odp_stat_fd(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atoll(buf);
}

/*
 * The counter odp_@name (e.g. "pages_invalidated").  A test cannot go on
 * without it: exits with status 1 if it cannot be read.
 */
static inline long long odp_stat(const char *name)
{
	char path[128];
	long long v = -1;
	int fd;

	snprintf(path, sizeof(path), ODP_STATS "odp_%s", name);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		v = odp_stat_fd(fd);
		close(fd);
	}
	if (v < 0) {
		perror(path);
		exit(1);
	}
	return v;
}

#endif
