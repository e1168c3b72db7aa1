// SPDX-License-Identifier: MIT
/*
 * nicfiled - export directories read-only over RDMA. Clients speak the
 * control protocol (doc/protocol.md) over SEND/RECV and read file data with
 * one-sided RDMA READs from regions registered for their own opens.
 *
 * This file: options, start-up (exports, dropping root, listen) and the
 * loop. One poll loop owns the clients: CM events, completions (one
 * channel for all clients), finished jobs of the worker threads, inotify,
 * signals, and once a second the timers (idle files, first-message
 * deadline, idle clients). Work that grows with a file or a directory runs
 * on the workers (workers.h), so no client's request holds up another's.
 * A misbehaving client gets an error reply or is disconnected; nothing it
 * sends can stop the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "nicfile.h"
#include "confine.h"
#include "privs.h"
#include "server.h"
#include "log.h"

int log_verbose;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: nicfiled --export DIR [--export NAME=DIR ...] --allow [NAME=]CIDR ... [options]\n"
		"  -e, --export [NAME=]DIR  export DIR read-only; clients name it NAME (default: DIR's basename)\n"
		"  -a, --allow [NAME=]CIDR  clients from CIDR (IPv4 or IPv6) may connect and see every export,\n"
		"                           or export NAME only; repeatable (default: loopback only)\n"
		"  -u, --user NAME          started as root, serve as user NAME (default nobody)\n"
		"      --crossmnt           let paths cross mount points inside an export\n"
		"  -l, --listen ADDR        listen on ADDR, IPv4 or IPv6 (default: all IPv4 addresses)\n"
		"  -p, --port N             RDMA CM port (default %d)\n"
		"  -d, --ib-dev DEV         serve only on RDMA device DEV\n"
		"  -c, --max-clients N      clients at once (default 64)\n"
		"      --max-per-address N  clients at once from one address (default 16)\n"
		"  -m, --max-open N         open files per client (default 64)\n"
		"      --max-files N        files registered at once, open or idle (default 256)\n"
		"  -i, --idle-timeout S     close a file S seconds after its last client (default 30)\n"
		"      --hello-timeout S    drop a connection without HELLO after S seconds (default 10)\n"
		"      --client-idle-timeout S  drop a client with nothing open after S idle seconds\n"
		"                           (default 600; 0: never)\n"
		"      --no-odp             register pinned even if the device has ODP\n"
		"      --no-cmb             ODP on the page cache even where the NVMe CMB could serve\n"
		"  -v, --verbose            log every open\n"
		"See nicfiled(8), SECURITY.\n", NICFILE_DEFAULT_PORT);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

/* Files out of the table are released on a worker: unpinning takes time. */
static void reap_run(struct job *j)
{
	struct server *s = (struct server *)((char *)j - offsetof(struct server, reap));
	files_reap(&s->files);
}

static void reap_done(struct job *j)
{
	struct server *s = (struct server *)((char *)j - offsetof(struct server, reap));
	s->reaping = 0;
}

static void reap(struct server *s)
{
	if (s->reaping || !files_dying(&s->files))
		return;
	s->reap.run = reap_run;
	s->reap.done = reap_done;
	s->reaping = 1;
	if (workers_submit(&s->workers, &s->reap)) {
		files_reap(&s->files);
		s->reaping = 0;
	}
}

static double ms_of(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The loop must answer at once: a step of it that took long is logged
 * (STALL_MS) with what the loop thread did meanwhile: ran (CPU time),
 * blocked (voluntary switches) or was preempted (involuntary ones), so a
 * stall shows whether it was nicfiled's own doing.
 */
#define STALL_MS 250

struct step { double wall, cpu; long waits, preempts; };

static void step_start(struct step *t)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	t->wall = ms_of(CLOCK_MONOTONIC);
	t->cpu = ms_of(CLOCK_THREAD_CPUTIME_ID);
	t->waits = ru.ru_nvcsw;
	t->preempts = ru.ru_nivcsw;
}

static void step_done(const char *what, struct step *t)
{
	double wall = ms_of(CLOCK_MONOTONIC);
	if (wall - t->wall >= STALL_MS) {
		struct rusage ru;
		getrusage(RUSAGE_THREAD, &ru);
		log_warn("the loop spent %.0f ms in %s (%.0f ms on the CPU, blocked %ld times, preempted %ld times)",
			 wall - t->wall, what, ms_of(CLOCK_THREAD_CPUTIME_ID) - t->cpu,
			 ru.ru_nvcsw - t->waits, ru.ru_nivcsw - t->preempts);
	}
	step_start(t);
}

static void serve(struct server *s)
{
	time_t last = 0;

	while (!s->stop) {
		struct pollfd p[5] = {
			{ .fd = s->ec->fd, .events = POLLIN },
			{ .fd = s->cc ? s->cc->fd : -1, .events = POLLIN },
			{ .fd = s->files.inotify_fd, .events = POLLIN },
			{ .fd = s->sig_fd, .events = POLLIN },
			{ .fd = s->workers.event_fd, .events = POLLIN },
		};
		if (poll(p, 5, 1000) < 0 && errno != EINTR) {
			perror("nicfiled: poll");
			break;
		}
		struct step t;
		step_start(&t);
		if (p[3].revents & POLLIN) {
			log_info("signal received; shutting down");
			break;
		}
		if (p[2].revents & POLLIN) {
			files_inotify(&s->files);
			step_done("inotify", &t);
		}
		if (p[4].revents & POLLIN) {
			workers_complete(&s->workers);
			step_done("finished jobs", &t);
		}
		if (p[1].revents & POLLIN) {
			cq_events(s);
			step_done("completions (requests)", &t);
		}
		if (p[0].revents & POLLIN) {
			cm_events(s);
			step_done("connection events", &t);
		}
		time_t now = time(NULL);
		if (now != last) {
			last = now;
			files_sweep(&s->files, now, s->idle_s);
			clients_sweep(s, now);
			step_done("the timers", &t);
		}
		/* Changes found by anyone (inotify, a check on a worker, the sweep). */
		files_notify(&s->files);
		reap(s);
		step_done("notify and reap", &t);
	}
}

/* Every registered file keeps a descriptor: allow as many as the hard limit. */
static void raise_nofile(const struct server *s)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)s->files.max + 64)
		log_warn("--max-files %u with %llu descriptors (RLIMIT_NOFILE): opens may fail with EMFILE",
			 s->files.max, (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "export", required_argument, NULL, 'e' }, { "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' }, { "ib-dev", required_argument, NULL, 'd' },
		{ "max-clients", required_argument, NULL, 'c' }, { "max-open", required_argument, NULL, 'm' },
		{ "idle-timeout", required_argument, NULL, 'i' }, { "no-odp", no_argument, NULL, 'N' },
		{ "no-cmb", no_argument, NULL, 'C' }, { "allow", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' }, { "crossmnt", no_argument, NULL, 'X' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "max-files", required_argument, NULL, 'F' }, { "max-per-address", required_argument, NULL, 'A' },
		{ "hello-timeout", required_argument, NULL, 'H' },
		{ "client-idle-timeout", required_argument, NULL, 'I' }, { 0 }
	};
	struct server *s = calloc(1, sizeof(*s));
	const char **allows = calloc((size_t)argc, sizeof(*allows));
	unsigned long v;
	int opt, nallows = 0, user_given = 0, rc;

	if (!s || !allows)
		return 1;
	s->port = NICFILE_DEFAULT_PORT;
	s->max_clients = 64;
	s->max_open = 64;
	s->idle_s = 30;
	s->max_per_addr = 16;
	s->hello_s = 10;
	s->client_idle_s = 600;
	s->user = "nobody";
	if (files_init(&s->files))
		log_warn("no inotify (%s): file changes are found by stat checks at open, validate and checksum only",
			 strerror(errno));
	while ((opt = getopt_long(argc, argv, "e:a:u:l:p:d:c:m:i:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'e': if (exports_add(s, optarg)) return 2; break;
		case 'a': allows[nallows++] = optarg; break;
		case 'u': s->user = optarg; user_given = 1; break;
		case 'X': confine_cross_mounts(1); break;
		case 'l': s->listen_addr = optarg; break;
		case 'd': s->device = optarg; break;
		case 'p': if (parse_uint(optarg, 65535, &v) || !v) goto bad; s->port = (uint16_t)v; break;
		case 'c': if (parse_uint(optarg, 100000, &v) || !v) goto bad; s->max_clients = (unsigned)v; break;
		case 'm': if (parse_uint(optarg, 4096, &v) || !v) goto bad; s->max_open = (unsigned)v; break;
		case 'i': if (parse_uint(optarg, 86400, &v)) goto bad; s->idle_s = (int)v; break;
		case 'F': if (parse_uint(optarg, 1000000, &v) || !v) goto bad; s->files.max = (unsigned)v; break;
		case 'A': if (parse_uint(optarg, 100000, &v) || !v) goto bad; s->max_per_addr = (unsigned)v; break;
		case 'H': if (parse_uint(optarg, 86400, &v) || !v) goto bad; s->hello_s = (int)v; break;
		case 'I': if (parse_uint(optarg, 86400 * 365, &v)) goto bad; s->client_idle_s = (int)v; break;
		case 'N': s->files.reg_flags |= NICFILE_REG_NO_ODP; break;
		case 'C': s->files.reg_flags |= NICFILE_REG_NO_CMB; break;
		case 'v': log_verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || s->nexports == 0) {
		fprintf(stderr, "nicfiled: %s\n", s->nexports ? "unexpected arguments" : "nothing to export: give --export DIR");
		usage(stderr);
		return 2;
	}
	/* After every --export: an --allow may name one. */
	for (int i = 0; i < nallows; i++)
		if (exports_add_allow(s, allows[i]))
			return 2;
	free(allows);
	exports_default_allow(s);
	s->files.on_change = client_notify_change;
	s->files.arg = s;

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	/*
	 * Root is dropped before the RDMA CM and the devices are opened: the
	 * kernel refuses commands written to an rdma_cm or uverbs descriptor
	 * by other credentials than the ones that opened it. The device nodes
	 * are world-accessible (rdma-core's udev rules, or devtmpfs: 0666).
	 */
	if (privs_drop(s->user, user_given))
		return 2;
	raise_nofile(s);
	if (workers_init(&s->workers)) {
		perror("nicfiled: eventfd");
		return 1;
	}
	if ((rc = cm_listen(s)))
		return rc;
	for (int i = 0; i < s->nexports; i++) {
		char buf[80];
		log_info("exporting %s as '%s' (read-only)", s->exports[i].dir, s->exports[i].name);
		for (unsigned k = 0; k < s->exports[i].allow.n; k++)
			log_info("  export '%s' allows %s", s->exports[i].name,
				 allow_format(&s->exports[i].allow.v[k], buf, sizeof(buf)));
	}
	for (unsigned k = 0; k < s->allow.n; k++) {
		char buf[80];
		log_info("every export allows %s", allow_format(&s->allow.v[k], buf, sizeof(buf)));
	}
	log_info("listening on %s port %u (pid %d)", s->listen_addr ? s->listen_addr : "*", s->port, getpid());

	serve(s);

	/* Clean shutdown: every client, every region, every descriptor. */
	s->stop = 1;
	while (s->clients) {
		struct client *c = s->clients;
		if (!c->closing)
			rdma_disconnect(c->id);
		client_free(s, c);
	}
	workers_destroy(&s->workers);   /* the jobs of clients freed just now end here */
	files_sweep(&s->files, time(NULL), 0);
	files_destroy(&s->files);
	rdma_destroy_id(s->listen_id);
	rdma_destroy_event_channel(s->ec);
	if (s->cc)
		ibv_destroy_comp_channel(s->cc);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	exports_close(s);
	log_info("stopped");
	free(s);
	return 0;
bad:
	for (const struct option *o = opts; o->name; o++)
		if (o->val == opt) {
			fprintf(stderr, "nicfiled: bad value '%s' for --%s\n", optarg, o->name);
			return 2;
		}
	return 2;
}
