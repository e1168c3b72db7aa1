// SPDX-License-Identifier: MIT
/*
 * Path confinement: build a tree with an outside file, "..", absolute paths,
 * symlinks that leave the root, a FIFO (must not block) and a device node,
 * and check what nicfiled's resolver lets through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "confine.h"

static int fails;

static void expect_open(int root, const char *rel, int want)
{
	struct stat st;
	int r = confine_open_regular(root, rel, &st);
	int got = r >= 0 ? 0 : r;
	if (r >= 0)
		close(r);
	if (got != want) {
		printf("FAIL open '%s': got %s, want %s\n", rel, got ? strerror(-got) : "success",
		       want ? strerror(-want) : "success");
		fails++;
	} else {
		printf("ok   open '%s': %s\n", rel, got ? strerror(-got) : "success");
	}
}

static void expect_dir(int root, const char *rel, int want)
{
	int r = confine_open_dir(root, rel);
	int got = r >= 0 ? 0 : r;
	if (r >= 0)
		close(r);
	if (got != want) {
		printf("FAIL dir '%s': got %d want %d\n", rel, got, want);
		fails++;
	} else {
		printf("ok   dir '%s'\n", rel);
	}
}

static void touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "data\n", 5) != 5) { perror(p); exit(1); }
	close(fd);
}

int main(void)
{
	char top[] = "/tmp/nicfile-confine.XXXXXX", p[512];
	if (!mkdtemp(top)) { perror("mkdtemp"); return 1; }
	snprintf(p, sizeof(p), "%s/secret", top); touch(p);
	snprintf(p, sizeof(p), "%s/root", top); mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/a.txt", top); touch(p);
	snprintf(p, sizeof(p), "%s/root/sub", top); mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/sub/b.txt", top); touch(p);
	snprintf(p, sizeof(p), "%s/root/sub/up", top); symlink("../a.txt", p);
	snprintf(p, sizeof(p), "%s/root/abs", top); symlink("/etc/passwd", p);
	snprintf(p, sizeof(p), "%s/root/rel-out", top); symlink("../secret", p);
	snprintf(p, sizeof(p), "%s/root/sub/deep-out", top); symlink("../../secret", p);
	snprintf(p, sizeof(p), "%s/root/dir-out", top); symlink("..", p);
	snprintf(p, sizeof(p), "%s/root/proc-link", top); symlink("/proc/self/root/etc/passwd", p);
	snprintf(p, sizeof(p), "%s/root/fifo", top); mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/root/null", top);
	int have_dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;

	snprintf(p, sizeof(p), "%s/root", top);
	int root = open(p, O_RDONLY | O_DIRECTORY);
	if (root < 0) { perror(p); return 1; }
	alarm(10);   /* a FIFO open that blocks would hang here: fail instead */

	expect_open(root, "a.txt", 0);
	expect_open(root, "sub/b.txt", 0);
	expect_open(root, "sub/up", 0);               /* symlink that stays inside */
	expect_open(root, "sub/../a.txt", 0);         /* ".." that stays inside */
	expect_open(root, "./a.txt", 0);
	expect_open(root, "../secret", -EXDEV);
	expect_open(root, "sub/../../secret", -EXDEV);
	expect_open(root, "/etc/passwd", -EXDEV);
	snprintf(p, sizeof(p), "%s/secret", top);
	expect_open(root, p, -EXDEV);                 /* absolute path to a real file */
	expect_open(root, "abs", -EXDEV);             /* absolute symlink */
	expect_open(root, "rel-out", -EXDEV);
	expect_open(root, "sub/deep-out", -EXDEV);
	expect_open(root, "dir-out/secret", -EXDEV);
	expect_open(root, "proc-link", -EXDEV);
	expect_open(root, "fifo", -EPERM);            /* and returns at once */
	if (have_dev)
		expect_open(root, "null", -EPERM);
	else
		printf("skip device node (mknod not permitted)\n");
	expect_open(root, "sub", -EISDIR);
	expect_open(root, "", -EISDIR);
	expect_open(root, "missing", -ENOENT);
	expect_dir(root, "", 0);
	expect_dir(root, "sub", 0);
	expect_dir(root, "..", -EXDEV);
	expect_dir(root, "dir-out", -EXDEV);
	expect_dir(root, "/", -EXDEV);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd)) {}
	printf("confine: %d failure(s)\n", fails);
	return fails != 0;
}
