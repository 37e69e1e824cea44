// SPDX-License-Identifier: LGPL-2.1-or-later
/* The control socket: status for kvmshimctl, fd claims for launchers. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/token.h"
#include "control.h"
#include "procstat.h"
#include "xfer.h"

#define CTL_MAX_OPS 32

struct ctl_op {
	uint32_t op;
	const char *name;
	ctl_handler fn;
};

static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctl_op ops[CTL_MAX_OPS];
static unsigned int n_ops;

struct ctl_client {
	int fd;
	struct ucred peer;
	uint64_t last_ns;
};

struct ctl_server {
	struct ctl_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int stop_fd;
	pthread_t thread;
	bool running;
	struct ctl_client clients[CTL_MAX_CLIENTS];
	unsigned int n_clients;
	uint8_t *buf;
};

int ctl_register(uint32_t op, const char *name, ctl_handler fn)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&ops_lock);
	for (i = 0; i < n_ops && ops[i].op != op; i++)
		;
	if (i == CTL_MAX_OPS) {
		ret = -ENOSPC;
	} else {
		ops[i].op = op;
		ops[i].name = name;
		ops[i].fn = fn;
		if (i == n_ops)
			n_ops++;
	}
	pthread_mutex_unlock(&ops_lock);
	return ret;
}

static const struct ctl_op *find_op(uint32_t op)
{
	const struct ctl_op *found = NULL;
	unsigned int i;

	pthread_mutex_lock(&ops_lock);
	for (i = 0; i < n_ops; i++)
		if (ops[i].op == op)
			found = &ops[i];
	pthread_mutex_unlock(&ops_lock);
	return found;
}

const char *ctl_op_name(uint32_t op)
{
	const struct ctl_op *o = find_op(op);

	return o ? o->name : NULL;
}

int ctl_append(struct ctl_call *c, const void *data, size_t len)
{
	return sb_append(&c->data, data, len);
}

int ctl_printf(struct ctl_call *c, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	ret = sb_append(&c->data, s, (size_t)n);
	free(s);
	return ret;
}

void ctl_dispatch(struct ctl_call *c)
{
	const struct ctl_op *o = find_op(c->req->op);
	int ret = o ? o->fn(c) : -EOPNOTSUPP;

	if (ret > 0)
		ret = 0;
	if (ret && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->reply.error = ret;
	c->reply.len = (uint32_t)c->data.len;
}

#define TRUNCATED_NOTE "[truncated]\n"

static int op_status(struct ctl_call *c)
{
	struct ctl_server *s = c->server;
	int ret;

	if (!s || !s->cfg.status)
		return -EOPNOTSUPP;
	/* leave room to say that the text was cut */
	c->data.max = CTL_MAX_REPLY - sizeof(TRUNCATED_NOTE);
	ret = s->cfg.status(s->cfg.opaque, &c->data);
	c->data.max = CTL_MAX_REPLY;
	if (!ret && c->data.truncated)
		ret = ctl_append(c, TRUNCATED_NOTE, strlen(TRUNCATED_NOTE));
	return ret;
}

static int op_claim(struct ctl_call *c)
{
	pid_t owner = c->req->owner_tgid ? c->req->owner_tgid : c->peer.pid;
	long uid;
	int fd = -1, ret;

	/* a launcher claims for its client: it must be that user or root */
	if (owner != c->peer.pid) {
		uid = proc_uid_of(owner);
		if (uid < 0)
			return -ESRCH;
		if (c->peer.uid != 0 && (uid_t)uid != c->peer.uid)
			return -EPERM;
	}
	ret = ks_token_claim_fd(c->eng, c->req->token, owner, &fd,
				&c->reply.info);
	if (ret)
		return ret;
	c->fd = fd;
	return 0;
}

/* A socket at path that nobody answers on is a dead instance's. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (!ret)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return -errno;
	return unlink(path) ? -errno : 0;
}

static int make_parent(const char *path, uid_t owner)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *d;

	snprintf(dir, sizeof(dir), "%s", path);
	d = dirname(dir);
	if (mkdir(d, 0755))
		return errno == EEXIST ? 0 : -errno;
	/* so that the daemon can remove its socket after dropping root */
	if (owner != (uid_t)-1 && chown(d, owner, (gid_t)-1))
		return -errno;
	return 0;
}

int ctl_open(struct ctl_server **out, const struct ctl_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *s;
	int ret;

	if (strlen(cfg->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->stop_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", cfg->path);
	s->cfg.path = s->path;
	ret = make_parent(s->path, cfg->dir_owner);
	if (!ret)
		ret = clear_stale(s->path);
	if (ret)
		goto err;
	s->listen_fd = socket(AF_UNIX,
			      SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		ret = -errno;
		goto err;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->listen_fd, 16)) {
		ret = -errno;
		close(s->listen_fd);
		goto err;
	}
	ctl_register(KVMSHIM_CTL_STATUS, "status", op_status);
	ctl_register(KVMSHIM_CTL_CLAIM, "claim", op_claim);
	*out = s;
	return 0;
err:
	free(s);
	return ret;
}

static void client_close(struct ctl_server *s, unsigned int i)
{
	close(s->clients[i].fd);
	s->clients[i] = s->clients[--s->n_clients];
}

static void client_accept(struct ctl_server *s)
{
	struct ctl_client *c;
	socklen_t len;
	int fd;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (s->n_clients == CTL_MAX_CLIENTS) {
		close(fd);
		return;
	}
	c = &s->clients[s->n_clients];
	len = sizeof(c->peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len)) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->last_ns = xfer_now_ns();
	s->n_clients++;
}

static int send_reply(int fd, struct ctl_call *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov[2] = {
		{ .iov_base = &c->reply, .iov_len = sizeof(c->reply) },
		{ .iov_base = c->data.p, .iov_len = c->data.len },
	};
	struct msghdr m = {
		.msg_iov = iov,
		.msg_iovlen = c->data.len ? 2 : 1,
	};
	struct cmsghdr *cm;

	if (c->fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &c->fd, sizeof(int));
	}
	return sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receives one request and the fds that came with it. */
static ssize_t recv_request(struct ctl_server *s, int fd, struct ctl_call *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(CTL_MAX_FDS * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = s->buf, .iov_len = CTL_MAX_REQUEST };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	size_t k;

	n = recvmsg(fd, &m, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) &&
			    c->n_in_fds < CTL_MAX_FDS;
		     k++)
			memcpy(&c->in_fds[c->n_in_fds++],
			       CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
	}
	return n;
}

static void close_in_fds(struct ctl_call *c)
{
	unsigned int i;

	for (i = 0; i < c->n_in_fds; i++)
		if (c->in_fds[i] >= 0)
			close(c->in_fds[i]);
	c->n_in_fds = 0;
}

/* false: the connection is finished. */
static bool client_serve(struct ctl_server *s, struct ctl_client *cl)
{
	struct kvmshim_ctl_request req;
	struct ctl_call c;
	ssize_t n;
	int ret;

	memset(&c, 0, sizeof(c));
	n = recv_request(s, cl->fd, &c);
	if (n <= 0) {
		close_in_fds(&c);
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	}
	cl->last_ns = xfer_now_ns();
	c.server = s;
	c.eng = s->cfg.eng;
	c.opaque = s->cfg.opaque;
	c.peer = cl->peer;
	c.fd = -1;
	c.data.max = CTL_MAX_REPLY;
	if (n > CTL_MAX_REQUEST) {
		c.reply.error = -EMSGSIZE;
	} else if ((size_t)n < sizeof(req)) {
		c.reply.error = -EINVAL;
	} else {
		memcpy(&req, s->buf, sizeof(req));
		c.req = &req;
		c.payload = s->buf + sizeof(req);
		c.payload_len = (size_t)n - sizeof(req);
		ctl_dispatch(&c);
	}
	close_in_fds(&c);
	ret = send_reply(cl->fd, &c);
	if (c.fd >= 0)
		close(c.fd);
	sb_free(&c.data);
	return ret == 0;
}

static int ctl_timeout(struct ctl_server *s, uint64_t now)
{
	uint64_t first = UINT64_MAX, idle = (uint64_t)CTL_IDLE_MS * 1000000ULL;
	unsigned int i;

	for (i = 0; i < s->n_clients; i++)
		if (s->clients[i].last_ns + idle < first)
			first = s->clients[i].last_ns + idle;
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)((first - now) / 1000000ULL) + 1;
}

static void *ctl_thread(void *arg)
{
	struct ctl_server *s = arg;
	struct pollfd pfd[CTL_MAX_CLIENTS + 2];
	uint64_t now, idle = (uint64_t)CTL_IDLE_MS * 1000000ULL;
	unsigned int i, n;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		pfd[1] =
			(struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		n = s->n_clients;
		for (i = 0; i < n; i++)
			pfd[i + 2] = (struct pollfd){ .fd = s->clients[i].fd,
						      .events = POLLIN };
		if (poll(pfd, n + 2, ctl_timeout(s, xfer_now_ns())) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		now = xfer_now_ns();
		/* backwards, so that closing one does not skip another */
		for (i = n; i-- > 0;) {
			if (pfd[i + 2].revents &&
			    !client_serve(s, &s->clients[i]))
				client_close(s, i);
			else if (s->clients[i].last_ns + idle <= now)
				client_close(s, i);
		}
		if (pfd[1].revents)
			client_accept(s);
	}
	return NULL;
}

int ctl_start(struct ctl_server *s)
{
	int err;

	s->buf = malloc(CTL_MAX_REQUEST);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!s->buf || s->stop_fd < 0)
		return -ENOMEM;
	err = pthread_create(&s->thread, NULL, ctl_thread, s);
	if (err)
		return -err;
	s->running = true;
	return 0;
}

void ctl_close(struct ctl_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (s->running) {
		if (write(s->stop_fd, &one, sizeof(one)) < 0)
			ks_log(LOG_ERR, "cannot stop the control thread: %m");
		pthread_join(s->thread, NULL);
	}
	while (s->n_clients)
		client_close(s, 0);
	close(s->listen_fd);
	/* fails without write access to the directory: then the next
	 * start replaces the stale socket */
	if (unlink(s->path) && errno != ENOENT)
		ks_log(LOG_DEBUG, "cannot remove %s: %m", s->path);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->buf);
	free(s);
}
