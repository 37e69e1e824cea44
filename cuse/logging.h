/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvmshimd's log: the systemd journal with structured fields when the
 * daemon runs under systemd, stderr otherwise.  The core logs through
 * core/log.h, which ends up here.
 */
#ifndef KVMSHIM_CUSE_LOGGING_H
#define KVMSHIM_CUSE_LOGGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum log_target {
	LOG_TARGET_AUTO, /* the journal if stderr is connected to it */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
};

/* What a message is about; every member is optional. */
struct log_fields {
	uint64_t vm; /* KVMSHIM_VM=; 0: none */
	const char *ioctl; /* KVMSHIM_IOCTL=; NULL: none */
	int err; /* KVMSHIM_ERRNO= and ERRNO=; 0: none */
	pid_t pid; /* KVMSHIM_PID=, the requesting thread; 0: none */
	bool trace; /* a --trace line (KVMSHIM_TRACE=1) */
};

/* Chooses the destination and routes the core's messages here. */
void log_setup(enum log_target target, const char *instance);
enum log_target log_current_target(void);
/* Messages of lower importance than prio are dropped (trace lines never). */
void log_set_level(int prio);

/*
 * The request this thread is serving: its fields go with every message
 * logged until it is cleared with NULL.
 */
void log_set_request(const struct log_fields *f);

/* f NULL: the fields of the thread's request, if any. */
void log_msg(int prio, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "--log" argument; -1 if unknown. */
int log_parse_target(const char *s);

/* Whether $JOURNAL_STREAM ("DEV:INODE") names what fd is connected to. */
bool log_stream_is_journal(const char *journal_stream, int fd);

/* The stderr form of a message, NUL-terminated, with its newline. */
size_t log_format_line(char *buf, size_t size, int prio,
		       const struct log_fields *f, const char *msg);

#endif /* KVMSHIM_CUSE_LOGGING_H */
