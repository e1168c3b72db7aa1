/* SPDX-License-Identifier: MIT */
/*
 * workers.h - nicfiled's worker threads: the work a request needs that
 * takes time in proportion to a file or a directory (registering, pinning
 * and prefetching a file, hashing it, listing a directory) runs here, off
 * the event loop. A job runs on some worker; its done() then runs on the
 * loop, which alone touches clients and sends replies. A job never waits
 * for a free worker: the pool grows to as many threads as jobs in flight
 * (each client has at most one), and threads left idle go away.
 */
#ifndef NICFILED_WORKERS_H
#define NICFILED_WORKERS_H
#include <pthread.h>

struct job {
	struct job *next;
	void (*run)(struct job *j);     /* on a worker thread */
	void (*done)(struct job *j);    /* on the loop, after run() */
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	struct job *queue, **queue_tail;   /* to run */
	struct job *done, **done_tail;     /* run, done() not yet called */
	int event_fd;                      /* readable: some job is done */
	unsigned threads, waiting, running;
	int stop;
};

int workers_init(struct workers *w);
/* Run @j on a worker; 0, or -errno if no thread could be started. */
int workers_submit(struct workers *w, struct job *j);
/* On the loop: call done() of every finished job. */
void workers_complete(struct workers *w);
/* Wait for every job (and call its done()), then end the threads. */
void workers_destroy(struct workers *w);
#endif
