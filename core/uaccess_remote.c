// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * User access for a caller in another process whose memory a helper
 * (kvmshim-run) copies: small regions come in the request, large ones in a
 * file.  The transport has no per-request limit.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "supervise.h"

static bool region_holds(const struct ks_uctx_region *r, uint64_t uaddr,
			 size_t len)
{
	return uaddr >= r->uaddr && uaddr - r->uaddr <= r->len &&
	       len <= r->len - (uaddr - r->uaddr);
}

/*
 * The region an access belongs to.  Where regions overlap (a values
 * buffer inside the struct), an access at a region's start is that
 * region's: each region is copied to the caller whole and in its own
 * order, so the bytes must be where the caller's copy will come from.
 */
static struct ks_uctx_region *region_of(struct ks_uctx_remote *x,
					uint64_t uaddr, size_t len)
{
	unsigned int i;

	for (i = 0; i < x->n; i++)
		if (x->r[i].uaddr == uaddr &&
		    region_holds(&x->r[i], uaddr, len))
			return &x->r[i];
	for (i = 0; i < x->n; i++)
		if (region_holds(&x->r[i], uaddr, len))
			return &x->r[i];
	return NULL;
}

static int remote_read(struct ks_uctx *u, void *dst, uint64_t uaddr, size_t len)
{
	struct ks_uctx_remote *x = (struct ks_uctx_remote *)u;
	struct ks_uctx_region *r;
	uint64_t off;
	size_t done = 0;
	ssize_t n;

	if (!len)
		return 0;
	r = region_of(x, uaddr, len);
	if (!r)
		return -EFAULT;
	off = uaddr - r->uaddr;
	if (r->buf) {
		memcpy(dst, (const char *)r->buf + off, len);
		return 0;
	}
	/* a file shorter than the region: the caller's buffer ends there */
	while (done < len) {
		n = pread(r->fd, (char *)dst + done, len - done,
			  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

/* The first region starting at uaddr that no declaration has taken yet. */
static struct ks_uctx_region *untaken_at(struct ks_uctx_remote *x,
					 uint64_t uaddr, size_t len)
{
	unsigned int i, k;

	for (i = 0; i < x->n; i++) {
		struct ks_uctx_region *r = &x->r[i];

		if (r->uaddr != uaddr || !region_holds(r, uaddr, len))
			continue;
		for (k = 0; k < x->n_decl && x->decl[k].r != r; k++)
			;
		if (k == x->n_decl)
			return r;
	}
	return NULL;
}

/*
 * Binds a declared out region to a region now, so that two declarations
 * at one address (a values buffer at its struct's address) go to the
 * struct and the values in turn, as they are written.
 */
static int remote_want(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	struct ks_uctx_remote *x = (struct ks_uctx_remote *)u;
	struct ks_uctx_region *r;

	if (x->n_decl == KS_UCTX_REMOTE_DECLS)
		return 0;
	r = untaken_at(x, uaddr, len);
	x->decl[x->n_decl].uaddr = uaddr;
	x->decl[x->n_decl].r = r ? r : region_of(x, uaddr, len);
	x->n_decl++;
	return 0;
}

static int remote_ready(struct ks_uctx *u)
{
	(void)u;
	return 0;
}

static int remote_write(struct ks_uctx *u, uint64_t uaddr, const void *src,
			size_t len)
{
	struct ks_uctx_remote *x = (struct ks_uctx_remote *)u;
	struct ks_uctx_region *r;
	uint64_t off;
	size_t done = 0;
	ssize_t n;

	if (!len)
		return 0;
	/* the next declared region, if this is it */
	r = NULL;
	if (x->n_written < x->n_decl && x->decl[x->n_written].uaddr == uaddr)
		r = x->decl[x->n_written++].r;
	if (!r || !region_holds(r, uaddr, len))
		r = region_of(x, uaddr, len);
	if (!r)
		return -EFAULT;
	off = uaddr - r->uaddr;
	if (r->buf) {
		memcpy((char *)r->buf + off, src, len);
	} else {
		while (done < len) {
			n = pwrite(r->fd, (const char *)src + done, len - done,
				   (off_t)(off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -EFAULT;
			done += (size_t)n;
		}
	}
	r->written = true;
	if (off + len > r->written_end)
		r->written_end = off + len;
	return 0;
}

static const struct ks_uctx_ops remote_ops = {
	.read = remote_read,
	.want = remote_want,
	.ready = remote_ready,
	.write = remote_write,
};

void ks_uctx_remote_init(struct ks_uctx_remote *x, const struct ks_caller *c)
{
	memset(x, 0, sizeof(*x));
	x->u.ops = &remote_ops;
	x->u.in_cap = SIZE_MAX;
	x->u.out_cap = SIZE_MAX;
	x->u.caller = *c;
}

int ks_uctx_remote_add(struct ks_uctx_remote *x, uint64_t uaddr, uint64_t len,
		       void *buf, int fd)
{
	struct ks_uctx_region *r;

	if (x->n == KS_UCTX_REMOTE_REGIONS)
		return -ENOSPC;
	r = &x->r[x->n++];
	memset(r, 0, sizeof(*r));
	r->uaddr = uaddr;
	/* the address space ends at 2^64 */
	r->len = len > UINT64_MAX - uaddr ? UINT64_MAX - uaddr : len;
	r->buf = buf;
	r->fd = buf ? -1 : fd;
	return 0;
}
