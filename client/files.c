// SPDX-License-Identifier: MIT
/*
 * files.c - nicfile cat, get, stat and ls. Nothing a transfer produces is
 * let out before the server confirmed the file did not change under it:
 * get writes beside the destination and renames at the end (a signal that
 * ends it removes the partial file), cat stages the file and writes it to
 * standard output only once it validated.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "../userlib/sha256.h"

/* ------------------------------------------------------------ transfer */

struct xfer {
	int out_fd;
	uint64_t total, done;
	struct nf_sha256 sha;
	int hash;
	int progress;
	double t0, last;
	int write_err;
};

static void progress_draw(struct xfer *x, int final)
{
	double t = now_s(), el = t - x->t0;
	if (!final && t - x->last < 0.2)
		return;
	x->last = t;
	fprintf(stderr, "\r%3d%%  %8.1f / %.1f MiB  %7.1f MiB/s  ", x->total ? (int)(100.0 * x->done / x->total) : 100,
		x->done / MIB, x->total / MIB, el > 0 ? x->done / el / MIB : 0);
	if (final)
		fputs("\r\033[K", stderr);
}

static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return errno ? -errno : -EIO;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static int on_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	struct xfer *x = arg;
	(void)off;
	if (x->out_fd >= 0) {
		int err = write_all(x->out_fd, data, len);
		if (err) {
			x->write_err = err;
			return err;
		}
	}
	if (x->hash)
		nf_sha256_update(&x->sha, data, len);
	x->done += len;
	if (x->progress)
		progress_draw(x, 0);
	return 0;
}

/*
 * An RDMA READ error can mean the server died or that the file shrank under
 * an ODP region (the NIC faults on a page that is gone). Ask the server
 * afresh: if the file is not what we opened, say "changed", not "RDMA error".
 */
static int reclassify(const char *target, struct opts *o, const struct nicfile_stat *opened, int err)
{
	struct nicfile_conn_opts co = o->conn;
	struct nicfile_conn *c;
	struct nicfile_stat now = { .comp_mask = 0 };
	char host[256];
	const char *path;

	if (err != -EREMOTEIO && err != -ECONNRESET)
		return err;
	if (split_target(target, host, sizeof(host), &path))
		return err;
	co.connect_retry_ms = 0;
	co.timeout_ms = 5000;
	if (nicfile_connect(host, &co, &c))
		return err;
	if (nicfile_stat(c, path, &now) == 0 &&
	    (now.size != opened->size || now.generation != opened->generation))
		err = -ESTALE;
	nicfile_disconnect(c);
	return err;
}

/* Read the whole file into @out_fd; the library validates it afterwards. */
static int transfer(struct nicfile_file *f, int out_fd, int hash, int progress, struct xfer *x)
{
	struct nicfile_stat st = { .comp_mask = 0 };
	int err;

	nicfile_fstat(f, &st);
	memset(x, 0, sizeof(*x));
	x->out_fd = out_fd;
	x->total = st.size;
	x->hash = hash;
	x->progress = progress && st.size >= (8u << 20);
	x->t0 = x->last = now_s();
	if (hash)
		nf_sha256_init(&x->sha);
	err = nicfile_read_stream(f, 0, st.size, on_chunk, x);
	if (x->progress)
		progress_draw(x, 1);
	return err;
}

/* ------------------------------------------------------------ cat */

/* An unnamed file in $TMPDIR (or /tmp) to stage a transfer in. */
static int stage_open(void)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (snprintf(tmpl, sizeof(tmpl), "%s/nicfile-cat.XXXXXX", dir) >= (int)sizeof(tmpl))
		return -ENAMETOOLONG;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(tmpl);
	return fd;
}

static int copy_out(int from, int to)
{
	static char buf[1 << 20];
	ssize_t n;

	if (lseek(from, 0, SEEK_SET) < 0)
		return -errno;
	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		int err = write_all(to, buf, (size_t)n);
		if (err)
			return err;
	}
	return 0;
}

int cmd_cat(struct opts *o, int argc, char **argv)
{
	int rc = EX_OK;
	for (int i = 0; i < argc && rc == EX_OK; i++) {
		struct nicfile_conn *c;
		struct nicfile_file *f;
		struct nicfile_stat st = { .comp_mask = 0 };
		struct xfer x;
		const char *path;
		int err, stage;

		if ((rc = connect_to(argv[i], o, &c, &path, &err)))
			break;
		if ((err = nicfile_open(c, path, &f))) {
			rc = report(argv[i], err);
			nicfile_disconnect(c);
			break;
		}
		nicfile_fstat(f, &st);
		stage = stage_open();
		if (stage < 0) {
			report("a staging file in $TMPDIR", stage);
			rc = EX_LOCAL;
		} else {
			err = transfer(f, stage, 0, 0, &x);
			err = reclassify(argv[i], o, &st, err);
			if (x.write_err) {
				report("a staging file in $TMPDIR", x.write_err);
				rc = EX_LOCAL;
			} else if (err) {
				rc = report(argv[i], err);
			} else if ((err = copy_out(stage, STDOUT_FILENO))) {
				report("standard output", err);
				rc = EX_LOCAL;
			}
			close(stage);
		}
		nicfile_close(f);
		nicfile_disconnect(c);
	}
	return rc;
}

/* ------------------------------------------------------------ get */

/* The partial file of a get, removed by a signal that ends the program. */
static char *volatile part_path;

static void on_fatal_signal(int sig)
{
	char *p = part_path;
	if (p)
		unlink(p);
	raise(sig);   /* SA_RESETHAND: the default action, once this returns */
}

static void guard_part_file(char *path)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };

	part_path = path;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		/* A signal ignored by whoever started us stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static void print_get_json(const char *source, const char *dest, const struct xfer *x, double secs,
			   int mode, const uint8_t *sha)
{
	char hex[65];

	printf("{\"source\": ");
	json_str(stdout, source);
	printf(", \"local\": ");
	json_str(stdout, dest);
	printf(", \"bytes\": %" PRIu64 ", \"seconds\": %.6f, \"MiBps\": %.3f, \"mode\": \"%s\"",
	       x->done, secs, secs > 0 ? x->done / secs / MIB : 0.0, nicfile_mode_name(mode));
	if (sha) {
		nf_sha256_hex(sha, hex);
		printf(", \"sha256\": \"%s\", \"verified\": true", hex);
	}
	printf("}\n");
}

int cmd_get(struct opts *o, int argc, char **argv)
{
	struct nicfile_conn *c;
	struct nicfile_file *f;
	struct nicfile_stat st = { .comp_mask = 0 };
	struct xfer x;
	const char *path, *base;
	char *dest = NULL, *tmp = NULL;
	uint8_t remote[32], local[32];
	struct stat ds;
	int err, rc, fd;

	if (argc < 1 || argc > 2) {
		fprintf(stderr, "usage: nicfile get [--verify] HOST:/PATH [LOCAL]\n");
		return EX_USAGE;
	}
	if ((rc = connect_to(argv[0], o, &c, &path, &err)))
		return rc;
	base = strrchr(path, '/') + 1;
	if (!*base)
		base = "nicfile.out";
	if (argc == 2 && !(stat(argv[1], &ds) == 0 && S_ISDIR(ds.st_mode)))
		dest = strdup(argv[1]);
	else if (asprintf(&dest, "%s/%s", argc == 2 ? argv[1] : ".", base) < 0)
		dest = NULL;
	if (!dest || asprintf(&tmp, "%s.nicfile-part", dest) < 0) {
		nicfile_disconnect(c);
		free(dest);
		return EX_LOCAL;
	}
	err = nicfile_open(c, path, &f);
	if (err) {
		rc = report(argv[0], err);
		goto out_conn;
	}
	nicfile_fstat(f, &st);
	/* Write beside the destination and rename at the end: never a torn file. */
	guard_part_file(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "nicfile: %s: %s\n", tmp, strerror(errno));
		rc = EX_LOCAL;
		goto out_file;
	}
	int show = o->progress < 0 ? isatty(STDERR_FILENO) && !o->json : o->progress;
	double t0 = now_s();
	err = transfer(f, fd, o->verify, show, &x);
	double secs = now_s() - t0;
	err = reclassify(argv[0], o, &st, err);
	if (!err && x.write_err == 0 && fsync(fd) && errno != EINVAL)
		x.write_err = -errno;
	if (close(fd) && !x.write_err)
		x.write_err = -errno;
	rc = EX_OK;
	if (x.write_err) {
		fprintf(stderr, "nicfile: %s: %s\n", dest, strerror(-x.write_err));
		rc = EX_LOCAL;
	} else if (err) {
		rc = report(argv[0], err);
	} else if (o->verify) {
		nf_sha256_final(&x.sha, local);
		err = nicfile_checksum(f, remote);
		if (err)
			rc = report(argv[0], err);
		else if (memcmp(local, remote, 32)) {
			fprintf(stderr, "nicfile: %s: checksum mismatch: the data received differs from the server's file\n", argv[0]);
			rc = EX_VERIFY;
		}
	}
	if (rc == EX_OK && rename(tmp, dest)) {
		fprintf(stderr, "nicfile: %s: %s\n", dest, strerror(errno));
		rc = EX_LOCAL;
	}
	if (rc != EX_OK)
		unlink(tmp);
	part_path = NULL;
	if (rc == EX_OK && o->json)
		print_get_json(argv[0], dest, &x, secs, st.mode, o->verify ? local : NULL);
	else if (rc == EX_OK && show)
		fprintf(stderr, "%s: %" PRIu64 " bytes in %.1f s (%.1f MiB/s), server mode %s%s\n", dest, x.done,
			secs, secs > 0 ? x.done / secs / MIB : 0.0, nicfile_mode_name(st.mode),
			o->verify ? ", SHA-256 verified" : "");
out_file:
	nicfile_close(f);
out_conn:
	part_path = NULL;
	nicfile_disconnect(c);
	free(dest);
	free(tmp);
	return rc;
}

/* ------------------------------------------------------------ stat */

static void json_error(const char *target, const char *msg, int rc)
{
	printf("{\"path\": ");
	json_str(stdout, target);
	printf(", \"error\": ");
	json_str(stdout, msg);
	printf(", \"status\": %d}", rc);
}

static void print_stat(const char *target, const struct nicfile_stat *st, int json)
{
	if (json) {
		printf("{\"path\": ");
		json_str(stdout, target);
		printf(", \"type\": \"%s\", \"size\": %" PRIu64 ", \"mtime_ns\": %" PRId64
		       ", \"perm\": \"%04o\", \"generation\": \"%016" PRIx64 "\", \"mode\": %s%s%s}",
		       type_name(st->type), st->size, st->mtime_ns, st->perm, st->generation,
		       st->mode < 0 ? "" : "\"", st->mode < 0 ? "null" : nicfile_mode_name(st->mode),
		       st->mode < 0 ? "" : "\"");
		return;
	}
	time_t t = (time_t)(st->mtime_ns / 1000000000);
	char tb[64];
	strftime(tb, sizeof(tb), "%Y-%m-%d %H:%M:%S", localtime(&t));
	printf("  File: %s\n  Type: %s\n  Size: %" PRIu64 "\n Perms: %04o\nModify: %s\n   Gen: %016" PRIx64
	       "\n  Mode: %s\n", target, type_name(st->type), st->size, st->perm, tb, st->generation,
	       st->mode < 0 ? "not registered (not open on the server)" : nicfile_mode_name(st->mode));
}

/* JSON: one array, one entry per target in order, failed ones as {"path", "error", "status"}. */
int cmd_stat(struct opts *o, int argc, char **argv)
{
	int rc = EX_OK;
	if (o->json)
		printf("[");
	for (int i = 0; i < argc; i++) {
		struct nicfile_conn *c;
		struct nicfile_stat st = { .comp_mask = 0 };
		const char *path, *msg = NULL;
		int err, r;

		if (o->json && i)
			printf(", ");
		if ((r = connect_to(argv[i], o, &c, &path, &err))) {
			msg = r == EX_USAGE ? "not HOST:/PATH" : connect_error(err);
		} else {
			err = nicfile_stat(c, path, &st);
			nicfile_disconnect(c);
			if (err) {
				r = report(argv[i], err);
				msg = nicfile_strerror(err);
			}
		}
		if (r) {
			rc = r;
			if (o->json)
				json_error(argv[i], msg, r);
			continue;
		}
		print_stat(argv[i], &st, o->json);
	}
	if (o->json)
		printf("]\n");
	return rc;
}

/* ------------------------------------------------------------ ls */

struct ls_state { FILE *out; int json, n; };

static int ls_entry(const struct nicfile_dirent *e, void *arg)
{
	struct ls_state *s = arg;
	if (s->json) {
		fprintf(s->out, "%s{\"name\": ", s->n ? ", " : "");
		json_str(s->out, e->name);
		fprintf(s->out, ", \"type\": \"%s\", \"size\": %" PRIu64 "}", type_name(e->type), e->size);
	} else {
		fprintf(s->out, "%c %12" PRIu64 "  %s%s\n",
			e->type == NICFILE_TYPE_DIR ? 'd' : e->type == NICFILE_TYPE_REG ? '-' : '?',
			e->size, e->name, e->type == NICFILE_TYPE_DIR ? "/" : "");
	}
	s->n++;
	return 0;
}

/*
 * JSON: one line per target, {"path", "entries": [...]} once the whole
 * listing arrived, or {"path", "error", "status"}: never a partial or empty
 * listing for one that failed.
 */
int cmd_ls(struct opts *o, int argc, char **argv)
{
	int rc = EX_OK;
	for (int i = 0; i < argc; i++) {
		struct nicfile_conn *c;
		struct ls_state s = { .out = stdout, .json = o->json };
		char *buf = NULL;
		size_t len = 0;
		const char *path;
		int err, r;

		if ((r = connect_to(argv[i], o, &c, &path, &err))) {
			rc = r;
			if (o->json) {
				json_error(argv[i], r == EX_USAGE ? "not HOST:/PATH" : connect_error(err), r);
				printf("\n");
			}
			continue;
		}
		if (o->json && !(s.out = open_memstream(&buf, &len))) {
			nicfile_disconnect(c);
			return EX_LOCAL;
		}
		err = nicfile_list(c, path, ls_entry, &s);
		nicfile_disconnect(c);
		if (o->json)
			fclose(s.out);
		if (err) {
			r = report(argv[i], err);
			rc = r;
			if (o->json) {
				json_error(argv[i], nicfile_strerror(err), r);
				printf("\n");
			}
		} else if (o->json) {
			printf("{\"path\": ");
			json_str(stdout, argv[i]);
			printf(", \"entries\": [%s]}\n", buf ? buf : "");
		}
		free(buf);
	}
	return rc;
}
