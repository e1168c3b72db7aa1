// SPDX-License-Identifier: MIT
/*
 * nicfile - command-line client of nicfiled: cat, get, stat, ls, bench.
 * Exit codes (nicfile(1)): 0 ok, 1 the server refused or the file is not
 * there, 2 usage, 3 connection lost/refused/timed out or RDMA error,
 * 4 the file changed during the transfer, 5 --verify mismatch, 6 local I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "nicfile.h"
#include "../userlib/sha256.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_CONN = 3, EX_CHANGED = 4, EX_VERIFY = 5, EX_LOCAL = 6 };

struct opts {
	struct nicfile_conn_opts conn;
	int json;
	int verify;
	int progress;            /* -1 auto (a terminal), 0 off, 1 on */
	unsigned long iters;
	int warm_up;             /* bench: one untimed pass over the file first */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int exit_code_of(int err)
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

static int report(const char *what, int err)
{
	fprintf(stderr, "nicfile: %s: %s\n", what, nicfile_strerror(err));
	return exit_code_of(err);
}

/* "HOST:/PATH" -> host (copied into @host) and path. */
static int split_target(const char *arg, char *host, size_t cap, const char **path)
{
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg || (size_t)(colon - arg) >= cap) {
		fprintf(stderr, "nicfile: '%s' is not HOST:/PATH\n", arg);
		return -1;
	}
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = 0;
	*path = colon + 1;
	return 0;
}

static void json_str(FILE *f, const char *s)
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

static const char *type_name(int t)
{
	return t == NICFILE_TYPE_REG ? "file" : t == NICFILE_TYPE_DIR ? "directory" : "other";
}

static int connect_to(const char *target, struct opts *o, struct nicfile_conn **c, const char **path)
{
	char host[256];
	int err;
	if (split_target(target, host, sizeof(host), path))
		return EX_USAGE;
	err = nicfile_connect(host, &o->conn, c);
	if (err) {
		fprintf(stderr, "nicfile: cannot connect to %s: %s\n", host, err == -EACCES ?
			"the server does not allow this client (its --allow list)" : nicfile_strerror(err));
		return exit_code_of(err) == EX_FAIL ? EX_CONN : exit_code_of(err);
	}
	return EX_OK;
}

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
	double mbs = el > 0 ? x->done / el / 1e6 : 0;
	fprintf(stderr, "\r%3d%%  %8.1f / %.1f MiB  %7.1f MB/s  ", x->total ? (int)(100.0 * x->done / x->total) : 100,
		x->done / 1048576.0, x->total / 1048576.0, mbs);
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
			return -errno ? -errno : -EIO;
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
	struct nicfile_stat now;
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

/* Read the whole file into @out_fd; validates afterwards. */
static int transfer(struct nicfile_file *f, int out_fd, int hash, int progress, struct xfer *x)
{
	struct nicfile_stat st;
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
	if (err)
		return err;
	/* Data read while the file changed may be torn: ask before trusting it. */
	return nicfile_validate(f);
}

static int cmd_cat(struct opts *o, int argc, char **argv)
{
	int rc = EX_OK;
	for (int i = 0; i < argc && rc == EX_OK; i++) {
		struct nicfile_conn *c;
		struct nicfile_file *f;
		struct xfer x;
		const char *path;
		int err;

		if ((rc = connect_to(argv[i], o, &c, &path)))
			break;
		err = nicfile_open(c, path, &f);
		if (!err) {
			struct nicfile_stat st;
			nicfile_fstat(f, &st);
			err = transfer(f, STDOUT_FILENO, 0, 0, &x);
			err = reclassify(argv[i], o, &st, err);
			if (x.write_err) {
				rc = report("standard output", x.write_err) ? EX_LOCAL : EX_LOCAL;
				err = 0;
			}
			nicfile_close(f);
		}
		if (err)
			rc = report(argv[i], err);
		nicfile_disconnect(c);
	}
	return rc;
}

static int cmd_get(struct opts *o, int argc, char **argv)
{
	struct nicfile_conn *c;
	struct nicfile_file *f;
	struct nicfile_stat st;
	struct xfer x;
	const char *path, *base;
	char *dest, *tmp;
	uint8_t remote[32], local[32];
	char hex[65];
	struct stat ds;
	int err, rc, fd;

	if (argc < 1 || argc > 2) {
		fprintf(stderr, "usage: nicfile get [--verify] HOST:/PATH [LOCAL]\n");
		return EX_USAGE;
	}
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : strchr(argv[0], ':') + (strchr(argv[0], ':') != NULL);
	if (!base || !*base)
		base = "nicfile.out";
	if (argc == 2 && !(stat(argv[1], &ds) == 0 && S_ISDIR(ds.st_mode)))
		dest = strdup(argv[1]);
	else if (asprintf(&dest, "%s/%s", argc == 2 ? argv[1] : ".", base) < 0)
		dest = NULL;
	if (!dest || asprintf(&tmp, "%s.nicfile-part", dest) < 0)
		return EX_LOCAL;
	if ((rc = connect_to(argv[0], o, &c, &path)))
		return rc;
	err = nicfile_open(c, path, &f);
	if (err) {
		rc = report(argv[0], err);
		nicfile_disconnect(c);
		return rc;
	}
	nicfile_fstat(f, &st);
	/* Write beside the destination and rename at the end: never a torn file. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "nicfile: %s: %s\n", tmp, strerror(errno));
		nicfile_close(f);
		nicfile_disconnect(c);
		return EX_LOCAL;
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
	if (rc == EX_OK && o->json) {
		printf("{\"source\": ");
		json_str(stdout, argv[0]);
		printf(", \"local\": ");
		json_str(stdout, dest);
		printf(", \"bytes\": %" PRIu64 ", \"seconds\": %.3f, \"MBps\": %.2f, \"mode\": \"%s\"",
		       x.done, secs, secs > 0 ? x.done / secs / 1e6 : 0.0, nicfile_mode_name(st.mode));
		if (o->verify) {
			nf_sha256_hex(local, hex);
			printf(", \"sha256\": \"%s\", \"verified\": true", hex);
		}
		printf("}\n");
	} else if (rc == EX_OK && show) {
		fprintf(stderr, "%s: %" PRIu64 " bytes in %.1f s (%.1f MB/s), server mode %s%s\n", dest, x.done,
			secs, secs > 0 ? x.done / secs / 1e6 : 0.0, nicfile_mode_name(st.mode),
			o->verify ? ", SHA-256 verified" : "");
	}
	nicfile_close(f);
	nicfile_disconnect(c);
	free(dest);
	free(tmp);
	return rc;
}

static int cmd_stat(struct opts *o, int argc, char **argv)
{
	int rc = EX_OK;
	if (o->json)
		printf("[");
	for (int i = 0; i < argc; i++) {
		struct nicfile_conn *c;
		struct nicfile_stat st;
		const char *path;
		int err, r;
		if ((r = connect_to(argv[i], o, &c, &path))) {
			rc = r;
			continue;
		}
		err = nicfile_stat(c, path, &st);
		nicfile_disconnect(c);
		if (err) {
			rc = report(argv[i], err);
			continue;
		}
		if (o->json) {
			printf("%s{\"path\": ", i ? ", " : "");
			json_str(stdout, argv[i]);
			printf(", \"type\": \"%s\", \"size\": %" PRIu64 ", \"mtime_ns\": %" PRId64
			       ", \"perm\": \"%04o\", \"generation\": \"%016" PRIx64 "\", \"mode\": %s%s%s}",
			       type_name(st.type), st.size, st.mtime_ns, st.perm, st.generation,
			       st.mode < 0 ? "" : "\"", st.mode < 0 ? "null" : nicfile_mode_name(st.mode),
			       st.mode < 0 ? "" : "\"");
		} else {
			time_t t = (time_t)(st.mtime_ns / 1000000000);
			char tb[64];
			strftime(tb, sizeof(tb), "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("  File: %s\n  Type: %s\n  Size: %" PRIu64 "\n Perms: %04o\nModify: %s\n   Gen: %016" PRIx64
			       "\n  Mode: %s\n", argv[i], type_name(st.type), st.size, st.perm, tb, st.generation,
			       st.mode < 0 ? "not registered (not open on the server)" : nicfile_mode_name(st.mode));
		}
	}
	if (o->json)
		printf("]\n");
	return rc;
}

struct ls_state { int json, n; };

static int ls_entry(const struct nicfile_dirent *e, void *arg)
{
	struct ls_state *s = arg;
	if (s->json) {
		printf("%s{\"name\": ", s->n ? ", " : "");
		json_str(stdout, e->name);
		printf(", \"type\": \"%s\", \"size\": %" PRIu64 "}", type_name(e->type), e->size);
	} else {
		printf("%c %12" PRIu64 "  %s%s\n", e->type == NICFILE_TYPE_DIR ? 'd' : e->type == NICFILE_TYPE_REG ? '-' : '?',
		       e->size, e->name, e->type == NICFILE_TYPE_DIR ? "/" : "");
	}
	s->n++;
	return 0;
}

static int cmd_ls(struct opts *o, int argc, char **argv)
{
	int rc = EX_OK;
	for (int i = 0; i < argc; i++) {
		struct nicfile_conn *c;
		struct ls_state s = { .json = o->json };
		const char *path;
		int err, r;
		if ((r = connect_to(argv[i], o, &c, &path))) {
			rc = r;
			continue;
		}
		if (o->json) {
			printf("{\"path\": ");
			json_str(stdout, argv[i]);
			printf(", \"entries\": [");
		}
		err = nicfile_list(c, path, ls_entry, &s);
		if (o->json)
			printf("]}\n");
		nicfile_disconnect(c);
		if (err)
			rc = report(argv[i], err);
	}
	return rc;
}

/* ------------------------------------------------------------ bench */

struct bench {
	unsigned long want, got;
	double *t;                /* completion time of each chunk */
};

static int bench_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	struct bench *b = arg;
	(void)data; (void)len; (void)off;
	if (b->got < b->want)
		b->t[b->got++] = now_s();
	return b->got >= b->want ? 1 : 0;
}

static int discard_chunk(const void *data, size_t len, uint64_t off, void *arg)
{
	(void)data; (void)len; (void)off; (void)arg;
	return 0;
}

#define RESULT_LINE "---------------------------------------------------------------------------------------\n"

static int cmd_bench(struct opts *o, int argc, char **argv)
{
	struct nicfile_conn *c;
	struct nicfile_file *f;
	struct nicfile_stat st;
	const char *path;
	struct bench b = { .want = o->iters };
	uint32_t size = o->conn.chunk ? o->conn.chunk : 65536;
	int err, rc;

	if (argc != 1) {
		fprintf(stderr, "usage: nicfile bench [-s BYTES] [-t DEPTH] [-n ITERS] HOST:/PATH\n");
		return EX_USAGE;
	}
	o->conn.chunk = size;
	b.t = calloc(b.want + 1, sizeof(double));
	if (!b.t)
		return EX_LOCAL;
	if ((rc = connect_to(argv[0], o, &c, &path)))
		return rc;
	if ((err = nicfile_open(c, path, &f))) {
		rc = report(argv[0], err);
		nicfile_disconnect(c);
		return rc;
	}
	nicfile_fstat(f, &st);
	if (st.size < size) {
		fprintf(stderr, "nicfile: bench: %s is smaller than one message (%u bytes)\n", argv[0], size);
		nicfile_close(f);
		nicfile_disconnect(c);
		return EX_USAGE;
	}
	/* Whole messages only; wrap around the file until ITERS messages are read. */
	uint64_t span = st.size / size * size;
	/*
	 * perftest's --perform_warm_up: read the span once untimed, so the
	 * figure is the steady state (the NIC's pages mapped, the file's blocks
	 * in the page cache or the CMB) and not the first faults.
	 */
	if (o->warm_up && (err = nicfile_read_stream(f, 0, span, discard_chunk, NULL))) {
		rc = report(argv[0], err);
		goto out;
	}
	double t0 = now_s();
	while (b.got < b.want) {
		err = nicfile_read_stream(f, 0, span, bench_chunk, &b);
		if (err < 0)
			break;
		err = 0;
	}
	double t1 = b.got ? b.t[b.got - 1] : now_s();
	if (err) {
		rc = report(argv[0], err);
	} else {
		double avg = (double)size * b.got / (t1 - t0) / 1048576.0;
		/* Peak: the best tenth of the run (TCG makes single gaps meaningless). */
		unsigned depth = nicfile_conn_depth(c);
		unsigned long w = b.got / 10 > depth ? b.got / 10 : depth;
		double peak = avg;
		for (unsigned long i = 0; w && i + w < b.got; i++) {
			double dt = b.t[i + w] - b.t[i];
			if (dt > 0 && (double)size * w / dt / 1048576.0 > peak)
				peak = (double)size * w / dt / 1048576.0;
		}
		double mpps = b.got / (t1 - t0) / 1e6;
		if (o->json) {
			printf("{\"test\": \"nicfile_read_bw\", \"mode\": \"%s\", \"bytes\": %u, \"iterations\": %lu, "
			       "\"depth\": %u, \"bw_peak_MBps\": %.2f, \"bw_avg_MBps\": %.2f, \"msg_rate_Mpps\": %.6f}\n",
			       nicfile_mode_name(st.mode), size, b.got, depth, peak, avg, mpps);
		} else {
			printf(RESULT_LINE);
			printf("                    RDMA_Read BW Test (nicfile)\n");
			printf(" File           : %s\n", argv[0]);
			printf(" Server mode    : %s\n", nicfile_mode_name(st.mode));
			printf(" Outstand reads : %u\n", depth);
			printf(RESULT_LINE);
			printf(" #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]\n");
			printf(" %-7u    %-10lu       %-7.2lf            %-7.2lf\t\t   %-7.6lf\n", size, b.got, peak, avg, mpps);
			printf(RESULT_LINE);
		}
	}
out:
	nicfile_close(f);
	nicfile_disconnect(c);
	free(b.t);
	return rc;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: nicfile [options] COMMAND HOST:/EXPORT/PATH ...\n"
		"commands:\n"
		"  cat HOST:/PATH...          write files to standard output\n"
		"  get HOST:/PATH [LOCAL]     fetch a file (to LOCAL, or its name here)\n"
		"  stat HOST:/PATH...         show attributes and the registration mode\n"
		"  ls HOST:/PATH...           list a directory (HOST:/ lists the exports)\n"
		"  bench HOST:/PATH           RDMA READ bandwidth from a file, perftest table\n"
		"options:\n"
		"  -d, --ib-dev DEV           RDMA device to use\n"
		"  -p, --port N               server port (default %d)\n"
		"  -o, --output normal|json   output format\n"
		"  -s, --size BYTES           bytes per RDMA READ (default 65536)\n"
		"  -t, --depth N              RDMA READs in flight (default 16)\n"
		"  -n, --iters N              bench: messages to read (default 1000)\n"
		"      --perform_warm_up      bench: read the file once before timing\n"
		"  -V, --verify               get: compare with a SHA-256 the server computes\n"
		"  -T, --timeout S            seconds to wait for the server (default 15)\n"
		"  -w, --wait S               keep retrying to connect for S seconds\n"
		"      --progress, --no-progress  force the progress bar on or off\n"
		"exit status: 0 ok, 1 refused/not found, 2 usage, 3 connection or RDMA error,\n"
		"             4 file changed during transfer, 5 verify mismatch, 6 local I/O error\n",
		NICFILE_DEFAULT_PORT);
}

static int parse_num(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (*end == 'K' || *end == 'k') { v <<= 10; end++; }
	else if (*end == 'M' || *end == 'm') { v <<= 20; end++; }
	if (errno || *end || end == s || s[0] == '-' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "ib-dev", required_argument, NULL, 'd' }, { "port", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' }, { "size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 't' }, { "iters", required_argument, NULL, 'n' },
		{ "verify", no_argument, NULL, 'V' }, { "timeout", required_argument, NULL, 'T' },
		{ "wait", required_argument, NULL, 'w' }, { "progress", no_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'Q' }, { "help", no_argument, NULL, 'h' },
		{ "perform_warm_up", no_argument, NULL, 'W' }, { 0 }
	};
	struct opts o = { .progress = -1, .iters = 1000 };
	unsigned long v;
	int opt;

	o.conn.depth = 16;
	while ((opt = getopt_long(argc, argv, "d:p:o:s:t:n:VT:w:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.conn.device = optarg; break;
		case 'p': if (parse_num(optarg, 1, 65535, &v)) goto bad; o.conn.port = (uint16_t)v; break;
		case 'o':
			if (!strcmp(optarg, "json")) o.json = 1;
			else if (!strcmp(optarg, "normal")) o.json = 0;
			else goto bad;
			break;
		case 's': if (parse_num(optarg, 512, 1u << 30, &v)) goto bad; o.conn.chunk = (uint32_t)v; break;
		case 't': if (parse_num(optarg, 1, 128, &v)) goto bad; o.conn.depth = (unsigned)v; break;
		case 'n': if (parse_num(optarg, 1, 100000000, &v)) goto bad; o.iters = v; break;
		case 'V': o.verify = 1; break;
		case 'T': if (parse_num(optarg, 1, 3600, &v)) goto bad; o.conn.timeout_ms = (int)v * 1000; break;
		case 'w': if (parse_num(optarg, 0, 3600, &v)) goto bad; o.conn.connect_retry_ms = (int)v * 1000; break;
		case 'P': o.progress = 1; break;
		case 'Q': o.progress = 0; break;
		case 'W': o.warm_up = 1; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *cmd = argv[optind];
	int n = argc - optind - 1;
	char **args = argv + optind + 1;
	if (!strcmp(cmd, "cat")) return cmd_cat(&o, n, args);
	if (!strcmp(cmd, "get")) return cmd_get(&o, n, args);
	if (!strcmp(cmd, "stat")) return cmd_stat(&o, n, args);
	if (!strcmp(cmd, "ls")) return cmd_ls(&o, n, args);
	if (!strcmp(cmd, "bench")) return cmd_bench(&o, n, args);
	fprintf(stderr, "nicfile: unknown command '%s'\n", cmd);
	usage(stderr);
	return EX_USAGE;
bad:
	fprintf(stderr, "nicfile: bad value '%s' for -%c\n", optarg, opt);
	return EX_USAGE;
}
