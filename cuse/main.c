// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshimd: bring up the two nodes, give up privileges, serve them, take
 * them down cleanly.
 *
 * Order of start-up (each step needs the one before):
 *   1. open /dev/cuse twice and answer both CUSE_INITs in this thread:
 *      the nodes exist afterwards;
 *   2. give the nodes their group and mode, create the control socket;
 *   3. drop to --user/--group and clear every capability, while still
 *      single-threaded (capabilities are per thread), and verify that
 *      nothing can be regained;
 *   4. start the worker threads and the control thread;
 *   5. READY=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "control_run.h"
#include "core/log.h"
#include "daemon.h"
#include "logging.h"
#include "notify.h"
#include "privs.h"
#include "procstat.h"
#include "status_text.h"

#define INIT_TIMEOUT_MS 10000
#define NODE_WAIT_MS 5000
#define STATUS_INTERVAL_MS 2000

struct daemon {
	struct daemon_opts opts;
	struct privs privs;
	struct ks_engine *eng;
	struct node nodes[2];
	struct ctl_server *ctl;
	struct daemon_view view;
	char identity[128];
	int event_fd; /* a node's connection ended */
	uint64_t last_served[2];
};

static void on_gone(void *opaque, struct node *n)
{
	struct daemon *d = opaque;
	uint64_t one = 1;

	(void)n;
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

/* devtmpfs creates the node synchronously; udev may take a moment. */
static bool wait_dev(const char *name, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (dev_exists(name))
			return true;
		usleep(10000);
	}
	return dev_exists(name);
}

static int open_cuse(void)
{
	int fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		ks_log(LOG_ERR,
		       "cannot open /dev/cuse: %m (is the cuse module loaded? "
		       "try 'modprobe cuse')");
	return fd;
}

static int create_nodes(struct daemon *d)
{
	unsigned int i;
	int fd, ret;

	for (i = 0; i < 2; i++) {
		struct node *n = &d->nodes[i];

		n->eng = d->eng;
		n->kind = i == 0 ? KS_NODE_SYSTEM : KS_NODE_VM;
		snprintf(n->name, sizeof(n->name), i == 0 ? "%s" : "%s-vm",
			 d->opts.name);
		n->max_workers = d->opts.workers;
		n->trace = d->opts.trace;
		n->ev.gone = on_gone;
		n->ev.opaque = d;
		fd = open_cuse();
		if (fd < 0)
			return KSD_EXIT_NO_CUSE;
		ret = node_init(n, fd);
		if (ret) {
			ks_log(LOG_ERR, "cannot set up /dev/%s: %s", n->name,
			       strerror(-ret));
			return KSD_EXIT_FAILURE;
		}
		ret = node_handshake(n, INIT_TIMEOUT_MS);
		/* the kernel drops a duplicate name silently */
		if (ret || !wait_dev(n->name, NODE_WAIT_MS)) {
			ks_log(LOG_ERR,
			       "/dev/%s did not appear (%s; does another "
			       "device of that name exist?)",
			       n->name, ret ? strerror(-ret) : "no node");
			return KSD_EXIT_NODE_EXISTS;
		}
	}
	return 0;
}

static int own_nodes(struct daemon *d)
{
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		ret = privs_own_node(&d->privs, d->nodes[i].name);
		if (ret) {
			ks_log(LOG_ERR, "cannot set up /dev/%s: %s",
			       d->nodes[i].name, strerror(-ret));
			return KSD_EXIT_FAILURE;
		}
	}
	return 0;
}

static int status_cb(void *opaque, struct strbuf *sb)
{
	struct daemon *d = opaque;

	return status_text(sb, &d->view);
}

static int open_control(struct daemon *d)
{
	struct ctl_config cfg = {
		.path = d->opts.control,
		.eng = d->eng,
		.opaque = d,
		.status = status_cb,
		.dir_owner = d->privs.change_user ? d->privs.uid : (uid_t)-1,
	};
	struct privs sock = d->privs;
	int ret;

	if (!d->opts.control[0])
		return 0;
	ret = ctl_open(&d->ctl, &cfg);
	if (!ret && control_run_register())
		ks_log(LOG_WARNING, "no control operations for kvmshim-run");
	if (!ret) {
		/* the socket gets the nodes' group and mode */
		if (!sock.mode)
			sock.mode = 0600;
		ret = privs_own_socket(&sock, d->opts.control);
		if (ret) {
			ctl_close(d->ctl);
			d->ctl = NULL;
		}
	}
	if (!ret)
		return 0;
	if (d->opts.control_explicit) {
		ks_log(LOG_ERR, "cannot create the control socket %s: %s",
		       d->opts.control, strerror(-ret));
		return ret == -EADDRINUSE ? KSD_EXIT_NODE_EXISTS :
					    KSD_EXIT_FAILURE;
	}
	ks_log(LOG_WARNING, "no control socket (%s: %s)", d->opts.control,
	       strerror(-ret));
	d->opts.control[0] = '\0';
	return 0;
}

static int drop_privileges(struct daemon *d)
{
	char why[256] = "";
	struct passwd *pw;

	if (privs_drop(&d->privs, why, sizeof(why)) ||
	    privs_verify(&d->privs, why, sizeof(why))) {
		ks_log(LOG_ERR, "refusing to run: %s", why);
		return KSD_EXIT_NOPERM;
	}
	pw = getpwuid(getuid());
	snprintf(d->identity, sizeof(d->identity),
		 "uid=%u(%s) gid=%u capabilities=none no_new_privs=1",
		 (unsigned int)getuid(), pw ? pw->pw_name : "?",
		 (unsigned int)getgid());
	return 0;
}

static int start_threads(struct daemon *d)
{
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		ret = node_run(&d->nodes[i]);
		if (ret) {
			ks_log(LOG_ERR, "cannot start workers: %s",
			       strerror(-ret));
			return KSD_EXIT_FAILURE;
		}
	}
	if (d->ctl) {
		ret = ctl_start(d->ctl);
		if (ret) {
			ks_log(LOG_ERR, "cannot serve the control socket: %s",
			       strerror(-ret));
			return KSD_EXIT_FAILURE;
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

/* A node with requests in flight that finished none since last time. */
static bool nodes_stuck(struct daemon *d)
{
	struct node_stats st;
	bool stuck = false;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		node_get_stats(&d->nodes[i], &st);
		if (st.in_flight && st.served == d->last_served[i])
			stuck = true;
		d->last_served[i] = st.served;
	}
	return stuck;
}

static void tick(struct daemon *d, uint64_t now, uint64_t *next_ping,
		 uint64_t *next_status)
{
	uint64_t wd = notify_watchdog_interval() * 1000ULL;
	char summary[256];

	if (wd && now >= *next_ping) {
		if (!nodes_stuck(d))
			notify_watchdog();
		else
			ks_log(LOG_WARNING, "requests are not finishing; "
					    "withholding the watchdog ping");
		*next_ping = now + wd;
	}
	if (notify_enabled() && now >= *next_status) {
		status_summary(summary, sizeof(summary), &d->view);
		notify_status(summary);
		*next_status = now + STATUS_INTERVAL_MS * 1000000ULL;
	}
}

static int poll_timeout(uint64_t now, uint64_t next_ping, uint64_t next_status)
{
	uint64_t next = UINT64_MAX;

	if (notify_watchdog_interval())
		next = next_ping;
	if (notify_enabled() && next_status < next)
		next = next_status;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now) / 1000000ULL) + 1;
}

static int serve(struct daemon *d, int sig_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = d->event_fd, .events = POLLIN },
	};
	uint64_t next_ping = 0, next_status = 0, now;
	struct signalfd_siginfo si;

	for (;;) {
		now = xfer_now_ns();
		tick(d, now, &next_ping, &next_status);
		if (poll(pfd, 2, poll_timeout(now, next_ping, next_status)) <
		    0) {
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
		if (pfd[1].revents) {
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
		/* messages keep going to stderr unless the journal has them */
		if (log_current_target() == LOG_TARGET_JOURNAL)
			dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static void shutdown_daemon(struct daemon *d)
{
	unsigned int i;

	/* stop accepting: no new connections, new opens get ENODEV */
	for (i = 0; i < 2; i++)
		node_drain(&d->nodes[i]);
	ctl_close(d->ctl);
	d->ctl = NULL;
	/* workers finish their request; closing removes the nodes */
	for (i = 0; i < 2; i++)
		node_stop(&d->nodes[i]);
}

static int preflight(struct daemon *d)
{
	unsigned int i;
	char name[80];
	int ret;

	ret = privs_resolve(&d->opts, &d->privs);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), i ? "%s-vm" : "%s", d->opts.name);
		if (dev_exists(name)) {
			ks_log(LOG_ERR,
			       "/dev/%s already exists; refusing to start (the "
			       "kernel would drop a duplicate silently)",
			       name);
			return KSD_EXIT_NODE_EXISTS;
		}
	}
	d->opts.cfg.may_supervise = proc_is_ancestor;
	ret = ks_engine_new(&d->opts.cfg, &d->eng);
	if (ret) {
		ks_log(LOG_ERR, "invalid configuration: %s", strerror(-ret));
		return KSD_EXIT_USAGE;
	}
	return 0;
}

static int start(struct daemon *d)
{
	int ret;

	ret = create_nodes(d);
	if (!ret)
		ret = own_nodes(d);
	if (!ret)
		ret = open_control(d);
	if (!ret)
		ret = drop_privileges(d);
	if (!ret)
		ret = start_threads(d);
	return ret;
}

int main(int argc, char **argv)
{
	struct daemon d;
	int status_fd = -1, sig_fd = -1, ret;
	char summary[256];
	sigset_t set;

	memset(&d, 0, sizeof(d));
	d.event_fd = -1;
	ret = daemon_parse_args(argc, argv, &d.opts);
	if (ret)
		return ret < 0 ? KSD_EXIT_OK : ret;
	log_setup((enum log_target)d.opts.log_target, d.opts.name);
	log_set_level(d.opts.log_level);
	ret = preflight(&d);
	if (ret)
		goto out;
	if (!d.opts.foreground && daemonize(&status_fd)) {
		ks_log(LOG_ERR, "cannot detach: %m");
		ret = KSD_EXIT_FAILURE;
		goto out;
	}
	notify_init();
	block_signals(&set);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	d.event_fd = eventfd(0, EFD_CLOEXEC);
	if (sig_fd < 0 || d.event_fd < 0) {
		ret = KSD_EXIT_FAILURE;
		goto out;
	}
	d.view = (struct daemon_view){
		.name = d.opts.name,
		.pid = getpid(),
		.started_ns = xfer_now_ns(),
		.eng = d.eng,
		.nodes = { &d.nodes[0], &d.nodes[1] },
		.identity = d.identity,
		.control = d.opts.control,
	};
	ret = start(&d);
	if (ret)
		goto out;
	status_summary(summary, sizeof(summary), &d.view);
	notify_ready(summary);
	ks_log(LOG_INFO, "serving /dev/%s and /dev/%s (profile %s, %s)",
	       d.nodes[0].name, d.nodes[1].name, d.opts.cfg.profile.name,
	       d.identity);
	report_status(&status_fd, 0);
	ret = serve(&d, sig_fd);
	notify_stopping("shutting down");
out:
	shutdown_daemon(&d);
	report_status(&status_fd, ret ? ret : KSD_EXIT_FAILURE);
	ks_engine_free(d.eng);
	if (sig_fd >= 0)
		close(sig_fd);
	if (d.event_fd >= 0)
		close(d.event_fd);
	return ret;
}
