// SPDX-License-Identifier: MIT
/*
 * workers.c - the worker threads that run jobs off nicfiled's loop (see
 * workers.h). A finished job is put on the done list and the loop is
 * woken through an eventfd; done() runs there, so handlers keep a single
 * owner for every client object. Workers run at a lower priority (nice
 * 10) than the loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "workers.h"
#include "log.h"

#define IDLE_KEEP 2          /* idle threads kept for the next jobs */
#define WORKER_NICE 10       /* the loop's quick answers come first */
#define IDLE_SECONDS 10      /* beyond those, an idle thread ends after this */

static unsigned queued(const struct workers *w)
{
	unsigned n = 0;
	for (const struct job *j = w->queue; j; j = j->next)
		n++;
	return n;
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;

	/*
	 * Lower this thread's priority (Linux: per thread): on a loaded machine
	 * the loop, which answers STAT and VALIDATE at once and hands out the
	 * replies, must not wait for CPU behind the hashing and registering.
	 */
	setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->queue && !w->stop) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += IDLE_SECONDS;
			w->waiting++;
			int rc = pthread_cond_timedwait(&w->work, &w->lock, &until);
			w->waiting--;
			if (rc == ETIMEDOUT && !w->queue && w->waiting >= IDLE_KEEP)
				goto out;
		}
		if (!w->queue)
			break;
		struct job *j = w->queue;
		w->queue = j->next;
		if (!w->queue)
			w->queue_tail = &w->queue;
		w->running++;
		pthread_mutex_unlock(&w->lock);
		j->run(j);
		pthread_mutex_lock(&w->lock);
		w->running--;
		j->next = NULL;
		*w->done_tail = j;
		w->done_tail = &j->next;
		uint64_t one = 1;
		if (write(w->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("workers: cannot wake the loop: %s", strerror(errno));
		pthread_cond_broadcast(&w->idle);
	}
out:
	w->threads--;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_init(struct workers *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->idle, NULL);
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	w->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return w->event_fd < 0 ? -errno : 0;
}

int workers_submit(struct workers *w, struct job *j)
{
	int err = 0;

	pthread_mutex_lock(&w->lock);
	j->next = NULL;
	*w->queue_tail = j;
	w->queue_tail = &j->next;
	if (w->waiting >= queued(w)) {
		pthread_cond_signal(&w->work);
	} else {
		/* No thread free for it: a new one, so that no job waits for another. */
		pthread_attr_t attr;
		pthread_t t;
		sigset_t all, old;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);    /* signals are the loop's (signalfd) */
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = pthread_create(&t, &attr, worker_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
		if (err == 0) {
			w->threads++;
		} else if (w->threads) {
			log_warn("workers: cannot start a thread (%s); the job waits for one", strerror(err));
			err = 0;
		} else {
			/* Take it back: nobody would ever run it. */
			struct job **p = &w->queue;
			while (*p != j)
				p = &(*p)->next;
			*p = NULL;
			w->queue_tail = p;
			err = -err;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

void workers_complete(struct workers *w)
{
	uint64_t n;
	struct job *j;

	if (read(w->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("workers: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->lock);
	j = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->lock);
	while (j) {
		struct job *next = j->next;
		j->done(j);
		j = next;
	}
}

void workers_destroy(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->queue || w->running)
			pthread_cond_wait(&w->idle, &w->lock);
		if (!w->done)
			break;
		/* done() may start a job of its own (a client's next request). */
		pthread_mutex_unlock(&w->lock);
		workers_complete(w);
		pthread_mutex_lock(&w->lock);
	}
	w->stop = 1;
	pthread_cond_broadcast(&w->work);
	while (w->threads)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
	/* The mutex is left alone: an ending thread may still be leaving it. */
	if (w->event_fd >= 0)
		close(w->event_fd);
}
