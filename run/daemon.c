// SPDX-License-Identifier: LGPL-2.1-or-later
/* kvmshim-run's side of kvmshimd's private ioctls and control socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "run.h"

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, cmd, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

int ks_whoami(int fd, struct kvmshim_whoami *w)
{
	memset(w, 0, sizeof(*w));
	return xioctl(fd, KVMSHIM_WHOAMI, w);
}

int ks_fd_request(int fd, uint32_t cmd, uint64_t arg, const void *data,
		  pid_t owner, uint64_t *token, uint64_t *rma_size)
{
	struct kvmshim_fd_request req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.cmd = cmd;
	req.flags = KVMSHIM_FD_SUPERVISED;
	req.arg = arg;
	if (data)
		memcpy(req.data, data, sizeof(req.data));
	req.owner_tgid = owner;
	ret = xioctl(fd, KVMSHIM_FD_REQUEST, &req);
	if (ret)
		return ret;
	*token = req.token;
	if (rma_size)
		*rma_size = req.rma_size;
	return 0;
}

int ks_bind(int fd, uint64_t token)
{
	return xioctl(fd, KVMSHIM_BIND, &token);
}

int ks_vm_proof(int fd, uint64_t *token)
{
	*token = 0;
	return xioctl(fd, KVMSHIM_VM_PROOF, token);
}

static const struct timeval ctl_timeout = { .tv_sec = 10 };

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a daemon that stops answering must not hold the program forever */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ctl_timeout,
		   sizeof(ctl_timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ctl_timeout,
		   sizeof(ctl_timeout));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

struct ctl_msg {
	const void *payload; /* request */
	size_t payload_len;
	int fd_out; /* sent with the request, or -1 */
	void *reply; /* reply payload */
	size_t reply_len; /* its size; set to the bytes received */
	int fd_in; /* received with the reply, or -1 */
};

static void take_fds(struct msghdr *m, int *fd_in)
{
	struct cmsghdr *c;
	int fd;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		size_t k, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0; k < n; k++) {
			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(fd));
			if (*fd_in < 0)
				*fd_in = fd;
			else
				close(fd);
		}
	}
}

static int ctl_send(int s, const struct kvmshim_ctl_request *req,
		    const struct ctl_msg *m)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov[2] = {
		{ .iov_base = (void *)req, .iov_len = sizeof(*req) },
		{ .iov_base = (void *)m->payload, .iov_len = m->payload_len },
	};
	struct msghdr msg = {
		.msg_iov = iov,
		.msg_iovlen = m->payload_len ? 2 : 1,
	};
	struct cmsghdr *c;

	if (m->fd_out >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &m->fd_out, sizeof(int));
	}
	return sendmsg(s, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* One request, one reply.  0 or -errno (transport, or the reply's). */
static int ctl_call(const char *path, const struct kvmshim_ctl_request *req,
		    struct ctl_msg *m, struct kvmshim_ctl_reply *rep)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov[2] = {
		{ .iov_base = rep, .iov_len = sizeof(*rep) },
		{ .iov_base = m->reply, .iov_len = m->reply_len },
	};
	struct msghdr msg = {
		.msg_iov = iov,
		.msg_iovlen = m->reply_len ? 2 : 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	ssize_t n;
	int s, ret;

	m->fd_in = -1;
	s = ctl_connect(path);
	if (s < 0)
		return s;
	ret = ctl_send(s, req, m);
	if (ret)
		goto out;
	memset(rep, 0, sizeof(*rep));
	do
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	take_fds(&msg, &m->fd_in);
	if ((size_t)n < sizeof(*rep) || (msg.msg_flags & MSG_TRUNC)) {
		ret = -EPROTO;
		goto out;
	}
	m->reply_len = (size_t)n - sizeof(*rep);
	ret = rep->error;
out:
	if (ret && m->fd_in >= 0) {
		close(m->fd_in);
		m->fd_in = -1;
	}
	close(s);
	return ret;
}

int ctl_run_info(const char *control, struct kvmshim_run_info *info)
{
	struct kvmshim_ctl_request req = { .op = KVMSHIM_CTL_RUN_INFO };
	struct kvmshim_ctl_reply rep;
	struct ctl_msg m = {
		.fd_out = -1,
		.reply = info,
		.reply_len = sizeof(*info),
	};
	int ret;

	memset(info, 0, sizeof(*info));
	ret = ctl_call(control, &req, &m, &rep);
	if (!ret && m.reply_len != sizeof(*info))
		ret = -EPROTO;
	if (!ret && info->n_traps > KVMSHIM_RUN_TRAPS_MAX)
		ret = -EPROTO;
	return ret;
}

int ctl_claim(const char *control, uint64_t token, pid_t owner, int *fd,
	      struct kvmshim_fd_info *info)
{
	struct kvmshim_ctl_request req = {
		.op = KVMSHIM_CTL_CLAIM,
		.token = token,
		.owner_tgid = owner,
	};
	struct kvmshim_ctl_reply rep;
	struct ctl_msg m = { .fd_out = -1 };
	int ret;

	*fd = -1;
	ret = ctl_call(control, &req, &m, &rep);
	if (!ret && m.fd_in < 0)
		ret = -EPROTO;
	if (ret)
		return ret;
	*fd = m.fd_in;
	*info = rep.info;
	return 0;
}

int ctl_cmma(const char *control, uint64_t proof, pid_t client,
	     const struct kvmshim_ctl_cmma *in, int memfd,
	     struct kvmshim_ctl_cmma_out *out)
{
	struct kvmshim_ctl_request req = {
		.op = KVMSHIM_CTL_CMMA,
		.token = proof,
		.owner_tgid = client,
	};
	struct kvmshim_ctl_reply rep;
	struct ctl_msg m = {
		.payload = in,
		.payload_len = sizeof(*in),
		.fd_out = memfd,
		.reply = out,
		.reply_len = sizeof(*out),
	};
	int ret;

	ret = ctl_call(control, &req, &m, &rep);
	if (m.fd_in >= 0)
		close(m.fd_in);
	if (!ret && m.reply_len != sizeof(*out))
		ret = -EPROTO;
	return ret;
}

bool node_is_ours(const struct run_node *n, dev_t rdev)
{
	return rdev == n->rdev_sys || (n->has_vm && rdev == n->rdev_vm);
}

int node_probe(struct run_node *n)
{
	struct kvmshim_whoami w;
	struct stat st;
	int fd, ret;

	if (stat(n->path, &st))
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENODEV;
	n->rdev_sys = st.st_rdev;
	n->has_vm = !stat(n->vm_path, &st) && S_ISCHR(st.st_mode);
	n->rdev_vm = n->has_vm ? st.st_rdev : 0;
	fd = open(n->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ks_whoami(fd, &w);
	close(fd);
	/* anything but a kvmshim system node refuses WHOAMI */
	if (ret)
		return ret == -EINVAL || ret == -ENOTTY ? -ENODEV : ret;
	if (w.kind != KVMSHIM_KIND_SYSTEM)
		return -ENODEV;
	return ctl_run_info(n->control, &n->info);
}
