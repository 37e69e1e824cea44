// SPDX-License-Identifier: LGPL-2.1-or-later
/* kvmshimd: bring up the two nodes, serve them, take them down cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "daemon.h"

#define INIT_TIMEOUT_MS 10000

struct daemon {
	struct daemon_opts opts;
	struct ks_engine *eng;
	struct node nodes[2];
	int event_fd; /* node events for the main loop */
	pthread_mutex_t lock;
	unsigned int inits_done;
	bool node_gone;
};

static void on_init_done(void *opaque, struct node *n)
{
	struct daemon *d = opaque;
	uint64_t one = 1;

	(void)n;
	pthread_mutex_lock(&d->lock);
	d->inits_done++;
	pthread_mutex_unlock(&d->lock);
	if (write(d->event_fd, &one, sizeof(one)) < 0)
		ks_log(LOG_ERR, "event: %m");
}

static void on_gone(void *opaque, struct node *n)
{
	struct daemon *d = opaque;
	uint64_t one = 1;

	(void)n;
	pthread_mutex_lock(&d->lock);
	d->node_gone = true;
	pthread_mutex_unlock(&d->lock);
	if (write(d->event_fd, &one, sizeof(one)) < 0)
		ks_log(LOG_ERR, "event: %m");
}

static bool dev_exists(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/%s", name);
	return lstat(path, &st) == 0;
}

static int open_cuse(void)
{
	int fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		ks_log(LOG_ERR, "cannot open /dev/cuse: %m (is the cuse module "
				"loaded? try 'modprobe cuse')");
	return fd;
}

static int start_nodes(struct daemon *d)
{
	unsigned int i;
	int fd, ret;

	for (i = 0; i < 2; i++) {
		struct node *n = &d->nodes[i];

		fd = open_cuse();
		if (fd < 0)
			return KSD_EXIT_NO_CUSE;
		n->eng = d->eng;
		n->kind = i == 0 ? KS_NODE_SYSTEM : KS_NODE_VM;
		snprintf(n->name, sizeof(n->name), i == 0 ? "%s" : "%s-vm",
			 d->opts.name);
		n->n_workers = d->opts.workers;
		n->ev.init_done = on_init_done;
		n->ev.gone = on_gone;
		n->ev.opaque = d;
		ret = node_start(n, fd);
		if (ret) {
			close(fd);
			ks_log(LOG_ERR, "cannot start /dev/%s: %s", n->name,
			       strerror(-ret));
			return KSD_EXIT_FAILURE;
		}
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool daemon_flag(struct daemon *d, bool inits)
{
	bool v;

	pthread_mutex_lock(&d->lock);
	v = inits ? d->inits_done >= 2 : d->node_gone;
	pthread_mutex_unlock(&d->lock);
	return v;
}

/* Waits until both nodes exist; the kernel drops a duplicate silently. */
static int wait_nodes(struct daemon *d)
{
	int64_t deadline = now_ms() + INIT_TIMEOUT_MS;
	struct pollfd pfd = { .fd = d->event_fd, .events = POLLIN };
	uint64_t v;
	unsigned int i;

	while (!daemon_flag(d, true)) {
		int64_t left = deadline - now_ms();

		if (daemon_flag(d, false) || left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) > 0 &&
		    read(d->event_fd, &v, sizeof(v)) < 0)
			break;
	}
	for (i = 0; i < 2; i++) {
		if (!dev_exists(d->nodes[i].name)) {
			ks_log(LOG_ERR,
			       "/dev/%s did not appear (does another device "
			       "of that name exist?)",
			       d->nodes[i].name);
			return KSD_EXIT_NODE_EXISTS;
		}
	}
	return 0;
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	return pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int serve(struct daemon *d, int sig_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = d->event_fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	uint64_t v;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return KSD_EXIT_FAILURE;
		}
		if (pfd[0].revents &&
		    read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				continue;
			ks_log(LOG_INFO, "signal %u: shutting down",
			       si.ssi_signo);
			return KSD_EXIT_OK;
		}
		if (pfd[1].revents && read(d->event_fd, &v, sizeof(v)) > 0 &&
		    daemon_flag(d, false)) {
			ks_log(LOG_ERR,
			       "the kernel closed the CUSE connection");
			return KSD_EXIT_FAILURE;
		}
	}
}

/* Detaches; the parent exits with the child's start-up status. */
static int daemonize(int *status_fd)
{
	int pfd[2];
	pid_t pid;
	char st;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &st, 1) != 1)
			st = KSD_EXIT_FAILURE;
		_exit((unsigned char)st);
	}
	close(pfd[0]);
	setsid();
	if (chdir("/"))
		return -errno;
	*status_fd = pfd[1];
	return 0;
}

static void report_status(int *status_fd, int status)
{
	char st = (char)status;
	int fd;

	if (*status_fd < 0)
		return;
	if (write(*status_fd, &st, 1) < 0)
		ks_log(LOG_ERR, "cannot report status: %m");
	close(*status_fd);
	*status_fd = -1;
	if (status)
		return;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static void stop_nodes(struct daemon *d)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (d->nodes[i].eng)
			node_stop(&d->nodes[i]);
}

int main(int argc, char **argv)
{
	struct daemon d;
	int status_fd = -1, sig_fd = -1, ret;
	sigset_t set;
	unsigned int i;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < 2; i++)
		d.nodes[i].stop_fd = -1;
	d.event_fd = -1;
	ret = daemon_parse_args(argc, argv, &d.opts);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		const char *fmt = i ? "%s-vm" : "%s";
		char name[80];

		snprintf(name, sizeof(name), fmt, d.opts.name);
		if (dev_exists(name)) {
			fprintf(stderr,
				"kvmshimd: /dev/%s already exists; refusing to "
				"start (the kernel would drop a duplicate "
				"silently)\n",
				name);
			return KSD_EXIT_NODE_EXISTS;
		}
	}
	if (!d.opts.foreground && daemonize(&status_fd)) {
		perror("kvmshimd: cannot detach");
		return KSD_EXIT_FAILURE;
	}
	pthread_mutex_init(&d.lock, NULL);
	block_signals(&set);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	d.event_fd = eventfd(0, EFD_CLOEXEC);
	if (sig_fd < 0 || d.event_fd < 0) {
		ret = KSD_EXIT_FAILURE;
		goto out;
	}
	ret = ks_engine_new(&d.opts.cfg, &d.eng);
	if (ret) {
		ks_log(LOG_ERR, "cannot create the engine: %s", strerror(-ret));
		ret = KSD_EXIT_FAILURE;
		goto out;
	}
	ret = start_nodes(&d);
	if (!ret)
		ret = wait_nodes(&d);
	if (ret)
		goto out;
	ks_log(LOG_INFO, "serving /dev/%s and /dev/%s (profile %s)",
	       d.nodes[0].name, d.nodes[1].name, d.opts.cfg.profile.name);
	report_status(&status_fd, 0);
	ret = serve(&d, sig_fd);
out:
	stop_nodes(&d);
	report_status(&status_fd, ret ? ret : KSD_EXIT_FAILURE);
	ks_engine_free(d.eng);
	if (sig_fd >= 0)
		close(sig_fd);
	if (d.event_fd >= 0)
		close(d.event_fd);
	return ret;
}
