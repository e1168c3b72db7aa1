// SPDX-License-Identifier: MIT
/* util.c - what nicfile's commands share: targets, connecting, errors, JSON. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "client.h"

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int exit_code_of(int err)
{
	switch (err) {
	case 0: return EX_OK;
	case -ESTALE: case -EAGAIN: return EX_CHANGED;
	case -ECONNREFUSED: case -ECONNRESET: case -EHOSTUNREACH: case -ETIMEDOUT:
	case -EREMOTEIO: case -EIO: case -ENODEV: case -EBADMSG: case -EPROTONOSUPPORT:
		return EX_CONN;
	}
	return EX_FAIL;
}

int report(const char *what, int err)
{
	fprintf(stderr, "nicfile: %s: %s\n", what, nicfile_strerror(err));
	return exit_code_of(err);
}

int split_target(const char *arg, char *host, size_t cap, const char **path)
{
	const char *h = arg, *end, *rest = NULL;

	if (*arg == '[') {          /* [IPv6]:/PATH */
		h = arg + 1;
		end = strchr(h, ']');
		if (end && end[1] == ':')
			rest = end + 2;
	} else {
		end = strchr(arg, ':');
		if (end)
			rest = end + 1;
	}
	if (!rest || end == h || (size_t)(end - h) >= cap || *rest != '/') {
		fprintf(stderr, "nicfile: '%s' is not HOST:/PATH (an IPv6 address goes in brackets: [ADDR]:/PATH)\n",
			arg);
		return -1;
	}
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = 0;
	*path = rest;
	return 0;
}

const char *connect_error(int err)
{
	return err == -EACCES ? "the server does not allow this client (its --allow list)" : nicfile_strerror(err);
}

int connect_to(const char *target, struct opts *o, struct nicfile_conn **c, const char **path, int *errp)
{
	char host[256];
	int err;

	*errp = -EINVAL;
	if (split_target(target, host, sizeof(host), path))
		return EX_USAGE;
	err = nicfile_connect(host, &o->conn, c);
	*errp = err;
	if (err) {
		fprintf(stderr, "nicfile: cannot connect to %s: %s\n", host, connect_error(err));
		return exit_code_of(err) == EX_FAIL ? EX_CONN : exit_code_of(err);
	}
	return EX_OK;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

const char *type_name(int t)
{
	return t == NICFILE_TYPE_REG ? "file" : t == NICFILE_TYPE_DIR ? "directory" : "other";
}
