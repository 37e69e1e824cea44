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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "logging.h"
#include "node.h"
#include "procstat.h"
#include "trace.h"

/* What fi->fh points to: one open file description of a node. */
struct node_open {
	struct ks_handle *h;
	struct xfer_table xfer;
	struct node_open *next;
	struct node_open *prev;
};

/* One request being served, for the log and --trace. */
struct node_req {
	struct node *n;
	struct trace_who who;
	uint64_t start_ns;
	struct log_fields lf;
	uint32_t cmd;
	uint64_t arg;
};

static void opens_add(struct node *n, struct node_open *o)
{
	pthread_mutex_lock(&n->opens_lock);
	o->prev = NULL;
	o->next = n->opens;
	if (n->opens)
		n->opens->prev = o;
	n->opens = o;
	n->n_opens++;
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
	n->n_opens--;
	pthread_mutex_unlock(&n->opens_lock);
}

static void open_free(struct node_open *o)
{
	ks_release(o->h);
	xfer_table_destroy(&o->xfer);
	free(o);
}

static void req_caller(fuse_req_t req, struct ks_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->tid = ctx->pid;
	c->tgid = proc_tgid_of(ctx->pid);
	c->uid = ctx->uid;
	c->gid = ctx->gid;
}

static void req_begin(struct node_req *q, struct node *n, fuse_req_t req,
		      struct ks_handle *h)
{
	memset(q, 0, sizeof(*q));
	q->n = n;
	q->who.pid = fuse_req_ctx(req)->pid;
	q->start_ns = xfer_now_ns();
	if (h) {
		q->who.known = true;
		q->who.kind = ks_handle_kind(h);
		q->who.vm = ks_handle_vm_id(h);
	}
	q->lf.vm = q->who.vm;
	q->lf.pid = q->who.pid;
	log_set_request(&q->lf);
}

static void req_end(struct node_req *q)
{
	(void)q;
	log_set_request(NULL);
}

static void req_trace(struct node_req *q, const char *call, long result)
{
	if (q->n->trace)
		trace_emit(&q->who, q->lf.ioctl, call, result, q->start_ns, 1);
}

static struct node_open *fi_open(struct fuse_file_info *fi)
{
	return (struct node_open *)(uintptr_t)fi->fh;
}

static void node_init_done(void *userdata)
{
	struct node *n = userdata;

	atomic_store(&n->init_done, true);
	if (n->ev.init_done)
		n->ev.init_done(n->ev.opaque, n);
}

static const char *accmode_name(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		return "O_RDONLY";
	case O_WRONLY:
		return "O_WRONLY";
	case O_RDWR:
		return "O_RDWR";
	}
	return "O_ACCMODE";
}

static void node_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct node *n = fuse_req_userdata(req);
	struct node_open *o = NULL;
	struct node_req q;
	struct ks_caller c;
	char call[64];
	int ret;

	req_begin(&q, n, req, NULL);
	snprintf(call, sizeof(call), "open(%s%s)", accmode_name(fi->flags),
		 fi->flags & O_NONBLOCK ? "|O_NONBLOCK" : "");
	ret = -ENODEV;
	if (atomic_load(&n->draining))
		goto fail;
	ret = -ENOMEM;
	o = calloc(1, sizeof(*o));
	if (!o)
		goto fail;
	req_caller(req, &c);
	ret = ks_open(n->eng, n->kind, fi->flags, &c, &o->h);
	if (ret)
		goto fail;
	xfer_table_init(&o->xfer);
	fi->fh = (uintptr_t)o;
	/* CUSE ignores it, but no kvmshim handle has a file position */
	fi->nonseekable = 1;
	q.who.known = true;
	q.who.kind = ks_handle_kind(o->h);
	q.who.vm = q.lf.vm = ks_handle_vm_id(o->h);
	opens_add(n, o);
	if (fuse_reply_open(req, fi)) {
		/* the opener is gone: no RELEASE will come */
		opens_del(n, o);
		open_free(o);
	}
	req_trace(&q, call, 0);
	req_end(&q);
	return;
fail:
	free(o);
	fuse_reply_err(req, -ret);
	req_trace(&q, call, ret);
	req_end(&q);
}

static void node_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct node *n = fuse_req_userdata(req);
	struct node_open *o = fi_open(fi);
	struct node_req q;
	char call[64];
	size_t unfinished;

	/* RELEASE carries no credentials: pid 0 */
	req_begin(&q, n, req, o->h);
	unfinished = xfer_table_count(&o->xfer);
	opens_del(n, o);
	open_free(o);
	/* answered last, so that close() returns with the state gone */
	fuse_reply_err(req, 0);
	if (unfinished)
		snprintf(call, sizeof(call), "release(unfinished_ioctls=%zu)",
			 unfinished);
	else
		snprintf(call, sizeof(call), "release()");
	req_trace(&q, call, 0);
	req_end(&q);
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
	struct node *n = fuse_req_userdata(req);
	struct node_open *o = fi_open(fi);
	struct ks_chunk ch = node_chunk(off);
	struct node_req q;
	struct ks_caller c;
	char call[80];
	ssize_t ret;
	void *buf;

	req_begin(&q, n, req, o->h);
	snprintf(call, sizeof(call), "read(size=%zu, offset=%lld)", size,
		 (long long)off);
	buf = malloc(size ? size : 1);
	if (!buf) {
		ret = -ENOMEM;
		fuse_reply_err(req, ENOMEM);
		goto out;
	}
	req_caller(req, &c);
	ret = ks_read(o->h, buf, size, &ch, &c);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_buf(req, buf,
			       (size_t)ret > size ? size : (size_t)ret);
	free(buf);
out:
	req_trace(&q, call, ret);
	req_end(&q);
}

static void node_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct node *n = fuse_req_userdata(req);
	struct node_open *o = fi_open(fi);
	struct ks_chunk ch = node_chunk(off);
	struct node_req q;
	struct ks_caller c;
	char call[80];
	ssize_t ret;

	req_begin(&q, n, req, o->h);
	snprintf(call, sizeof(call), "write(size=%zu, offset=%lld)", size,
		 (long long)off);
	req_caller(req, &c);
	ret = ks_write(o->h, buf, size, &ch, &c);
	/* the kernel rejects a count larger than the chunk */
	if (ret > (ssize_t)size)
		ret = (ssize_t)size;
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_write(req, (size_t)ret);
	req_trace(&q, call, ret);
	req_end(&q);
}

struct node_target {
	struct node *n;
	struct ks_handle *h;
};

static long node_ioctl_handler(void *obj, uint32_t cmd, uint64_t arg,
			       struct ks_uctx *u)
{
	struct node_target *t = obj;

	if (t->n->ioctl_fn)
		return t->n->ioctl_fn(t->h, cmd, arg, u);
	return ks_ioctl(t->h, cmd, arg, u);
}

static int node_peek(void *opaque, uint64_t uaddr, void *dst, size_t len,
		     bool out)
{
	return xfer_peek(opaque, uaddr, dst, len, out);
}

static void node_ioctl_done(void *opaque, const struct xfer_done *d)
{
	struct node_req *q = opaque;
	const struct ks_engine_config *cfg = ks_engine_config(q->n->eng);
	char call[512];

	trace_format_ioctl(call, sizeof(call), &cfg->profile, q->cmd, q->arg,
			   d->result, node_peek, (void *)d);
	trace_emit(&q->who, q->lf.ioctl, call, d->result, d->start_ns,
		   d->rounds);
}

static void node_ioctl_abandoned(void *opaque, uint32_t cmd, uint64_t arg,
				 unsigned int rounds, uint64_t start_ns)
{
	struct node_req *q = opaque;
	const struct ks_profile *p = &ks_engine_config(q->n->eng)->profile;
	char call[256];
	size_t len;

	len = trace_format_ioctl(call, sizeof(call), p, cmd, arg, 0, NULL,
				 NULL);
	snprintf(call + len, sizeof(call) - len,
		 " = ? <abandoned after round %u>", rounds);
	(void)start_ns;
	trace_emit_raw(&q->who, trace_ioctl_name(p, cmd), call);
}

static void node_ioctl(fuse_req_t req, int cmd, void *arg,
		       struct fuse_file_info *fi, unsigned int flags,
		       const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct node *n = fuse_req_userdata(req);
	struct node_open *o = fi_open(fi);
	struct node_target target = { .n = n, .h = o->h };
	struct xfer_request r = {
		.req = req,
		.cmd = (uint32_t)cmd,
		.arg = (uint64_t)(uintptr_t)arg,
		.in_buf = in_buf,
		.in_size = in_bufsz,
		.out_size = out_bufsz,
	};
	struct node_req q;
	char call[64];

	req_begin(&q, n, req, o->h);
	q.cmd = r.cmd;
	q.arg = r.arg;
	q.lf.ioctl =
		trace_ioctl_name(&ks_engine_config(n->eng)->profile, r.cmd);
	/* D5: 32-bit callers have other layouts and 32-bit retry iovecs */
	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOTTY);
		snprintf(call, sizeof(call), "compat_ioctl(0x%08x, 0x%llx)",
			 r.cmd, (unsigned long long)r.arg);
		req_trace(&q, call, -ENOTTY);
		req_end(&q);
		return;
	}
	req_caller(req, &r.caller);
	if (n->trace) {
		r.done = node_ioctl_done;
		r.abandoned = node_ioctl_abandoned;
		r.done_opaque = &q;
	}
	xfer_ioctl(&o->xfer, &r, node_ioctl_handler, &target);
	req_end(&q);
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

static void node_mark_gone(struct node *n)
{
	if (!atomic_exchange(&n->gone, true) && n->ev.gone)
		n->ev.gone(n->ev.opaque, n);
}

/* 1: a request is in buf; 0: told to stop; -1: the connection ended. */
static int node_receive(struct node *n, struct fuse_buf *buf, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = n->fd, .events = POLLIN },
		{ .fd = n->stop_fd, .events = POLLIN },
	};
	int res;

	for (;;) {
		if (atomic_load(&n->gone))
			return -1;
		res = poll(pfd, 2, timeout_ms);
		if (res < 0 && errno == EINTR)
			continue;
		if (res < 0 || pfd[1].revents)
			return 0;
		if (res == 0)
			return -ETIMEDOUT;
		res = fuse_session_receive_buf(n->se, buf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			node_mark_gone(n);
			return -1;
		}
		return 1;
	}
}

static void *node_worker(void *arg);

/* Called with recv_lock held: keep one worker free to receive. */
static void pool_busy(struct node *n)
{
	int err;

	pthread_mutex_lock(&n->pool_lock);
	n->busy++;
	if (n->busy == n->n_workers && n->n_workers < n->max_workers &&
	    !n->stopping) {
		err = pthread_create(&n->workers[n->n_workers], NULL,
				     node_worker, n);
		if (!err)
			n->n_workers++;
		else
			ks_log(LOG_WARNING, "/dev/%s: cannot add a worker: %s",
			       n->name, strerror(err));
	}
	pthread_mutex_unlock(&n->pool_lock);
}

static void pool_idle(struct node *n)
{
	pthread_mutex_lock(&n->pool_lock);
	n->busy--;
	pthread_mutex_unlock(&n->pool_lock);
}

static void *node_worker(void *arg)
{
	struct node *n = arg;
	struct fuse_buf buf = { .mem = NULL };
	int res;

	for (;;) {
		/* one receiver at a time: no thundering herd on each request */
		pthread_mutex_lock(&n->recv_lock);
		res = node_receive(n, &buf, -1);
		if (res > 0) {
			atomic_fetch_add(&n->in_flight, 1);
			pool_busy(n);
		}
		pthread_mutex_unlock(&n->recv_lock);
		if (res <= 0)
			break;
		fuse_session_process_buf(n->se, &buf);
		atomic_fetch_sub(&n->in_flight, 1);
		atomic_fetch_add(&n->served, 1);
		pool_idle(n);
	}
	free(buf.mem);
	return NULL;
}

static ssize_t sock_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n;

	(void)userdata;
	n = recv(fd, buf, len, MSG_DONTWAIT);
	if (n == 0) {
		/* the peer playing the kernel hung up: a clean end */
		errno = ENODEV;
		return -1;
	}
	return n;
}

static ssize_t sock_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)count };

	(void)userdata;
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct fuse_custom_io sock_io = {
	.read = sock_read,
	.writev = sock_writev,
};

static int node_attach(struct node *n, int fd)
{
	struct stat st;
	char mnt[32];
	int flags;

	if (fstat(fd, &st))
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC))
		return -errno;
	if (S_ISSOCK(st.st_mode)) {
		/* a test harness: blocking sends, polled receives */
		n->fd = fd;
		return fuse_session_custom_io(n->se, &sock_io, fd);
	}
	/* workers poll, so a read must never block */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return -errno;
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fd);
	if (fuse_session_mount(n->se, mnt))
		return -EINVAL;
	n->fd = fd;
	return 0;
}

int node_init(struct node *n, int fd)
{
	char devname[96];
	const char *dev_info[] = { devname };
	/* libfuse wants argv[0] and nothing it does not know */
	const char *argv[] = { "kvmshimd" };
	struct fuse_args args = FUSE_ARGS_INIT(1, (char **)argv);
	struct cuse_info ci = {
		.dev_info_argc = 1,
		.dev_info_argv = dev_info,
		.flags = CUSE_UNRESTRICTED_IOCTL,
	};
	int ret;

	snprintf(devname, sizeof(devname), "DEVNAME=%s", n->name);
	pthread_mutex_init(&n->opens_lock, NULL);
	pthread_mutex_init(&n->pool_lock, NULL);
	pthread_mutex_init(&n->recv_lock, NULL);
	n->opens = NULL;
	n->n_opens = 0;
	n->workers = NULL;
	n->n_workers = n->busy = 0;
	n->stopping = false;
	n->fd = -1;
	n->se = NULL;
	atomic_store(&n->init_done, false);
	atomic_store(&n->gone, false);
	atomic_store(&n->draining, false);
	atomic_store(&n->served, 0);
	atomic_store(&n->in_flight, 0);
	if (!n->max_workers)
		n->max_workers = NODE_DEFAULT_WORKERS;
	if (n->max_workers > NODE_MAX_WORKERS)
		n->max_workers = NODE_MAX_WORKERS;
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = -ENOMEM;
	n->se = cuse_lowlevel_new(&args, &ci, &node_ops, n);
	fuse_opt_free_args(&args);
	if (!n->se)
		goto err;
	ret = node_attach(n, fd);
	if (ret)
		goto err;
	n->live = true;
	return 0;
err:
	/* the session owns fd only once attached */
	close(fd);
	if (n->se)
		fuse_session_destroy(n->se);
	n->se = NULL;
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	n->stop_fd = -1;
	pthread_mutex_destroy(&n->opens_lock);
	pthread_mutex_destroy(&n->pool_lock);
	pthread_mutex_destroy(&n->recv_lock);
	return ret;
}

/*
 * The kernel aborts the connection while it processes the CUSE_INIT reply
 * when the name is taken; /dev/cuse then polls as an error.
 */
static bool node_aborted(struct node *n)
{
	struct pollfd pfd = { .fd = n->fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLNVAL));
}

int node_handshake(struct node *n, int timeout_ms)
{
	struct fuse_buf buf = { .mem = NULL };
	uint64_t deadline = xfer_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int ret = 0;

	while (!atomic_load(&n->init_done)) {
		uint64_t now = xfer_now_ns();

		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		ret = node_receive(n, &buf,
				   (int)((deadline - now) / 1000000ULL) + 1);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret <= 0) {
			ret = -ENODEV;
			break;
		}
		ret = 0;
		fuse_session_process_buf(n->se, &buf);
	}
	free(buf.mem);
	if (!ret && atomic_load(&n->gone))
		ret = -ENODEV;
	if (!ret && node_aborted(n))
		ret = -ENODEV;
	return ret;
}

int node_run(struct node *n)
{
	unsigned int i, first;
	int err;

	n->workers = calloc(n->max_workers, sizeof(*n->workers));
	if (!n->workers)
		return -ENOMEM;
	first = n->max_workers < NODE_MIN_WORKERS ? n->max_workers :
						    NODE_MIN_WORKERS;
	pthread_mutex_lock(&n->pool_lock);
	for (i = 0; i < first; i++) {
		err = pthread_create(&n->workers[i], NULL, node_worker, n);
		if (err)
			break;
		n->n_workers++;
	}
	pthread_mutex_unlock(&n->pool_lock);
	return n->n_workers ? 0 : -EAGAIN;
}

int node_start(struct node *n, int fd)
{
	int ret = node_init(n, fd);

	if (ret)
		return ret;
	ret = node_handshake(n, 10000);
	if (!ret)
		ret = node_run(n);
	if (ret)
		node_stop(n);
	return ret;
}

void node_drain(struct node *n)
{
	atomic_store(&n->draining, true);
}

void node_stop(struct node *n)
{
	uint64_t one = 1;
	unsigned int i, count;

	if (!n->live)
		return;
	if (n->stop_fd >= 0 && write(n->stop_fd, &one, sizeof(one)) < 0)
		ks_log(LOG_ERR, "cannot stop workers: %m");
	pthread_mutex_lock(&n->pool_lock);
	n->stopping = true;
	count = n->n_workers;
	pthread_mutex_unlock(&n->pool_lock);
	for (i = 0; i < count; i++)
		pthread_join(n->workers[i], NULL);
	free(n->workers);
	n->workers = NULL;
	n->n_workers = 0;
	if (n->se) {
		/* closing the /dev/cuse fd removes the node */
		fuse_session_destroy(n->se);
		n->se = NULL;
		n->fd = -1;
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
	pthread_mutex_destroy(&n->opens_lock);
	pthread_mutex_destroy(&n->pool_lock);
	pthread_mutex_destroy(&n->recv_lock);
	n->live = false;
}

void node_get_stats(struct node *n, struct node_stats *st)
{
	struct node_open *o;

	memset(st, 0, sizeof(*st));
	if (!n->live)
		return;
	pthread_mutex_lock(&n->pool_lock);
	st->workers = n->n_workers;
	pthread_mutex_unlock(&n->pool_lock);
	pthread_mutex_lock(&n->opens_lock);
	st->opens = n->n_opens;
	for (o = n->opens; o; o = o->next)
		st->pending_xfers += xfer_table_count(&o->xfer);
	pthread_mutex_unlock(&n->opens_lock);
	st->in_flight = atomic_load(&n->in_flight);
	st->served = atomic_load(&n->served);
}
