// SPDX-License-Identifier: MIT
/*
 * nicfile-stat-lat - how long one client waits for STAT replies while
 * other clients keep nicfiled busy. Connects once, then STATs PATH every
 * 50 ms until STOP-FLAG exists, timing each request (not the connect):
 *   nicfile-stat-lat HOST EXPORT/PATH READY-FLAG STOP-FLAG
 * Creates READY-FLAG after the first STAT. Prints the number of STATs, the
 * slowest and mean latency in ms, how many took 500 ms or more, and when
 * the slowest began, in seconds after READY-FLAG:
 *   "stats N max_ms M mean_ms A slow K max_at_s T"
 * Exit 0: every STAT succeeded; 2: an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "nicfile.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	/* Long enough that a stalled server shows as latency, not as a timeout. */
	struct nicfile_conn_opts o = { .timeout_ms = 120000, .connect_retry_ms = 60000 };
	struct nicfile_conn *c;
	struct nicfile_stat st;
	double max = 0, sum = 0, max_at = 0, ready;
	unsigned n = 0, slow = 0;
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST EXPORT/PATH READY-FLAG STOP-FLAG\n", argv[0]);
		return 2;
	}
	if ((err = nicfile_connect(argv[1], &o, &c)) || (err = nicfile_stat(c, argv[2], &st))) {
		fprintf(stderr, "stat %s: %s\n", argv[2], nicfile_strerror(err));
		return 2;
	}
	FILE *flag = fopen(argv[3], "w");
	if (!flag)
		return 2;
	fclose(flag);
	ready = now_ms();
	while (access(argv[4], F_OK)) {
		double t0 = now_ms();
		if ((err = nicfile_stat(c, argv[2], &st))) {
			fprintf(stderr, "stat %s: %s\n", argv[2], nicfile_strerror(err));
			return 2;
		}
		double dt = now_ms() - t0;
		if (dt > max) {
			max = dt;
			max_at = (t0 - ready) / 1e3;
		}
		slow += dt >= 500;
		sum += dt;
		n++;
		usleep(50000);
	}
	printf("stats %u max_ms %.0f mean_ms %.1f slow %u max_at_s %.1f\n", n, max, n ? sum / n : 0.0, slow, max_at);
	nicfile_disconnect(c);
	return 0;
}
