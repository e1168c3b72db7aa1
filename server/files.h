/* SPDX-License-Identifier: MIT */
/*
 * files.h - nicfiled's table of opened files: each file is mmap'd and
 * registered once, shared by every client that opens it, watched with
 * inotify, and closed some time after its last client let go.
 */
#ifndef NICFILED_FILES_H
#define NICFILED_FILES_H
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct ibv_pd;
struct nicfile_region;

struct nf_file {
	struct nf_file *next;
	int changed;            /* written/truncated/replaced: no new opens */
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
	struct nf_file *list;
	int inotify_fd;
	struct ibv_pd *pd;
	unsigned reg_flags;
	unsigned count;
	void (*on_change)(struct nf_file *f, void *arg);
	void *arg;
};

uint64_t files_generation_of(const struct stat *st);
int files_init(struct files *t);
/* Open (or share) @rel under export @idx; takes a reference. */
int files_get(struct files *t, int idx, const char *export_name, int root_fd,
	      const char *rel, struct nf_file **out);
void files_put(struct files *t, struct nf_file *f);
/* 0 if @f is still what was registered, else -ESTALE (and marks it). */
int files_check(struct files *t, struct nf_file *f, int root_fd);
void files_mark_changed(struct files *t, struct nf_file *f, const char *why);
/* Read pending inotify events and mark the files they name. */
void files_inotify(struct files *t);
/* Free unreferenced files that changed or idled @idle_s seconds (-1: changed only). */
void files_sweep(struct files *t, time_t now, int idle_s);
void files_destroy(struct files *t);
#endif
