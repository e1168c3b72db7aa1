// SPDX-License-Identifier: MIT
/*
 * exports.c - the exported directories and who may see them. A client's
 * address is matched once, at connect time, against the global allow-list
 * (every export) and each export's own; an export a client may not see
 * does not exist for it (ENOENT, not listed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "server.h"
#include "log.h"

int exports_add(struct server *s, char *arg)
{
	struct export *e;
	char *eq = strchr(arg, '=');
	char *dir = eq ? eq + 1 : arg;
	const char *name;

	if (s->nexports == MAX_EXPORTS) {
		fprintf(stderr, "nicfiled: at most %d exports\n", MAX_EXPORTS);
		return -1;
	}
	if (eq) {
		*eq = 0;
		name = arg;
	} else {
		size_t n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			dir[--n] = 0;
		name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	}
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "nicfiled: cannot name export '%s': use --export NAME=DIR\n", dir);
		return -1;
	}
	for (int i = 0; i < s->nexports; i++)
		if (!strcmp(s->exports[i].name, name)) {
			fprintf(stderr, "nicfiled: two exports named '%s': use --export NAME=DIR\n", name);
			return -1;
		}
	e = &s->exports[s->nexports];
	e->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->fd < 0) {
		fprintf(stderr, "nicfiled: cannot export %s: %s\n", dir, strerror(errno));
		return -1;
	}
	e->name = name;
	e->dir = dir;
	s->nexports++;
	return 0;
}

/* "--allow CIDR" (every export) or "--allow NAME=CIDR" (export NAME). */
int exports_add_allow(struct server *s, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *cidr = eq ? eq + 1 : arg;
	struct allow_list *l = &s->allow;
	struct allow_entry e;

	if (eq) {
		l = NULL;
		for (int i = 0; i < s->nexports; i++)
			if (strlen(s->exports[i].name) == (size_t)(eq - arg) &&
			    !strncmp(s->exports[i].name, arg, (size_t)(eq - arg)))
				l = &s->exports[i].allow;
		if (!l) {
			fprintf(stderr, "nicfiled: --allow %s: no export named '%.*s'\n", arg, (int)(eq - arg), arg);
			return -1;
		}
	}
	if (allow_parse(cidr, &e)) {
		fprintf(stderr, "nicfiled: --allow %s: not ADDR or ADDR/PREFIX (numeric IPv4 or IPv6, "
			"no host bits beyond the prefix)\n", arg);
		return -1;
	}
	if (allow_add(l, &e)) {
		fprintf(stderr, "nicfiled: out of memory\n");
		return -1;
	}
	return 0;
}

/* No --allow at all: loopback only, so a forgotten option exposes nothing. */
void exports_default_allow(struct server *s)
{
	struct allow_entry e;
	int any = s->allow.n > 0;

	for (int i = 0; i < s->nexports; i++)
		any |= s->exports[i].allow.n > 0;
	if (any)
		return;
	if (!allow_parse("127.0.0.0/8", &e))
		allow_add(&s->allow, &e);
	if (!allow_parse("::1", &e))
		allow_add(&s->allow, &e);
	log_warn("no --allow given: serving loopback clients only (127.0.0.0/8, ::1)");
}

uint32_t exports_visible(const struct server *s, const struct sockaddr *peer)
{
	uint32_t mask = 0;
	int all = allow_match(&s->allow, peer);

	for (int i = 0; i < s->nexports; i++)
		if (all || allow_match(&s->exports[i].allow, peer))
			mask |= 1u << i;
	return mask;
}

int exports_find(const struct server *s, const struct client *c, const char *path, const char **rest)
{
	size_t n = strcspn(path, "/");
	for (int i = 0; i < s->nexports; i++)
		if ((c->exports & (1u << i)) && strlen(s->exports[i].name) == n &&
		    !strncmp(path, s->exports[i].name, n)) {
			*rest = path[n] ? path + n + 1 : "";
			if (**rest == '/')
				return -EXDEV;   /* "export//etc": an absolute path in disguise */
			return i;
		}
	return path[0] == '/' ? -EXDEV : -ENOENT;
}

void exports_close(struct server *s)
{
	allow_free(&s->allow);
	for (int i = 0; i < s->nexports; i++) {
		close(s->exports[i].fd);
		allow_free(&s->exports[i].allow);
	}
}
