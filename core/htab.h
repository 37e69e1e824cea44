/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KVM_PPC_GET_HTAB_FD and the HTAB stream (spec: htab-fd.md). */
#ifndef KVMSHIM_CORE_HTAB_H
#define KVMSHIM_CORE_HTAB_H

#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

struct ks_vm;
struct ks_uctx;
struct ks_handle;

long ks_ioctl_ppc_get_htab_fd(struct ks_vm *vm, uint64_t arg,
			      struct ks_uctx *u);

ssize_t ks_htab_read(struct ks_handle *h, void *buf, size_t size,
		     const struct ks_chunk *chunk,
		     const struct ks_caller *caller);
ssize_t ks_htab_write(struct ks_handle *h, const void *buf, size_t size,
		      const struct ks_chunk *chunk,
		      const struct ks_caller *caller);
void ks_htab_release(struct ks_handle *h);

#endif /* KVMSHIM_CORE_HTAB_H */
