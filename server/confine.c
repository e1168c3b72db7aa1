// SPDX-License-Identifier: MIT
/*
 * confine.c - path confinement for nicfiled. openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) does the walk, so "..",
 * absolute symlinks, symlinks leaving the root and mount points inside it
 * are refused by the kernel, race-free (--crossmnt lets mounts through). A file is
 * first resolved with O_PATH (opening a FIFO or device has side effects or
 * blocks), checked with fstat, and only then reopened for reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "confine.h"

static int cross_mounts;

void confine_cross_mounts(int allow)
{
	cross_mounts = allow;
}

static int openat2_beneath(int root_fd, const char *rel, int flags)
{
	struct open_how how = {
		/* openat2 refuses O_NOCTTY with O_PATH (strict flag checking) */
		.flags = (uint64_t)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)),
		/* A mount inside an export (a bind mount of /etc) is another tree. */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (cross_mounts ? 0 : RESOLVE_NO_XDEV),
	};
	long fd;

	if (rel[0] == '/')
		return -EXDEV;           /* absolute: never beneath the root */
	if (rel[0] == 0)
		rel = ".";
	fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	return (int)fd;
}

int confine_resolve(int root_fd, const char *rel, int *path_fd, struct stat *st)
{
	int fd = openat2_beneath(root_fd, rel, O_PATH);
	if (fd < 0)
		return fd;
	if (fstat(fd, st)) {
		int err = -errno;
		close(fd);
		return err;
	}
	*path_fd = fd;
	return 0;
}

int confine_open_regular(int root_fd, const char *rel, struct stat *st)
{
	struct stat st2;
	char proc[64];
	int pfd = -1, fd, err;

	err = confine_resolve(root_fd, rel, &pfd, st);
	if (err)
		return err;
	if (S_ISDIR(st->st_mode)) {
		close(pfd);
		return -EISDIR;
	}
	if (!S_ISREG(st->st_mode)) {
		close(pfd);
		return -EPERM;
	}
	/* Reopen the very inode we checked (the O_PATH fd pins it). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) /* no /proc: resolve again, still beneath */
		fd = openat2_beneath(root_fd, rel, O_RDONLY | O_NONBLOCK);
	else if (fd < 0)
		fd = -errno;
	close(pfd);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st2) || st2.st_ino != st->st_ino || st2.st_dev != st->st_dev ||
	    !S_ISREG(st2.st_mode)) {
		close(fd);
		return -EPERM;
	}
	*st = st2;
	return fd;
}

int confine_open_dir(int root_fd, const char *rel)
{
	return openat2_beneath(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
}
