// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unrestricted-ioctl retry rounds (spec: cuse.md §3, §7).
 *
 * The kernel gives a round's in-data as the concatenation of the regions
 * the previous RETRY reply listed, but not the list itself, so the list is
 * kept here per caller thread.  Each round runs the handler from the start
 * against that round's data; whatever it asks for that the round lacks goes
 * into the next RETRY.  Small regions (the argument struct) are fetched
 * again in every round, so the final round always works on current data.
 * An in-region larger than one round allows is gathered in slices.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "xfer.h"

/* CUSE never negotiates max_pages: 32 pages per direction. */
#define XFER_CAP_PAGES 32
/* Requests that died half way are dropped beyond this many per open. */
#define XFER_MAX_PENDING 256

struct xfer_ctx {
	struct ks_uctx u;
	struct xfer_pending *prev; /* previous round, or NULL */
	const uint8_t *in_buf;
	size_t in_size;
	struct xfer_pending *next; /* the list this run asks for */
	size_t in_total;
	size_t out_total;
	bool restart;
	bool broken; /* the handler broke the rules below */
	uint8_t *out_buf;
	size_t out_done;
};

size_t xfer_cap(void)
{
	static size_t cap;

	if (!cap)
		cap = XFER_CAP_PAGES * (size_t)sysconf(_SC_PAGESIZE);
	return cap;
}

void xfer_table_init(struct xfer_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	t->head = NULL;
	t->count = 0;
}

static void pending_free(struct xfer_pending *p)
{
	if (!p)
		return;
	free(p->acc_buf);
	free(p);
}

void xfer_table_destroy(struct xfer_table *t)
{
	struct xfer_pending *p, *n;

	for (p = t->head; p; p = n) {
		n = p->next;
		pending_free(p);
	}
	t->head = NULL;
	t->count = 0;
	pthread_mutex_destroy(&t->lock);
}

/* Removes and returns the entry of tid, if any. */
static struct xfer_pending *table_take(struct xfer_table *t, pid_t tid)
{
	struct xfer_pending **pp, *p;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->head; (p = *pp); pp = &p->next) {
		if (p->tid == tid) {
			*pp = p->next;
			p->next = NULL;
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return p;
}

static void table_put(struct xfer_table *t, struct xfer_pending *p)
{
	struct xfer_pending **pp, *victim = NULL;

	pthread_mutex_lock(&t->lock);
	if (t->count >= XFER_MAX_PENDING) {
		/* the oldest entry sits at the tail */
		for (pp = &t->head; (*pp)->next; pp = &(*pp)->next)
			;
		victim = *pp;
		*pp = NULL;
		t->count--;
	}
	p->next = t->head;
	t->head = p;
	t->count++;
	pthread_mutex_unlock(&t->lock);
	pending_free(victim);
}

static size_t regions_total(const struct xfer_region *r, size_t n)
{
	size_t i, sum = 0;

	for (i = 0; i < n; i++)
		sum += r[i].len;
	return sum;
}

static int ctx_add_in(struct xfer_ctx *c, uint64_t base, size_t len, bool slice)
{
	struct xfer_pending *n = c->next;
	size_t i;

	for (i = 0; i < n->n_in; i++)
		if (n->in[i].base == base && n->in[i].len == len &&
		    n->in[i].slice == slice)
			return 0;
	if (n->n_in + n->n_out >= XFER_MAX_IOV) {
		c->broken = true;
		return -ENOMEM;
	}
	n->in[n->n_in].base = base;
	n->in[n->n_in].len = len;
	n->in[n->n_in].slice = slice;
	n->n_in++;
	c->in_total += len;
	return 0;
}

/* Where [uaddr, uaddr + len) lies in this round's in-data, or -1. */
static ssize_t prev_in_offset(const struct xfer_ctx *c, uint64_t uaddr,
			      size_t len, bool slice)
{
	const struct xfer_pending *p = c->prev;
	size_t i, off = 0;

	if (!p)
		return -1;
	for (i = 0; i < p->n_in; i++) {
		const struct xfer_region *r = &p->in[i];

		if (r->slice == slice && uaddr >= r->base &&
		    uaddr - r->base <= r->len &&
		    len <= r->len - (uaddr - r->base))
			return (ssize_t)(off + (uaddr - r->base));
		off += r->len;
	}
	return -1;
}

static int ctx_read_small(struct xfer_ctx *c, void *dst, uint64_t uaddr,
			  size_t len)
{
	ssize_t off = prev_in_offset(c, uaddr, len, false);
	int ret = ctx_add_in(c, uaddr, len, false);

	if (ret)
		return ret;
	if (off < 0) {
		c->restart = true;
		return -KS_ERESTART;
	}
	memcpy(dst, c->in_buf + off, len);
	return 0;
}

/* Appends the slice the previous round asked for to the accumulation. */
static void acc_take_slice(struct xfer_ctx *c)
{
	const struct xfer_pending *p = c->prev;
	struct xfer_pending *n = c->next;
	size_t i, off = 0;

	for (i = 0; i < p->n_in; i++) {
		const struct xfer_region *r = &p->in[i];

		if (r->slice && r->base == n->acc_base + n->acc_done &&
		    r->len <= n->acc_len - n->acc_done) {
			memcpy(n->acc_buf + n->acc_done, c->in_buf + off,
			       r->len);
			n->acc_done += r->len;
			return;
		}
		off += r->len;
	}
}

/* Continues the previous round's accumulation, or starts a new one. */
static void ctx_adopt_acc(struct xfer_ctx *c, uint64_t uaddr, size_t len)
{
	struct xfer_pending *p = c->prev, *n = c->next;

	if (n->acc_buf)
		return;
	if (p && p->acc_buf && p->acc_base == uaddr && p->acc_len == len) {
		n->acc_buf = p->acc_buf;
		n->acc_base = p->acc_base;
		n->acc_len = p->acc_len;
		n->acc_done = p->acc_done;
		p->acc_buf = NULL;
		acc_take_slice(c);
		return;
	}
	n->acc_buf = malloc(len);
	if (!n->acc_buf)
		return;
	n->acc_base = uaddr;
	n->acc_len = len;
	n->acc_done = 0;
}

static int ctx_read_large(struct xfer_ctx *c, void *dst, uint64_t uaddr,
			  size_t len)
{
	struct xfer_pending *n = c->next;
	size_t room, slice;

	if (n->acc_buf && (n->acc_base != uaddr || n->acc_len != len)) {
		/* one accumulated region per request */
		c->broken = true;
		return -ENOMEM;
	}
	ctx_adopt_acc(c, uaddr, len);
	if (!n->acc_buf)
		return -ENOMEM;
	if (n->acc_done == len) {
		memcpy(dst, n->acc_buf, len);
		return 0;
	}
	room = xfer_cap() - c->in_total;
	slice = len - n->acc_done < room ? len - n->acc_done : room;
	if (!slice) {
		c->broken = true;
		return -ENOMEM;
	}
	if (ctx_add_in(c, uaddr + n->acc_done, slice, true))
		return -ENOMEM;
	c->restart = true;
	return -KS_ERESTART;
}

static int ctx_read(struct ks_uctx *u, void *dst, uint64_t uaddr, size_t len)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;

	if (!len)
		return 0;
	if (uaddr + len < uaddr)
		return -EFAULT;
	if (c->in_total + len <= xfer_cap())
		return ctx_read_small(c, dst, uaddr, len);
	return ctx_read_large(c, dst, uaddr, len);
}

static int ctx_want(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;
	struct xfer_pending *n = c->next;

	if (!len)
		return 0;
	if (n->n_in + n->n_out >= XFER_MAX_IOV ||
	    c->out_total + len > xfer_cap()) {
		c->broken = true;
		return -ENOMEM;
	}
	n->out[n->n_out].base = uaddr;
	n->out[n->n_out].len = len;
	n->out[n->n_out].slice = false;
	n->n_out++;
	c->out_total += len;
	return 0;
}

static int ctx_ready(struct ks_uctx *u)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;
	const struct xfer_pending *p = c->prev, *n = c->next;
	size_t i;

	if (c->restart)
		return -KS_ERESTART;
	/* the final reply is scattered over the previous round's out-list */
	if (n->n_out) {
		if (!p || p->n_out != n->n_out) {
			c->restart = true;
			return -KS_ERESTART;
		}
		for (i = 0; i < n->n_out; i++) {
			if (p->out[i].base != n->out[i].base ||
			    p->out[i].len != n->out[i].len) {
				c->restart = true;
				return -KS_ERESTART;
			}
		}
		c->out_buf = calloc(1, c->out_total);
		if (!c->out_buf)
			return -ENOMEM;
	}
	return 0;
}

static int ctx_write(struct ks_uctx *u, uint64_t uaddr, const void *src,
		     size_t len)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;
	const struct xfer_pending *n = c->next;
	size_t i, off = 0;

	if (!len)
		return 0;
	for (i = 0; i < n->n_out; i++) {
		const struct xfer_region *r = &n->out[i];

		if (uaddr >= r->base && uaddr - r->base <= r->len &&
		    len <= r->len - (uaddr - r->base)) {
			off += uaddr - r->base;
			/* the reply is a prefix: no holes before a write */
			if (!c->out_buf || off > c->out_done)
				break;
			memcpy(c->out_buf + off, src, len);
			if (off + len > c->out_done)
				c->out_done = off + len;
			return 0;
		}
		off += r->len;
	}
	c->broken = true;
	ks_log(LOG_ERR, "internal error: undeclared or out-of-order write");
	return -EIO;
}

static const struct ks_uctx_ops xfer_ops = {
	.read = ctx_read,
	.want = ctx_want,
	.ready = ctx_ready,
	.write = ctx_write,
};

static int reply_retry(fuse_req_t req, const struct xfer_pending *n)
{
	struct iovec in[XFER_MAX_IOV], out[XFER_MAX_IOV];
	size_t i;

	for (i = 0; i < n->n_in; i++) {
		in[i].iov_base = (void *)(uintptr_t)n->in[i].base;
		in[i].iov_len = n->in[i].len;
	}
	for (i = 0; i < n->n_out; i++) {
		out[i].iov_base = (void *)(uintptr_t)n->out[i].base;
		out[i].iov_len = n->out[i].len;
	}
	return fuse_reply_ioctl_retry(req, in, n->n_in, out, n->n_out);
}

/* The previous round, if the request continues it. */
static struct xfer_pending *take_prev(struct xfer_table *t,
				      const struct xfer_request *r)
{
	struct xfer_pending *p = table_take(t, r->caller.tid);

	/* a first round always arrives with no data either way */
	if (!r->in_size && !r->out_size) {
		pending_free(p);
		return NULL;
	}
	if (p && (p->cmd != r->cmd || p->arg != r->arg ||
		  regions_total(p->in, p->n_in) != r->in_size ||
		  regions_total(p->out, p->n_out) > r->out_size)) {
		pending_free(p);
		p = NULL;
	}
	return p;
}

static long finish(struct xfer_ctx *c, const struct xfer_request *r, long ret)
{
	int err;

	if (ret == -KS_ERESTART || c->broken) {
		ks_log(LOG_ERR, "internal error in ioctl 0x%08x", r->cmd);
		ret = -EIO;
	}
	if (ret < 0) {
		err = (int)-ret;
		/* CUSE would turn it into ENOTTY anyway; never send it */
		if (err == ENOSYS)
			err = ENOTTY;
		fuse_reply_err(r->req, err);
		return ret;
	}
	if (ret > INT_MAX)
		ret = INT_MAX;
	fuse_reply_ioctl(r->req, (int)ret, c->out_buf, c->out_done);
	return ret;
}

long xfer_ioctl(struct xfer_table *t, const struct xfer_request *r,
		xfer_handler handler, void *obj)
{
	struct xfer_ctx c;
	long ret;

	memset(&c, 0, sizeof(c));
	c.u.ops = &xfer_ops;
	c.u.in_cap = xfer_cap();
	c.u.out_cap = xfer_cap();
	c.u.caller = r->caller;
	c.in_buf = r->in_buf;
	c.in_size = r->in_size;
	c.next = calloc(1, sizeof(*c.next));
	if (!c.next) {
		fuse_reply_err(r->req, ENOMEM);
		return -ENOMEM;
	}
	c.next->tid = r->caller.tid;
	c.next->cmd = r->cmd;
	c.next->arg = r->arg;
	c.prev = take_prev(t, r);

	ret = handler(obj, r->cmd, r->arg, &c.u);
	if (ret == -KS_ERESTART && c.restart && !c.broken) {
		if (reply_retry(r->req, c.next) == 0) {
			table_put(t, c.next);
			c.next = NULL;
		}
	} else {
		ret = finish(&c, r, ret);
	}
	pending_free(c.prev);
	pending_free(c.next);
	free(c.out_buf);
	return ret;
}
