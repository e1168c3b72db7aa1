/*
 * odp_read_check — data-integrity and invalidation checks for ODP MRs.
 *
 * Server: creates (or reuses) a file, mmaps it MAP_SHARED, registers the
 * mapping as an On-Demand-Paging MR, accepts one rdma_cm connection and
 * obeys text commands on a TCP control connection (port + 1):
 *   info | mr I | trunc LEN | pwrite OFF LEN SEED | munmap | drop on|off |
 *   stat | reconnect | quit
 * and, with --stamped, changes that reply "ok SIZE" only once they returned:
 *   cw G OFF LEN   write(2) blocks of generation G
 *   cm G OFF LEN   the same through a second, writable shared mapping
 *   co G OFF LEN   the same by an O_DIRECT pwrite(2)
 *   cn G OFF LEN   the same by an O_DIRECT pwritev2(RWF_NOWAIT)
 *   cb G OFF LEN   the same by a buffered pwritev2(RWF_NOWAIT), then fsync
 *   ca G OFF LEN   the same by an O_DIRECT write through Linux AIO
 *   cf G OFF LEN   the same by FICLONERANGE from a file of generation G
 *   cy G OFF LEN   the same by copy_file_range(2) from such a file
 *   cv G           (no change) read(2) of the file is generation G
 *   ct LEN | cx LEN   ftruncate shorter | longer
 *   cp G OFF LEN | cz G OFF LEN   fallocate punch hole | zero range (the
 *                  blocks read as zeros; G only names the change)
 *   cc OFF LEN     fallocate collapse range
 *   ci OFF LEN     fallocate insert range
 *   cu G OFF LEN   unshare: the range cloned into a scratch file, unshared
 *                  in ours, then its old blocks rewritten with G there
 *   ce G OFF LEN   FIDEDUPERANGE of a scratch copy onto the range
 *   cr G           FICLONE of a fresh file of generation G onto the file
 *   cd             (no change) write back and drop the file's page cache
 * Client: connects both, runs one scenario of remote READs (and WRITEs)
 * and compares every byte with what the file must contain.
 *
 * File contents are a deterministic function of (seed, offset), so the
 * client needs no copy of the file.  Scenarios: check, write, truncate,
 * munmap, dropcache, zeros, mrs, revoke, private; and the bench soak.
 *
 * --stamped: the file is 4 KiB blocks, each a header {magic, generation,
 * block number} and a body that is a function of both, so a reader can tell
 * old from new and see a torn block.  The revoke scenario reads it in a loop
 * while the server changes it and checks that no READ posted after a change
 * returned sees what the change replaced, and that every block is one
 * state of the file; only a READ in flight across a change may return a
 * block that is old and new in whole packets (the responder copies packet
 * by packet, and the change may come in between).  --reply-early MS makes
 * the server answer cw MS ms before it writes, which the check must catch.
 *
 *   odp_read_check server --file F --size N [--seed S] [--ro] [--sparse]
 *                  [--mrs N] [--p2pmem] [--stamped [--reply-early MS]]
 *                  [--private]
 *                  [--bind IP] [--port P]
 * With --p2pmem, F is a p2pmem "allocate" file of sysfs (raw NVMe CMB): it
 * is mapped as it is and the pattern is written through the mapping.
 *   odp_read_check client --server IP --test NAME [--seed S] [--count N]
 *                  [--secs S [--until FILE]] [--port P] [--kinds K1,K2,...]
 * (--until FILE ends a --secs run 3 s after FILE exists; for --test
 * revoke, --count is the number of rounds of all changes, or of the
 * changes --kinds lists; --test soak, a bench, is --count READs racing
 * random changes of those kinds, --per-change N READs (4096) after each;
 * --test private needs a --private server)
 * --private: a second MR over a MAP_PRIVATE writable mapping of the file
 * (command "pinfo"), registered with remote write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>		/* FICLONE */
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define PAGE 4096UL
#define LOCAL_BUF (4UL << 20)	/* client's local ODP buffer */
#define QDEPTH 8
#define SLOT (LOCAL_BUF / QDEPTH)
#define MAX_READ (SLOT - PAGE)

static const char *prog = "odp_read_check";

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: FAIL: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the file's contents ---------------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint8_t pat(uint64_t seed, uint64_t off)
{
	return (uint8_t)(mix(seed * 0x100000001b3ULL + (off >> 3)) >>
			 ((off & 7) * 8));
}

static void fill(uint8_t *p, uint64_t seed, uint64_t off, size_t len)
{
	size_t i = 0;

	/* byte by byte up to a word boundary, then a word at a time */
	for (; i < len && ((off + i) & 7); i++)
		p[i] = pat(seed, off + i);
	for (; i + 8 <= len; i += 8) {
		uint64_t w = mix(seed * 0x100000001b3ULL + ((off + i) >> 3));

		memcpy(p + i, &w, 8);	/* little-endian, as pat() */
	}
	for (; i < len; i++)
		p[i] = pat(seed, off + i);
}

/* ---- stamped blocks (--stamped) ---------------------------------------- */

#define STAMP_MAGIC 0x3150415453434e4eULL	/* "NNCSTAP1" */

struct stamp_hdr {
	uint64_t magic, gen, blk;
};

static uint64_t stamp_seed(uint64_t gen)
{
	return mix(gen ^ 0x5354414d50ULL) | 1;
}

/* Block @blk of generation @gen: no other (gen, blk) has the same body. */
static void stamp_block(uint8_t *p, uint64_t gen, uint64_t blk)
{
	struct stamp_hdr h = { STAMP_MAGIC, gen, blk };

	memcpy(p, &h, sizeof(h));
	fill(p + sizeof(h), stamp_seed(gen), blk * PAGE + sizeof(h),
	     PAGE - sizeof(h));
}

/* [off, off + len) of a file of generation @gen, both block-aligned */
static void stamp_range(uint8_t *p, uint64_t gen, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += PAGE)
		stamp_block(p + i, gen, (off + i) / PAGE);
}

/* xorshift for test choices, seeded per run */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- control channel ---------------------------------------------------- */

static void sendline(int fd, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	if (write(fd, buf, n) != n)
		die("control write: %s", strerror(errno));
}

static int recvline(int fd, char *buf, size_t sz)
{
	size_t n = 0;

	while (n + 1 < sz) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return (int)n;
}

/* ---- rdma_cm helpers ---------------------------------------------------- */

static struct rdma_cm_event *wait_event(struct rdma_event_channel *ch,
					enum rdma_cm_event_type want)
{
	struct rdma_cm_event *ev;

	if (rdma_get_cm_event(ch, &ev))
		die("rdma_get_cm_event: %s", strerror(errno));
	if (ev->event != want)
		die("rdma_cm event %s (status %d), wanted %s",
		    rdma_event_str(ev->event), ev->status,
		    rdma_event_str(want));
	return ev;
}

static void make_qp(struct rdma_cm_id *id, struct ibv_pd *pd,
		    struct ibv_cq **cq)
{
	struct ibv_qp_init_attr qa = { 0 };

	*cq = ibv_create_cq(id->verbs, 64, NULL, NULL, 0);
	if (!*cq)
		die("ibv_create_cq: %s", strerror(errno));
	qa.send_cq = *cq;
	qa.recv_cq = *cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 32;
	qa.cap.max_recv_wr = 4;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(id, pd, &qa))
		die("rdma_create_qp: %s", strerror(errno));
}

/* ---- server ---------------------------------------------------------------- */

struct server {
	const char *file;
	uint64_t size;
	uint64_t seed;
	bool ro, sparse, p2pmem, stamped, private;
	int nmrs;
	int fd;
	int wfd;		/* --stamped: the file opened for the changes */
	int dfd;		/* the same with O_DIRECT, opened on first use */
	long nowait_tries;	/* RWF_NOWAIT writes that had to be repeated */
	int early_ms;		/* --reply-early: a lying server, to test the test */
	uint8_t *base;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct ibv_mr **mrs;
	uint8_t *pbase;		/* --private: a MAP_PRIVATE writable mapping */
	struct ibv_mr *pmr;	/* and its MR, remote write allowed */
	volatile int drop_run;
	long drops;
	pthread_t drop_thread;
};

static long meminfo_kb(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ':') {
			v = atol(line + strlen(key) + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

static void make_file(struct server *s)
{
	int fd = open(s->file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("open %s: %s", s->file, strerror(errno));
	if (s->sparse) {
		if (ftruncate(fd, (off_t)s->size))
			die("ftruncate: %s", strerror(errno));
	} else {
		static uint8_t blk[1 << 20];

		for (uint64_t off = 0; off < s->size; off += sizeof(blk)) {
			size_t n = s->size - off < sizeof(blk) ?
				   s->size - off : sizeof(blk);

			fill(blk, s->seed, off, n);
			if (pwrite(fd, blk, n, (off_t)off) != (ssize_t)n)
				die("pwrite: %s", strerror(errno));
		}
	}
	if (fsync(fd))
		die("fsync: %s", strerror(errno));
	close(fd);
}

/* A file of @size bytes of stamped blocks of generation @gen, on disk. */
static void make_stamped(const char *path, uint64_t size, uint64_t gen)
{
	static uint8_t blk[1 << 20];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < size; off += sizeof(blk)) {
		size_t n = size - off < sizeof(blk) ? size - off : sizeof(blk);

		stamp_range(blk, gen, off, n);
		if (pwrite(fd, blk, n, (off_t)off) != (ssize_t)n)
			die("pwrite %s: %s", path, strerror(errno));
	}
	if (fsync(fd))
		die("fsync %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * Write the file back and drop its page cache, so that the next NIC fault
 * finds it only on disk (and the CMB path, where there is one, serves it).
 * Our own PTEs go first: mapped folios are not dropped.
 */
static void drop_file_cache(struct server *s)
{
	madvise(s->base, s->size, MADV_DONTNEED);
	if (fsync(s->wfd))
		die("fsync: %s", strerror(errno));
	posix_fadvise(s->wfd, 0, 0, POSIX_FADV_DONTNEED);
}

static bool range_ok(uint64_t off, uint64_t len)
{
	return len && !(off % PAGE) && !(len % PAGE);
}

/*
 * Write @len bytes of @buf at @off by one of the paths of the changes
 * co/cn/cb/ca.  A write with RWF_NOWAIT fails with EAGAIN when it would
 * have to update the file's timestamps, so the timestamps are set just
 * before it and it is repeated until it goes through within one tick.
 * RWF_NOWAIT writes go block by block.  (A hole or a block shared by a
 * reflink takes no NOWAIT direct write: it would need an allocation or
 * copy-on-write; such a block is allocated or unshared, which keeps its
 * bytes, once plain retries do not help.)
 * Returns 0 or -1 with errno set.
 */
static int write_path(struct server *s, char path, const uint8_t *buf,
		      uint64_t off, uint64_t len)
{
	struct iovec iov = { (void *)buf, len };
	int fd = s->wfd, flags = 0;
	ssize_t n = -1;

	if (path != 'b') {
		if (s->dfd < 0)
			s->dfd = open(s->file, O_RDWR | O_DIRECT);
		if (s->dfd < 0)
			return -1;
		fd = s->dfd;
	}
	if (path == 'n' || path == 'b')
		flags = RWF_NOWAIT;
	if (path == 'a') {
		aio_context_t ctx = 0;
		struct iocb cb = {
			.aio_lio_opcode = IOCB_CMD_PWRITE,
			.aio_fildes = (uint32_t)fd,
			.aio_buf = (uint64_t)(uintptr_t)buf,
			.aio_nbytes = len,
			.aio_offset = (int64_t)off,
		}, *cbs[1] = { &cb };
		struct io_event ev;

		if (syscall(SYS_io_setup, 1, &ctx))
			return -1;
		if (syscall(SYS_io_submit, ctx, 1, cbs) == 1 &&
		    syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) == 1) {
			n = ev.res;
			if (n < 0) {
				errno = (int)-n;
				n = -1;
			}
		}
		syscall(SYS_io_destroy, ctx);
	} else if (!flags) {
		n = pwritev2(fd, &iov, 1, (off_t)off, 0);
	} else {
		/*
		 * Block by block: a NOWAIT direct write must fall in one
		 * extent, and reflinks and unsharing split them.
		 */
		for (uint64_t o = 0; o < len; o += PAGE) {
			iov = (struct iovec){ (void *)(buf + o), PAGE };
			for (int i = 0; i < 10000; i++) {
				if (futimens(fd, NULL))
					return -1;
				n = pwritev2(fd, &iov, 1, (off_t)(off + o),
					     flags);
				if (n >= 0 || errno != EAGAIN)
					break;
				s->nowait_tries++;
				/*
				 * A NOWAIT direct write fails while the page
				 * cache holds the block, and a NIC fault that
				 * fell back to the page cache put it there.
				 */
				if (path == 'n' && i % 16 == 15) {
					madvise(s->base + off + o, PAGE,
						MADV_DONTNEED);
					posix_fadvise(fd, (off_t)(off + o),
						      PAGE,
						      POSIX_FADV_DONTNEED);
				}
				/*
				 * Nor does a block a NOWAIT direct write would
				 * have to allocate (a hole: punched, truncated)
				 * or to copy on write (shared by a reflink):
				 * give it a block of its own, same bytes, first.
				 */
				if (path == 'n' && i % 64 == 63) {
					fallocate(s->wfd, FALLOC_FL_KEEP_SIZE,
						  (off_t)(off + o), PAGE);
					fallocate(s->wfd, FALLOC_FL_UNSHARE_RANGE |
						  FALLOC_FL_KEEP_SIZE,
						  (off_t)(off + o), PAGE);
				}
			}
			if (n != (ssize_t)PAGE)
				break;
		}
		if (n == (ssize_t)PAGE)
			n = (ssize_t)len;
	}
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;	/* a short write */
		return -1;
	}
	return path == 'b' ? fsync(fd) : 0;
}

/*
 * Changes of the block map that keep the data (cu, ce): the range moves to
 * other blocks, and its old blocks then belong to another file.
 *   cu  the range is cloned into a scratch file (now shared), unshared in
 *       ours (fallocate UNSHARE_RANGE: ours gets new blocks), and the
 *       scratch file, sole owner of the old blocks, rewrites them in place
 *       with generation @gen, which our file never holds: a NIC still on
 *       the old blocks would read it.
 *   ce  a scratch file with the same bytes is deduplicated onto ours
 *       (FIDEDUPERANGE: ours now shares the scratch file's blocks, its old
 *       ones are freed).
 * Returns 0 or -1 with errno set.
 */
static int share_path(struct server *s, char path, uint64_t gen,
		      uint64_t off, uint64_t len)
{
	char tmp[4096];
	uint8_t *buf = malloc(len);
	int fd, r = -1, e = EIO;

	snprintf(tmp, sizeof(tmp), "%s.share", s->file);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !buf)
		goto out;
	if (path == 'u') {
		struct file_clone_range fcr = {
			.src_fd = s->wfd, .src_offset = off,
			.src_length = len, .dest_offset = off,
		};

		if (ioctl(fd, FICLONERANGE, &fcr) ||
		    fallocate(s->wfd, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE,
			      (off_t)off, (off_t)len))
			goto err;
		/* the change has returned: now reuse the old blocks */
		stamp_range(buf, gen, off, len);
		if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len || fsync(fd))
			goto err;
	} else {
		struct {
			struct file_dedupe_range r;
			struct file_dedupe_range_info info;
		} d = {
			.r = { .src_offset = off, .src_length = len, .dest_count = 1 },
			.info = { .dest_fd = s->wfd, .dest_offset = off },
		};

		if (pread(s->wfd, buf, len, (off_t)off) != (ssize_t)len ||
		    pwrite(fd, buf, len, (off_t)off) != (ssize_t)len || fsync(fd) ||
		    ioctl(fd, FIDEDUPERANGE, &d))
			goto err;
		if (d.info.status != FILE_DEDUPE_RANGE_SAME ||
		    d.info.bytes_deduped != len) {
			e = d.info.status < 0 ? -d.info.status : EIO;
			goto out;
		}
	}
	r = 0;
	goto out;
err:
	e = errno;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(buf);
	if (r)
		errno = e;
	return r;
}

/*
 * Put generation @gen into [off, off + len) of the file by FICLONERANGE
 * (@path 'f') or copy_file_range(2) ('y') from a new file of that
 * generation.  Returns 0 or -1 with errno set.
 */
static int remap_path(struct server *s, char path, uint64_t gen,
		      uint64_t off, uint64_t len)
{
	char tmp[4096];
	int fd, r = -1, e;

	snprintf(tmp, sizeof(tmp), "%s.remap-src", s->file);
	make_stamped(tmp, s->size, gen);
	fd = open(tmp, O_RDONLY);
	if (fd < 0)
		return -1;
	if (path == 'f') {
		struct file_clone_range fcr = {
			.src_fd = fd, .src_offset = off, .src_length = len,
			.dest_offset = off,
		};

		r = ioctl(s->wfd, FICLONERANGE, &fcr);
	} else {
		loff_t in = (loff_t)off, out = (loff_t)off;
		uint64_t done = 0;

		while (done < len) {
			ssize_t n = copy_file_range(fd, &in, s->wfd, &out,
						    len - done, 0);

			if (n <= 0) {
				if (!n)
					errno = EIO;
				break;
			}
			done += (uint64_t)n;
		}
		r = done == len ? 0 : -1;
	}
	e = errno;
	close(fd);
	unlink(tmp);
	errno = e;
	return r;
}

/* Does read(2) of the whole file return blocks of generation @gen? */
static int check_read(struct server *s, uint64_t gen, char *why, size_t sz)
{
	static uint8_t got[PAGE], want[PAGE];

	for (uint64_t b = 0; b < s->size / PAGE; b++) {
		if (pread(s->wfd, got, PAGE, (off_t)(b * PAGE)) != (ssize_t)PAGE) {
			snprintf(why, sz, "read(2) of block %" PRIu64 ": %s", b,
				 strerror(errno));
			return -1;
		}
		stamp_block(want, gen, b);
		if (memcmp(got, want, PAGE)) {
			struct stamp_hdr h;

			memcpy(&h, got, sizeof(h));
			snprintf(why, sz, "read(2) of block %" PRIu64 " is not gen %" PRIu64 " (header: gen %" PRIu64 " block %" PRIu64 ")",
				 b, gen, h.gen, h.blk);
			return -1;
		}
	}
	return 0;
}

/*
 * One change of a --stamped file (see the top of the file).  Returns false
 * if @line is not one; otherwise it has replied, "ok SIZE" only after the
 * change returned.
 */
static bool stamped_command(struct server *s, int cfd, const char *line)
{
	uint64_t g, off, len;
	struct stat st;
	char path;
	int r = -1;

	if (sscanf(line, "cw %" SCNu64 " %" SCNu64 " %" SCNu64, &g, &off,
		   &len) == 3 && range_ok(off, len)) {
		uint8_t *buf = malloc(len);

		stamp_range(buf, g, off, len);
		if (s->early_ms && !fstat(s->wfd, &st)) {
			/* what a stale mapping looks like to the client */
			sendline(cfd, "ok %" PRIu64, (uint64_t)st.st_size);
			usleep(s->early_ms * 1000);
			if (pwrite(s->wfd, buf, len, (off_t)off) != (ssize_t)len)
				die("pwrite: %s", strerror(errno));
			free(buf);
			return true;
		}
		if (pwrite(s->wfd, buf, len, (off_t)off) == (ssize_t)len)
			r = 0;
		free(buf);
	} else if (sscanf(line, "c%c %" SCNu64 " %" SCNu64 " %" SCNu64, &path,
			  &g, &off, &len) == 4 && strchr("onba", path) &&
		   range_ok(off, len)) {
		uint8_t *buf = NULL;

		if (!posix_memalign((void **)&buf, PAGE, len)) {
			stamp_range(buf, g, off, len);
			r = write_path(s, path, buf, off, len);
			free(buf);
		}
	} else if (sscanf(line, "c%c %" SCNu64 " %" SCNu64 " %" SCNu64, &path,
			  &g, &off, &len) == 4 && strchr("fy", path) &&
		   range_ok(off, len)) {
		r = remap_path(s, path, g, off, len);
	} else if (sscanf(line, "cv %" SCNu64, &g) == 1) {
		char why[200];

		if (check_read(s, g, why, sizeof(why))) {
			sendline(cfd, "err %s", why);
			return true;
		}
		r = 0;
	} else if (sscanf(line, "cm %" SCNu64 " %" SCNu64 " %" SCNu64, &g,
			  &off, &len) == 3 && range_ok(off, len)) {
		/* plain CPU stores: page_mkwrite is what must revoke */
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_SHARED, s->wfd, (off_t)off);

		if (p != MAP_FAILED) {
			stamp_range(p, g, off, len);
			r = munmap(p, len);
		}
	} else if (sscanf(line, "ct %" SCNu64, &len) == 1 ||
		   sscanf(line, "cx %" SCNu64, &len) == 1) {
		r = ftruncate(s->wfd, (off_t)len);
	} else if (sscanf(line, "cp %" SCNu64 " %" SCNu64 " %" SCNu64, &g,
			  &off, &len) == 3 && range_ok(off, len)) {
		r = fallocate(s->wfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)off, (off_t)len);
	} else if (sscanf(line, "cz %" SCNu64 " %" SCNu64 " %" SCNu64, &g,
			  &off, &len) == 3 && range_ok(off, len)) {
		r = fallocate(s->wfd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			      (off_t)off, (off_t)len);
	} else if (sscanf(line, "cc %" SCNu64 " %" SCNu64, &off, &len) == 2 &&
		   range_ok(off, len)) {
		r = fallocate(s->wfd, FALLOC_FL_COLLAPSE_RANGE, (off_t)off,
			      (off_t)len);
	} else if (sscanf(line, "ci %" SCNu64 " %" SCNu64, &off, &len) == 2 &&
		   range_ok(off, len)) {
		r = fallocate(s->wfd, FALLOC_FL_INSERT_RANGE, (off_t)off,
			      (off_t)len);
	} else if (sscanf(line, "c%c %" SCNu64 " %" SCNu64 " %" SCNu64, &path,
			  &g, &off, &len) == 4 && strchr("ue", path) &&
		   range_ok(off, len)) {
		r = share_path(s, path, g, off, len);
	} else if (sscanf(line, "cr %" SCNu64, &g) == 1) {
		/* a whole new file in the same filesystem, cloned onto ours */
		char tmp[4096];
		int fd;

		snprintf(tmp, sizeof(tmp), "%s.reflink-src", s->file);
		make_stamped(tmp, s->size, g);
		fd = open(tmp, O_RDONLY);
		if (fd >= 0) {
			r = ioctl(s->wfd, FICLONE, fd);
			if (r)
				r = -errno;
			close(fd);
		}
		unlink(tmp);
		if (r < 0) {
			errno = -r;
			r = -1;
		}
	} else if (!strcmp(line, "cd")) {
		drop_file_cache(s);
		r = 0;
	} else if (line[0] == 'c' && line[1] && line[2] == ' ') {
		sendline(cfd, "err bad change '%s' (ranges are whole blocks)",
			 line);
		return true;
	} else {
		return false;
	}
	if (r || fstat(s->wfd, &st))
		sendline(cfd, "err %s", strerror(errno));
	else
		sendline(cfd, "ok %" PRIu64, (uint64_t)st.st_size);
	return true;
}

/*
 * Take the next rdma_cm connection.  Events of an earlier connection (its
 * DISCONNECTED, TIMEWAIT_EXIT) may come first: they are acknowledged and
 * skipped.
 */
static struct rdma_cm_id *accept_conn(struct rdma_event_channel *ch,
				      struct ibv_pd *pd, struct ibv_cq **cq)
{
	struct rdma_conn_param cp = { 0 };
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id = NULL;

	for (;;) {
		enum rdma_cm_event_type type;

		if (rdma_get_cm_event(ch, &ev))
			die("rdma_get_cm_event: %s", strerror(errno));
		type = ev->event;
		if (!id && type == RDMA_CM_EVENT_CONNECT_REQUEST) {
			id = ev->id;
			rdma_ack_cm_event(ev);
			make_qp(id, pd, cq);
			cp.responder_resources = 16;
			cp.initiator_depth = 16;
			cp.rnr_retry_count = 7;
			if (rdma_accept(id, &cp))
				die("rdma_accept: %s", strerror(errno));
			continue;
		}
		if (id && ev->id == id) {
			if (type != RDMA_CM_EVENT_ESTABLISHED)
				die("rdma_cm event %s (status %d), wanted %s",
				    rdma_event_str(type), ev->status,
				    rdma_event_str(RDMA_CM_EVENT_ESTABLISHED));
			rdma_ack_cm_event(ev);
			return id;
		}
		if (type != RDMA_CM_EVENT_DISCONNECTED &&
		    type != RDMA_CM_EVENT_TIMEWAIT_EXIT)
			die("rdma_cm event %s (status %d) while accepting",
			    rdma_event_str(type), ev->status);
		rdma_ack_cm_event(ev);
	}
}

static void *drop_loop(void *arg)
{
	struct server *s = arg;

	while (s->drop_run) {
		int fd;

		/* zap our PTEs so the page cache can really be dropped */
		madvise(s->base, s->size, MADV_DONTNEED);
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "3\n", 2) == 2)
				s->drops++;
			close(fd);
		}
		usleep(20000);
	}
	return NULL;
}

static int run_server(struct server *s, const char *bind_ip, int port)
{
	struct rdma_event_channel *ch;
	struct rdma_cm_id *listen_id, *id;
	struct sockaddr_in sa = { 0 };
	struct ibv_cq *cq;
	int access, lfd, cfd, one = 1;
	long free0, free1, pin;
	double t0;
	char line[256];

	if (s->stamped) {
		if (s->size % PAGE || s->sparse || s->p2pmem)
			die("--stamped needs whole blocks and a plain file");
		make_stamped(s->file, s->size, 1);
	} else if (!s->p2pmem) {
		make_file(s);
	}
	s->fd = open(s->file, s->ro && !s->p2pmem ? O_RDONLY : O_RDWR);
	if (s->fd < 0)
		die("open %s: %s", s->file, strerror(errno));
	s->base = mmap(NULL, s->size,
		       PROT_READ | (s->ro && !s->p2pmem ? 0 : PROT_WRITE),
		       MAP_SHARED, s->fd, 0);
	if (s->base == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (s->p2pmem) {
		/* device memory: the pattern goes in through the mapping */
		for (uint64_t off = 0; off < s->size; off += PAGE)
			fill(s->base + off, s->seed, off, PAGE);
		printf("server: %" PRIu64 " bytes of p2pmem mapped from %s\n",
		       s->size, s->file);
	}
	if (s->stamped) {
		/* the changes write through their own descriptor: --ro stays */
		s->wfd = open(s->file, O_RDWR);
		if (s->wfd < 0)
			die("open %s: %s", s->file, strerror(errno));
		drop_file_cache(s);
		printf("server: %" PRIu64 " stamped blocks of generation 1 in %s, not in the page cache\n",
		       s->size / PAGE, s->file);
	}

	ch = rdma_create_event_channel();
	if (!ch || rdma_create_id(ch, &listen_id, NULL, RDMA_PS_TCP))
		die("rdma_create_id: %s", strerror(errno));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, bind_ip, &sa.sin_addr) != 1)
		die("bad --bind address %s", bind_ip);
	if (rdma_bind_addr(listen_id, (struct sockaddr *)&sa))
		die("rdma_bind_addr %s: %s", bind_ip, strerror(errno));
	if (!listen_id->verbs)
		die("no RDMA device for %s", bind_ip);
	s->pd = ibv_alloc_pd(listen_id->verbs);
	if (!s->pd)
		die("ibv_alloc_pd: %s", strerror(errno));

	access = IBV_ACCESS_ON_DEMAND | IBV_ACCESS_REMOTE_READ;
	if (!s->ro)
		access |= IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			  IBV_ACCESS_REMOTE_ATOMIC;
	free0 = meminfo_kb("/proc/meminfo", "MemFree");
	t0 = now();
	s->mr = ibv_reg_mr(s->pd, s->base, s->size, access);
	if (!s->mr)
		die("ibv_reg_mr (ODP, %" PRIu64 " bytes): %s", s->size,
		    strerror(errno));
	free1 = meminfo_kb("/proc/meminfo", "MemFree");
	pin = meminfo_kb("/proc/self/status", "VmPin");
	printf("server: ODP MR of %" PRIu64 " bytes%s registered in %.3fs, rkey %#x; MemFree %ld -> %ld kB, VmPin %ld kB\n",
	       s->size, s->ro ? " (read-only mapping, remote read only)" : "",
	       now() - t0, s->mr->rkey, free0, free1, pin);

	if (s->private) {
		/* the same file, mapped privately: stores go to our own copy */
		s->pbase = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE, s->fd, 0);
		if (s->pbase == MAP_FAILED)
			die("mmap MAP_PRIVATE: %s", strerror(errno));
		s->pmr = ibv_reg_mr(s->pd, s->pbase, s->size,
				    IBV_ACCESS_ON_DEMAND |
				    IBV_ACCESS_LOCAL_WRITE |
				    IBV_ACCESS_REMOTE_READ |
				    IBV_ACCESS_REMOTE_WRITE);
		if (!s->pmr)
			die("ibv_reg_mr (ODP, MAP_PRIVATE): %s",
			    strerror(errno));
		printf("server: ODP MR over a MAP_PRIVATE writable mapping of the file, rkey %#x\n",
		       s->pmr->rkey);
	}
	if (s->nmrs) {
		s->mrs = calloc(s->nmrs, sizeof(*s->mrs));
		t0 = now();
		for (int i = 0; i < s->nmrs; i++) {
			uint64_t off = ((uint64_t)i * PAGE) % s->size;
			uint64_t len = s->size - off < 2 * PAGE ?
				       s->size - off : 2 * PAGE;

			s->mrs[i] = ibv_reg_mr(s->pd, s->base + off, len,
					       access);
			if (!s->mrs[i])
				die("ibv_reg_mr #%d: %s", i, strerror(errno));
		}
		printf("server: %d more ODP MRs registered in %.3fs, VmPin %ld kB\n",
		       s->nmrs, now() - t0,
		       meminfo_kb("/proc/self/status", "VmPin"));
	}
	fflush(stdout);

	if (rdma_listen(listen_id, 1))
		die("rdma_listen: %s", strerror(errno));

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(port + 1);
	sa.sin_addr.s_addr = INADDR_ANY;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		die("control socket: %s", strerror(errno));
	printf("server: listening on %s:%d (rdma_cm) and :%d (control)\n",
	       bind_ip, port, port + 1);
	fflush(stdout);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		die("accept: %s", strerror(errno));

	id = accept_conn(ch, s->pd, &cq);
	printf("server: connected\n");
	fflush(stdout);

	while (recvline(cfd, line, sizeof(line)) >= 0) {
		uint64_t a, b, c;
		int i;

		if (s->stamped && stamped_command(s, cfd, line)) {
			/* replied */
		} else if (!strcmp(line, "pinfo") && s->pmr) {
			sendline(cfd, "ok %" PRIu64 " %u %" PRIu64,
				 (uint64_t)(uintptr_t)s->pbase, s->pmr->rkey,
				 s->size);
		} else if (!strcmp(line, "info")) {
			sendline(cfd, "ok %" PRIu64 " %u %" PRIu64,
				 (uint64_t)(uintptr_t)s->base, s->mr->rkey,
				 s->size);
		} else if (sscanf(line, "mr %d", &i) == 1) {
			if (i < 0 || i >= s->nmrs) {
				sendline(cfd, "err no such mr");
				continue;
			}
			sendline(cfd, "ok %" PRIu64 " %u %" PRIu64,
				 (uint64_t)(uintptr_t)s->mrs[i]->addr,
				 s->mrs[i]->rkey, (uint64_t)s->mrs[i]->length);
		} else if (sscanf(line, "trunc %" SCNu64, &a) == 1) {
			if (ftruncate(s->fd, (off_t)a))
				sendline(cfd, "err %s", strerror(errno));
			else
				sendline(cfd, "ok");
		} else if (sscanf(line, "pwrite %" SCNu64 " %" SCNu64 " %" SCNu64,
				  &a, &b, &c) == 3) {
			uint8_t *buf = malloc(b);
			int wfd = open(s->file, O_WRONLY);

			fill(buf, c, a, b);
			if (wfd < 0 || pwrite(wfd, buf, b, (off_t)a) != (ssize_t)b)
				sendline(cfd, "err %s", strerror(errno));
			else
				sendline(cfd, "ok");
			if (wfd >= 0)
				close(wfd);
			free(buf);
		} else if (!strcmp(line, "munmap")) {
			t0 = now();
			if (munmap(s->base, s->size))
				sendline(cfd, "err %s", strerror(errno));
			else
				sendline(cfd, "ok %.3f", now() - t0);
		} else if (!strcmp(line, "drop on")) {
			s->drop_run = 1;
			pthread_create(&s->drop_thread, NULL, drop_loop, s);
			sendline(cfd, "ok");
		} else if (!strcmp(line, "drop off")) {
			s->drop_run = 0;
			pthread_join(s->drop_thread, NULL);
			sendline(cfd, "ok %ld", s->drops);
		} else if (!strcmp(line, "stat")) {
			sendline(cfd, "ok %ld %ld",
				 meminfo_kb("/proc/self/status", "VmPin"),
				 meminfo_kb("/proc/meminfo", "MemFree"));
		} else if (!strcmp(line, "reconnect")) {
			/*
			 * The client's QP is in error (a READ it expected to
			 * fail): drop ours and take a new connection.  The old
			 * id stays: destroying it waits for its last events.
			 */
			rdma_disconnect(id);
			rdma_destroy_qp(id);
			ibv_destroy_cq(cq);
			sendline(cfd, "ok");
			id = accept_conn(ch, s->pd, &cq);
		} else if (!strcmp(line, "quit")) {
			sendline(cfd, "ok");
			break;
		} else {
			sendline(cfd, "err unknown command");
		}
		printf("server: %s\n", line);
		fflush(stdout);
	}

	rdma_disconnect(id);
	rdma_destroy_qp(id);
	ibv_destroy_cq(cq);
	for (int i = 0; i < s->nmrs; i++)
		ibv_dereg_mr(s->mrs[i]);
	if (s->pmr)
		ibv_dereg_mr(s->pmr);
	ibv_dereg_mr(s->mr);
	if (s->nowait_tries)
		printf("server: %ld RWF_NOWAIT writes were repeated (EAGAIN)\n",
		       s->nowait_tries);
	printf("server: done\n");
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

struct client {
	int cfd;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	uint8_t *buf;		/* local ODP buffer, QDEPTH slots */
	struct ibv_mr *mr;
	uint64_t raddr, size, seed;
	uint32_t rkey;
	uint8_t *shadow;	/* expected file contents (NULL: compute) */
	uint64_t reads, bytes, writes;
	/* one outstanding request per slot */
	struct req {
		bool busy, write;
		uint64_t off;	/* file offset */
		uint32_t len;
		uint32_t loff;	/* offset in the slot */
	} req[QDEPTH];
	int busy;
	int last;		/* slot of the last completion reaped */
};

static void command(struct client *c, char *reply, size_t sz,
		    const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sendline(c->cfd, "%s", buf);
	if (recvline(c->cfd, reply, sz) < 0)
		die("control: server closed the connection after '%s'", buf);
	if (strncmp(reply, "ok", 2))
		die("server: '%s' -> '%s'", buf, reply);
}

static bool verify = true;

static uint8_t expect(struct client *c, uint64_t off)
{
	if (c->shadow)
		return c->shadow[off];
	return c->seed == 0 ? 0 : pat(c->seed, off);
}

static void post(struct client *c, int slot, bool write, uint64_t off,
		 uint32_t len, uint32_t loff)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(c->buf + slot * SLOT + loff),
		.length = len,
		.lkey = c->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = (uint64_t)slot,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma.remote_addr = c->raddr + off,
		.wr.rdma.rkey = c->rkey,
	}, *bad;

	if (write) {
		uint64_t wseed = rnd() | 1;

		fill(c->buf + slot * SLOT + loff, wseed, off, len);
		if (c->shadow)
			memcpy(c->shadow + off, c->buf + slot * SLOT + loff,
			       len);
	}
	if (ibv_post_send(c->id->qp, &wr, &bad))
		die("ibv_post_send: %s", strerror(errno));
	c->req[slot] = (struct req){ true, write, off, len, loff };
	c->busy++;
}

/* Wait for one completion; returns its status, verifies READ data. */
static enum ibv_wc_status reap(struct client *c, double timeout)
{
	struct ibv_wc wc;
	double t0 = now();
	int n;

	while ((n = ibv_poll_cq(c->cq, 1, &wc)) == 0) {
		if (now() - t0 > timeout)
			die("no completion within %.0fs (%d outstanding)",
			    timeout, c->busy);
	}
	if (n < 0)
		die("ibv_poll_cq");
	struct req *r = &c->req[wc.wr_id];

	c->last = (int)wc.wr_id;
	r->busy = false;
	c->busy--;
	if (wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "%s: %s of %u bytes at file offset %" PRIu64 ": %s\n",
			prog, r->write ? "write" : "read", r->len, r->off,
			ibv_wc_status_str(wc.status));
		return wc.status;
	}
	if (!r->write && verify) {
		const uint8_t *p = c->buf + wc.wr_id * SLOT + r->loff;

		if (c->shadow && !memcmp(p, c->shadow + r->off, r->len))
			goto good;
		if (!c->shadow && c->seed == 0 && p[0] == 0 &&
		    !memcmp(p, p + 1, r->len - 1))
			goto good;
		for (uint32_t i = 0; i < r->len; i++) {
			if (p[i] != expect(c, r->off + i))
				die("byte %" PRIu64 " (read of %u at %" PRIu64 ", local offset %u, byte %u): got %#x, want %#x",
				    r->off + i, r->len, r->off, r->loff, i,
				    p[i], expect(c, r->off + i));
		}
	}
good:
	if (!r->write) {
		c->reads++;
		c->bytes += r->len;
	} else {
		c->writes++;
	}
	return IBV_WC_SUCCESS;
}

static int free_slot(struct client *c)
{
	for (int i = 0; i < QDEPTH; i++)
		if (!c->req[i].busy)
			return i;
	return -1;
}

/* Pick a read: unaligned, often crossing one or more page boundaries. */
static void pick(struct client *c __attribute__((unused)), uint64_t lo, uint64_t hi, uint64_t *off,
		 uint32_t *len)
{
	uint64_t span = hi - lo;
	uint32_t l;

	switch (rnd() % 4) {
	case 0:	/* small, straddling a page boundary */
		l = 2 + rnd() % 64;
		break;
	case 1:	/* about an MTU */
		l = 900 + rnd() % 4000;
		break;
	case 2:	/* several pages */
		l = 1 + rnd() % (4 * PAGE);
		break;
	default: /* large */
		l = 1 + rnd() % (16 * PAGE);
		break;
	}
	if (l > span)
		l = (uint32_t)span;
	if (rnd() % 4 == 0 && span > PAGE + l) {
		/* end just past a page boundary */
		uint64_t b = (lo + PAGE + rnd() % (span - l - PAGE)) & ~(PAGE - 1);

		uint64_t back = rnd() % l;

		if (back > b - 1 - lo)
			back = b - 1 - lo;
		*off = b - 1 - back;
	} else {
		*off = lo + rnd() % (span - l + 1);
	}
	if (*off + l > hi)
		l = (uint32_t)(hi - *off);
	*len = l ? l : 1;
}

/*
 * --until FILE: a timed run ends 3 s after FILE appears (the other side
 * says it is done with what the traffic was there for), --secs at most.
 */
static const char *until_path;

static bool until_done(long posted)
{
	static double end;

	if (!until_path)
		return false;
	if (!end && posted % 64 == 0 && access(until_path, F_OK) == 0)
		end = now() + 3;
	return end && now() >= end;
}

/* count random reads (and writes if wfrac) in [lo, hi), all verified */
static void traffic(struct client *c, uint64_t lo, uint64_t hi, long count,
		    double secs, int wpct)
{
	double t0 = now();
	long posted = 0;

	while ((count && posted < count) ||
	       (secs && now() - t0 < secs && !until_done(posted))) {
		int slot = free_slot(c);
		uint64_t off;
		uint32_t len;
		bool write;

		if (slot < 0) {
			enum ibv_wc_status st = reap(c, 30);

			if (st != IBV_WC_SUCCESS)
				die("completion error: %s",
				    ibv_wc_status_str(st));
			continue;
		}
		pick(c, lo, hi, &off, &len);
		/* a write must not race a read of the same bytes */
		write = wpct && (int)(rnd() % 100) < wpct && c->busy == 0;
		post(c, slot, write, off, len, (uint32_t)(rnd() % PAGE));
		posted++;
	}
	while (c->busy) {
		enum ibv_wc_status st = reap(c, 30);

		if (st != IBV_WC_SUCCESS)
			die("completion error: %s", ibv_wc_status_str(st));
	}
}

/* one read that must fail; returns its status */
static enum ibv_wc_status read_expect_error(struct client *c, uint64_t off,
					    uint32_t len)
{
	enum ibv_wc_status st;

	post(c, 0, false, off, len, 0);
	st = reap(c, 30);
	if (st == IBV_WC_SUCCESS)
		die("read of %u at %" PRIu64 " succeeded, expected an error",
		    len, off);
	return st;
}

/* One atomic on the remote word at file offset @off; returns the old value. */
static enum ibv_wc_status atomic_op(struct client *c, bool cas, uint64_t off,
				    uint64_t cmp_add, uint64_t swap,
				    uint64_t *old)
{
	uint32_t loff = 8 * (uint32_t)(rnd() % 512) + 4096 - 8;
	struct ibv_sge sge = {
		.addr = (uintptr_t)(c->buf + loff),
		.length = 8,
		.lkey = c->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 0,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = cas ? IBV_WR_ATOMIC_CMP_AND_SWP :
				IBV_WR_ATOMIC_FETCH_AND_ADD,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.atomic.remote_addr = c->raddr + off,
		.wr.atomic.compare_add = cmp_add,
		.wr.atomic.swap = swap,
		.wr.atomic.rkey = c->rkey,
	}, *bad;
	struct ibv_wc wc;
	double t0 = now();
	int n;

	if (ibv_post_send(c->id->qp, &wr, &bad))
		die("ibv_post_send (atomic): %s", strerror(errno));
	while ((n = ibv_poll_cq(c->cq, 1, &wc)) == 0)
		if (now() - t0 > 30)
			die("no atomic completion within 30s");
	if (n < 0)
		die("ibv_poll_cq");
	memcpy(old, c->buf + loff, 8);
	return wc.status;
}

static int tcp_connect(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	double t0 = now();

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("bad server address %s", host);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if (now() - t0 > 60)
			die("cannot connect to %s:%d: %s", host, port,
			    strerror(errno));
		usleep(300000);
	}
}

static void client_connect(struct client *c, const char *host, int port)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct rdma_conn_param cp = { 0 };
	struct rdma_addrinfo hints = { .ai_port_space = RDMA_PS_TCP }, *ai;
	char ports[16];

	snprintf(ports, sizeof(ports), "%d", port);
	if (rdma_getaddrinfo(host, ports, &hints, &ai))
		die("rdma_getaddrinfo %s: %s", host, strerror(errno));
	if (!ch || rdma_create_id(ch, &c->id, NULL, RDMA_PS_TCP))
		die("rdma_create_id: %s", strerror(errno));
	if (rdma_resolve_addr(c->id, NULL, ai->ai_dst_addr, 5000))
		die("rdma_resolve_addr: %s", strerror(errno));
	rdma_ack_cm_event(wait_event(ch, RDMA_CM_EVENT_ADDR_RESOLVED));
	if (rdma_resolve_route(c->id, 5000))
		die("rdma_resolve_route: %s", strerror(errno));
	rdma_ack_cm_event(wait_event(ch, RDMA_CM_EVENT_ROUTE_RESOLVED));

	c->pd = ibv_alloc_pd(c->id->verbs);
	if (!c->pd)
		die("ibv_alloc_pd");
	c->buf = mmap(NULL, LOCAL_BUF, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->buf == MAP_FAILED)
		die("mmap");
	/* the local side is an ODP MR too: READ responses land in it */
	c->mr = ibv_reg_mr(c->pd, c->buf, LOCAL_BUF,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_ON_DEMAND);
	if (!c->mr)
		die("ibv_reg_mr (local ODP): %s", strerror(errno));
	make_qp(c->id, c->pd, &c->cq);
	cp.initiator_depth = 16;
	cp.responder_resources = 16;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_connect(c->id, &cp))
		die("rdma_connect: %s", strerror(errno));
	rdma_ack_cm_event(wait_event(ch, RDMA_CM_EVENT_ESTABLISHED));
	rdma_freeaddrinfo(ai);
}

/*
 * After an error completion the QP is dead: start over on a new connection
 * (the server's MR stays).  The old id and its event channel are left:
 * destroying the id would wait for events nobody reads.
 */
static void client_reconnect(struct client *c, const char *host, int port)
{
	char reply[64];

	if (c->busy)
		die("reconnect with %d requests outstanding", c->busy);
	rdma_disconnect(c->id);
	rdma_destroy_qp(c->id);
	ibv_destroy_cq(c->cq);
	ibv_dereg_mr(c->mr);
	ibv_dealloc_pd(c->pd);
	munmap(c->buf, LOCAL_BUF);
	command(c, reply, sizeof(reply), "reconnect");
	client_connect(c, host, port);
}

static void get_info(struct client *c, const char *cmd)
{
	char reply[256];

	command(c, reply, sizeof(reply), "%s", cmd);
	if (sscanf(reply, "ok %" SCNu64 " %u %" SCNu64, &c->raddr, &c->rkey,
		   &c->size) != 3)
		die("bad reply '%s'", reply);
}

static void report(struct client *c, const char *what, double t0)
{
	printf("client: %s: %" PRIu64 " reads (%" PRIu64 " bytes) and %" PRIu64 " writes verified in %.1fs\n",
	       what, c->reads, c->bytes, c->writes, now() - t0);
	fflush(stdout);
}

/* ---- revoke: a stamped file changed under traffic ------------------------ */

/* What one block must read as.  Generation 0 is zeros. */
struct stamp {
	uint64_t gen, blk;
	uint32_t valid;		/* bytes before EOF; the rest reads as zeros */
};

/* The file after a change (state 0: as the server made it). */
struct fstate {
	struct stamp *b;	/* one per block of the MR */
	uint64_t size;
	char what[112];		/* the change that made it */
};

struct revoke {
	struct client *c;
	const char *host;
	int port;
	uint64_t nblk;
	struct fstate *st;
	int nst;		/* states made; the last may still be pending */
	int done;		/* the newest state whose change has returned */
	int posted_at[QDEPTH];	/* ->done when the slot's READ was posted */
	uint64_t cursor;	/* of the sweep */
	uint32_t mtu;		/* path MTU: a READ response's packet size */
	uint64_t blocks, changes, overlapped, torn, probe_err, probe_zero;
	uint8_t exp[PAGE];
};

static const uint8_t zero_block[PAGE];

static bool stamp_eq(const struct stamp *a, const struct stamp *b)
{
	return a->gen == b->gen &&
	       (!a->gen || (a->blk == b->blk && a->valid == b->valid));
}

/* Does @p hold exactly what @w says? */
static bool block_is(struct revoke *rv, const uint8_t *p,
		     const struct stamp *w)
{
	struct stamp_hdr h = { STAMP_MAGIC, w->gen, w->blk };

	if (!w->gen)
		return !memcmp(p, zero_block, PAGE);
	if (w->valid >= sizeof(h) && memcmp(p, &h, sizeof(h)))
		return false;
	stamp_block(rv->exp, w->gen, w->blk);
	memset(rv->exp + w->valid, 0, PAGE - w->valid);
	return !memcmp(p, rv->exp, PAGE);
}

static void describe_stamp(char *buf, size_t sz, const struct stamp *w)
{
	if (!w->gen)
		snprintf(buf, sz, "zeros");
	else if (w->valid < PAGE)
		snprintf(buf, sz, "gen %" PRIu64 " block %" PRIu64 " (%u bytes, then zeros)",
			 w->gen, w->blk, w->valid);
	else
		snprintf(buf, sz, "gen %" PRIu64 " block %" PRIu64, w->gen,
			 w->blk);
}

/* What @p holds, as far as its header and body tell. */
static void describe_block(struct revoke *rv, char *buf, size_t sz,
			   const uint8_t *p)
{
	struct stamp_hdr h;
	uint32_t i, j;

	memcpy(&h, p, sizeof(h));
	if (h.magic != STAMP_MAGIC) {
		for (i = 0; i < PAGE && !p[i]; i++)
			;
		if (i == PAGE)
			snprintf(buf, sz, "zeros");
		else
			snprintf(buf, sz, "no stamp (first word %#" PRIx64 ", first non-zero byte at %u): torn or foreign",
				 h.magic, i);
		return;
	}
	stamp_block(rv->exp, h.gen, h.blk);
	for (i = 0; i < PAGE && p[i] == rv->exp[i]; i++)
		;
	for (j = i; j < PAGE && !p[j]; j++)
		;
	if (i == PAGE)
		snprintf(buf, sz, "gen %" PRIu64 " block %" PRIu64, h.gen,
			 h.blk);
	else if (j == PAGE)
		snprintf(buf, sz, "gen %" PRIu64 " block %" PRIu64 " (%u bytes, then zeros)",
			 h.gen, h.blk, i);
	else
		snprintf(buf, sz, "header of gen %" PRIu64 " block %" PRIu64 " but byte %u is not its body: torn",
			 h.gen, h.blk, i);
}

/* Does any state a READ posted at @from may see differ at @k from @k+1? */
static bool distinct(struct revoke *rv, int k, int to, uint64_t pos)
{
	return k == to || !stamp_eq(&rv->st[k].b[pos], &rv->st[k + 1].b[pos]);
}

/*
 * Which of the states @from..@to each packet of block @pos matches: the
 * responder copies a READ packet by packet, and a change (its ODP
 * invalidation and the refault after it) may come between two packets.
 * @first is the block's offset in the READ.  Fills @who (state or -1)
 * per piece and returns the number of pieces; *@all: each matched one.
 */
static int pieces(struct revoke *rv, const uint8_t *p, uint64_t pos,
		  uint64_t first, int from, int to, int *who, int max,
		  bool *all)
{
	uint32_t b = (uint32_t)((rv->mtu - first % rv->mtu) % rv->mtu);
	uint32_t start[PAGE / 256 + 2], end[PAGE / 256 + 2];
	int n = 0, bad = 0;

	for (uint32_t o = 0; o < PAGE && n < max; n++) {
		uint32_t e = o < b ? b : o + rv->mtu;

		start[n] = o;
		end[n] = e < PAGE ? e : PAGE;
		who[n] = -1;
		o = end[n];
	}
	for (int k = to; k >= from; k--) {
		const struct stamp *w = &rv->st[k].b[pos];

		if (!distinct(rv, k, to, pos))
			continue;
		if (w->gen) {
			stamp_block(rv->exp, w->gen, w->blk);
			memset(rv->exp + w->valid, 0, PAGE - w->valid);
		} else {
			memset(rv->exp, 0, PAGE);
		}
		for (int i = 0; i < n; i++)
			if (who[i] < 0 && !memcmp(p + start[i], rv->exp + start[i],
						  end[i] - start[i]))
				who[i] = k;
	}
	for (int i = 0; i < n; i++)
		bad += who[i] < 0;
	*all = !bad;
	return n;
}

static void violation(struct revoke *rv, const uint8_t *p, uint64_t pos,
		      int slot, int from, int to)
{
	const struct req *r = &rv->c->req[slot];
	char got[320], want[512] = "", one[96], when[256];
	int k, j;

	describe_block(rv, got, sizeof(got), p);
	if (to > from) {
		/* which allowed state, if any, each packet's bytes are */
		int who[PAGE / 256 + 2], n;
		bool all;

		n = pieces(rv, p, pos, pos * PAGE - r->off, from, to, who,
			   (int)(sizeof(who) / sizeof(who[0])), &all);
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 " [%u-byte packets:", rv->mtu);
		for (int i = 0; i < n; i++) {
			if (who[i] < 0)
				snprintf(one, sizeof(one), " ?");
			else if (!rv->st[who[i]].b[pos].gen)
				snprintf(one, sizeof(one), " zeros");
			else
				snprintf(one, sizeof(one), " gen%" PRIu64,
					 rv->st[who[i]].b[pos].gen);
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
				 "%s", one);
		}
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "]");
	}
	for (k = to; k >= from; k--) {
		if (!distinct(rv, k, to, pos))
			continue;
		describe_stamp(one, sizeof(one), &rv->st[k].b[pos]);
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "%s%s", *want ? " or " : "", one);
	}
	if (from)
		snprintf(when, sizeof(when), "posted after change #%d (%s) returned",
			 from, rv->st[from].what);
	else
		snprintf(when, sizeof(when), "posted before any change");
	if (to > from)
		snprintf(when + strlen(when), sizeof(when) - strlen(when),
			 ", change #%d (%s) in progress", to,
			 rv->st[to].what);
	/* the newest earlier state with exactly this content: stale (soak
	 * frees the oldest states: b == NULL) */
	for (k = from - 1; k >= 0 && rv->st[k].b; k--)
		if (block_is(rv, p, &rv->st[k].b[pos]))
			break;
	if (k >= 0 && rv->st[k].b) {
		for (j = k + 1; j < from &&
		     stamp_eq(&rv->st[j].b[pos], &rv->st[k].b[pos]); j++)
			;
		if (j == from)
			die("STALE block %" PRIu64 " (file offset %#" PRIx64 ") in a READ of %u bytes at %#" PRIx64 " %s: got %s, what that change replaced; want %s",
			    pos, pos * PAGE, r->len, r->off, when, got, want);
		die("STALE block %" PRIu64 " (file offset %#" PRIx64 ") in a READ of %u bytes at %#" PRIx64 " %s: got %s, what the earlier change #%d (%s) replaced; want %s",
		    pos, pos * PAGE, r->len, r->off, when, got, j,
		    rv->st[j].what, want);
	}
	die("block %" PRIu64 " (file offset %#" PRIx64 ") in a READ of %u bytes at %#" PRIx64 " %s: got %s; want %s",
	    pos, pos * PAGE, r->len, r->off, when, got, want);
}

/* Every block of a completed READ against every state it may have seen. */
static void rv_check(struct revoke *rv, int slot)
{
	struct client *c = rv->c;
	const struct req *r = &c->req[slot];
	const uint8_t *p = c->buf + slot * SLOT + r->loff;
	int from = rv->posted_at[slot], to = rv->nst - 1;

	if (to > from)
		rv->overlapped++;
	for (uint32_t i = 0; i < r->len; i += PAGE) {
		uint64_t pos = (r->off + i) / PAGE;
		bool ok = false;

		for (int k = to; k >= from && !ok; k--)
			if (distinct(rv, k, to, pos))
				ok = block_is(rv, p + i, &rv->st[k].b[pos]);
		if (!ok && to > from) {
			/* in flight across a change: whole packets of each */
			int who[PAGE / 256 + 2];

			pieces(rv, p + i, pos, i, from, to, who,
			       (int)(sizeof(who) / sizeof(who[0])), &ok);
			rv->torn += ok;
		}
		if (!ok)
			violation(rv, p + i, pos, slot, from, to);
		rv->blocks++;
	}
}

static void rv_reap(struct revoke *rv)
{
	struct client *c = rv->c;
	enum ibv_wc_status st = reap(c, 30);

	if (st != IBV_WC_SUCCESS)
		die("READ of %u bytes at %#" PRIx64 " failed (%s); file size %" PRIu64 " after change #%d (%s)",
		    c->req[c->last].len, c->req[c->last].off,
		    ibv_wc_status_str(st), rv->st[rv->done].size, rv->done,
		    rv->st[rv->done].what);
	rv_check(rv, c->last);
}

static void rv_drain(struct revoke *rv)
{
	while (rv->c->busy)
		rv_reap(rv);
}

/* READs stay below the end of every state they may see, page-rounded. */
static uint64_t rv_limit(struct revoke *rv)
{
	uint64_t lim = rv->c->size;

	for (int k = rv->done; k < rv->nst; k++) {
		uint64_t e = (rv->st[k].size + PAGE - 1) & ~(PAGE - 1);

		if (e < lim)
			lim = e;
	}
	return lim;
}

static void rv_post(struct revoke *rv, uint64_t off, uint64_t len)
{
	int slot;

	while ((slot = free_slot(rv->c)) < 0)
		rv_reap(rv);
	rv->posted_at[slot] = rv->done;
	/* the local side at varying alignments too */
	post(rv->c, slot, false, off, (uint32_t)len,
	     (uint32_t)(rnd() % (PAGE / 8)) * 8);
}

/* The next READ of the sweep: 1 to 32 blocks, wrapping at the end. */
static void rv_next(struct revoke *rv)
{
	uint64_t lim = rv_limit(rv), n = 1 + rnd() % 32;

	if (rv->cursor >= lim)
		rv->cursor = 0;
	if (rv->cursor + n * PAGE > lim)
		n = (lim - rv->cursor) / PAGE;
	rv_post(rv, rv->cursor, n * PAGE);
	rv->cursor += n * PAGE;
}

/* The whole file once, QDEPTH READs in flight. */
static void rv_sweep(struct revoke *rv)
{
	for (rv->cursor = 0; rv->cursor < rv_limit(rv);)
		rv_next(rv);
	rv_drain(rv);
}

/* Read [off, off + len) first, in READs of up to 32 blocks. */
static void rv_read_range(struct revoke *rv, uint64_t off, uint64_t len)
{
	/*
	 * Whole blocks, as rv_check() compares them: a range ending at an
	 * EOF inside a block reads that block to its end (zeros past EOF).
	 */
	uint64_t end = (off + len + PAGE - 1) & ~(PAGE - 1);

	if (end > rv_limit(rv))
		end = rv_limit(rv);

	for (uint64_t o = off & ~(PAGE - 1); o < end; o += 32 * PAGE)
		rv_post(rv, o, end - o < 32 * PAGE ? end - o : 32 * PAGE);
}

/* A new state, a copy of the newest one, made by @fmt. */
static struct fstate *rv_state(struct revoke *rv, const char *fmt, ...)
{
	struct fstate *f;
	va_list ap;

	rv->st = realloc(rv->st, (rv->nst + 1) * sizeof(*rv->st));
	if (!rv->st)
		die("realloc");
	f = &rv->st[rv->nst];
	f->b = malloc(rv->nblk * sizeof(*f->b));
	if (!f->b)
		die("malloc");
	if (rv->nst) {
		memcpy(f->b, rv->st[rv->nst - 1].b, rv->nblk * sizeof(*f->b));
		f->size = rv->st[rv->nst - 1].size;
	}
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
	rv->nst++;
	return f;
}

/* Blocks past @size read as zeros, the one across it partly. */
static void set_size(struct fstate *f, uint64_t nblk, uint64_t size)
{
	for (uint64_t b = 0; b < nblk; b++) {
		if (b * PAGE >= size)
			f->b[b] = (struct stamp){ 0 };
		else if (size - b * PAGE < f->b[b].valid)
			f->b[b].valid = (uint32_t)(size - b * PAGE);
	}
	f->size = size;
}

/*
 * Send @cmd, whose result is the newest state (or, for !@change, no change
 * at all), and keep READs going until it returns; then read [off, off+len)
 * before anything else.  A READ that could reach past the new end is
 * waited for first: one that fails kills the QP.
 */
static void rv_change(struct revoke *rv, bool change, uint64_t off,
		      uint64_t len, const char *fmt, ...)
{
	struct client *c = rv->c;
	struct pollfd pfd = { .fd = c->cfd, .events = POLLIN };
	uint64_t lim = rv_limit(rv), size;
	char cmd[128], reply[256];
	double t0 = now();
	bool beyond;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	do {
		beyond = false;
		for (int i = 0; i < QDEPTH; i++)
			if (c->req[i].busy &&
			    c->req[i].off + c->req[i].len > lim)
				beyond = true;
		if (beyond)
			rv_reap(rv);
	} while (beyond);
	sendline(c->cfd, "%s", cmd);
	while (poll(&pfd, 1, 0) == 0) {
		if (now() - t0 > 60)
			die("no reply to '%s' within 60s", cmd);
		if (free_slot(c) >= 0)
			rv_next(rv);
		else
			rv_reap(rv);
	}
	if (recvline(c->cfd, reply, sizeof(reply)) < 0)
		die("control: server closed the connection after '%s'", cmd);
	if (sscanf(reply, "ok %" SCNu64, &size) != 1)
		die("server: '%s' -> '%s'", cmd, reply);
	if (change) {
		rv->done = rv->nst - 1;
		rv->changes++;
	}
	if (size != rv->st[rv->done].size)
		die("after '%s' the file has %" PRIu64 " bytes, expected %" PRIu64,
		    cmd, size, rv->st[rv->done].size);
	if (len)
		rv_read_range(rv, off, len);
}

/*
 * One READ of the first block wholly past EOF, alone: it fails (then the
 * QP is dead and we reconnect) or reads zeros, never file data.
 */
static void rv_probe(struct revoke *rv)
{
	struct client *c = rv->c;
	uint64_t off = rv_limit(rv);
	enum ibv_wc_status st;
	char got[160];

	rv_drain(rv);
	if (off + PAGE > c->size)
		return;
	post(c, 0, false, off, PAGE, 0);
	st = reap(c, 30);
	if (st == IBV_WC_SUCCESS) {
		if (memcmp(c->buf, zero_block, PAGE)) {
			describe_block(rv, got, sizeof(got), c->buf);
			die("READ of the block at %#" PRIx64 ", past EOF (%" PRIu64 ") after change #%d (%s), returned %s",
			    off, rv->st[rv->done].size, rv->done,
			    rv->st[rv->done].what, got);
		}
		rv->probe_zero++;
		return;
	}
	rv->probe_err++;
	client_reconnect(c, rv->host, rv->port);
}

static uint32_t path_mtu(struct client *c)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr a;

	if (ibv_query_qp(c->id->qp, &a, IBV_QP_PATH_MTU, &ia))
		die("ibv_query_qp: %s", strerror(errno));
	return 128u << a.path_mtu;	/* IBV_MTU_256 is 1 */
}

/* A random run of 1..64 whole blocks below @end (bytes). */
static void pick_blocks(uint64_t end, uint64_t *b0, uint64_t *nb)
{
	uint64_t fb = end / PAGE;

	*nb = 1 + rnd() % 64;
	if (*nb > fb)
		*nb = fb;
	*b0 = rnd() % (fb - *nb + 1);
}

static const char *kinds_opt;	/* --kinds of the revoke and soak scenarios */
static uint64_t soak_per_change;	/* --per-change: READs between two changes */

static const char *write_path_name(char path)
{
	switch (path) {
	case 'w': return "write(2) of";
	case 'm': return "stores through a shared mapping of";
	case 'o': return "O_DIRECT pwrite(2) of";
	case 'n': return "O_DIRECT pwritev2(RWF_NOWAIT) of";
	case 'b': return "buffered pwritev2(RWF_NOWAIT) + fsync of";
	case 'a': return "O_DIRECT Linux AIO write of";
	case 'f': return "FICLONERANGE of";
	default: return "copy_file_range(2) of";
	}
}

static const char *const all_kinds[] = {
	"cw", "cm", "ct", "cx", "cp", "cz", "cc", "ci", "cu", "ce", "cx", "cr",
};

/* The change kinds to run: --kinds, or all of all_kinds in order. */
static size_t change_kinds(const char **kinds, size_t max)
{
	static char buf[256];
	char *save = NULL;
	size_t nk = 0;

	if (!kinds_opt) {
		for (; nk < sizeof(all_kinds) / sizeof(all_kinds[0]) && nk < max; nk++)
			kinds[nk] = all_kinds[nk];
		return nk;
	}
	snprintf(buf, sizeof(buf), "%s", kinds_opt);	/* comma-separated */
	for (char *t = strtok_r(buf, ",", &save); t && nk < max;
	     t = strtok_r(NULL, ",", &save))
		kinds[nk++] = t;
	return nk;
}

/*
 * One change of @kind under traffic: its new state, the command, and the
 * changed range read first once it has returned.
 */
static void rv_apply(struct revoke *rv, const char *kind, uint64_t *gen)
{
	const uint64_t full = rv->c->size;
	uint64_t size = rv->st[rv->done].size, b0, nb, ns;
	struct fstate *f;

	if (strlen(kind) == 2 && kind[0] == 'c' &&
	    strchr("wmonbafy", kind[1])) {
		pick_blocks(size, &b0, &nb);
		f = rv_state(rv, "%s: %s gen %" PRIu64 " to blocks %" PRIu64 "..%" PRIu64,
			     kind, write_path_name(kind[1]),
			     ++*gen, b0, b0 + nb - 1);
		for (uint64_t b = b0; b < b0 + nb; b++)
			f->b[b] = (struct stamp){ *gen, b, PAGE };
		rv_change(rv, true, b0 * PAGE, nb * PAGE,
			  "%s %" PRIu64 " %" PRIu64 " %" PRIu64,
			  kind, *gen, b0 * PAGE, nb * PAGE);
	} else if (!strcmp(kind, "ct")) {
		ns = size / 2 + rnd() % (size / 2);
		if (rnd() % 4 == 0)
			ns &= ~(PAGE - 1);	/* sometimes whole */
		f = rv_state(rv, "ct: ftruncate to %" PRIu64, ns);
		set_size(f, rv->nblk, ns);
		rv_change(rv, true, ns & ~(PAGE - 1), PAGE,
			  "ct %" PRIu64, ns);
		rv_probe(rv);
	} else if (!strcmp(kind, "cx")) {
		f = rv_state(rv, "cx: ftruncate from %" PRIu64 " up to %" PRIu64,
			     size, full);
		set_size(f, rv->nblk, full);
		rv_change(rv, true, size, full - size,
			  "cx %" PRIu64, full);
	} else if (!strcmp(kind, "cp") || !strcmp(kind, "cz")) {
		bool punch = kind[1] == 'p';

		pick_blocks(size, &b0, &nb);
		f = rv_state(rv, "%s: fallocate %s of blocks %" PRIu64 "..%" PRIu64,
			     kind, punch ? "PUNCH_HOLE" :
			     "ZERO_RANGE", b0, b0 + nb - 1);
		for (uint64_t b = b0; b < b0 + nb; b++)
			f->b[b] = (struct stamp){ 0 };
		rv_change(rv, true, b0 * PAGE, nb * PAGE,
			  "%s %" PRIu64 " %" PRIu64 " %" PRIu64,
			  kind, ++*gen, b0 * PAGE, nb * PAGE);
	} else if (!strcmp(kind, "cc")) {
		/* the range must end before EOF */
		pick_blocks(size - PAGE, &b0, &nb);
		f = rv_state(rv, "cc: fallocate COLLAPSE_RANGE of blocks %" PRIu64 "..%" PRIu64,
			     b0, b0 + nb - 1);
		for (uint64_t b = b0; b < rv->nblk; b++)
			f->b[b] = b + nb < rv->nblk ?
				  f->b[b + nb] :
				  (struct stamp){ 0 };
		f->size = size - nb * PAGE;
		rv_change(rv, true, b0 * PAGE,
			  f->size - b0 * PAGE,
			  "cc %" PRIu64 " %" PRIu64,
			  b0 * PAGE, nb * PAGE);
		rv_probe(rv);
	} else if (!strcmp(kind, "ci")) {
		/* the file grows: make room inside the MR first if none */
		if (size + PAGE > full) {
			rv_apply(rv, "cc", gen);
			return;
		}
		pick_blocks(size - PAGE, &b0, &nb);
		if (nb > (full - size) / PAGE)
			nb = (full - size) / PAGE;
		f = rv_state(rv, "ci: fallocate INSERT_RANGE of %" PRIu64 " blocks at block %" PRIu64,
			     nb, b0);
		for (uint64_t b = rv->nblk; b-- > b0 + nb;)
			f->b[b] = f->b[b - nb];
		for (uint64_t b = b0; b < b0 + nb; b++)
			f->b[b] = (struct stamp){ 0 };
		f->size = size + nb * PAGE;
		rv_change(rv, true, b0 * PAGE, f->size - b0 * PAGE,
			  "ci %" PRIu64 " %" PRIu64, b0 * PAGE, nb * PAGE);
		rv_probe(rv);
	} else if (!strcmp(kind, "cu") || !strcmp(kind, "ce")) {
		/* the data stays; its blocks move (see share_path()) */
		pick_blocks(size, &b0, &nb);
		f = rv_state(rv, "%s: %s of blocks %" PRIu64 "..%" PRIu64, kind,
			     kind[1] == 'u' ?
			     "fallocate UNSHARE_RANGE (old blocks then rewritten)" :
			     "FIDEDUPERANGE from a copy", b0, b0 + nb - 1);
		rv_change(rv, true, b0 * PAGE, nb * PAGE,
			  "%s %" PRIu64 " %" PRIu64 " %" PRIu64,
			  kind, ++*gen, b0 * PAGE, nb * PAGE);
	} else if (!strcmp(kind, "cr")) {
		f = rv_state(rv, "cr: FICLONE of a file of gen %" PRIu64,
			     ++*gen);
		for (uint64_t b = 0; b < rv->nblk; b++)
			f->b[b] = (struct stamp){ *gen, b, PAGE };
		f->size = full;
		rv_change(rv, true, 0, full, "cr %" PRIu64, *gen);
	} else {
		die("unknown change kind '%s'", kind);
	}
}

/* The stamped file as the server made it: state 0, generation 1. */
static void rv_init(struct revoke *rv)
{
	const uint64_t full = rv->c->size;
	struct fstate *f;

	if (full % PAGE || full < 16 * PAGE)
		die("the MR must be whole blocks, at least 16 (is the server --stamped?)");
	rv->nblk = full / PAGE;
	rv->mtu = path_mtu(rv->c);
	verify = false;		/* rv_check() does it */
	f = rv_state(rv, "the file as made, gen 1");
	for (uint64_t b = 0; b < rv->nblk; b++)
		f->b[b] = (struct stamp){ 1, b, PAGE };
	f->size = full;
}

static void rv_report(struct revoke *rv)
{
	printf("client: READs past EOF after truncate/collapse: %" PRIu64 " failed (then reconnected), %" PRIu64 " read zeros\n",
	       rv->probe_err, rv->probe_zero);
	printf("client: %" PRIu64 " blocks read across a change were old and new in whole %u-byte packets (an RDMA READ is not atomic across packets); no other mix\n",
	       rv->torn, rv->mtu);
}

static void rv_free(struct revoke *rv)
{
	for (int k = 0; k < rv->nst; k++)
		free(rv->st[k].b);
	free(rv->st);
}

static void run_revoke(struct client *c, const char *host, int port,
		       long rounds, char *summary, size_t sz)
{
	struct revoke rv = { .c = c, .host = host, .port = port };
	const char *kinds[64];
	size_t nk = change_kinds(kinds, 64);
	uint64_t gen = 1;
	double t0 = now();

	rv_init(&rv);
	for (long round = 1; round <= rounds; round++) {
		for (size_t k = 0; k < nk; k++) {
			/*
			 * Back to disk (and the CMB) under traffic, then
			 * every block mapped by the NIC once.
			 */
			rv_change(&rv, false, 0, 0, "cd");
			rv_sweep(&rv);
			rv_apply(&rv, kinds[k], &gen);
			rv_sweep(&rv);
		}
		printf("client: round %ld: %" PRIu64 " blocks checked, %" PRIu64 " changes, %" PRIu64 " READs overlapped a change, %" PRIu64 " blocks of those torn at a packet boundary, %.1fs\n",
		       round, rv.blocks, rv.changes, rv.overlapped, rv.torn,
		       now() - t0);
		fflush(stdout);
	}
	rv_report(&rv);
	snprintf(summary, sz, ": %" PRIu64 " blocks checked, %" PRIu64 " changes",
		 rv.blocks, rv.changes);
	rv_free(&rv);
}

/*
 * soak (a bench, not a test): at least @reads READs of one block at
 * random places, racing changes of random kinds; after every change the
 * file goes back to disk (and the CMB) under traffic.  Every block is
 * checked as in revoke; the first stale or foreign block ends the run.
 * States no READ in flight can see any more are freed as it goes.
 */
static void run_soak(struct client *c, const char *host, int port,
		     long reads, char *summary, size_t sz)
{
	struct revoke rv = { .c = c, .host = host, .port = port };
	const char *kinds[64];
	size_t nk = change_kinds(kinds, 64);
	uint64_t gen = 1, posted = 0, per_change;
	int freed = 0;
	double t0 = now(), last = t0;

	rv_init(&rv);
	per_change = soak_per_change ? soak_per_change : 4096;
	while (posted < (uint64_t)reads) {
		uint64_t lim;

		rv_change(&rv, false, 0, 0, "cd");
		rv_apply(&rv, kinds[rnd() % nk], &gen);
		/* one block each: the CMB's cost is per byte, the race per READ */
		for (uint64_t i = 0; i < per_change; i++, posted++) {
			lim = rv_limit(&rv) / PAGE;
			rv_post(&rv, rnd() % lim * PAGE, PAGE);
		}
		/* no READ in flight sees a state before the oldest posted_at */
		{
			int floor = rv.done;

			for (int i = 0; i < QDEPTH; i++)
				if (c->req[i].busy && rv.posted_at[i] < floor)
					floor = rv.posted_at[i];
			for (; freed < floor; freed++) {
				free(rv.st[freed].b);
				rv.st[freed].b = NULL;
			}
		}
		if (now() - last >= 30) {
			last = now();
			printf("client: soak: %" PRIu64 " READs, %" PRIu64 " changes, %.0f s\n",
			       posted, rv.changes, last - t0);
			fflush(stdout);
		}
	}
	rv_drain(&rv);
	rv_report(&rv);
	printf("client: soak: %" PRIu64 " READs (%" PRIu64 " blocks) checked, %" PRIu64 " changes, %" PRIu64 " READs overlapped a change, 0 stale, 0 foreign, in %.1f s (%.0f READs/s)\n",
	       posted, rv.blocks, rv.changes, rv.overlapped, now() - t0,
	       posted / (now() - t0));
	snprintf(summary, sz, ": %" PRIu64 " READs, %" PRIu64 " changes",
		 posted, rv.changes);
	rv_free(&rv);
}

/* Every byte of the remote MR once, checked against c->shadow. */
static void read_all(struct client *c, const char *what)
{
	for (uint64_t off = 0; off < c->size; off += MAX_READ) {
		uint32_t len = c->size - off < MAX_READ ?
			       (uint32_t)(c->size - off) : MAX_READ;

		printf("client: %s: READ of %u bytes at %" PRIu64 "\n", what,
		       len, off);
		post(c, 0, false, off, len, 0);
		if (reap(c, 30) != IBV_WC_SUCCESS)
			die("%s: READ failed", what);
	}
}

/*
 * private: the server (--stamped --private) maps the file shared read-only
 * (MR "info") and privately writable (MR "pinfo", remote write allowed).
 * Both MRs are read whole, then 256 KiB are written into the private one:
 * it reads back what was written, while the shared MR, and read(2) on the
 * server, still see the file as it is.
 */
static void run_private(struct client *c)
{
	uint64_t sraddr = c->raddr, size = c->size, wlen = 256UL << 10;
	uint32_t srkey = c->rkey;
	uint8_t *file = malloc(size);
	char reply[256];

	c->shadow = malloc(size);
	if (!file || !c->shadow || size < wlen)
		die("a file of at least 256 KiB is needed");
	stamp_range(file, 1, 0, size);
	memcpy(c->shadow, file, size);
	get_info(c, "pinfo");
	if (c->size != size)
		die("the private MR has %" PRIu64 " bytes, not %" PRIu64,
		    c->size, size);
	read_all(c, "private MR, as the file");
	c->raddr = sraddr;
	c->rkey = srkey;
	read_all(c, "shared MR, as the file");
	get_info(c, "pinfo");
	post(c, 0, true, 0, (uint32_t)wlen, 0);	/* also into c->shadow */
	if (reap(c, 30) != IBV_WC_SUCCESS)
		die("RDMA WRITE into the private MR failed");
	printf("client: wrote %" PRIu64 " bytes into the private MR\n", wlen);
	read_all(c, "private MR, with what the client wrote");
	memcpy(c->shadow, file, size);
	c->raddr = sraddr;
	c->rkey = srkey;
	read_all(c, "shared MR, still the file");
	command(c, reply, sizeof(reply), "cv 1");
	printf("client: read(2) on the server sees the file unchanged\n");
	free(file);
}

static int run_client(const char *host, int port, const char *test,
		      uint64_t seed, long count, double secs)
{
	struct client c = { .seed = seed };
	char reply[256], summary[160] = "";
	double t0 = now();

	/* the server accepts the control connection, then the RDMA one */
	c.cfd = tcp_connect(host, port + 1);
	client_connect(&c, host, port);
	get_info(&c, "info");
	printf("client: connected, remote MR %" PRIu64 " bytes at %#" PRIx64 " rkey %#x\n",
	       c.size, c.raddr, c.rkey);
	fflush(stdout);
	/* what the file holds, to compare with memcmp() */
	if (seed && c.size <= (256UL << 20)) {
		c.shadow = malloc(c.size);
		if (!c.shadow)
			die("malloc");
		fill(c.shadow, seed, 0, c.size);
	}

	if (!strcmp(test, "check") || !strcmp(test, "rw")) {
		bool rw = !strcmp(test, "rw");

		/* every page once, in big reads */
		for (uint64_t off = 0; off < c.size; off += MAX_READ) {
			uint32_t len = c.size - off < MAX_READ ?
				       (uint32_t)(c.size - off) : MAX_READ;
			int slot = free_slot(&c);

			if (slot < 0) {
				if (reap(&c, 30) != IBV_WC_SUCCESS)
					die("completion error");
				slot = free_slot(&c);
			}
			post(&c, slot, false, off, len, (uint32_t)(off % 61));
		}
		traffic(&c, 0, c.size, count, secs, rw ? 30 : 0);
		report(&c, test, t0);
	} else if (!strcmp(test, "write")) {
		uint64_t a = c.size / 3 + 123, l = 3 * PAGE + 777;

		traffic(&c, 0, c.size, count / 2, 0, 0);
		command(&c, reply, sizeof(reply), "pwrite %" PRIu64 " %" PRIu64 " %" PRIu64,
			a, l, seed + 1);
		fill(c.shadow + a, seed + 1, a, l);
		/* the changed range itself, then around it, then anywhere */
		post(&c, 0, false, a, (uint32_t)l, 5);
		if (reap(&c, 30) != IBV_WC_SUCCESS)
			die("read after write(2) failed");
		traffic(&c, a - 2 * PAGE, a + l + 2 * PAGE, count / 4, 0, 0);
		traffic(&c, 0, c.size, count / 4, 0, 0);
		report(&c, "write(2) then read", t0);
	} else if (!strcmp(test, "truncate")) {
		uint64_t nl = c.size / 2 + 1234, end = (nl + PAGE - 1) & ~(PAGE - 1);
		enum ibv_wc_status st;

		/* fault everything in first: invalidation must clear it */
		traffic(&c, 0, c.size, count / 2, 0, 0);
		for (uint64_t off = 0; off < c.size; off += MAX_READ) {
			post(&c, 0, false, off, c.size - off < MAX_READ ?
			     (uint32_t)(c.size - off) : MAX_READ, 0);
			if (reap(&c, 30) != IBV_WC_SUCCESS)
				die("pre-read failed");
		}
		command(&c, reply, sizeof(reply), "trunc %" PRIu64, nl);
		memset(c.shadow + nl, 0, c.size - nl);
		traffic(&c, 0, nl, count / 2, 0, 0);
		/* the tail of the last page reads as zeros */
		post(&c, 0, false, nl - 100, (uint32_t)(end - nl + 100), 0);
		if (reap(&c, 30) != IBV_WC_SUCCESS)
			die("read of the last page failed");
		report(&c, "reads below the new end", t0);
		st = read_expect_error(&c, end + 10, 100);
		printf("client: read beyond the new end: %s (expected)\n",
		       ibv_wc_status_str(st));
	} else if (!strcmp(test, "munmap")) {
		long ok_before, errs = 0, flushed = 0;
		enum ibv_wc_status first = IBV_WC_SUCCESS;

		traffic(&c, 0, c.size, count, 0, 0);
		ok_before = (long)c.reads;
		/* keep QDEPTH reads in flight, unmap, keep going */
		for (int i = 0; i < QDEPTH; i++) {
			uint64_t off;
			uint32_t len;

			pick(&c, 0, c.size, &off, &len);
			post(&c, i, false, off, len, 0);
		}
		sendline(c.cfd, "munmap");
		for (double t1 = now(); now() - t1 < 30;) {
			enum ibv_wc_status st = reap(&c, 30);
			int slot;
			uint64_t off;
			uint32_t len;

			if (st != IBV_WC_SUCCESS) {
				if (first == IBV_WC_SUCCESS)
					first = st;
				else
					flushed++;
				errs++;
				if (!c.busy)
					break;
				continue;
			}
			if (first != IBV_WC_SUCCESS)
				continue;
			slot = free_slot(&c);
			pick(&c, 0, c.size, &off, &len);
			post(&c, slot, false, off, len, 0);
		}
		while (c.busy)
			if (reap(&c, 30) != IBV_WC_SUCCESS)
				errs++;
		if (recvline(c.cfd, reply, sizeof(reply)) < 0 ||
		    strncmp(reply, "ok", 2))
			die("munmap on the server: %s", reply);
		if (first == IBV_WC_SUCCESS)
			die("no error completion after munmap");
		printf("client: %ld reads ok before munmap, %" PRIu64 " ok in total; first error after munmap: %s, %ld error completions (server: %s)\n",
		       ok_before, c.reads, ibv_wc_status_str(first), errs,
		       reply);
	} else if (!strcmp(test, "passes")) {
		/* sequential 64 KiB reads over the whole fresh MR, twice */
		verify = count != 0;
		for (int pass = 1; pass <= 2; pass++) {
			double t1 = now();
			uint64_t b0 = c.bytes;

			for (uint64_t off = 0; off < c.size; off += 65536) {
				int slot = free_slot(&c);

				if (slot < 0) {
					if (reap(&c, 30) != IBV_WC_SUCCESS)
						die("completion error");
					slot = free_slot(&c);
				}
				post(&c, slot, false, off, c.size - off < 65536 ?
				     (uint32_t)(c.size - off) : 65536, 0);
			}
			while (c.busy)
				if (reap(&c, 30) != IBV_WC_SUCCESS)
					die("completion error");
			printf("client: pass %d over a fresh %" PRIu64 " MiB ODP MR: %.2f MB/s (%s)\n",
			       pass, c.size >> 20,
			       (c.bytes - b0) / (now() - t1) / 1e6,
			       pass == 1 ? "faulting" : "mapped");
		}
	} else if (!strcmp(test, "atomic")) {
		long nfa = 0, ncs = 0, nfail = 0;
		enum ibv_wc_status st;

		for (long i = 0; i < count; i++) {
			uint64_t off = (rnd() % (c.size / 8)) * 8, cur, old, v;
			int kind = (int)(rnd() % 4);

			if (i < 16)	/* the same few words again and again */
				off = (uint64_t)(i % 4) * 4096 + 8 * (i % 3);
			memcpy(&cur, c.shadow + off, 8);
			v = rnd();
			if (kind < 2) {		/* fetch-and-add */
				st = atomic_op(&c, false, off, v, 0, &old);
				cur += v;
				nfa++;
			} else if (kind == 2) {	/* compare-and-swap that matches */
				st = atomic_op(&c, true, off, cur, v, &old);
				cur = v;
				ncs++;
			} else {		/* a compare that fails changes nothing */
				st = atomic_op(&c, true, off, ~cur, v, &old);
				nfail++;
			}
			if (st != IBV_WC_SUCCESS)
				die("atomic at %" PRIu64 ": %s", off,
				    ibv_wc_status_str(st));
			if (memcmp(&old, c.shadow + off, 8))
				die("atomic at %" PRIu64 " returned %#" PRIx64 ", not the word's old value",
				    off, old);
			memcpy(c.shadow + off, &cur, 8);
		}
		/* the changed words are right, everything else is untouched */
		for (uint64_t off = 0; off < c.size; off += MAX_READ) {
			post(&c, 0, false, off, c.size - off < MAX_READ ?
			     (uint32_t)(c.size - off) : MAX_READ, 8);
			if (reap(&c, 30) != IBV_WC_SUCCESS)
				die("read back failed");
		}
		printf("client: %ld fetch-and-add, %ld compare-and-swap, %ld failed compares on the ODP file MR: results and the whole file verified\n",
		       nfa, ncs, nfail);
		/* (a misaligned atomic is refused by the rxe provider already) */
	} else if (!strcmp(test, "dropcache")) {
		command(&c, reply, sizeof(reply), "drop on");
		traffic(&c, 0, c.size, 0, secs ? secs : 15, 0);
		command(&c, reply, sizeof(reply), "drop off");
		report(&c, "reads while dropping caches", t0);
		printf("client: server dropped caches %s times\n", reply + 3);
		if (atol(reply + 3) < 3)
			die("the server dropped caches only %s times", reply + 3);
	} else if (!strcmp(test, "zeros")) {
		long pin, free0;

		c.seed = 0;
		free(c.shadow);
		c.shadow = NULL;
		/* a few reads anywhere in the (sparse) file, and the ends */
		traffic(&c, 0, c.size, count, 0, 0);
		post(&c, 0, false, 0, 5000, 1);
		post(&c, 1, false, c.size - 5000, 5000, 3);
		while (c.busy)
			if (reap(&c, 30) != IBV_WC_SUCCESS)
				die("read of the sparse file failed");
		command(&c, reply, sizeof(reply), "stat");
		if (sscanf(reply, "ok %ld %ld", &pin, &free0) != 2)
			die("bad stat reply %s", reply);
		report(&c, "zeros from a sparse file", t0);
		printf("client: server VmPin %ld kB, MemFree %ld kB\n", pin,
		       free0);
		if (pin != 0)
			die("the server has %ld kB pinned", pin);
	} else if (!strcmp(test, "mrs")) {
		int n = 0;

		for (int i = 0;; i += 1 + (int)(rnd() % 40)) {
			char cmd[32];

			snprintf(cmd, sizeof(cmd), "mr %d", i);
			sendline(c.cfd, "%s", cmd);
			if (recvline(c.cfd, reply, sizeof(reply)) < 0)
				die("control");
			if (strncmp(reply, "ok", 2))
				break;
			if (sscanf(reply, "ok %" SCNu64 " %u %" SCNu64,
				   &c.raddr, &c.rkey, &c.size) != 3)
				die("bad reply %s", reply);
			/* MR i starts at file offset i * PAGE */
			c.shadow = malloc(c.size);
			fill(c.shadow, seed, (uint64_t)i * PAGE, c.size);
			traffic(&c, 0, c.size, 8, 0, 0);
			free(c.shadow);
			n++;
		}
		c.shadow = NULL;
		report(&c, "reads through the extra MRs", t0);
		printf("client: %d MRs read\n", n);
		if (n < 10)
			die("only %d MRs", n);
	} else if (!strcmp(test, "private")) {
		free(c.shadow);
		c.shadow = NULL;
		run_private(&c);
	} else if (!strcmp(test, "revoke")) {
		/* --count rounds of every kind of change */
		free(c.shadow);
		c.shadow = NULL;
		run_revoke(&c, host, port, count, summary, sizeof(summary));
	} else if (!strcmp(test, "soak")) {
		/* --count READs racing changes (a bench) */
		free(c.shadow);
		c.shadow = NULL;
		run_soak(&c, host, port, count, summary, sizeof(summary));
	} else {
		die("unknown test %s", test);
	}

	sendline(c.cfd, "quit");
	recvline(c.cfd, reply, sizeof(reply));
	printf("client: PASS %s%s\n", test, summary);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", 1, NULL, 'f' }, { "size", 1, NULL, 's' },
		{ "seed", 1, NULL, 'S' }, { "ro", 0, NULL, 'r' },
		{ "sparse", 0, NULL, 'z' }, { "mrs", 1, NULL, 'm' },
		{ "bind", 1, NULL, 'b' }, { "port", 1, NULL, 'p' },
		{ "server", 1, NULL, 'a' }, { "test", 1, NULL, 't' },
		{ "count", 1, NULL, 'n' }, { "secs", 1, NULL, 'T' },
		{ "p2pmem", 0, NULL, 'P' }, { "stamped", 0, NULL, 'F' },
		{ "reply-early", 1, NULL, 'E' }, { "private", 0, NULL, 'V' },
		{ "kinds", 1, NULL, 'K' }, { "until", 1, NULL, 'U' },
		{ "per-change", 1, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	struct server s = { .seed = 1, .dfd = -1 };
	const char *bind_ip = getenv("SERVER_IP"), *host = NULL, *test = NULL;
	uint64_t seed = 1;
	long count = 2000;
	double secs = 0;
	int port = 18600, o;

	if (argc < 2)
		die("usage: %s server|client [options]", prog);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		char *end;

		switch (o) {
		case 'f': s.file = optarg; break;
		case 's':
			s.size = strtoull(optarg, &end, 0);
			if (*end == 'K' || *end == 'k')
				s.size <<= 10;
			else if (*end == 'M' || *end == 'm')
				s.size <<= 20;
			else if (*end == 'G' || *end == 'g')
				s.size <<= 30;
			break;
		case 'S': seed = s.seed = strtoull(optarg, NULL, 0); break;
		case 'r': s.ro = true; break;
		case 'z': s.sparse = true; break;
		case 'P': s.p2pmem = true; break;
		case 'F': s.stamped = true; break;
		case 'E': s.early_ms = atoi(optarg); break;
		case 'V': s.private = true; break;
		case 'K': kinds_opt = optarg; break;
		case 'U': until_path = optarg; break;
		case 'C': soak_per_change = strtoull(optarg, NULL, 0); break;
		case 'm': s.nmrs = atoi(optarg); break;
		case 'b': bind_ip = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'a': host = optarg; break;
		case 't': test = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'T': secs = atof(optarg); break;
		default: die("bad option");
		}
	}
	rng_state ^= mix((uint64_t)time(NULL) ^ (uint64_t)getpid());
	if (!strcmp(argv[1], "server")) {
		prog = "odp_read_check server";
		if (!s.file || !s.size || !bind_ip)
			die("server needs --file, --size and --bind (or $SERVER_IP)");
		return run_server(&s, bind_ip, port);
	}
	if (!strcmp(argv[1], "client")) {
		prog = "odp_read_check client";
		if (!host)
			host = getenv("SERVER_IP");
		if (!host || !test)
			die("client needs --server (or $SERVER_IP) and --test");
		return run_client(host, port, test, seed, count, secs);
	}
	die("first argument must be server or client");
	return 1;
}
