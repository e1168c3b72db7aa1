/* SPDX-License-Identifier: MIT */
/* log.h - nicfiled's log lines on stderr: "nicfiled: LEVEL: message". */
#ifndef NICFILED_LOG_H
#define NICFILED_LOG_H
#include <stdio.h>
extern int log_verbose;
#define log_info(...) (fprintf(stderr, "nicfiled: " __VA_ARGS__), fputc('\n', stderr))
#define log_warn(...) (fprintf(stderr, "nicfiled: warning: " __VA_ARGS__), fputc('\n', stderr))
#define log_debug(...) (log_verbose ? log_info(__VA_ARGS__) : 0)
#endif
