// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run [--node /dev/NAME] [OPTION]... -- PROGRAM [ARG]...
 *
 * Runs PROGRAM so that KVM_CREATE_VM, KVM_PPC_GET_HTAB_FD and
 * KVM_ALLOCATE_RMA on kvmshim's nodes return real file descriptors, and
 * s390 CMMA transfers of any size are exact.  The program gets a seccomp
 * filter that sends only those ioctl numbers here; everything else runs
 * at native speed.  Its /dev/kvm is the node, in a private mount
 * namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuse/control_path.h"
#include "run.h"

#ifndef KVMSHIM_VERSION
#define KVMSHIM_VERSION "0"
#endif

#define DEFAULT_NODE "/dev/kvmshim"

bool run_verbose;

static void vlog(const char *fmt, va_list ap)
{
	int err = errno;
	char buf[1024];

	/* one write per line: the program shares our stderr */
	errno = err;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	dprintf(STDERR_FILENO, "kvmshim-run: %s\n", buf);
	errno = err;
}

void run_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void run_debug(const char *fmt, ...)
{
	va_list ap;

	if (!run_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

struct opts {
	const char *node;
	const char *control;
	bool keep_dev_kvm;
	struct run_delays delays;
	char **argv;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmshim-run [OPTION]... [--] PROGRAM [ARG]...\n"
		"Run PROGRAM with kvmshim's node as /dev/kvm, so that the KVM "
		"ioctls\nthat return a new file descriptor work.\n"
		"\n"
		"  -n, --node PATH        the kvmshimd system node (default "
		"$KVMSHIM_NODE,\n"
		"                         else " DEFAULT_NODE ")\n"
		"  -c, --control PATH     its control socket (default "
		"/run/kvmshim/NAME.sock)\n"
		"  -k, --keep-dev-kvm     leave /dev/kvm as it is\n"
		"  -v, --verbose          log every trapped call\n"
		"      --test-delay WHERE:MS\n"
		"                         for tests: wait MS milliseconds "
		"before taking a\n"
		"                         call (recv) or before installing "
		"its fd (install)\n"
		"  -h, --help             this text\n"
		"  -V, --version          print the version\n"
		"\n"
		"The exit status is the program's (128 + N if signal N killed "
		"it), 125 if\nkvmshim-run failed, 126 if PROGRAM cannot run, "
		"127 if it was not found.\n");
}

static int parse_delay(const char *s, struct run_delays *d)
{
	const char *colon = strchr(s, ':');
	unsigned long ms;
	char *end;

	if (!colon)
		return -EINVAL;
	errno = 0;
	ms = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || ms > 600000)
		return -EINVAL;
	if (!strncmp(s, "recv:", 5))
		d->recv = (unsigned int)ms;
	else if (!strncmp(s, "install:", 8))
		d->install = (unsigned int)ms;
	else
		return -EINVAL;
	return 0;
}

enum { OPT_TEST_DELAY = 256 };

/* 0 to run, -1 to exit 0 (help, version), or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "control", required_argument, NULL, 'c' },
		{ "keep-dev-kvm", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "test-delay", required_argument, NULL, OPT_TEST_DELAY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("KVMSHIM_NODE");
	int c;

	memset(o, 0, sizeof(*o));
	o->node = env && *env ? env : DEFAULT_NODE;
	/* '+': the program's own options are not ours */
	while ((c = getopt_long(argc, argv, "+n:c:kvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->node = optarg;
			break;
		case 'c':
			o->control = optarg;
			break;
		case 'k':
			o->keep_dev_kvm = true;
			break;
		case 'v':
			run_verbose = true;
			break;
		case OPT_TEST_DELAY:
			if (parse_delay(optarg, &o->delays)) {
				run_log("bad --test-delay '%s' (recv:MS or "
					"install:MS)",
					optarg);
				return RUN_EXIT_FAILURE;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'V':
			printf("kvmshim-run %s\n", KVMSHIM_VERSION);
			return -1;
		default:
			usage(stderr);
			return RUN_EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return RUN_EXIT_FAILURE;
	}
	o->argv = argv + optind;
	return 0;
}

static int setup_node(const struct opts *o, struct run_node *n)
{
	const char *name;
	int ret;

	memset(n, 0, sizeof(*n));
	if (strlen(o->node) + 4 >= sizeof(n->path)) {
		run_log("%s: name too long", o->node);
		return -ENAMETOOLONG;
	}
	snprintf(n->path, sizeof(n->path), "%s", o->node);
	snprintf(n->vm_path, sizeof(n->vm_path), "%s-vm", o->node);
	if (o->control) {
		snprintf(n->control, sizeof(n->control), "%s", o->control);
	} else {
		/* the daemon's default for --name NAME: /dev/NAME */
		name = strncmp(o->node, "/dev/", 5) ? o->node : o->node + 5;
		kvmshim_control_path(n->control, sizeof(n->control), name);
	}
	ret = node_probe(n);
	if (ret == -ENODEV)
		run_log("%s is not a kvmshimd system node", n->path);
	else if (ret)
		run_log("cannot use %s (control socket %s): %s", n->path,
			n->control, strerror(-ret));
	return ret;
}

static int send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte = 'L';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* The listener from the child, or -1 if it failed before sending it. */
static int recv_fd(int sock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int fd = -1;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* In the child, until exec: the program's environment, then the filter. */
static void child(const struct opts *o, const struct run_node *n,
		  const struct sock_fprog *prog, int sock, pid_t parent,
		  const sigset_t *oldmask)
{
	char why[512];
	int listener, err;

	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (!o->keep_dev_kvm && devns_redirect(n, why, sizeof(why)))
		run_log("warning: %s; /dev/kvm is left as it is (open %s "
			"instead)",
			why, n->path);
	/* after the namespaces: a credential change would clear it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(RUN_EXIT_FAILURE);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		run_log("cannot set no_new_privs: %m");
		_exit(RUN_EXIT_FAILURE);
	}
	listener = filter_load(prog);
	if (listener < 0) {
		errno = -listener;
		run_log("cannot install the seccomp filter: %m%s",
			listener == -EBUSY ? " (already under a supervisor?)" :
					     "");
		_exit(RUN_EXIT_FAILURE);
	}
	if (send_fd(sock, listener)) {
		run_log("cannot pass the listener on: %m");
		_exit(RUN_EXIT_FAILURE);
	}
	/* only the supervisor may hold it: if it dies, calls fail */
	close(listener);
	close(sock);
	execvp(o->argv[0], o->argv);
	err = errno;
	run_log("%s: %s", o->argv[0], strerror(err));
	_exit(err == ENOENT ? RUN_EXIT_NOT_FOUND : RUN_EXIT_CANNOT_EXEC);
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return RUN_EXIT_FAILURE;
}

static int launch(const struct opts *o, const struct run_node *n,
		  const struct sock_fprog *prog)
{
	struct sup_config cfg = { .node = n, .delays = o->delays };
	sigset_t set, old;
	int sv[2], st;
	pid_t pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		run_log("socketpair: %m");
		return RUN_EXIT_FAILURE;
	}
	/* orphaned descendants stay ours: reaped, and still traceable */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		run_log("warning: cannot become a subreaper: %m");
	/* before fork: no SIGCHLD may come before the signalfd */
	sup_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		run_log("fork: %m");
		return RUN_EXIT_FAILURE;
	}
	if (pid == 0) {
		close(sv[0]);
		child(o, n, prog, sv[1], parent, &old);
	}
	close(sv[1]);
	cfg.child = pid;
	cfg.listener = recv_fd(sv[0]);
	close(sv[0]);
	if (cfg.listener < 0) {
		/* the child said why */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return exit_status(st);
	}
	st = sup_run(&cfg);
	close(cfg.listener);
	return st < 0 ? RUN_EXIT_FAILURE : exit_status(st);
}

int main(int argc, char **argv)
{
	struct sock_fprog prog;
	struct run_node node;
	struct opts o;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (setup_node(&o, &node))
		return RUN_EXIT_FAILURE;
	ret = filter_build(&node.info, &prog);
	if (ret) {
		run_log("cannot build the seccomp filter: %s", strerror(-ret));
		return RUN_EXIT_FAILURE;
	}
	ret = launch(&o, &node, &prog);
	free(prog.filter);
	return ret;
}
