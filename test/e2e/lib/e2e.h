/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end test helpers: start a real kvmshimd, talk to its CUSE nodes
 * with real syscalls, report TAP-style lines.
 */
#ifndef KVMSHIM_TEST_E2E_H
#define KVMSHIM_TEST_E2E_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct e2e_daemon {
	pid_t pid;
	char name[64];
	char sys_path[96]; /* /dev/NAME */
	char vm_path[96]; /* /dev/NAME-vm */
};

/*
 * Starts "kvmshimd --foreground --name NAME ARGS..." (NULL-terminated) and
 * waits until both nodes can be opened.  Aborts the test on failure.
 */
void e2e_daemon_start(struct e2e_daemon *d, const char *name, ...);
/* SIGTERM, then the exit status (or -1 if it had to be killed). */
int e2e_daemon_stop(struct e2e_daemon *d);
/* The daemon's binary: $KVMSHIMD or "kvmshimd" on PATH. */
const char *e2e_daemon_path(void);

/* open() that aborts the test on failure */
int e2e_open(const char *path, int flags);

/* ioctl returning -errno instead of -1 */
long e2e_ioctl(int fd, unsigned long cmd, unsigned long arg);

void e2e_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* got == want */
void e2e_is(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void e2e_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Stops with a failure; the daemon started last is stopped first. */
void e2e_bail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Prints the summary; the exit status for main(). */
int e2e_done(void);

/* Waits up to ms for path to (dis)appear; true if it did. */
bool e2e_wait_path(const char *path, bool present, int ms);

#endif /* KVMSHIM_TEST_E2E_H */
