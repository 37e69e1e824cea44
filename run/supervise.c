// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The supervisor: answers every trapped ioctl of the program and its
 * descendants (spec: fd-passing.md §4-§6).
 *
 * For each notification: the calling thread's process, a duplicate of the
 * fd it used (pidfd_getfd) and that fd's device number decide whether the
 * call is ours at all; calls on any other fd CONTINUE to the kernel
 * untouched.  For ours, WHOAMI says what the fd is and the daemon runs the
 * ioctl's checks in Linux's order (KVMSHIM_FD_REQUEST for the client's
 * process).  A new VM or HTAB stream is an open of the system node bound
 * to the object and installed with SECCOMP_IOCTL_NOTIF_ADDFD, atomically
 * with the answer; an RMA is the daemon's memfd.  Target memory is read
 * with process_vm_readv and, before anything is done with what was read,
 * SECCOMP_IOCTL_NOTIF_ID_VALID confirms the thread still waits in that
 * call.  Every step may be repeated: a call interrupted before it was
 * taken is notified again when restarted, and an object made for a call
 * that is gone is dropped by closing the only descriptor of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "run.h"

struct sup {
	const struct sup_config *cfg;
	const struct run_node *node;
	int listener;
	int sigfd;
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *notif;
	struct seccomp_notif_resp *resp;
	/* CMMA values on their way between the program and the daemon */
	int memfd;
	uint8_t *vals;
	pid_t child;
	int status;
	bool reaped;
	bool hup;
};

/* One trapped call. */
struct call {
	struct sup *s;
	uint64_t id;
	pid_t tid;
	pid_t tgid;
	int pidfd;
	int dup;
	int fd;
	uint32_t cmd;
	uint32_t kind;
	uint64_t arg;
	struct kvmshim_whoami who;
	bool done; /* answered, or the target is gone */
};

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case KVMSHIM_TRAP_CREATE_VM:
		return "KVM_CREATE_VM";
	case KVMSHIM_TRAP_GET_HTAB_FD:
		return "KVM_PPC_GET_HTAB_FD";
	case KVMSHIM_TRAP_ALLOCATE_RMA:
		return "KVM_ALLOCATE_RMA";
	case KVMSHIM_TRAP_GET_CMMA_BITS:
		return "KVM_S390_GET_CMMA_BITS";
	case KVMSHIM_TRAP_SET_CMMA_BITS:
		return "KVM_S390_SET_CMMA_BITS";
	}
	return "ioctl";
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- answers ---- */

static void send_resp(struct call *c, int64_t val, int32_t error,
		      uint32_t flags)
{
	struct seccomp_notif_resp *r = c->s->resp;

	if (c->done)
		return;
	memset(r, 0, c->s->sizes.seccomp_notif_resp);
	r->id = c->id;
	r->val = val;
	r->error = error;
	r->flags = flags;
	/* ENOENT: the call was interrupted or the thread died meanwhile */
	if (ioctl(c->s->listener, SECCOMP_IOCTL_NOTIF_SEND, r) &&
	    errno != ENOENT)
		run_log("cannot answer %s of %d: %m", kind_name(c->kind),
			(int)c->tid);
	c->done = true;
}

/* The kernel runs the call itself (for why: "not ours", ...). */
static void answer_continue(struct call *c, const char *why)
{
	run_debug("%d: %s on fd %d: %s, passed on", (int)c->tid,
		  kind_name(c->kind), c->fd, why);
	send_resp(c, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

static void answer(struct call *c, long ret)
{
	if (c->done)
		return;
	if (ret < 0)
		run_debug("%d: %s on fd %d = %s", (int)c->tid,
			  kind_name(c->kind), c->fd, strerror((int)-ret));
	else
		run_debug("%d: %s on fd %d = %ld", (int)c->tid,
			  kind_name(c->kind), c->fd, ret);
	/* never ENOSYS: QEMU reads it as "not implemented" */
	if (ret == -ENOSYS)
		ret = -ENOTTY;
	if (ret < 0)
		send_resp(c, 0, (int32_t)ret, 0);
	else
		send_resp(c, ret, 0, 0);
}

/* Still the same call, waiting?  If not, there is nobody to answer. */
static bool still_waiting(struct call *c)
{
	if (c->done)
		return false;
	if (!ioctl(c->s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->id))
		return true;
	run_debug("%d: %s: the call is gone", (int)c->tid, kind_name(c->kind));
	c->done = true;
	return false;
}

/*
 * Installs src in the target: the fd number, or -errno.  With send it is
 * also the call's answer, in one step.  An fd limit reached is answered
 * with EMFILE (Linux's errno); a vanished target ends the call.
 */
static int install(struct call *c, int src, bool cloexec, bool send)
{
	struct seccomp_notif_addfd a;
	int fd, err;

	memset(&a, 0, sizeof(a));
	a.id = c->id;
	a.flags = send ? SECCOMP_ADDFD_FLAG_SEND : 0;
	a.srcfd = (uint32_t)src;
	a.newfd_flags = cloexec ? O_CLOEXEC : 0;
	fd = ioctl(c->s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	if (fd >= 0) {
		if (send) {
			run_debug("%d: %s on fd %d = %d", (int)c->tid,
				  kind_name(c->kind), c->fd, fd);
			c->done = true;
		}
		return fd;
	}
	err = errno;
	if (err == ENOENT) {
		run_debug("%d: %s: gone before the fd was installed",
			  (int)c->tid, kind_name(c->kind));
		c->done = true;
		return -ENOENT;
	}
	/* the target's RLIMIT_NOFILE (EMFILE; EBADF per seccomp_unotify) */
	if (err == EMFILE || err == EBADF)
		err = EMFILE;
	answer(c, -err);
	return -err;
}

/* ---- target memory ---- */

static size_t target_rw(pid_t pid, uint64_t addr, void *buf, size_t len,
			bool write)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		struct iovec local = { (char *)buf + done, len - done };
		struct iovec remote = { (void *)(uintptr_t)(addr + done),
					len - done };

		n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
			    process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/* 0, or -EFAULT when any of the bytes cannot be read (or written). */
static int target_read(struct call *c, uint64_t addr, void *buf, size_t len)
{
	return target_rw(c->tgid, addr, buf, len, false) == len ? 0 : -EFAULT;
}

static int target_write(struct call *c, uint64_t addr, const void *buf,
			size_t len)
{
	return target_rw(c->tgid, addr, (void *)buf, len, true) == len ?
		       0 :
		       -EFAULT;
}

/* ---- the calls ---- */

/*
 * Opens the system node in the access mode the object needs, binds it to
 * token and installs it close-on-exec as the call's result.
 */
static void install_token(struct call *c, uint64_t token, int mode)
{
	int fd, ret;

	fd = open(c->s->node->path, mode | O_CLOEXEC);
	ret = fd < 0 ? -errno : ks_bind(fd, token);
	if (ret) {
		/* the token expires and releases the object */
		run_log("cannot bind %s for %d: %s", kind_name(c->kind),
			(int)c->tid, strerror(-ret));
		if (fd >= 0)
			close(fd);
		answer(c, ret == -ENFILE || ret == -EMFILE ? ret : -ENOMEM);
		return;
	}
	if (c->s->cfg->delays.install)
		sleep_ms(c->s->cfg->delays.install);
	/* on failure our open is the object's last reference: closing frees */
	install(c, fd, true, true);
	close(fd);
}

static void do_create_vm(struct call *c)
{
	uint64_t token;
	int ret;

	/* the daemon's checks: EINVAL for a bad type, ENOTTY on a VM fd... */
	ret = ks_fd_request(c->dup, c->cmd, c->arg, NULL, c->tgid, &token,
			    NULL);
	if (ret) {
		answer(c, ret);
		return;
	}
	install_token(c, token, O_RDWR);
}

static bool creator_mismatch(const struct call *c)
{
	/* M4: a creator the daemon could not see is not checked */
	return c->who.kind == KVMSHIM_KIND_VM && c->who.creator_tgid &&
	       c->who.creator_tgid != c->tgid;
}

static void do_get_htab_fd(struct call *c)
{
	struct ks_get_htab_fd ghf;
	uint64_t token;
	int ret;

	memset(&ghf, 0, sizeof(ghf));
	/* on a VM fd Linux checks the caller, then reads the struct */
	if (c->who.kind == KVMSHIM_KIND_VM) {
		if (creator_mismatch(c)) {
			answer(c, -EIO);
			return;
		}
		if (target_read(c, c->arg, &ghf, sizeof(ghf))) {
			answer(c, -EFAULT);
			return;
		}
		if (!still_waiting(c))
			return;
	}
	ret = ks_fd_request(c->dup, c->cmd, 0, &ghf, c->tgid, &token, NULL);
	if (ret) {
		answer(c, ret);
		return;
	}
	/* Linux: read-only, or write-only with KVM_GET_HTAB_WRITE */
	install_token(c, token,
		      ghf.flags & KS_GET_HTAB_WRITE ? O_WRONLY : O_RDONLY);
}

static void do_allocate_rma(struct call *c)
{
	struct kvmshim_fd_info info;
	uint64_t token, size;
	int memfd, fd, ret;

	ret = ks_fd_request(c->dup, c->cmd, 0, NULL, c->tgid, &token, NULL);
	if (ret) {
		answer(c, ret);
		return;
	}
	ret = ctl_claim(c->s->node->control, token, c->tgid, &memfd, &info);
	if (ret) {
		run_log("cannot claim the RMA for %d: %s", (int)c->tid,
			strerror(-ret));
		answer(c, ret == -ENOENT || ret == -ESRCH ? -ENOMEM : ret);
		return;
	}
	if (c->s->cfg->delays.install)
		sleep_ms(c->s->cfg->delays.install);
	/* Linux installs the fd, then writes rma_size (Q17) */
	fd = install(c, memfd, info.flags & KVMSHIM_FD_CLOEXEC, false);
	/* the daemon watches for the memfd's last reference: not ours */
	close(memfd);
	if (fd < 0 || !still_waiting(c))
		return;
	size = info.size;
	if (target_write(c, c->arg, &size, sizeof(size)))
		answer(c, -EFAULT);
	else
		answer(c, fd);
}

static int read_values(struct call *c, const struct ks_s390_cmma_log *log)
{
	size_t n = 0;

	/* only what SET will read: checks that fail first read nothing */
	if (!log->flags && log->count && log->count <= KS_S390_SKEYS_MAX)
		/* as far as readable: the daemon fails where the file ends */
		n = target_rw(c->tgid, log->values, c->s->vals, log->count,
			      false);
	if (n && pwrite(c->s->memfd, c->s->vals, n, 0) != (ssize_t)n)
		return -EIO;
	/* the file's size is the readable length; its pages stay */
	return ftruncate(c->s->memfd, (off_t)n) ? -errno : 0;
}

/* Linux's order: the values (row 9), then the struct (row 10). */
static long write_back(struct call *c, const struct ks_s390_cmma_log *log,
		       const struct kvmshim_ctl_cmma_out *out)
{
	size_t len = out->values_len;

	if (out->written & KVMSHIM_CMMA_WROTE_VALUES) {
		if (len > KS_S390_SKEYS_MAX ||
		    pread(c->s->memfd, c->s->vals, len, 0) != (ssize_t)len)
			return -EIO;
		if (!still_waiting(c))
			return 0;
		if (target_write(c, log->values, c->s->vals, len))
			return -EFAULT;
	}
	if (out->written & KVMSHIM_CMMA_WROTE_LOG) {
		if (!still_waiting(c))
			return 0;
		if (target_write(c, c->arg, out->log, sizeof(out->log)))
			return -EFAULT;
	}
	return out->result;
}

static void do_cmma(struct call *c, bool get)
{
	struct kvmshim_ctl_cmma in;
	struct kvmshim_ctl_cmma_out out;
	struct ks_s390_cmma_log log;
	uint64_t proof;
	long ret;

	/* the system fd (EINVAL) and HTAB fds (ENOTTY) are CUSE's to answer */
	if (c->who.kind != KVMSHIM_KIND_VM) {
		answer_continue(c, "not a VM fd");
		return;
	}
	if (creator_mismatch(c)) {
		answer(c, -EIO);
		return;
	}
	if (target_read(c, c->arg, &log, sizeof(log))) {
		answer(c, -EFAULT);
		return;
	}
	/* GET: the daemon says how many bytes it wrote */
	ret = get ? 0 : read_values(c, &log);
	if (ret) {
		answer(c, ret);
		return;
	}
	if (!still_waiting(c))
		return;
	memset(&in, 0, sizeof(in));
	in.cmd = c->cmd;
	in.arg = c->arg;
	memcpy(in.log, &log, sizeof(in.log));
	ret = ks_vm_proof(c->dup, &proof);
	if (!ret)
		ret = ctl_cmma(c->s->node->control, proof, c->tgid, &in,
			       c->s->memfd, &out);
	/* no answer after the request went out: it may have run */
	if (ret == -EAGAIN || ret == -EPROTO || ret == -ECONNRESET) {
		run_log("no answer from the daemon for a CMMA transfer of %d: "
			"%s",
			(int)c->tid, strerror((int)-ret));
		answer(c, -EIO);
		return;
	}
	if (ret) {
		/* it did not run: CUSE can still do it, within its limits */
		run_log("CMMA transfer for %d through the daemon failed (%s); "
			"passing it to the node",
			(int)c->tid, strerror((int)-ret));
		answer_continue(c, "the daemon could not run it");
		return;
	}
	ret = write_back(c, &log, &out);
	answer(c, ret);
}

static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Tgid:", 5)) {
			tgid = (pid_t)strtol(line + 5, NULL, 10);
			break;
		}
	}
	fclose(f);
	return tgid;
}

/* Is the fd the call names one of ours?  Sets c->dup and c->who. */
static bool ours(struct call *c)
{
	struct stat st;

	c->tgid = tgid_of(c->tid);
	if (c->tgid <= 0)
		return false;
	/* no thread pidfds before 6.9: the process's */
	c->pidfd = (int)syscall(SYS_pidfd_open, c->tgid, 0);
	if (c->pidfd < 0)
		return false;
	/* EBADF for the kernel to report; EPERM: not ours to look at */
	c->dup = (int)syscall(SYS_pidfd_getfd, c->pidfd, c->fd, 0);
	if (c->dup < 0) {
		if (errno != EBADF)
			run_log("cannot look at fd %d of %d: %m", c->fd,
				(int)c->tgid);
		return false;
	}
	if (fstat(c->dup, &st) || !S_ISCHR(st.st_mode) ||
	    !node_is_ours(c->s->node, st.st_rdev))
		return false;
	/* the tid, and so the tgid and the fd, belonged to the waiter */
	if (!still_waiting(c))
		return false;
	/* a node that no longer answers: let the kernel say so */
	return ks_whoami(c->dup, &c->who) == 0;
}

static uint32_t trap_kind(const struct run_node *n, uint32_t cmd)
{
	unsigned int i;

	for (i = 0; i < n->info.n_traps; i++)
		if (n->info.traps[i].cmd == cmd)
			return n->info.traps[i].kind;
	return 0;
}

static void serve(struct call *c)
{
	if (!c->kind || !ours(c)) {
		answer_continue(c, "not ours");
		return;
	}
	switch (c->kind) {
	case KVMSHIM_TRAP_CREATE_VM:
		do_create_vm(c);
		break;
	case KVMSHIM_TRAP_GET_HTAB_FD:
		do_get_htab_fd(c);
		break;
	case KVMSHIM_TRAP_ALLOCATE_RMA:
		do_allocate_rma(c);
		break;
	case KVMSHIM_TRAP_GET_CMMA_BITS:
	case KVMSHIM_TRAP_SET_CMMA_BITS:
		do_cmma(c, c->kind == KVMSHIM_TRAP_GET_CMMA_BITS);
		break;
	}
	/* every path answers; this only catches a slip */
	answer(c, -ENOTTY);
}

static void handle_one(struct sup *s)
{
	struct seccomp_notif *n = s->notif;
	struct call c;

	if (s->cfg->delays.recv)
		sleep_ms(s->cfg->delays.recv);
	memset(n, 0, s->sizes.seccomp_notif);
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n)) {
		/* ENOENT: interrupted before we took it */
		if (errno != ENOENT && errno != EINTR)
			run_log("cannot receive a notification: %m");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.id = n->id;
	c.tid = (pid_t)n->pid;
	c.pidfd = c.dup = -1;
	c.fd = (int)n->data.args[0];
	c.cmd = (uint32_t)n->data.args[1];
	c.arg = n->data.args[2];
	c.kind = n->data.nr == SYS_ioctl ? trap_kind(s->node, c.cmd) : 0;
	serve(&c);
	if (c.dup >= 0)
		close(c.dup);
	if (c.pidfd >= 0)
		close(c.pidfd);
}

/* ---- processes and signals ---- */

static void reap(struct sup *s)
{
	pid_t pid;
	int st;

	/* as subreaper, orphaned descendants come here too */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == s->child) {
			s->status = st;
			s->reaped = true;
		}
	}
	/* no child at all: no process under the filter is left */
	if (pid < 0 && errno == ECHILD && s->reaped)
		s->hup = true;
}

static void on_signal(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(s);
			break;
		case SIGINT:
		case SIGQUIT:
			/* the terminal sent it to the program as well */
			break;
		default:
			if (!s->reaped)
				kill(s->child, (int)si.ssi_signo);
		}
	}
}

void sup_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

static int sup_init(struct sup *s, const struct sup_config *cfg)
{
	sigset_t set;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->node = cfg->node;
	s->listener = cfg->listener;
	s->child = cfg->child;
	s->memfd = -1;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes))
		return -errno;
	/* the kernel's sizes, at least ours */
	if (s->sizes.seccomp_notif < sizeof(*s->notif))
		s->sizes.seccomp_notif = sizeof(*s->notif);
	if (s->sizes.seccomp_notif_resp < sizeof(*s->resp))
		s->sizes.seccomp_notif_resp = sizeof(*s->resp);
	s->notif = calloc(1, s->sizes.seccomp_notif);
	s->resp = calloc(1, s->sizes.seccomp_notif_resp);
	s->vals = malloc(KS_S390_SKEYS_MAX);
	if (!s->notif || !s->resp || !s->vals)
		return -ENOMEM;
	s->memfd =
		memfd_create("kvmshim-cmma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0)
		return -errno;
	/* blocked by the caller before the child was started */
	sup_signal_set(&set);
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->sigfd < 0 ? -errno : 0;
}

static void sup_free(struct sup *s)
{
	free(s->notif);
	free(s->resp);
	free(s->vals);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
}

int sup_run(const struct sup_config *cfg)
{
	struct pollfd pfd[2];
	struct sup s;
	int ret;

	ret = sup_init(&s, cfg);
	if (ret) {
		run_log("cannot supervise: %s", strerror(-ret));
		sup_free(&s);
		return ret;
	}
	reap(&s);
	while (!(s.reaped && s.hup)) {
		pfd[0] = (struct pollfd){ .fd = s.hup ? -1 : s.listener,
					  .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s.sigfd, .events = POLLIN };
		/* the timeout only guards against a lost SIGCHLD */
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			on_signal(&s);
		if (pfd[0].revents & POLLIN)
			handle_one(&s);
		else if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			/* nobody is left under the filter */
			s.hup = true;
		reap(&s);
	}
	ret = s.reaped ? s.status : -1;
	sup_free(&s);
	return ret;
}
