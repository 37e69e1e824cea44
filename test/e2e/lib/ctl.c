// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

void e2e_ctl_path(const char *name, char *buf, size_t size)
{
	const char *dir = getenv("KVMSHIM_CTL_DIR");

	snprintf(buf, size, "%s/%s.sock", dir && *dir ? dir : "/run/kvmshim",
		 name);
}

int e2e_ctl_connect(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	e2e_ctl_path(name, sa.sun_path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* One request, one reply; a passed fd lands in *fd (or -1). */
static int ctl_call(const char *name, const struct kvmshim_ctl_request *req,
		    struct kvmshim_ctl_reply *rep, char *payload, size_t size,
		    int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = {
		{ rep, sizeof(*rep) },
		{ payload, size },
	};
	struct msghdr msg = {
		.msg_iov = iov,
		.msg_iovlen = payload ? 2 : 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int s, ret = 0;

	if (fd)
		*fd = -1;
	s = e2e_ctl_connect(name);
	if (s < 0)
		return s;
	if (send(s, req, sizeof(*req), 0) != sizeof(*req)) {
		ret = -errno;
		goto out;
	}
	memset(rep, 0, sizeof(*rep));
	n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(got));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	if ((size_t)n < sizeof(*rep))
		ret = -EPROTO;
	else if (payload && size)
		payload[(size_t)n - sizeof(*rep) < size ?
				(size_t)n - sizeof(*rep) :
				size - 1] = '\0';
out:
	close(s);
	return ret;
}

int e2e_ctl_claim(const char *name, uint64_t token, pid_t owner, int *fd,
		  struct kvmshim_fd_info *info)
{
	struct kvmshim_ctl_request req = {
		.op = KVMSHIM_CTL_CLAIM,
		.token = token,
		.owner_tgid = owner,
	};
	struct kvmshim_ctl_reply rep;
	int ret;

	ret = ctl_call(name, &req, &rep, NULL, 0, fd);
	if (!ret && rep.error)
		ret = rep.error;
	if (!ret && *fd < 0)
		ret = -EPROTO;
	if (ret && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (!ret && info)
		*info = rep.info;
	return ret;
}

int e2e_ctl_status(const char *name, char *buf, size_t size)
{
	struct kvmshim_ctl_request req = { .op = KVMSHIM_CTL_STATUS };
	struct kvmshim_ctl_reply rep;
	int ret;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	ret = ctl_call(name, &req, &rep, buf, size, NULL);
	if (!ret && rep.error)
		ret = rep.error;
	return ret ? ret : (int)strlen(buf);
}

long long e2e_status_sum(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;
	long long sum = -1;

	while ((p = strstr(p, key))) {
		bool word =
			(p == text ||
			 !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
			!(isalnum((unsigned char)p[klen]) || p[klen] == '_');
		const char *q = p + klen;

		p += klen;
		if (!word)
			continue;
		while (*q == ' ' || *q == '\t' || *q == ':' || *q == '=')
			q++;
		if (!isdigit((unsigned char)*q))
			continue;
		sum = (sum < 0 ? 0 : sum) + strtoll(q, NULL, 10);
	}
	return sum;
}
