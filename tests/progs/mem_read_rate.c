// SPDX-License-Identifier: MIT
/*
 * mem_read_rate: the rate at which this CPU reads a memory through a
 * shared mapping of FILE (an NVMe p2pmem/allocate file, or an ordinary
 * file for comparison), copying it in CHUNK-byte pieces with memcpy(), as
 * rxe copies a READ's payload out of the pages it serves.
 *
 * Usage: mem_read_rate FILE SIZE_MIB SECONDS [CHUNK]
 * Prints one JSON line: {"file":..., "bytes":..., "seconds":..., "mib_s":...}
 * The first pass (mapping faults) is not timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || !*out || *out > max ? -1 : 0;
}

static void read_all(const unsigned char *p, size_t size, unsigned char *buf, size_t chunk)
{
	for (size_t off = 0; off < size; off += chunk)
		memcpy(buf, p + off, size - off < chunk ? size - off : chunk);
	/* Keep the copies: the compiler may not drop them. */
	__asm__ volatile("" : : "r"(buf) : "memory");
}

int main(int argc, char **argv)
{
	unsigned long mib, secs, chunk = 4096;
	unsigned char *buf;
	double t0, t;
	size_t size;
	uint64_t bytes = 0;
	void *p;
	int fd;

	if (argc < 4 || argc > 5 || parse_ulong(argv[2], 1UL << 20, &mib) ||
	    parse_ulong(argv[3], 3600, &secs) ||
	    (argc == 5 && parse_ulong(argv[4], 1UL << 24, &chunk))) {
		fprintf(stderr, "usage: mem_read_rate FILE SIZE_MIB SECONDS [CHUNK]\n");
		return 2;
	}
	size = mib << 20;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "mem_read_rate: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "mem_read_rate: mmap %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	buf = malloc(chunk);
	if (!buf)
		return 1;
	/* Fault every page in (p2pmem/allocate pages are allocated here). */
	memset(p, 0x5a, size);
	read_all(p, size, buf, chunk);
	t0 = now();
	do {
		read_all(p, size, buf, chunk);
		bytes += size;
		t = now() - t0;
	} while (t < secs);
	printf("{\"file\":\"%s\",\"bytes\":%llu,\"seconds\":%.3f,\"mib_s\":%.1f,\"chunk\":%lu}\n",
	       argv[1], (unsigned long long)bytes, t, bytes / t / 1048576, chunk);
	munmap(p, size);
	close(fd);
	free(buf);
	return 0;
}
