/* open_dev.h — the verbs device a test program works on (header only). */
#ifndef NICFILE_TESTS_OPEN_DEV_H
#define NICFILE_TESTS_OPEN_DEV_H

#include <stddef.h>
#include <string.h>

#include <infiniband/verbs.h>

/* Open the device called NAME, or the first one when NAME is NULL. */
static inline struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; l && l[i]; i++) {
		if (!name || !strcmp(ibv_get_device_name(l[i]), name)) {
			ctx = ibv_open_device(l[i]);
			break;
		}
	}
	if (l)
		ibv_free_device_list(l);
	return ctx;
}

#endif
