/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * KVM_PPC_GET_HTAB_FD and the HTAB stream (spec: htab-fd.md).
 *
 * A stream is a context bound to a handle of the system node (a CUSE open,
 * so that reads and writes see the caller's buffer size).  The plain ioctl
 * cannot hand out a descriptor through CUSE: it runs Linux's checks and
 * then fails (D6); KVMSHIM_FD_REQUEST + KVMSHIM_BIND give the real stream.
 */
#ifndef KVMSHIM_CORE_HTAB_H
#define KVMSHIM_CORE_HTAB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

struct ks_vm;
struct ks_uctx;
struct ks_handle;
struct ks_fd_req;
struct ks_vm_status;

long ks_ioctl_ppc_get_htab_fd(struct ks_vm *vm, uint64_t arg,
			      struct ks_uctx *u);

/* KVMSHIM_FD_REQUEST for KVM_PPC_GET_HTAB_FD on a VM handle. */
int ks_htab_fd_request(struct ks_fd_req *r);

ssize_t ks_htab_read(struct ks_handle *h, void *buf, size_t size,
		     const struct ks_chunk *chunk,
		     const struct ks_caller *caller);
ssize_t ks_htab_write(struct ks_handle *h, const void *buf, size_t size,
		      const struct ks_chunk *chunk,
		      const struct ks_caller *caller);
void ks_htab_release(struct ks_handle *h);

/* The stream's flags (KS_GET_HTAB_*) of an HTAB handle, else 0. */
uint64_t ks_htab_flags(const struct ks_handle *h);

/* ---- inside the core ---- */

/* Largest n_valid / n_invalid of a record, and the largest record. */
#define KS_HTAB_RUN_MAX 0xffffU
#define KS_HTAB_HDR_BYTES 8U
#define KS_HTAB_HPTE_BYTES 16U
#define KS_HTAB_RECORD_MAX                                                     \
	(KS_HTAB_HDR_BYTES + KS_HTAB_HPTE_BYTES * (size_t)KS_HTAB_RUN_MAX)

struct ks_htab_wsys;

/* One stream (Linux's struct kvm_htab_ctx). */
struct ks_htab_ctx {
	struct ks_vm *vm; /* a reference, passed to the handle by BIND */
	uint64_t flags; /* KS_GET_HTAB_BOLTED_ONLY, KS_GET_HTAB_WRITE */
	/* serialises the calls on this stream, taken before vm->lock */
	pthread_mutex_t lock;
	/* read stream: the cursor and the pass */
	uint64_t index;
	bool first_pass;
	/* write stream: the write() calls in progress, one per thread */
	struct ks_htab_wsys *wsys;
	unsigned int n_wsys;
};

/*
 * The read algorithm of htab-fd.md §4 for count bytes into buf; vm->lock
 * held.  Returns the bytes placed (never an error).
 */
size_t ks_htab_read_locked(struct ks_htab_ctx *c, uint8_t *buf, size_t count);

/* Frees the write reassembly state of a stream. */
void ks_htab_wsys_free_all(struct ks_htab_ctx *c);

#endif /* KVMSHIM_CORE_HTAB_H */
