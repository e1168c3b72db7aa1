// SPDX-License-Identifier: MIT
/*
 * files.c - the shared table of registered files. A file's identity is
 * (dev, ino); its generation hashes (dev, ino, size, mtime, ctime) as
 * registered. Change is noticed three ways, any one enough: inotify on the
 * inode, a stat that no longer matches, and the path now naming another
 * inode (replace by rename). For the stat to be enough, a file is settled
 * before it is registered (settle(): written back, out of the current
 * timestamp tick), so that no later change can keep its stat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "nicfile.h"
#include "confine.h"
#include "files.h"
#include "log.h"

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

uint64_t files_generation_of(const struct stat *st)
{
	uint64_t h = 0x6e6963666c65ull;
	h = mix(h, (uint64_t)st->st_dev);
	h = mix(h, (uint64_t)st->st_ino);
	h = mix(h, (uint64_t)st->st_size);
	h = mix(h, (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec);
	h = mix(h, (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec);
	return h | 1;
}

static int same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int files_init(struct files *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->registered, NULL);
	t->max = 256;
	/* Optional: without it, stat checks still catch every change. */
	t->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return t->inotify_fd < 0 ? -errno : 0;
}

/* Under the lock: take @f out of the list and the count, drop its watch. */
static void file_unlink(struct files *t, struct nf_file *f)
{
	int shared_wd = 0;

	for (struct nf_file **p = &t->list; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	for (struct nf_file *o = t->list; o; o = o->next)
		if (o->wd == f->wd)
			shared_wd = 1;
	if (f->wd >= 0 && !shared_wd && t->inotify_fd >= 0)
		inotify_rm_watch(t->inotify_fd, f->wd);
	t->count--;
}

/* Under the lock: out of the table, onto the list files_reap() releases. */
static void retire(struct files *t, struct nf_file *f)
{
	file_unlink(t, f);
	f->next = t->dead;
	t->dead = f;
}

/* Outside the lock (deregistering a pinned region takes time): the rest. */
static void file_release(struct nf_file *f)
{
	int registered = f->region != NULL;

	if (registered)
		nicfile_region_free(f->region);
	if (f->fd >= 0)
		close(f->fd);
	if (registered)   /* once all of it is gone: tests count these lines */
		log_info("closed %s", f->name);
	free(f->rel);
	free(f->name);
	free(f);
}

/* Under the lock. The loop tells the clients (files_notify()). */
static void mark_changed(struct nf_file *f, const char *why)
{
	if (f->changed)
		return;
	f->changed = 1;
	if (!f->registering)
		log_info("%s changed (%s); clients holding it are told", f->name, why);
}

void files_notify(struct files *t)
{
	pthread_mutex_lock(&t->lock);
	for (struct nf_file *f = t->list; f; f = f->next)
		if (f->changed && !f->notified) {
			f->notified = 1;
			if (t->on_change && !f->registering)
				t->on_change(f, t->arg);
		}
	pthread_mutex_unlock(&t->lock);
}

int files_check(struct files *t, struct nf_file *f, int root_fd)
{
	struct stat now, named;
	const char *why = NULL;
	int pfd = -1;

	pthread_mutex_lock(&t->lock);
	int changed = f->changed;
	pthread_mutex_unlock(&t->lock);
	if (changed)
		return -ESTALE;
	if (fstat(f->fd, &now) || !same_version(&now, &f->st0))
		why = "stat differs";
	else if (confine_resolve(root_fd, f->rel, &pfd, &named))
		why = "path gone";
	else if (close(pfd), named.st_ino != now.st_ino || named.st_dev != now.st_dev)
		why = "path replaced";
	if (!why)
		return 0;
	pthread_mutex_lock(&t->lock);
	mark_changed(f, why);
	pthread_mutex_unlock(&t->lock);
	return -ESTALE;
}

static int64_t ns_of(const struct timespec *ts) { return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec; }

/*
 * Make every later change of the file visible in its stat, then stat it.
 * Two ways a change can leave (size, mtime, ctime) as they were:
 *  - stores through someone's shared writable mapping into a page that is
 *    already dirty and writable: no fault, no timestamp update, no inotify.
 *    fdatasync writes the file back, which write-protects every mapping of
 *    its pages (page_mkclean), so the next store faults and updates mtime.
 *  - a change within the timestamp tick of the last one (timestamps come
 *    from the coarse clock): wait until the clock has left that tick.
 * A change between the two stats is caught by comparing them. Best effort
 * after 20 rounds (a file written without pause); inotify still watches.
 */
static int settle(int fd, struct stat *st)
{
	struct stat again;
	struct timespec now;

	for (int round = 0; round < 20; round++) {
		if (fdatasync(fd) && errno != EINVAL && errno != EROFS)
			return -errno;
		if (fstat(fd, st))
			return -errno;
		int64_t last = ns_of(&st->st_mtim) > ns_of(&st->st_ctim) ? ns_of(&st->st_mtim) : ns_of(&st->st_ctim);
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (ns_of(&now) <= last && last - ns_of(&now) < 1000000000) {
			struct timespec tick = { 0, 1000000 };
			nanosleep(&tick, NULL);   /* the last change is in this tick */
			continue;
		}
		if (fdatasync(fd) && errno != EINVAL && errno != EROFS)
			return -errno;
		if (fstat(fd, &again))
			return -errno;
		if (same_version(st, &again))
			return 0;
	}
	return 0;
}

/* Under the lock: a registration of the same inode in progress? */
static int registering(const struct files *t, const struct stat *st)
{
	for (const struct nf_file *f = t->list; f; f = f->next)
		if (f->registering && f->st0.st_dev == st->st_dev && f->st0.st_ino == st->st_ino)
			return 1;
	return 0;
}

/* Under the lock: the idle file to give up for a new one, taken out of the list. */
static struct nf_file *evict(struct files *t)
{
	struct nf_file *victim = NULL;

	for (struct nf_file *f = t->list; f; f = f->next)
		if (f->refs == 0 && (!victim || f->changed ||
				     (!victim->changed && f->idle_since < victim->idle_since)))
			victim = f;
	if (victim)
		file_unlink(t, victim);
	return victim;
}

int files_get(struct files *t, int idx, const char *export_name, int root_fd,
	      const char *rel, struct nf_file **out)
{
	struct nf_file *f, *old = NULL;
	struct stat st, reg;
	char proc[64];
	int fd, err;

	fd = confine_open_regular(root_fd, rel, &st);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&t->lock);
	/* One registration of a file at a time: the others share its result. */
	while (registering(t, &st))
		pthread_cond_wait(&t->registered, &t->lock);
	for (f = t->list; f; f = f->next) {
		if (f->changed || f->registering || f->st0.st_dev != st.st_dev || f->st0.st_ino != st.st_ino)
			continue;
		if (!same_version(&f->st0, &st)) {
			mark_changed(f, "stat differs at open");
			continue;
		}
		f->refs++;
		pthread_mutex_unlock(&t->lock);
		close(fd);
		*out = f;
		return 0;
	}
	if (t->count >= t->max && !(old = evict(t))) {
		pthread_mutex_unlock(&t->lock);
		close(fd);
		log_warn("cannot open %s/%s: %u files registered and in use (--max-files)", export_name, rel, t->count);
		return -ENFILE;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		pthread_mutex_unlock(&t->lock);
		close(fd);
		if (old)
			file_release(old);
		return -ENOMEM;
	}
	f->fd = fd;
	f->wd = -1;
	f->export_idx = idx;
	f->registering = 1;
	f->refs = 1;
	f->st0 = st;            /* its identity, for registering() */
	f->rel = strdup(rel);
	if (asprintf(&f->name, "%s/%s", export_name, rel) < 0)
		f->name = NULL;
	/* Watch before registering so no change slips between the two. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	f->wd = t->inotify_fd < 0 ? -1 : inotify_add_watch(t->inotify_fd, proc, WATCH_MASK);
	f->next = t->list;
	t->list = f;
	t->count++;
	pthread_mutex_unlock(&t->lock);
	if (old) {
		log_info("%u files registered (--max-files): giving up %s, idle", t->max, old->name);
		file_release(old);
	}

	err = !f->rel || !f->name ? -ENOMEM : settle(fd, &st);
	if (!err) {
		err = nicfile_region_register(t->pd, fd, t->reg_flags, &f->region);
		if (err)
			log_warn("cannot register %s: %s", f->name, nicfile_strerror(err));
	}
	if (!err && (fstat(fd, &reg) || !same_version(&reg, &st) ||
		     (uint64_t)reg.st_size != nicfile_region_length(f->region))) {
		log_warn("%s changed while it was being registered", f->name);
		err = -EAGAIN;
	}
	if (!err)
		nicfile_region_prefetch(f->region, 0, nicfile_region_length(f->region));
	pthread_mutex_lock(&t->lock);
	/* Published: from here on st0 and generation do not change. */
	f->registering = 0;
	if (!err) {
		f->st0 = reg;
		f->generation = files_generation_of(&reg);
	}
	if (!err && f->changed) {
		log_warn("%s changed while it was being registered", f->name);
		err = -EAGAIN;
	}
	if (err)
		file_unlink(t, f);
	pthread_cond_broadcast(&t->registered);
	pthread_mutex_unlock(&t->lock);
	if (err) {
		file_release(f);
		return err;
	}
	log_info("registered %s: %llu bytes, mode %s", f->name,
		 (unsigned long long)nicfile_region_length(f->region),
		 nicfile_mode_name(nicfile_region_mode(f->region)));
	*out = f;
	return 0;
}

void files_put(struct files *t, struct nf_file *f)
{
	pthread_mutex_lock(&t->lock);
	if (--f->refs == 0)
		f->idle_since = time(NULL);
	/* A changed file is of no use to anyone any more. */
	if (f->refs == 0 && f->changed)
		retire(t, f);
	pthread_mutex_unlock(&t->lock);
}

int files_dying(struct files *t)
{
	pthread_mutex_lock(&t->lock);
	int any = t->dead != NULL;
	pthread_mutex_unlock(&t->lock);
	return any;
}

unsigned files_reap(struct files *t)
{
	unsigned n = 0;

	pthread_mutex_lock(&t->lock);
	struct nf_file *f = t->dead;
	t->dead = NULL;
	pthread_mutex_unlock(&t->lock);
	while (f) {
		struct nf_file *next = f->next;
		file_release(f);
		f = next;
		n++;
	}
	return n;
}

int files_mode_of(struct files *t, const struct stat *st)
{
	int mode = -1;

	pthread_mutex_lock(&t->lock);
	for (struct nf_file *f = t->list; f; f = f->next)
		if (!f->changed && !f->registering && same_version(&f->st0, st))
			mode = nicfile_region_mode(f->region);
	pthread_mutex_unlock(&t->lock);
	return mode;
}

void files_inotify(struct files *t)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while (t->inotify_fd >= 0 && (n = read(t->inotify_fd, buf, sizeof(buf))) > 0) {
		pthread_mutex_lock(&t->lock);
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			for (struct nf_file *f = t->list; f; f = f->next)
				if (f->wd == ev->wd && !(ev->mask & IN_IGNORED))
					mark_changed(f, ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF) ?
						     "deleted or moved" : "written or truncated");
			p += sizeof(*ev) + ev->len;
		}
		pthread_mutex_unlock(&t->lock);
	}
}

void files_sweep(struct files *t, time_t now, int idle_s)
{
	pthread_mutex_lock(&t->lock);
	/* A cheap stat of every file in use: catches changes inotify missed. */
	for (struct nf_file *f = t->list; f; f = f->next) {
		struct stat st;
		if (f->refs && !f->changed && !f->registering &&
		    (fstat(f->fd, &st) || !same_version(&st, &f->st0)))
			mark_changed(f, "stat differs");
	}
	for (struct nf_file *f = t->list, *next; f; f = next) {
		next = f->next;
		if (f->refs == 0 && (f->changed || (idle_s >= 0 && now - f->idle_since >= idle_s)))
			retire(t, f);
	}
	pthread_mutex_unlock(&t->lock);
}

void files_destroy(struct files *t)
{
	files_reap(t);
	while (t->list) {
		struct nf_file *f = t->list;
		file_unlink(t, f);
		file_release(f);
	}
	if (t->inotify_fd >= 0)
		close(t->inotify_fd);
}
