// SPDX-License-Identifier: MIT
/* errors.c - names of modes and messages for the negative errno values
 * the library returns; nicfile-specific wording where errno's is vague. */
#include <errno.h>
#include <string.h>
#include "nicfile.h"

const char *nicfile_mode_name(int mode)
{
	switch (mode) {
	case NICFILE_MODE_ODP_CMB: return "odp-cmb";
	case NICFILE_MODE_ODP: return "odp";
	case NICFILE_MODE_PINNED: return "pinned";
	case NICFILE_MODE_ODP_PMR: return "odp-pmr";
	}
	return "unknown";
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* The header's version is the library's (userland.mk reads it from there too). */
const char *nicfile_version(void)
{
	return STR(NICFILE_VERSION_MAJOR) "." STR(NICFILE_VERSION_MINOR);
}

const char *nicfile_strerror(int err)
{
	if (err > 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	case -ESTALE: return "the file changed on the server (written, truncated or replaced) during the transfer";
	case -EAGAIN: return "the file kept changing while the server opened it; try again";
	case -EXDEV: return "the path leaves the export root";
	case -ECONNRESET: return "the connection to the server was lost";
	case -ECONNREFUSED: return "the server refused the connection (is nicfiled running?)";
	case -ETIMEDOUT: return "the server did not answer in time";
	case -EBADMSG: return "malformed protocol message";
	case -EPROTONOSUPPORT: return "the server speaks another protocol version";
	case -EREMOTEIO: return "an RDMA READ failed (queue pair error; server gone or region revoked)";
	case -EMFILE: return "too many files open on this connection (server limit)";
	case -EUSERS: return "the server has too many clients";
	case -EPERM: return "not permitted (not a regular file)";
	case -EBADF: return "no such open file on the server";
	case -ENODEV: return "no RDMA device found";
	case -EDEADLK: return "a read on this connection from a callback of its own stream";
	case -EBUSY: return "the file is being streamed";
	case -ECANCELED: return "the connection was closed during the transfer";
	}
	const char *s = strerrordesc_np(-err);
	return s ? s : "unknown error";
}
