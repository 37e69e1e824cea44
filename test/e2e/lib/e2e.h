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
	char name[72];
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

/* How e2e_daemon_start_opts() runs the daemon. */
struct e2e_daemon_opts {
	const char *stderr_path; /* the daemon's stderr goes there */
	const char *const *env; /* extra NAME=VALUE, NULL-terminated */
	bool no_wait; /* return at once, without waiting for the nodes */
};
void e2e_daemon_start_opts(struct e2e_daemon *d,
			   const struct e2e_daemon_opts *o, const char *name,
			   ...);

/* The kvmshimctl binary: $KVMSHIMCTL, else next to kvmshimd, else PATH. */
const char *e2e_kvmshimctl_path(void);
/*
 * Runs argv (NULL-terminated) and returns its exit status (128 + signal
 * if killed); its stdout is stored in *out (NUL-terminated, free() it)
 * when out is not NULL.
 */
int e2e_run(const char *const argv[], char **out);
/* "kvmshimctl --name NAME status": the exit status, the text in *out. */
int e2e_kvmshimctl_status(const char *name, char **out);

/*
 * The value after "Key:" in /proc/PID/status, or /proc/PID/task/TID/status
 * when tid > 0, with surrounding blanks removed; false if absent.
 */
bool e2e_proc_field(pid_t pid, pid_t tid, const char *key, char *buf,
		    size_t size);
/* Reads a whole file; NULL if it cannot. free() the result. */
char *e2e_read_file(const char *path);

#endif /* KVMSHIM_TEST_E2E_H */
