// SPDX-License-Identifier: MIT
/*
 * nicfiled's worker pool (server/workers.c): jobs run at the same time,
 * none waits for another (eight jobs that each wait for all eight to be
 * running must all finish); done() runs on the thread that calls
 * workers_complete(), once per job; workers_destroy() waits for running
 * jobs, calls their done(), and runs jobs that a done() submits.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "workers.h"

int log_verbose;

#define N 8

static struct workers w;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int running, timed_out, done_calls, done_elsewhere, chained;
static pthread_t main_thread;
static int fails;

struct test_job {
	struct job job;
	int ran, done;
	int chain;       /* done() submits the next job */
};
static struct test_job jobs[N], chain_jobs[2];

/* Wait until all N jobs run at once (or 10 s: then some job waited for another). */
static void run_together(struct job *j)
{
	struct test_job *t = (struct test_job *)j;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&lock);
	running++;
	pthread_cond_broadcast(&cond);
	while (running < N)
		if (pthread_cond_timedwait(&cond, &lock, &until) == ETIMEDOUT) {
			timed_out++;
			break;
		}
	t->ran = 1;
	pthread_mutex_unlock(&lock);
}

static void run_quick(struct job *j)
{
	((struct test_job *)j)->ran = 1;
}

static void on_done(struct job *j)
{
	struct test_job *t = (struct test_job *)j;

	t->done++;
	done_calls++;
	if (!pthread_equal(pthread_self(), main_thread))
		done_elsewhere++;
	if (t->chain) {
		chain_jobs[1].job.run = run_quick;
		chain_jobs[1].job.done = on_done;
		if (workers_submit(&w, &chain_jobs[1].job) == 0)
			chained = 1;
	}
}

static void expect(const char *what, int ok)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	fails += !ok;
}

int main(void)
{
	main_thread = pthread_self();
	expect("workers_init", workers_init(&w) == 0);

	for (int i = 0; i < N; i++) {
		jobs[i].job.run = run_together;
		jobs[i].job.done = on_done;
		expect("submit", workers_submit(&w, &jobs[i].job) == 0);
	}
	for (int t = 0; t < 200 && done_calls < N; t++) {
		struct pollfd p = { .fd = w.event_fd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0)
			workers_complete(&w);
	}
	expect("8 jobs ran at the same time (none waited for another)", timed_out == 0);
	expect("every job's done() was called once", done_calls == N);
	for (int i = 0; i < N; i++)
		if (!jobs[i].ran || jobs[i].done != 1)
			expect("job ran and done() once", 0);
	expect("done() ran on the completing thread", done_elsewhere == 0);
	printf("     threads: %u\n", w.threads);
	expect("no more threads than jobs", w.threads <= N);

	/* Destroy with a job in flight whose done() submits another. */
	chain_jobs[0].job.run = run_quick;
	chain_jobs[0].job.done = on_done;
	chain_jobs[0].chain = 1;
	expect("submit before destroy", workers_submit(&w, &chain_jobs[0].job) == 0);
	workers_destroy(&w);
	expect("destroy called the pending done()", chain_jobs[0].done == 1);
	expect("a job submitted by a done() during destroy ran and completed",
	       chained && chain_jobs[1].ran && chain_jobs[1].done == 1);
	expect("all threads ended", w.threads == 0);
	printf("%s\n", fails ? "FAILED" : "all passed");
	return fails != 0;
}
