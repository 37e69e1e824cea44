// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the HTAB stream lands. */
#include <errno.h>

#include "htab.h"
#include "status.h"

long ks_ioctl_ppc_get_htab_fd(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

ssize_t ks_htab_read(struct ks_handle *h, void *buf, size_t size,
		     const struct ks_chunk *chunk,
		     const struct ks_caller *caller)
{
	(void)h, (void)buf, (void)size, (void)chunk, (void)caller;
	return -EINVAL;
}

ssize_t ks_htab_write(struct ks_handle *h, const void *buf, size_t size,
		      const struct ks_chunk *chunk,
		      const struct ks_caller *caller)
{
	(void)h, (void)buf, (void)size, (void)chunk, (void)caller;
	return -EINVAL;
}

void ks_htab_release(struct ks_handle *h)
{
	(void)h;
}

void ks_htab_status(struct ks_vm *vm, struct ks_vm_status *st)
{
	(void)vm, (void)st;
}
