/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access to the caller's memory from an ioctl handler, independent of the
 * transport.
 *
 * Handlers are written in two phases.  First they read what they need and
 * declare every region they will write; any of these calls may return
 * -KS_ERESTART, which the handler must pass up unchanged, and the transport
 * then runs the handler again from the start with more data (CUSE's retry
 * rounds).  Only after ks_uctx_ready() returned 0 may a handler change
 * state; from then on reads and writes of declared regions cannot restart.
 *
 * Out regions must be written in the order they were declared, each at most
 * once and from its start, because CUSE scatters the reply over them in
 * order.
 */
#ifndef KVMSHIM_CORE_UACCESS_H
#define KVMSHIM_CORE_UACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Internal: another transport round is needed.  Never reaches a client. */
#define KS_ERESTART 4096

/* Who issued a request. tgid 0 means "not visible to the daemon". */
struct ks_caller {
	pid_t tid;
	pid_t tgid;
	uid_t uid;
	gid_t gid;
};

struct ks_uctx;

struct ks_uctx_ops {
	/* 0, -EFAULT or -KS_ERESTART */
	int (*read)(struct ks_uctx *u, void *dst, uint64_t uaddr, size_t len);
	/* declare an out region: 0 or -KS_ERESTART (deferred, see ready) */
	int (*want)(struct ks_uctx *u, uint64_t uaddr, size_t len);
	/* 0 once everything read and declared is available */
	int (*ready)(struct ks_uctx *u);
	/* 0 or -EFAULT; only for declared regions, after ready() */
	int (*write)(struct ks_uctx *u, uint64_t uaddr, const void *src,
		     size_t len);
};

struct ks_uctx {
	const struct ks_uctx_ops *ops;
	/* largest total the transport moves per direction per request */
	size_t in_cap;
	size_t out_cap;
	struct ks_caller caller;
};

static inline int ks_copy_from_user(struct ks_uctx *u, void *dst,
				    uint64_t uaddr, size_t len)
{
	return u->ops->read(u, dst, uaddr, len);
}

static inline int ks_want_to_user(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	return u->ops->want(u, uaddr, len);
}

static inline int ks_uctx_ready(struct ks_uctx *u)
{
	return u->ops->ready(u);
}

static inline int ks_copy_to_user(struct ks_uctx *u, uint64_t uaddr,
				  const void *src, size_t len)
{
	return u->ops->write(u, uaddr, src, len);
}

/*
 * Direct access to this process's own memory, for unit tests, benchmarks
 * and in-process callers.  Addresses inside [fault_lo, fault_hi) fail with
 * EFAULT, so tests can place a "bad pointer" anywhere.
 */
struct ks_uctx_direct {
	struct ks_uctx u;
	uint64_t fault_lo;
	uint64_t fault_hi;
};

void ks_uctx_direct_init(struct ks_uctx_direct *d, pid_t tgid);

#endif /* KVMSHIM_CORE_UACCESS_H */
