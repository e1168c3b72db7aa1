/* SPDX-License-Identifier: MIT */
/* confine.h - resolve a client's path strictly inside an export root. */
#ifndef NICFILED_CONFINE_H
#define NICFILED_CONFINE_H
#include <sys/stat.h>

/* Let paths cross mount points below an export root (default: -EXDEV). */
void confine_cross_mounts(int allow);

/*
 * Resolve @rel (relative, no NUL) beneath the directory @root_fd and return
 * an O_PATH descriptor of it with its stat. Refuses absolute paths, any
 * escape by ".." or symlink and any mount point crossed (-EXDEV), and
 * magic links.
 */
int confine_resolve(int root_fd, const char *rel, int *path_fd, struct stat *st);

/*
 * Open a regular file beneath @root_fd for reading, never blocking (FIFOs)
 * and never opening a device: non-regular files give -EPERM, directories
 * -EISDIR. Returns the fd or -errno.
 */
int confine_open_regular(int root_fd, const char *rel, struct stat *st);

/* Open a directory beneath @root_fd for listing; returns the fd or -errno. */
int confine_open_dir(int root_fd, const char *rel);
#endif
