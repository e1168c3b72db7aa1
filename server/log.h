/* SPDX-License-Identifier: MIT */
/*
 * log.h - nicfiled's log lines on stderr: "nicfiled: LEVEL: message".
 * The loop and the worker threads both log: a line is written under the
 * stream's lock, so lines never interleave.
 */
#ifndef NICFILED_LOG_H
#define NICFILED_LOG_H
#include <stdio.h>
extern int log_verbose;
#define log_line(prefix, ...) \
	(flockfile(stderr), fprintf(stderr, "nicfiled: " prefix __VA_ARGS__), fputc('\n', stderr), \
	 funlockfile(stderr))
#define log_info(...) log_line("", __VA_ARGS__)
#define log_warn(...) log_line("warning: ", __VA_ARGS__)
#define log_debug(...) (log_verbose ? log_info(__VA_ARGS__) : (void)0)
#endif
