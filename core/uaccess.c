// SPDX-License-Identifier: LGPL-2.1-or-later
/* Direct user access: the "caller" is this process. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "uaccess.h"

static int direct_check(struct ks_uctx_direct *d, uint64_t uaddr, size_t len)
{
	uint64_t end = uaddr + len;

	if (end < uaddr)
		return -EFAULT;
	if (len && uaddr < d->fault_hi && end > d->fault_lo)
		return -EFAULT;
	/* Like the kernel, a null page is never accessible. */
	if (len && uaddr < 4096)
		return -EFAULT;
	return 0;
}

static int direct_read(struct ks_uctx *u, void *dst, uint64_t uaddr, size_t len)
{
	struct ks_uctx_direct *d = (struct ks_uctx_direct *)u;
	int ret = direct_check(d, uaddr, len);

	if (ret)
		return ret;
	if (len)
		memcpy(dst, (const void *)(uintptr_t)uaddr, len);
	return 0;
}

static int direct_want(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	(void)u;
	(void)uaddr;
	(void)len;
	return 0;
}

static int direct_ready(struct ks_uctx *u)
{
	(void)u;
	return 0;
}

static int direct_write(struct ks_uctx *u, uint64_t uaddr, const void *src,
			size_t len)
{
	struct ks_uctx_direct *d = (struct ks_uctx_direct *)u;
	int ret = direct_check(d, uaddr, len);

	if (ret)
		return ret;
	if (len)
		memcpy((void *)(uintptr_t)uaddr, src, len);
	return 0;
}

static const struct ks_uctx_ops direct_ops = {
	.read = direct_read,
	.want = direct_want,
	.ready = direct_ready,
	.write = direct_write,
};

void ks_uctx_direct_init(struct ks_uctx_direct *d, pid_t tgid)
{
	memset(d, 0, sizeof(*d));
	d->u.ops = &direct_ops;
	d->u.in_cap = SIZE_MAX;
	d->u.out_cap = SIZE_MAX;
	d->u.caller.tid = tgid;
	d->u.caller.tgid = tgid;
	d->u.caller.uid = getuid();
	d->u.caller.gid = getgid();
}
