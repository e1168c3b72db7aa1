/* SPDX-License-Identifier: MIT */
/* privs.h - nicfiled gives up root before it serves anyone. */
#ifndef NICFILED_PRIVS_H
#define NICFILED_PRIVS_H
/*
 * If running as root, become @user (its uid, gid and supplementary groups)
 * for good; "root" keeps root. Not root: nothing to drop, @user is ignored
 * unless it names someone else (then it is an error). 0, or -1 with a
 * message on stderr.
 */
int privs_drop(const char *user, int user_given);
#endif
