/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What kvmshim-run needs from the engine beyond the fd tokens: which ioctl
 * numbers to trap, proof that it holds a client's VM descriptor, and CMMA
 * transfers run for a client without the CUSE per-request limit (spec:
 * fd-passing.md §5, cmma.md §6-7).
 */
#ifndef KVMSHIM_CORE_SUPERVISE_H
#define KVMSHIM_CORE_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmshim/kvmshim.h"
#include "uaccess.h"

struct ks_engine;
struct ks_profile;

/*
 * The ioctl numbers of the profile that must be trapped, each encoding
 * it accepts once: CREATE_VM always, GET_HTAB_FD on ppc, ALLOCATE_RMA
 * where the profile has it, GET/SET_CMMA_BITS on s390x.  Returns the
 * number written (at most max).
 */
unsigned int ks_run_traps(const struct ks_profile *p,
			  struct kvmshim_run_trap *traps, unsigned int max);

/* KVMSHIM_CTL_RUN_INFO: the traps and a snapshot of the engine. */
void ks_run_info(struct ks_engine *eng, struct kvmshim_run_info *info);

/*
 * KVMSHIM_CTL_CMMA: runs the request for client with the peer's proof.
 * Returns 0 with *out filled (out->result is the ioctl's result), or
 * -errno if it could not run: -ENOENT (proof unknown, used, expired or
 * the peer's not), -EINVAL (flags, client, not a CMMA ioctl of the
 * profile), -EBADF (fd is not a memfd).  Uses up the proof only when it
 * runs.
 */
int ks_run_cmma(struct ks_engine *eng, uint64_t proof, pid_t peer, pid_t client,
		const struct kvmshim_ctl_cmma *in, int fd,
		struct kvmshim_ctl_cmma_out *out);

/*
 * A user context for a caller whose memory the daemon cannot reach: each
 * region of its address space is stood in for by a buffer or by a file
 * (read with pread, written with pwrite; a short read is EFAULT).  Any
 * other address is EFAULT.  Where regions overlap, an access starting at a
 * region's start is that region's, else it is the first region's that
 * holds it; declared out regions with the same start take the regions of
 * that start in turn (a handler writes them in declaration order).
 * Nothing ever needs another round.
 */
#define KS_UCTX_REMOTE_REGIONS 2

struct ks_uctx_region {
	uint64_t uaddr;
	uint64_t len;
	void *buf; /* NULL: the file fd at offset uaddr - region start */
	int fd;
	/* out: written at all, and the highest end written (offset) */
	bool written;
	uint64_t written_end;
};

/* Out regions a handler may declare (ks_want_to_user) per request. */
#define KS_UCTX_REMOTE_DECLS 4

struct ks_uctx_remote {
	struct ks_uctx u;
	struct ks_uctx_region r[KS_UCTX_REMOTE_REGIONS];
	unsigned int n;
	/* declared out regions, in order, and the region each went to */
	struct {
		uint64_t uaddr;
		struct ks_uctx_region *r;
	} decl[KS_UCTX_REMOTE_DECLS];
	unsigned int n_decl;
	unsigned int n_written;
};

void ks_uctx_remote_init(struct ks_uctx_remote *x, const struct ks_caller *c);
/* 0, or -ENOSPC when every region is taken; len is clamped at 2^64. */
int ks_uctx_remote_add(struct ks_uctx_remote *x, uint64_t uaddr, uint64_t len,
		       void *buf, int fd);

#endif /* KVMSHIM_CORE_SUPERVISE_H */
