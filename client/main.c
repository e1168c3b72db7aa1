// SPDX-License-Identifier: MIT
/*
 * main.c - nicfile's options and commands. A short option that perftest's
 * ib_read_bw has means what it means there (-d -p -s -o -n -D -a -F -R -h
 * -V); JSON output is nvme-cli's --output-format=json.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static void usage(FILE *to)
{
	fprintf(to,
		"usage: nicfile [options] COMMAND HOST:/EXPORT/PATH ...\n"
		"HOST is a name, an IPv4 address or an IPv6 address in brackets: [ADDR]:/EXPORT/PATH\n"
		"commands:\n"
		"  cat HOST:/PATH...          write files to standard output\n"
		"  get HOST:/PATH [LOCAL]     fetch a file (to LOCAL, or its name here)\n"
		"  stat HOST:/PATH...         show attributes and the registration mode\n"
		"  ls HOST:/PATH...           list a directory (HOST:/ lists the exports)\n"
		"  bench HOST:/PATH           RDMA READ bandwidth from a file, perftest table\n"
		"options (the short ones mean what they mean in perftest's ib_read_bw):\n"
		"  -d, --ib-dev DEV           RDMA device to use\n"
		"  -p, --port N               server port (default %d)\n"
		"  -s, --size BYTES           bytes per RDMA READ (default 65536)\n"
		"  -o, --outs N               RDMA READs in flight (default 16; also --depth)\n"
		"  -n, --iters N              bench: messages to read (default 1000)\n"
		"  -D, --duration S           bench: read for S seconds instead of -n messages\n"
		"  -a, --all                  bench: every size from 512 bytes to 8 MiB\n"
		"  -F, --CPU-freq             accepted for perftest's sake (nicfile never warns)\n"
		"  -R, --rdma_cm              accepted for perftest's sake (nicfile always uses rdma_cm)\n"
		"  -h, --help                 this help\n"
		"  -V, --version              versions of nicfile and libnicfile\n"
		"      --output-format FMT    normal or json\n"
		"      --perform_warm_up      bench: read the file once before timing\n"
		"      --verify               get: compare with a SHA-256 the server computes\n"
		"      --timeout S            seconds to wait for the server (default 15)\n"
		"      --wait S               keep retrying to connect for S seconds\n"
		"      --progress, --no-progress  force the progress bar on or off\n"
		"rates are in MiB/s (2^20 bytes a second; perftest's MB/sec is the same unit)\n"
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

enum {
	OPT_OUTPUT_FORMAT = 0x100, OPT_VERIFY, OPT_TIMEOUT, OPT_WAIT, OPT_PROGRESS, OPT_NO_PROGRESS,
	OPT_WARM_UP,
};

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "ib-dev", required_argument, NULL, 'd' }, { "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' }, { "outs", required_argument, NULL, 'o' },
		{ "depth", required_argument, NULL, 'o' }, { "iters", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' }, { "all", no_argument, NULL, 'a' },
		{ "CPU-freq", no_argument, NULL, 'F' }, { "rdma_cm", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "output-format", required_argument, NULL, OPT_OUTPUT_FORMAT },
		{ "verify", no_argument, NULL, OPT_VERIFY }, { "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "wait", required_argument, NULL, OPT_WAIT }, { "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "perform_warm_up", no_argument, NULL, OPT_WARM_UP }, { 0 }
	};
	struct opts o = { .progress = -1, .iters = 1000 };
	const char *name = NULL;
	unsigned long v;
	int opt, idx;

	o.conn.depth = 16;
	while ((opt = getopt_long(argc, argv, "d:p:s:o:n:D:aFRhV", lopts, &idx)) != -1) {
		name = opt >= 0x100 ? lopts[idx].name : NULL;
		switch (opt) {
		case 'd': o.conn.device = optarg; break;
		case 'p': if (parse_num(optarg, 1, 65535, &v)) goto bad; o.conn.port = (uint16_t)v; break;
		case 's': if (parse_num(optarg, 512, 1u << 30, &v)) goto bad; o.conn.chunk = (uint32_t)v; break;
		case 'o': if (parse_num(optarg, 1, 128, &v)) goto bad; o.conn.depth = (unsigned)v; break;
		case 'n': if (parse_num(optarg, 1, 100000000, &v)) goto bad; o.iters = v; break;
		case 'D': if (parse_num(optarg, 1, 86400, &v)) goto bad; o.duration = (unsigned)v; break;
		case 'a': o.all_sizes = 1; break;
		case 'F': case 'R': break;
		case 'h': usage(stdout); return EX_OK;
		case 'V':
			printf("nicfile %s (libnicfile %s)\n", STR(NICFILE_VERSION_MAJOR) "." STR(NICFILE_VERSION_MINOR),
			       nicfile_version());
			return EX_OK;
		case OPT_OUTPUT_FORMAT:
			if (!strcmp(optarg, "json")) o.json = 1;
			else if (!strcmp(optarg, "normal")) o.json = 0;
			else goto bad;
			break;
		case OPT_VERIFY: o.verify = 1; break;
		case OPT_TIMEOUT: if (parse_num(optarg, 1, 3600, &v)) goto bad; o.conn.timeout_ms = (int)v * 1000; break;
		case OPT_WAIT: if (parse_num(optarg, 0, 3600, &v)) goto bad; o.conn.connect_retry_ms = (int)v * 1000; break;
		case OPT_PROGRESS: o.progress = 1; break;
		case OPT_NO_PROGRESS: o.progress = 0; break;
		case OPT_WARM_UP: o.warm_up = 1; break;
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
	if (name)
		fprintf(stderr, "nicfile: bad value '%s' for --%s\n", optarg, name);
	else
		fprintf(stderr, "nicfile: bad value '%s' for -%c\n", optarg, opt);
	return EX_USAGE;
}
