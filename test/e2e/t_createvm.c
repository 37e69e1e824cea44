// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_CREATE_VM through a real CUSE node: the type rules of each
 * architecture on the plain ioctl (D6), and the private path
 * KVMSHIM_FD_REQUEST + KVMSHIM_BIND that turns an open of the system node
 * into a working VM fd, including the launcher's supervised variant.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"

static long fd_request(int fd, unsigned long cmd, unsigned long arg,
		       unsigned int flags, pid_t owner,
		       struct kvmshim_fd_request *req)
{
	memset(req, 0, sizeof(*req));
	req->cmd = (unsigned int)cmd;
	req->arg = arg;
	req->flags = flags;
	req->owner_tgid = owner;
	return e2e_ioctl(fd, KVMSHIM_FD_REQUEST, (unsigned long)req);
}

static long bind_token(int fd, uint64_t token)
{
	return e2e_ioctl(fd, KVMSHIM_BIND, (unsigned long)&token);
}

/* Runs fn in a child and returns its exit status. */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct child_args {
	const char *path;
	int fd;
	uint64_t token;
};

/* EIO on an inherited VM fd: exit 0 if so */
static int child_uses_vm(void *arg)
{
	struct child_args *a = arg;

	return e2e_ioctl(a->fd, KS_CHECK_EXTENSION, 105) == -EIO ? 0 : 1;
}

/* another process cannot bind our token: exit 0 if it gets ENOTTY */
static int child_binds(void *arg)
{
	struct child_args *a = arg;
	int fd = open(a->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 2;
	return bind_token(fd, a->token) == -ENOTTY ? 0 : 1;
}

static void plain_types(void)
{
	struct e2e_daemon d;
	int sys;

	e2e_daemon_start(&d, "ks-cvm-ppc", "--profile", "power8", NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, 0), -EOPNOTSUPP,
	       "ppc: type 0 passes its checks, then needs the launcher");
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, 1), -EOPNOTSUPP,
	       "ppc: type 1 (HV) likewise");
	e2e_is(e2e_ioctl(sys, 0x2000AE01, 1), -EOPNOTSUPP,
	       "ppc: the powerpc encoding likewise");
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, 2), -EINVAL,
	       "ppc: type 2 (PR) is EINVAL");
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, 3), -EINVAL, "ppc: type 3");
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, (1UL << 32) | 1), -EINVAL,
	       "ppc: high bits of the type");
	close(sys);
	e2e_daemon_stop(&d);

	e2e_daemon_start(&d, "ks-cvm-s390", "--profile", "s390x", NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, 0), -EOPNOTSUPP,
	       "s390x: type 0 needs the launcher");
	e2e_is(e2e_ioctl(sys, KS_CREATE_VM, 1), -EINVAL,
	       "s390x: UCONTROL is EINVAL");
	e2e_is(e2e_ioctl(sys, 0x2000AE01, 0), -EINVAL,
	       "s390x: the powerpc encoding is unknown");
	close(sys);
	e2e_daemon_stop(&d);
}

static void token_path(void)
{
	struct kvmshim_fd_request req;
	struct kvmshim_whoami w;
	struct child_args a;
	struct e2e_daemon d;
	int sys, vmnode, ro, nfd;
	uint64_t tok;

	e2e_daemon_start(&d, "ks-cvm-tok", "--profile", "ppc970", NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	vmnode = e2e_open(d.vm_path, O_RDWR);

	e2e_is(fd_request(sys, KS_CREATE_VM, 2, 0, 0, &req), -EINVAL,
	       "FD_REQUEST: type 2 is EINVAL");
	e2e_is(fd_request(sys, KS_ALLOCATE_RMA, 0, 0, 0, &req), -EINVAL,
	       "FD_REQUEST: ALLOCATE_RMA on the system fd is EINVAL");
	e2e_is(fd_request(vmnode, KS_CREATE_VM, 0, 0, 0, &req), -ENOTTY,
	       "FD_REQUEST: CREATE_VM on a VM fd is ENOTTY");
	e2e_is(fd_request(sys, KS_CHECK_EXTENSION, 0, 0, 0, &req), -EINVAL,
	       "FD_REQUEST: not an fd-returning ioctl");
	e2e_is(fd_request(sys, KS_CREATE_VM, 0, 4, 0, &req), -EINVAL,
	       "FD_REQUEST: unknown flags");
	e2e_is(e2e_ioctl(sys, KVMSHIM_FD_REQUEST, 16), -EFAULT,
	       "FD_REQUEST: unreadable struct");

	e2e_is(fd_request(sys, KS_CREATE_VM, KS_VM_PPC_HV, 0, 0, &req), 0,
	       "FD_REQUEST CREATE_VM(1) gives a token");
	tok = req.token;
	e2e_ok(tok != 0, "the token is not 0");

	ro = e2e_open(d.sys_path, O_RDONLY);
	e2e_is(bind_token(ro, tok), -EBADF, "BIND on a read-only open: EBADF");
	e2e_is(bind_token(vmnode, tok), -ENOTTY, "BIND on a VM fd: ENOTTY");
	e2e_is(bind_token(ro, tok ^ 0x10), -ENOTTY,
	       "BIND with an unknown token: ENOTTY");
	a.path = d.sys_path;
	a.token = tok;
	e2e_is(in_child(child_binds, &a), 0,
	       "BIND from another process: ENOTTY");

	nfd = e2e_open(d.sys_path, O_RDWR);
	e2e_is(bind_token(nfd, tok), 0, "BIND on a fresh read-write open");
	e2e_is(bind_token(sys, tok), -ENOTTY, "a used token: ENOTTY");
	memset(&w, 0, sizeof(w));
	e2e_is(e2e_ioctl(nfd, KVMSHIM_WHOAMI, (unsigned long)&w), 0,
	       "WHOAMI on the bound open");
	e2e_is(w.kind, KVMSHIM_KIND_VM, "it is a VM");
	e2e_is(w.creator_tgid, getpid(), "created by us");
	e2e_ok(w.vm_id != 0, "with a VM id");
	e2e_is(e2e_ioctl(nfd, KS_CHECK_EXTENSION, 65), 2,
	       "CHECK_EXTENSION works on it");
	e2e_is(e2e_ioctl(nfd, KS_GET_API_VERSION, 0), -ENOTTY,
	       "system ioctls are unknown on it");
	e2e_is(e2e_ioctl(nfd, KS_ALLOCATE_RMA, 0), -EOPNOTSUPP,
	       "VM ioctls reach the VM (ALLOCATE_RMA needs the launcher)");
	a.fd = nfd;
	e2e_is(in_child(child_uses_vm, &a), 0,
	       "a forked child gets EIO on it (VM-creator check)");
	e2e_is(bind_token(nfd, tok), -ENOTTY, "a bound open cannot rebind");
	close(nfd);
	close(ro);
	close(vmnode);
	close(sys);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
}

/* The launcher's flow: a VM created for its client, passed over a socket. */
static void supervised(void)
{
	struct kvmshim_fd_request req;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	struct e2e_daemon d;
	int sv[2], sys, nfd, status;
	pid_t child;
	char b;

	e2e_daemon_start(&d, "ks-cvm-sup", "--profile", "s390x", NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		e2e_bail("socketpair: %m");
	fflush(stdout);
	child = fork();
	if (child == 0) {
		int fd = -1;

		close(sv[0]);
		iov.iov_base = &b;
		iov.iov_len = 1;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(2);
		c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_type != SCM_RIGHTS)
			_exit(3);
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		/* we are the VM's creator, the launcher is not */
		_exit(e2e_ioctl(fd, KS_CHECK_EXTENSION, 145) == 1 ? 0 : 1);
	}
	close(sv[1]);
	sys = e2e_open(d.sys_path, O_RDWR);
	e2e_is(fd_request(sys, KS_CREATE_VM, 0, KVMSHIM_FD_SUPERVISED, 0, &req),
	       -EINVAL, "supervised without a client: EINVAL");
	e2e_is(fd_request(sys, KS_CREATE_VM, 0, KVMSHIM_FD_SUPERVISED, 1, &req),
	       -EPERM, "supervised for a process we do not run (init): EPERM");
	e2e_is(fd_request(sys, KS_CREATE_VM, 0, KVMSHIM_FD_SUPERVISED, child,
			  &req),
	       0, "supervised CREATE_VM for the client");
	nfd = e2e_open(d.sys_path, O_RDWR);
	e2e_is(bind_token(nfd, req.token), 0, "the launcher binds it");
	e2e_is(e2e_ioctl(nfd, KS_CHECK_EXTENSION, 145), -EIO,
	       "the launcher is not the VM's creator");
	iov.iov_base = &b;
	iov.iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &nfd, sizeof(nfd));
	b = 'v';
	if (sendmsg(sv[0], &msg, 0) != 1)
		e2e_bail("sendmsg: %m");
	close(nfd);
	if (waitpid(child, &status, 0) != child)
		e2e_bail("waitpid: %m");
	e2e_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the client uses the VM fd it received");
	close(sv[0]);
	close(sys);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
}

int main(void)
{
	plain_types();
	token_path();
	supervised();
	return e2e_done();
}
