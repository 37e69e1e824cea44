// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The CUSE front end of one node: every request goes to the engine, and
 * every request gets exactly one reply.
 */
#define FUSE_USE_VERSION 314
#include <cuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "node.h"
#include "xfer.h"

/* What fi->fh points to: one open file description of a node. */
struct node_open {
	struct ks_handle *h;
	struct xfer_table xfer;
	struct node_open *next;
	struct node_open *prev;
};

static void opens_add(struct node *n, struct node_open *o)
{
	pthread_mutex_lock(&n->opens_lock);
	o->next = n->opens;
	if (n->opens)
		n->opens->prev = o;
	n->opens = o;
	pthread_mutex_unlock(&n->opens_lock);
}

static void opens_del(struct node *n, struct node_open *o)
{
	pthread_mutex_lock(&n->opens_lock);
	if (o->prev)
		o->prev->next = o->next;
	else
		n->opens = o->next;
	if (o->next)
		o->next->prev = o->prev;
	pthread_mutex_unlock(&n->opens_lock);
}

static void open_free(struct node_open *o)
{
	ks_release(o->h);
	xfer_table_destroy(&o->xfer);
	free(o);
}

pid_t node_tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = 0;
	FILE *f;

	if (tid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Tgid:", 5)) {
			tgid = (pid_t)strtol(line + 5, NULL, 10);
			break;
		}
	}
	fclose(f);
	return tgid;
}

static void req_caller(fuse_req_t req, struct ks_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->tid = ctx->pid;
	c->tgid = node_tgid_of(ctx->pid);
	c->uid = ctx->uid;
	c->gid = ctx->gid;
}

static struct node_open *fi_open(struct fuse_file_info *fi)
{
	return (struct node_open *)(uintptr_t)fi->fh;
}

static void node_init_done(void *userdata)
{
	struct node *n = userdata;

	if (n->ev.init_done)
		n->ev.init_done(n->ev.opaque, n);
}

static void node_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct node *n = fuse_req_userdata(req);
	struct node_open *o;
	struct ks_caller c;
	int ret;

	o = calloc(1, sizeof(*o));
	if (!o) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	req_caller(req, &c);
	ret = ks_open(n->eng, n->kind, fi->flags, &c, &o->h);
	if (ret) {
		free(o);
		fuse_reply_err(req, -ret);
		return;
	}
	xfer_table_init(&o->xfer);
	fi->fh = (uintptr_t)o;
	/* the file position means nothing to any kvmshim handle */
	fi->nonseekable = 1;
	opens_add(n, o);
	if (fuse_reply_open(req, fi)) {
		/* the opener is gone: no RELEASE will come */
		opens_del(n, o);
		open_free(o);
	}
}

static void node_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct node *n = fuse_req_userdata(req);
	struct node_open *o = fi_open(fi);

	opens_del(n, o);
	open_free(o);
	fuse_reply_err(req, 0);
}

static struct ks_chunk node_chunk(off_t off)
{
	struct ks_chunk ch = {
		.offset = (uint64_t)off,
		.cap = xfer_cap(),
		.page_size = (size_t)sysconf(_SC_PAGESIZE),
	};
	return ch;
}

static void node_read(fuse_req_t req, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct node_open *o = fi_open(fi);
	struct ks_chunk ch = node_chunk(off);
	struct ks_caller c;
	ssize_t ret;
	void *buf;

	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	req_caller(req, &c);
	ret = ks_read(o->h, buf, size, &ch, &c);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_buf(req, buf, (size_t)ret);
	free(buf);
}

static void node_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct node_open *o = fi_open(fi);
	struct ks_chunk ch = node_chunk(off);
	struct ks_caller c;
	ssize_t ret;

	req_caller(req, &c);
	ret = ks_write(o->h, buf, size, &ch, &c);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_write(req, (size_t)ret);
}

static long node_ioctl_handler(void *obj, uint32_t cmd, uint64_t arg,
			       struct ks_uctx *u)
{
	return ks_ioctl(obj, cmd, arg, u);
}

static void node_ioctl(fuse_req_t req, int cmd, void *arg,
		       struct fuse_file_info *fi, unsigned int flags,
		       const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct node_open *o = fi_open(fi);
	struct xfer_request r = {
		.req = req,
		.cmd = (uint32_t)cmd,
		.arg = (uint64_t)(uintptr_t)arg,
		.in_buf = in_buf,
		.in_size = in_bufsz,
		.out_size = out_bufsz,
	};

	/* D5: 32-bit callers have other layouts and 32-bit retry iovecs */
	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	req_caller(req, &r.caller);
	xfer_ioctl(&o->xfer, &r, node_ioctl_handler, o->h);
}

static const struct cuse_lowlevel_ops node_ops = {
	.init_done = node_init_done,
	.open = node_open,
	.read = node_read,
	.write = node_write,
	.release = node_release,
	.ioctl = node_ioctl,
	/* no poll: CUSE then reports the fd as always ready, like Linux */
};

static void *node_worker(void *arg)
{
	struct node *n = arg;
	struct fuse_buf buf = { .mem = NULL };
	struct pollfd pfd[2] = {
		{ .fd = fuse_session_fd(n->se), .events = POLLIN },
		{ .fd = n->stop_fd, .events = POLLIN },
	};
	int res;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		res = fuse_session_receive_buf(n->se, &buf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			if (n->ev.gone)
				n->ev.gone(n->ev.opaque, n);
			break;
		}
		fuse_session_process_buf(n->se, &buf);
	}
	free(buf.mem);
	return NULL;
}

int node_start(struct node *n, int cuse_fd)
{
	char devname[96], mnt[32];
	const char *dev_info[] = { devname };
	/* libfuse wants argv[0] and nothing it does not know */
	const char *argv[] = { "kvmshimd" };
	struct fuse_args args = FUSE_ARGS_INIT(1, (char **)argv);
	struct cuse_info ci = {
		.dev_info_argc = 1,
		.dev_info_argv = dev_info,
		.flags = CUSE_UNRESTRICTED_IOCTL,
	};
	unsigned int i;
	int flags;

	snprintf(devname, sizeof(devname), "DEVNAME=%s", n->name);
	pthread_mutex_init(&n->opens_lock, NULL);
	n->opens = NULL;
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0)
		return -errno;
	n->se = cuse_lowlevel_new(&args, &ci, &node_ops, n);
	if (!n->se)
		goto err;
	/* workers poll, so a read must never block */
	flags = fcntl(cuse_fd, F_GETFL);
	fcntl(cuse_fd, F_SETFL, flags | O_NONBLOCK);
	fcntl(cuse_fd, F_SETFD, FD_CLOEXEC);
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", cuse_fd);
	if (fuse_session_mount(n->se, mnt))
		goto err_se;
	if (!n->n_workers || n->n_workers > NODE_MAX_WORKERS)
		n->n_workers = 4;
	for (i = 0; i < n->n_workers; i++) {
		if (pthread_create(&n->workers[i], NULL, node_worker, n)) {
			n->n_workers = i;
			node_stop(n);
			return -EAGAIN;
		}
	}
	return 0;
err_se:
	fuse_session_destroy(n->se);
	n->se = NULL;
err:
	close(n->stop_fd);
	n->stop_fd = -1;
	return -ENOMEM;
}

void node_stop(struct node *n)
{
	uint64_t one = 1;
	unsigned int i;

	if (n->stop_fd >= 0 && write(n->stop_fd, &one, sizeof(one)) < 0)
		ks_log(LOG_ERR, "cannot stop workers: %m");
	for (i = 0; i < n->n_workers; i++)
		pthread_join(n->workers[i], NULL);
	n->n_workers = 0;
	if (n->se) {
		/* closing the /dev/cuse fd removes the node */
		fuse_session_destroy(n->se);
		n->se = NULL;
	}
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	n->stop_fd = -1;
	/* the connection is gone: no RELEASE will come for these */
	while (n->opens) {
		struct node_open *o = n->opens;

		opens_del(n, o);
		open_free(o);
	}
}
