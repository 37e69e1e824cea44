// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unrestricted-ioctl retry rounds (spec: cuse.md §3, §7).
 *
 * The kernel gives a round's in-data as the concatenation of the regions
 * the previous RETRY reply listed, but not the list itself, so the list is
 * kept here per (open, caller thread).  Each round runs the handler from
 * the start against that round's data; whatever it asks for that the round
 * lacks goes into the next RETRY.  Small regions (the argument struct) are
 * fetched again in every round, so the final round always works on current
 * data and the handler re-validates it.  An in-region larger than one
 * round allows is gathered in slices.  The final reply is scattered by the
 * kernel over the out-regions of the last RETRY, so it is sent only when
 * the handler's out-regions are exactly those.
 *
 * A new syscall always starts with a request that carries no data (R1);
 * that discards whatever an earlier, abandoned syscall of the same thread
 * left behind.  RELEASE frees the rest.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "xfer.h"

/* CUSE never negotiates max_pages: 32 pages per direction. */
#define XFER_CAP_PAGES 32

struct xfer_region {
	uint64_t base;
	size_t len;
	bool slice; /* the current piece of a gathered in-region */
};

struct xfer_list {
	struct xfer_region *v;
	size_t n;
	size_t cap;
};

/* What one round of one caller thread asked for. */
struct xfer_pending {
	pid_t tid;
	uint32_t cmd;
	uint64_t arg;
	struct xfer_list in;
	struct xfer_list out;
	unsigned int rounds; /* requests so far, this one included */
	uint64_t start_ns;
	/* an in-region too large for one round, gathered over several */
	uint64_t acc_base;
	size_t acc_len;
	size_t acc_done;
	uint8_t *acc_buf;
	/* the other in-regions' bytes when the gathering began */
	uint8_t *acc_key;
	size_t acc_key_len;
	struct xfer_pending *next;
};

struct xfer_ctx {
	struct ks_uctx u;
	struct xfer_pending *prev; /* the round this request answers */
	const uint8_t *in_buf;
	size_t in_size;
	struct xfer_pending *next; /* what this run asks for */
	size_t in_total;
	size_t out_total;
	bool restart;
	bool broken; /* the handler broke the uaccess rules */
	uint8_t *out_buf;
	size_t out_done;
};

static _Atomic uint64_t stat_pending;
static _Atomic uint64_t stat_bytes;
static _Atomic uint64_t acc_allocated;

uint64_t xfer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

size_t xfer_cap(void)
{
	/* workers ask concurrently: each may compute it, all agree */
	static _Atomic size_t cap;
	size_t c = atomic_load_explicit(&cap, memory_order_relaxed);

	if (!c) {
		c = XFER_CAP_PAGES * (size_t)sysconf(_SC_PAGESIZE);
		atomic_store_explicit(&cap, c, memory_order_relaxed);
	}
	return c;
}

void xfer_get_stats(struct xfer_stats *st)
{
	st->pending = atomic_load(&stat_pending);
	st->bytes = atomic_load(&stat_bytes);
}

static uint64_t pending_bytes(const struct xfer_pending *p)
{
	return sizeof(*p) +
	       (p->in.cap + p->out.cap) * sizeof(struct xfer_region) +
	       (p->acc_buf ? p->acc_len + p->acc_key_len : 0);
}

static void acc_free(struct xfer_pending *p)
{
	if (!p->acc_buf)
		return;
	free(p->acc_buf);
	p->acc_buf = NULL;
	free(p->acc_key);
	p->acc_key = NULL;
	p->acc_key_len = 0;
	atomic_fetch_sub(&acc_allocated, p->acc_len);
}

static void pending_free(struct xfer_pending *p)
{
	if (!p)
		return;
	acc_free(p);
	free(p->in.v);
	free(p->out.v);
	free(p);
}

void xfer_table_init(struct xfer_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	t->head = NULL;
	t->count = 0;
}

static void table_unlinked(struct xfer_pending *p)
{
	atomic_fetch_sub(&stat_pending, 1);
	atomic_fetch_sub(&stat_bytes, pending_bytes(p));
}

void xfer_table_destroy(struct xfer_table *t)
{
	struct xfer_pending *p, *n;

	for (p = t->head; p; p = n) {
		n = p->next;
		table_unlinked(p);
		pending_free(p);
	}
	t->head = NULL;
	t->count = 0;
	pthread_mutex_destroy(&t->lock);
}

size_t xfer_table_count(struct xfer_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
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
			table_unlinked(p);
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return p;
}

static void table_put(struct xfer_table *t, struct xfer_pending *p)
{
	struct xfer_pending **pp, *victim = NULL;

	atomic_fetch_add(&stat_pending, 1);
	atomic_fetch_add(&stat_bytes, pending_bytes(p));
	pthread_mutex_lock(&t->lock);
	if (t->count >= XFER_MAX_PENDING) {
		/* entries are added at the head: the oldest is the tail */
		for (pp = &t->head; (*pp)->next; pp = &(*pp)->next)
			;
		victim = *pp;
		*pp = NULL;
		t->count--;
		table_unlinked(victim);
	}
	p->next = t->head;
	t->head = p;
	t->count++;
	pthread_mutex_unlock(&t->lock);
	pending_free(victim);
}

static int list_add(struct xfer_list *l, uint64_t base, size_t len, bool slice)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		struct xfer_region *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].base = base;
	l->v[l->n].len = len;
	l->v[l->n].slice = slice;
	l->n++;
	return 0;
}

static size_t list_total(const struct xfer_list *l)
{
	size_t i, sum = 0;

	for (i = 0; i < l->n; i++)
		sum += l->v[i].len;
	return sum;
}

static bool list_has(const struct xfer_list *l, uint64_t base, size_t len,
		     bool slice)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].base == base && l->v[i].len == len &&
		    l->v[i].slice == slice)
			return true;
	return false;
}

static bool ctx_iov_full(const struct xfer_ctx *c)
{
	return c->next->in.n + c->next->out.n >= XFER_MAX_IOV;
}

static int ctx_add_in(struct xfer_ctx *c, uint64_t base, size_t len, bool slice)
{
	int ret;

	if (list_has(&c->next->in, base, len, slice))
		return 0;
	if (ctx_iov_full(c) || c->in_total + len > xfer_cap()) {
		c->broken = true;
		return -EIO;
	}
	ret = list_add(&c->next->in, base, len, slice);
	if (ret)
		return ret;
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
	for (i = 0; i < p->in.n; i++) {
		const struct xfer_region *r = &p->in.v[i];

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

/* Appends the slice the previous round delivered to the gathered bytes. */
static void acc_take_slice(struct xfer_ctx *c)
{
	const struct xfer_pending *p = c->prev;
	struct xfer_pending *n = c->next;
	size_t i, off = 0;

	for (i = 0; i < p->in.n; i++) {
		const struct xfer_region *r = &p->in.v[i];

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

/*
 * Walks this round's in-regions that are not slices (the struct that
 * describes the gathered region), in order.  With key, copies them there
 * (cmp false) or reports whether they equal it (cmp true).  Returns their
 * total length, or -1 on a mismatch.
 */
static ssize_t round_key(const struct xfer_ctx *c, uint8_t *key, bool cmp)
{
	const struct xfer_pending *p = c->prev;
	size_t i, off = 0, total = 0;

	for (i = 0; p && i < p->in.n; off += p->in.v[i].len, i++) {
		const struct xfer_region *r = &p->in.v[i];

		if (r->slice)
			continue;
		if (key && cmp && memcmp(key + total, c->in_buf + off, r->len))
			return -1;
		if (key && !cmp)
			memcpy(key + total, c->in_buf + off, r->len);
		total += r->len;
	}
	return (ssize_t)total;
}

/* Whether the previous round's gathering is the one this round continues. */
static bool acc_continues(const struct xfer_ctx *c, uint64_t uaddr, size_t len)
{
	const struct xfer_pending *p = c->prev;

	return p && p->acc_buf && p->acc_base == uaddr && p->acc_len == len &&
	       round_key(c, NULL, false) == (ssize_t)p->acc_key_len &&
	       round_key(c, p->acc_key, true) >= 0;
}

/*
 * Continues the previous round's gathering, or starts a new one: also
 * when what describes it changed, so that every slice belongs to the
 * struct of the final round (cuse.md §7.4 step 3).
 */
static int ctx_adopt_acc(struct xfer_ctx *c, uint64_t uaddr, size_t len)
{
	struct xfer_pending *p = c->prev, *n = c->next;
	size_t key_len;

	if (n->acc_buf)
		return 0;
	if (acc_continues(c, uaddr, len)) {
		n->acc_buf = p->acc_buf;
		n->acc_base = p->acc_base;
		n->acc_len = p->acc_len;
		n->acc_done = p->acc_done;
		n->acc_key = p->acc_key;
		n->acc_key_len = p->acc_key_len;
		p->acc_buf = NULL;
		p->acc_key = NULL;
		p->acc_key_len = 0;
		acc_take_slice(c);
		return 0;
	}
	key_len = (size_t)round_key(c, NULL, false);
	if (atomic_fetch_add(&acc_allocated, len) + len > XFER_MAX_ACC_TOTAL)
		goto out_uncharge;
	n->acc_buf = malloc(len);
	n->acc_key = key_len ? malloc(key_len) : NULL;
	if (!n->acc_buf || (key_len && !n->acc_key))
		goto out_free;
	round_key(c, n->acc_key, false);
	n->acc_base = uaddr;
	n->acc_len = len;
	n->acc_done = 0;
	n->acc_key_len = key_len;
	return 0;

out_free:
	free(n->acc_buf);
	free(n->acc_key);
	n->acc_buf = NULL;
	n->acc_key = NULL;
out_uncharge:
	atomic_fetch_sub(&acc_allocated, len);
	return -ENOMEM;
}

static int ctx_read_large(struct xfer_ctx *c, void *dst, uint64_t uaddr,
			  size_t len)
{
	struct xfer_pending *n = c->next;
	size_t room, slice;
	int ret;

	if (n->acc_buf && (n->acc_base != uaddr || n->acc_len != len)) {
		/* one gathered region per request */
		c->broken = true;
		return -EIO;
	}
	if (len > XFER_MAX_ACC)
		return -ENOMEM;
	ret = ctx_adopt_acc(c, uaddr, len);
	if (ret)
		return ret;
	if (n->acc_done == len) {
		memcpy(dst, n->acc_buf, len);
		return 0;
	}
	room = xfer_cap() - c->in_total;
	slice = len - n->acc_done < room ? len - n->acc_done : room;
	if (!slice) {
		c->broken = true;
		return -EIO;
	}
	ret = ctx_add_in(c, uaddr + n->acc_done, slice, true);
	if (ret)
		return ret;
	c->restart = true;
	return -KS_ERESTART;
}

static int ctx_read(struct ks_uctx *u, void *dst, uint64_t uaddr, size_t len)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;

	if (!len)
		return 0;
	/* the kernel's copy of a wrapping range faults */
	if (uaddr + len < uaddr)
		return -EFAULT;
	if (list_has(&c->next->in, uaddr, len, false) ||
	    c->in_total + len <= xfer_cap())
		return ctx_read_small(c, dst, uaddr, len);
	return ctx_read_large(c, dst, uaddr, len);
}

static int ctx_want(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;
	int ret;

	if (!len)
		return 0;
	if (ctx_iov_full(c) || c->out_total + len > xfer_cap()) {
		c->broken = true;
		return -EIO;
	}
	ret = list_add(&c->next->out, uaddr, len, false);
	if (ret)
		return ret;
	c->out_total += len;
	return 0;
}

static bool out_lists_equal(const struct xfer_list *a,
			    const struct xfer_list *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->v[i].base != b->v[i].base || a->v[i].len != b->v[i].len)
			return false;
	return true;
}

static int ctx_ready(struct ks_uctx *u)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;
	const struct xfer_pending *p = c->prev, *n = c->next;

	if (c->broken)
		return -EIO;
	if (c->restart)
		return -KS_ERESTART;
	if (!n->out.n)
		return 0;
	/* the kernel scatters the reply over the previous round's list */
	if (!p || !out_lists_equal(&p->out, &n->out)) {
		c->restart = true;
		return -KS_ERESTART;
	}
	c->out_buf = calloc(1, c->out_total);
	return c->out_buf ? 0 : -ENOMEM;
}

static int ctx_write(struct ks_uctx *u, uint64_t uaddr, const void *src,
		     size_t len)
{
	struct xfer_ctx *c = (struct xfer_ctx *)u;
	const struct xfer_list *l = &c->next->out;
	size_t i, off = 0;

	if (!len)
		return 0;
	for (i = 0; c->out_buf && i < l->n; i++) {
		const struct xfer_region *r = &l->v[i];

		if (uaddr >= r->base && uaddr - r->base <= r->len &&
		    len <= r->len - (uaddr - r->base)) {
			off += uaddr - r->base;
			/* the reply is a prefix: no holes before a write */
			if (off > c->out_done)
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

/* The RETRY reply's iovecs; built before the entry becomes visible. */
static struct iovec *retry_iov(const struct xfer_pending *n)
{
	struct iovec *iov = calloc(n->in.n + n->out.n + 1, sizeof(*iov));
	size_t i;

	if (!iov)
		return NULL;
	for (i = 0; i < n->in.n; i++) {
		iov[i].iov_base = (void *)(uintptr_t)n->in.v[i].base;
		iov[i].iov_len = n->in.v[i].len;
	}
	for (i = 0; i < n->out.n; i++) {
		iov[n->in.n + i].iov_base = (void *)(uintptr_t)n->out.v[i].base;
		iov[n->in.n + i].iov_len = n->out.v[i].len;
	}
	return iov;
}

/* The previous round, if the request continues it. */
static struct xfer_pending *take_prev(struct xfer_table *t,
				      const struct xfer_request *r)
{
	struct xfer_pending *p = table_take(t, r->caller.tid);

	/* a first round always arrives with no data either way */
	if (!r->in_size && !r->out_size) {
		if (p && r->abandoned)
			r->abandoned(r->done_opaque, p->cmd, p->arg, p->rounds,
				     p->start_ns);
		pending_free(p);
		return NULL;
	}
	if (p && (p->cmd != r->cmd || p->arg != r->arg ||
		  list_total(&p->in) != r->in_size ||
		  list_total(&p->out) != r->out_size)) {
		pending_free(p);
		p = NULL;
	}
	return p;
}

static long finish(struct xfer_ctx *c, const struct xfer_request *r, long ret)
{
	long err;

	if (ret == -KS_ERESTART || c->broken) {
		ks_log(LOG_ERR, "internal error in ioctl 0x%08x", r->cmd);
		ret = -EIO;
	}
	if (ret < 0) {
		err = -ret;
		/* CUSE would turn it into ENOTTY anyway; never send it */
		if (err == ENOSYS)
			err = ENOTTY;
		if (err >= 4096)
			err = EIO;
		fuse_reply_err(r->req, (int)err);
		return -err;
	}
	if (ret > INT_MAX)
		ret = INT_MAX;
	fuse_reply_ioctl(r->req, (int)ret, c->out_buf, c->out_done);
	return ret;
}

static long send_retry(struct xfer_table *t, struct xfer_ctx *c,
		       const struct xfer_request *r)
{
	struct xfer_pending *n = c->next;
	size_t n_in = n->in.n, n_out = n->out.n;
	struct iovec *iov = retry_iov(n);

	if (!iov) {
		fuse_reply_err(r->req, ENOMEM);
		return -ENOMEM;
	}
	/*
	 * Publish the entry first: the kernel may send the next round to
	 * another worker as soon as it has the reply.  If the reply fails the
	 * connection is going away, and the entry goes with the open.
	 */
	table_put(t, n);
	c->next = NULL;
	fuse_reply_ioctl_retry(r->req, iov, n_in, iov + n_in, n_out);
	free(iov);
	return -KS_ERESTART;
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
	c.next->rounds = c.prev ? c.prev->rounds + 1 : 1;
	c.next->start_ns = c.prev ? c.prev->start_ns : xfer_now_ns();

	ret = handler(obj, r->cmd, r->arg, &c.u);
	if (ret == -KS_ERESTART && c.restart && !c.broken) {
		ret = send_retry(t, &c, r);
	} else {
		ret = finish(&c, r, ret);
		if (r->done) {
			struct xfer_done d = {
				.result = ret,
				.rounds = c.next->rounds,
				.start_ns = c.next->start_ns,
				.ctx = &c,
			};
			r->done(r->done_opaque, &d);
		}
	}
	pending_free(c.prev);
	pending_free(c.next);
	free(c.out_buf);
	return ret;
}

int xfer_peek(const struct xfer_done *d, uint64_t uaddr, void *dst, size_t len,
	      bool out)
{
	const struct xfer_ctx *c = d->ctx;
	const struct xfer_pending *n = c->next;
	ssize_t off;
	size_t i, o = 0;

	if (!len)
		return 0;
	if (out) {
		for (i = 0; i < n->out.n; i++) {
			const struct xfer_region *r = &n->out.v[i];

			if (uaddr >= r->base && uaddr - r->base <= r->len &&
			    len <= r->len - (uaddr - r->base)) {
				o += uaddr - r->base;
				if (!c->out_buf || o + len > c->out_done)
					return -ENOENT;
				memcpy(dst, c->out_buf + o, len);
				return 0;
			}
			o += r->len;
		}
		return -ENOENT;
	}
	off = prev_in_offset(c, uaddr, len, false);
	if (off >= 0) {
		memcpy(dst, c->in_buf + off, len);
		return 0;
	}
	if (n->acc_buf && n->acc_done == n->acc_len && uaddr >= n->acc_base &&
	    uaddr - n->acc_base <= n->acc_len &&
	    len <= n->acc_len - (uaddr - n->acc_base)) {
		memcpy(dst, n->acc_buf + (uaddr - n->acc_base), len);
		return 0;
	}
	return -ENOENT;
}
