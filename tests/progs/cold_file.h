/*
 * cold_file.h — a file whose data is on disk and not in the page cache,
 * so that an ODP fault must fetch it (header only).
 */
#ifndef NICFILE_TESTS_COLD_FILE_H
#define NICFILE_TESTS_COLD_FILE_H

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/*
 * Create (or truncate) @path as @size bytes of @fill, written, synced and
 * dropped from the page cache.  Returns an O_RDWR descriptor, or -1 with
 * errno set.
 */
static inline int cold_file(const char *path, size_t size, int fill)
{
	static uint8_t buf[1 << 16];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	memset(buf, fill, sizeof(buf));
	for (size_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);

		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			goto fail;
	}
	if (fsync(fd))
		goto fail;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return fd;
fail:
	close(fd);
	return -1;
}

#endif
