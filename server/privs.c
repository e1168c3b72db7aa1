// SPDX-License-Identifier: MIT
/*
 * privs.c - dropping root. nicfiled needs root only to start (exports that
 * only root can open, RLIMIT_MEMLOCK raised by its caller); it then serves
 * with the permissions of an unprivileged user, so the kernel's own
 * permission checks decide which files a client may read (EACCES). The
 * export directories opened before stay usable; the RDMA CM and devices
 * are opened after the drop (the kernel ties those descriptors to the
 * credentials that opened them).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "privs.h"
#include "log.h"

int privs_drop(const char *user, int user_given)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "nicfiled: --user %s: no such user%s%s\n", user, errno ? ": " : "",
			errno ? strerror(errno) : "");
		return -1;
	}
	if (geteuid() != 0) {
		if (user_given && pw->pw_uid != geteuid()) {
			fprintf(stderr, "nicfiled: --user %s: not started as root, cannot change user\n", user);
			return -1;
		}
		log_info("running as uid %u (not root: nothing to drop)", (unsigned)geteuid());
		return 0;
	}
	if (pw->pw_uid == 0) {
		log_warn("--user %s: serving as root, file permissions do not protect anything", user);
		return 0;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		fprintf(stderr, "nicfiled: cannot become user %s: %s\n", user, strerror(errno));
		return -1;
	}
	/* For good: no way back, and no gaining privileges by exec either. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		fprintf(stderr, "nicfiled: still able to regain root after dropping to %s\n", user);
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	log_info("serving as user %s (uid %u, gid %u)", pw->pw_name, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}
