// SPDX-License-Identifier: MIT
/*
 * mmap_store - change a file by stores through a shared writable mapping,
 * the way a database does: no write(2), no inotify event.
 *   mmap_store FILE READY-FLAG GO-FLAG DONE-FLAG
 * Stores into every page once (the pages become dirty and writable in
 * this process's page table), creates READY-FLAG, waits for GO-FLAG,
 * stores a new byte into every page again, creates DONE-FLAG, and keeps
 * the mapping until it is killed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void touch(const char *p)
{
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: %s FILE READY-FLAG GO-FLAG DONE-FLAG\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) || st.st_size == 0) {
		perror(argv[1]);
		return 1;
	}
	volatile unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (off_t o = 0; o < st.st_size; o += 4096)
		p[o] = 'A';
	touch(argv[2]);
	while (access(argv[3], F_OK))
		usleep(20000);
	for (off_t o = 0; o < st.st_size; o += 4096)
		p[o] = 'B';
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	printf("stored 'B' into %lld pages through the mapping at %lld.%09ld\n",
	       (long long)((st.st_size + 4095) / 4096), (long long)now.tv_sec, now.tv_nsec);
	fflush(stdout);
	touch(argv[4]);
	pause();
	return 0;
}
