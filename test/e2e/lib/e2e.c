// SPDX-License-Identifier: LGPL-2.1-or-later
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define E2E_MAX_ARGS 32

static unsigned int n_tests, n_failed;
static struct e2e_daemon *last_daemon;

static void vreport(bool ok, const char *fmt, va_list ap)
{
	n_tests++;
	if (!ok)
		n_failed++;
	printf("%sok %u - ", ok ? "" : "not ", n_tests);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

void e2e_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cond, fmt, ap);
	va_end(ap);
}

void e2e_is(long long got, long long want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("#   got %lld (0x%llx), expected %lld (0x%llx)\n", got,
		       got, want, want);
}

void e2e_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int e2e_done(void)
{
	printf("# %u passed, %u failed\n", n_tests - n_failed, n_failed);
	fflush(stdout);
	return n_failed || !n_tests ? 1 : 0;
}

void e2e_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (last_daemon && last_daemon->pid > 0)
		e2e_daemon_stop(last_daemon);
	exit(1);
}

long e2e_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

int e2e_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		e2e_bail("open %s: %s", path, strerror(errno));
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool e2e_wait_path(const char *path, bool present, int ms)
{
	int64_t end = now_ms() + ms;
	struct stat st;

	for (;;) {
		if ((stat(path, &st) == 0) == present)
			return true;
		if (now_ms() > end)
			return false;
		usleep(10000);
	}
}

const char *e2e_daemon_path(void)
{
	const char *p = getenv("KVMSHIMD");

	return p && *p ? p : "kvmshimd";
}

/* Waits until path can be opened (udev may still be changing it). */
static bool wait_openable(const char *path, int ms)
{
	int64_t end = now_ms() + ms;
	int fd;

	for (;;) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (now_ms() > end)
			return false;
		usleep(10000);
	}
}

void e2e_daemon_start(struct e2e_daemon *d, const char *name, ...)
{
	const char *argv[E2E_MAX_ARGS + 6];
	unsigned int n = 0;
	const char *a;
	va_list ap;
	int status;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->sys_path, sizeof(d->sys_path), "/dev/%s", name);
	snprintf(d->vm_path, sizeof(d->vm_path), "/dev/%s-vm", name);
	argv[n++] = e2e_daemon_path();
	argv[n++] = "--foreground";
	argv[n++] = "--name";
	argv[n++] = name;
	va_start(ap, name);
	while ((a = va_arg(ap, const char *)) && n < E2E_MAX_ARGS + 4)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	fflush(stdout);
	d->pid = fork();
	if (d->pid < 0)
		e2e_bail("fork: %s", strerror(errno));
	if (d->pid == 0) {
		execvp(argv[0], (char **)argv);
		perror("exec kvmshimd");
		_exit(127);
	}
	last_daemon = d;
	if (!wait_openable(d->sys_path, 10000) ||
	    !wait_openable(d->vm_path, 10000)) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			d->pid = 0;
		e2e_bail("kvmshimd did not create %s and %s", d->sys_path,
			 d->vm_path);
	}
}

int e2e_daemon_stop(struct e2e_daemon *d)
{
	int status, i;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (i = 0; i < 1000; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		}
		usleep(10000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return -1;
}
