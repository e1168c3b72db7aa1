/* SPDX-License-Identifier: MIT */
/*
 * client.h - nicfile(1): main.c (options, dispatch), util.c (targets,
 * connecting, errors, JSON), files.c (cat, get, stat, ls), bench.c.
 * Exit codes (nicfile(1)): 0 ok, 1 the server refused or the file is not
 * there, 2 usage, 3 connection lost/refused/timed out or RDMA error,
 * 4 the file changed during the transfer, 5 --verify mismatch, 6 local I/O.
 */
#ifndef NICFILE_CLIENT_H
#define NICFILE_CLIENT_H
#include <stdio.h>
#include "nicfile.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_CONN = 3, EX_CHANGED = 4, EX_VERIFY = 5, EX_LOCAL = 6 };

#define MIB 1048576.0   /* every rate nicfile prints is in MiB/s */

struct opts {
	struct nicfile_conn_opts conn;
	int json;
	int verify;
	int progress;            /* -1 auto (a terminal), 0 off, 1 on */
	unsigned long iters;     /* bench -n */
	unsigned duration;       /* bench -D: seconds, 0 for -n */
	int all_sizes;           /* bench -a */
	int warm_up;             /* bench: one untimed pass over the file first */
};

double now_s(void);
int exit_code_of(int err);
/* "nicfile: WHAT: message" on stderr; the exit code for @err. */
int report(const char *what, int err);
/* "HOST:/PATH" or "[IPV6]:/PATH" -> host (copied into @host) and /PATH. */
int split_target(const char *arg, char *host, size_t cap, const char **path);
/* Connect for @target; on failure says why on stderr, *@err gets the errno. */
int connect_to(const char *target, struct opts *o, struct nicfile_conn **c, const char **path, int *err);
/* What connect_to said for @err. */
const char *connect_error(int err);
void json_str(FILE *f, const char *s);
const char *type_name(int t);

int cmd_cat(struct opts *o, int argc, char **argv);
int cmd_get(struct opts *o, int argc, char **argv);
int cmd_stat(struct opts *o, int argc, char **argv);
int cmd_ls(struct opts *o, int argc, char **argv);
int cmd_bench(struct opts *o, int argc, char **argv);
#endif
