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

static void daemon_child(const struct e2e_daemon_opts *o, const char **argv)
{
	const char *const *e;
	int fd;

	if (o && o->stderr_path) {
		fd = open(o->stderr_path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
	}
	for (e = o ? o->env : NULL; e && *e; e++)
		putenv((char *)*e);
	execvp(argv[0], (char **)argv);
	perror("exec kvmshimd");
	_exit(127);
}

static void daemon_start_v(struct e2e_daemon *d,
			   const struct e2e_daemon_opts *o, const char *name,
			   va_list ap)
{
	const char *argv[E2E_MAX_ARGS + 6];
	unsigned int n = 0;
	const char *a;
	int status;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->sys_path, sizeof(d->sys_path), "/dev/%s", name);
	snprintf(d->vm_path, sizeof(d->vm_path), "/dev/%s-vm", name);
	argv[n++] = e2e_daemon_path();
	argv[n++] = "--foreground";
	argv[n++] = "--name";
	argv[n++] = name;
	while ((a = va_arg(ap, const char *)) && n < E2E_MAX_ARGS + 4)
		argv[n++] = a;
	argv[n] = NULL;
	fflush(stdout);
	d->pid = fork();
	if (d->pid < 0)
		e2e_bail("fork: %s", strerror(errno));
	if (d->pid == 0)
		daemon_child(o, argv);
	last_daemon = d;
	if (o && o->no_wait)
		return;
	if (!wait_openable(d->sys_path, 10000) ||
	    !wait_openable(d->vm_path, 10000)) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			d->pid = 0;
		e2e_bail("kvmshimd did not create %s and %s", d->sys_path,
			 d->vm_path);
	}
}

void e2e_daemon_start(struct e2e_daemon *d, const char *name, ...)
{
	va_list ap;

	va_start(ap, name);
	daemon_start_v(d, NULL, name, ap);
	va_end(ap);
}

void e2e_daemon_start_opts(struct e2e_daemon *d,
			   const struct e2e_daemon_opts *o, const char *name,
			   ...)
{
	va_list ap;

	va_start(ap, name);
	daemon_start_v(d, o, name, ap);
	va_end(ap);
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

const char *e2e_kvmshimctl_path(void)
{
	static char path[512];
	const char *p = getenv("KVMSHIMCTL"), *d = e2e_daemon_path(), *slash;

	if (p && *p)
		return p;
	slash = strrchr(d, '/');
	if (slash) {
		snprintf(path, sizeof(path), "%.*skvmshimctl",
			 (int)(slash - d + 1), d);
		if (access(path, X_OK) == 0)
			return path;
	}
	return "kvmshimctl";
}

int e2e_run(const char *const argv[], char **out)
{
	int pfd[2], status;
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		e2e_bail("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		e2e_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	buf = malloc(cap);
	if (!buf)
		e2e_bail("out of memory");
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				e2e_bail("out of memory");
		}
		n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int e2e_kvmshimctl_status(const char *name, char **out)
{
	const char *argv[] = { e2e_kvmshimctl_path(), "--name", name, "status",
			       NULL };

	return e2e_run(argv, out);
}

char *e2e_read_file(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

bool e2e_proc_field(pid_t pid, pid_t tid, const char *key, char *buf,
		    size_t size)
{
	char path[96], *text, *line, *end;
	size_t klen = strlen(key);
	bool found = false;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status",
			 (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = e2e_read_file(path);
	if (!text)
		return false;
	for (line = text; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			line += klen + 1;
			while (*line == ' ' || *line == '\t')
				line++;
			snprintf(buf, size, "%s", line);
			found = true;
			break;
		}
	}
	free(text);
	return found;
}
