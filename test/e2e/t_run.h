/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the kvmshim-run end-to-end tests (t_run*.c): find the
 * launcher and the VMM stand-in (vmm.c), run them (as another user if
 * asked) with their stdout read line by line and their stdin at hand, and
 * look at the daemon through its control socket.
 */
#ifndef KVMSHIM_TEST_E2E_T_RUN_H
#define KVMSHIM_TEST_E2E_T_RUN_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvmshim.h"
#include "lib/ctl.h"
#include "lib/e2e.h"

static inline int64_t tr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void tr_sleep_ms(unsigned int ms)
{
	usleep(ms * 1000U);
}

/* kvmshim-run next to kvmshimd, else on PATH. */
static inline const char *tr_launcher(void)
{
	static char path[PATH_MAX + 16];
	const char *d = e2e_daemon_path(), *slash = strrchr(d, '/');

	if (getenv("KVMSHIM_RUN") && *getenv("KVMSHIM_RUN"))
		return getenv("KVMSHIM_RUN");
	if (slash) {
		snprintf(path, sizeof(path), "%.*skvmshim-run",
			 (int)(slash - d + 1), d);
		if (access(path, X_OK) == 0)
			return path;
	}
	return "kvmshim-run";
}

/* vmm-static or vmm-dynamic: $KVMSHIM_VMM_DIR, or staged near us. */
static inline const char *tr_vmm(const char *which)
{
	static char path[2][PATH_MAX + 64];
	static int k;
	const char *env = getenv("KVMSHIM_VMM_DIR");
	static const char *const rel[] = {
		"../vmm", /* lab VM: /opt/kvmshim */
		"../../labvm-extra/opt/kvmshim/vmm", /* build tree */
	};
	char exe[PATH_MAX], *slash;
	ssize_t n;
	size_t i;

	k ^= 1;
	if (env && *env) {
		snprintf(path[k], sizeof(path[k]), "%s/vmm-%s", env, which);
		return path[k];
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		e2e_bail("readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path[k], sizeof(path[k]), "%s/%s/vmm-%s", exe, rel[i],
			 which);
		if (access(path[k], X_OK) == 0)
			return path[k];
	}
	e2e_bail("vmm-%s not found (set KVMSHIM_VMM_DIR)", which);
}

/* ---- a program with its stdin and stdout at hand ---- */

struct tr_proc {
	pid_t pid;
	int in; /* its stdin */
	int out; /* its stdout */
	char *buf; /* all it printed so far, NUL-terminated */
	size_t len;
	size_t cap;
	size_t seen; /* lines before this offset were looked at */
};

/* Who the program runs as; all zero: as we are. */
struct tr_user {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
};

static inline void tr_spawn(struct tr_proc *p, const struct tr_user *u,
			    const char *const argv[])
{
	int in[2], out[2];

	memset(p, 0, sizeof(*p));
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		e2e_bail("pipe: %s", strerror(errno));
	fflush(stdout);
	p->pid = fork();
	if (p->pid < 0)
		e2e_bail("fork: %s", strerror(errno));
	if (p->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		if (u && u->uid &&
		    (setgroups((size_t)u->n_groups, u->groups) ||
		     setgid(u->gid) || setuid(u->uid))) {
			perror("cannot change user");
			_exit(120);
		}
		execvp(argv[0], (char **)argv);
		perror(argv[0]);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	p->cap = 4096;
	p->buf = calloc(1, p->cap);
}

/*
 * Runs "[prefix...] kvmshim-run -n node [--test-delay delay] -- vmm-static
 * test": prefix (NULL-terminated, may be NULL) is a wrapper and its options.
 */
static inline void tr_spawn_vmm(struct tr_proc *p, const char *const *prefix,
				const char *node, const char *delay,
				const char *test)
{
	const char *argv[16];
	int n = 0;

	while (prefix && *prefix && n < 8)
		argv[n++] = *prefix++;
	argv[n++] = tr_launcher();
	argv[n++] = "-n";
	argv[n++] = node;
	if (delay) {
		argv[n++] = "--test-delay";
		argv[n++] = delay;
	}
	argv[n++] = "--";
	argv[n++] = tr_vmm("static");
	argv[n++] = test;
	argv[n] = NULL;
	tr_spawn(p, NULL, argv);
}

/* Reads what is there within ms; false at EOF. */
static inline bool tr_read(struct tr_proc *p, int ms)
{
	struct pollfd pfd = { .fd = p->out, .events = POLLIN };
	ssize_t n;

	if (p->out < 0 || poll(&pfd, 1, ms) <= 0)
		return p->out >= 0;
	if (p->len + 1024 >= p->cap) {
		p->cap *= 2;
		p->buf = realloc(p->buf, p->cap);
		if (!p->buf)
			e2e_bail("out of memory");
	}
	n = read(p->out, p->buf + p->len, p->cap - p->len - 1);
	if (n <= 0) {
		close(p->out);
		p->out = -1;
		return false;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	return true;
}

/*
 * Waits up to ms for a new line starting with prefix; returns a copy of
 * the rest of it (static), or NULL.
 */
static inline const char *tr_expect(struct tr_proc *p, const char *prefix,
				    int ms)
{
	static char rest[256];
	int64_t end = tr_now_ms() + ms;
	char *line, *nl;

	for (;;) {
		while ((nl = strchr(p->buf + p->seen, '\n'))) {
			line = p->buf + p->seen;
			p->seen = (size_t)(nl - p->buf) + 1;
			if (!strncmp(line, prefix, strlen(prefix))) {
				snprintf(rest, sizeof(rest), "%.*s",
					 (int)(nl - line - strlen(prefix)),
					 line + strlen(prefix));
				return rest;
			}
		}
		if (tr_now_ms() > end || !tr_read(p, 100))
			return NULL;
	}
}

static inline void tr_answer(struct tr_proc *p)
{
	if (write(p->in, "\n", 1) != 1)
		e2e_diag("cannot answer: %s", strerror(errno));
}

/* Shows what the program printed, as comments. */
static inline void tr_echo(const struct tr_proc *p)
{
	const char *line = p->buf, *nl;

	while (line && *line) {
		nl = strchr(line, '\n');
		printf("#   | %.*s\n",
		       nl ? (int)(nl - line) : (int)strlen(line), line);
		line = nl ? nl + 1 : NULL;
	}
	fflush(stdout);
}

/* Reads to EOF (within ms), reaps it: its status, 128 + N if killed. */
static inline int tr_finish(struct tr_proc *p, int ms)
{
	int64_t end = tr_now_ms() + ms;
	int st;

	close(p->in);
	while (tr_now_ms() < end && tr_read(p, 200))
		;
	if (waitpid(p->pid, &st, WNOHANG) == 0) {
		while (tr_now_ms() < end && waitpid(p->pid, &st, WNOHANG) == 0)
			tr_sleep_ms(50);
		if (waitpid(p->pid, &st, WNOHANG) == 0) {
			e2e_diag("pid %d did not end: killing it", (int)p->pid);
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
		}
	}
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void tr_free(struct tr_proc *p)
{
	free(p->buf);
	p->buf = NULL;
}

/*
 * Runs argv to its end (60 s at most), shows its output if it failed,
 * and returns its exit status.
 */
static inline int tr_run(const struct tr_user *u, const char *const argv[])
{
	struct tr_proc p;
	int st;

	tr_spawn(&p, u, argv);
	st = tr_finish(&p, 120000);
	if (st)
		tr_echo(&p);
	tr_free(&p);
	return st;
}

/* ---- the daemon ---- */

static inline long long tr_status(const char *name, const char *key)
{
	static char text[65536];

	if (e2e_ctl_status(name, text, sizeof(text)) < 0)
		return -1;
	return e2e_status_sum(text, key);
}

/* KVMSHIM_CTL_RUN_INFO: tokens pending and the like. */
static inline int tr_run_info(const char *name, struct kvmshim_run_info *info)
{
	struct kvmshim_ctl_request req = { .op = KVMSHIM_CTL_RUN_INFO };
	struct {
		struct kvmshim_ctl_reply rep;
		struct kvmshim_run_info info;
	} __attribute__((packed)) m;
	ssize_t n;
	int s = e2e_ctl_connect(name);

	if (s < 0)
		return s;
	memset(&m, 0, sizeof(m));
	if (send(s, &req, sizeof(req), 0) != sizeof(req) ||
	    (n = recv(s, &m, sizeof(m), 0)) != (ssize_t)sizeof(m)) {
		close(s);
		return -EPROTO;
	}
	close(s);
	if (m.rep.error)
		return m.rep.error;
	*info = m.info;
	return 0;
}

/* Polls until status key is want (up to ms); the last value seen. */
static inline long long tr_status_becomes(const char *name, const char *key,
					  long long want, int ms)
{
	int64_t end = tr_now_ms() + ms;
	long long v;

	for (;;) {
		v = tr_status(name, key);
		if (v == want || tr_now_ms() > end)
			return v;
		tr_sleep_ms(50);
	}
}

/* No VM, token, RMA or HTAB stream is left behind. */
static inline void tr_nothing_left(const char *name, const char *what)
{
	struct kvmshim_run_info info;

	e2e_is(tr_status_becomes(name, "vms", 0, 3000), 0, "%s: no VM left",
	       what);
	memset(&info, 0xff, sizeof(info));
	e2e_is(tr_run_info(name, &info), 0, "%s: run info", what);
	e2e_is(info.tokens_pending, 0, "%s: no token pending", what);
	if (info.rma_total)
		e2e_is(tr_status_becomes(name, "rma_free", info.rma_total,
					 3000),
		       info.rma_total, "%s: every RMA back in the pool", what);
}

/* /dev/kvm exists (a real one, or anything). */
static inline bool tr_have_dev_kvm(void)
{
	struct stat st;

	return stat("/dev/kvm", &st) == 0;
}

/* ---- a real /dev/kvm from the kernel's own modules ---- */

#define TR_KVM_KO_DIR "/lib/modules/kvm"

/* insmod, quietly: 0 if the module is in (or was already). */
static inline int tr_insmod(const char *name)
{
	char path[128];
	const char *argv[] = { "insmod", path, NULL };
	struct tr_proc p;
	int st;

	snprintf(path, sizeof(path), "%s/%s.ko", TR_KVM_KO_DIR, name);
	if (access(path, R_OK))
		return -ENOENT;
	tr_spawn(&p, NULL, argv);
	st = tr_finish(&p, 30000);
	tr_free(&p);
	return st ? -EIO : 0;
}

static inline void tr_rmmod(const char *name)
{
	const char *argv[] = { "rmmod", name, NULL };
	struct tr_proc p;

	tr_spawn(&p, NULL, argv);
	tr_finish(&p, 30000);
	tr_free(&p);
}

/*
 * Loads KVM (kvm-amd works under TCG with SVM) if there is no /dev/kvm
 * and the lab VM has the modules: true if it did (tr_kvm_unload undoes).
 */
static inline bool tr_kvm_load(void)
{
	if (tr_have_dev_kvm() || tr_insmod("irqbypass") || tr_insmod("kvm"))
		return false;
	if (tr_insmod("kvm-amd") && tr_insmod("kvm-intel")) {
		tr_rmmod("kvm");
		tr_rmmod("irqbypass");
		return false;
	}
	return e2e_wait_path("/dev/kvm", true, 3000);
}

static inline void tr_kvm_unload(void)
{
	tr_rmmod("kvm_amd");
	tr_rmmod("kvm_intel");
	tr_rmmod("kvm");
	tr_rmmod("irqbypass");
	e2e_wait_path("/dev/kvm", false, 3000);
}

#endif /* KVMSHIM_TEST_E2E_T_RUN_H */
