/* SPDX-License-Identifier: MIT */
/*
 * files.h - nicfiled's table of opened files: each file is mmap'd and
 * registered once, shared by every client that opens it, watched with
 * inotify, and closed some time after its last client let go, or sooner
 * when the table is full and a file not yet registered needs the room.
 *
 * Threads: files_get() runs on worker threads (registering takes time in
 * proportion to the file), everything else on the loop; files_check() and
 * files_inotify() on either. The table's lock covers the list, the
 * references and the flags; nothing slow runs under it. A file being
 * registered is in the list (so that inotify events for it are not lost)
 * but has no region yet: only files_get() looks at it.
 */
#ifndef NICFILED_FILES_H
#define NICFILED_FILES_H
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct ibv_pd;
struct nicfile_region;

struct nf_file {
	struct nf_file *next;
	int changed;            /* written/truncated/replaced: no new opens */
	int notified;           /* on_change() called for the change */
	int registering;        /* a worker is registering it: no region yet */
	int fd, wd;
	int export_idx;
	char *rel;              /* path under the export, for replacement checks */
	char *name;             /* "export/rel" for logs */
	struct stat st0;        /* as registered */
	uint64_t generation;
	struct nicfile_region *region;
	unsigned refs;
	time_t idle_since;
};

struct files {
	pthread_mutex_t lock;
	pthread_cond_t registered;  /* some registration ended */
	struct nf_file *list;
	struct nf_file *dead;       /* out of the table, for files_reap() */
	unsigned max;               /* registered files at most (open or idle) */
	int inotify_fd;
	struct ibv_pd *pd;
	unsigned reg_flags;
	unsigned count;
	/* Called on the loop (files_notify()) for each changed file. */
	void (*on_change)(struct nf_file *f, void *arg);
	void *arg;
};

uint64_t files_generation_of(const struct stat *st);
int files_init(struct files *t);
/*
 * Open (or share) @rel under export @idx; takes a reference. On a worker.
 * A full table gives up its longest idle file; -ENFILE if none is idle.
 */
int files_get(struct files *t, int idx, const char *export_name, int root_fd,
	      const char *rel, struct nf_file **out);
void files_put(struct files *t, struct nf_file *f);
/* The registration mode of the file with @st's identity and version, or -1. */
int files_mode_of(struct files *t, const struct stat *st);
/* On the loop: call on_change() for every change not yet told. */
void files_notify(struct files *t);
/* 0 if @f is still what was registered, else -ESTALE (and marks it). */
int files_check(struct files *t, struct nf_file *f, int root_fd);
/* Read pending inotify events and mark the files they name. */
void files_inotify(struct files *t);
/*
 * Take unreferenced files that changed or idled @idle_s seconds (-1:
 * changed only) out of the table; files_put() does so with a changed
 * file's last reference. files_reap() then releases them (region,
 * mapping, descriptor): it takes time in proportion to the file (a pinned
 * region is unpinned), so nicfiled calls it on a worker.
 */
void files_sweep(struct files *t, time_t now, int idle_s);
int files_dying(struct files *t);
unsigned files_reap(struct files *t);
void files_destroy(struct files *t);
#endif
