/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The retry plumbing of unrestricted CUSE ioctls: a struct ks_uctx whose
 * reads and writes are served from the data of the current round, and
 * which turns a handler's request for more into a FUSE_IOCTL_RETRY reply.
 */
#ifndef KVMSHIM_CUSE_XFER_H
#define KVMSHIM_CUSE_XFER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/uaccess.h"

/* The kernel's limit on the iovecs of one RETRY reply (fs/fuse/ioctl.c) */
#define XFER_MAX_IOV 256
/* Unfinished requests of one open file description kept at most */
#define XFER_MAX_PENDING 256
/* Largest in-region gathered over several rounds (SET_CMMA_BITS: 1 MiB) */
#define XFER_MAX_ACC (4U << 20)
/* All gathered in-regions of the process together */
#define XFER_MAX_ACC_TOTAL (256ULL << 20)

struct xfer_pending;

/* Per-open list of unfinished multi-round requests, one per caller thread. */
struct xfer_table {
	pthread_mutex_t lock;
	struct xfer_pending *head;
	size_t count;
};

void xfer_table_init(struct xfer_table *t);
/* Frees everything, e.g. when a client died in the middle of an ioctl. */
void xfer_table_destroy(struct xfer_table *t);
/* Unfinished requests in t. */
size_t xfer_table_count(struct xfer_table *t);

/* The most this transport moves per direction per request (32 pages). */
size_t xfer_cap(void);

/* Process-wide totals of unfinished requests, for status reports. */
struct xfer_stats {
	uint64_t pending; /* requests waiting for their next round */
	uint64_t bytes; /* memory they hold */
};
void xfer_get_stats(struct xfer_stats *st);

struct fuse_req;
struct xfer_ctx;

/* handler returns a result, -errno or -KS_ERESTART. */
typedef long (*xfer_handler)(void *obj, uint32_t cmd, uint64_t arg,
			     struct ks_uctx *u);

/* What a finished request looked like; valid only during the callback. */
struct xfer_done {
	long result; /* what the caller gets: >= 0 or -errno */
	unsigned int rounds; /* requests the syscall took, 1 = no retry */
	uint64_t start_ns; /* CLOCK_MONOTONIC when round 1 arrived */
	const struct xfer_ctx *ctx;
};

/*
 * Copies len bytes of the caller's memory at uaddr as the final round saw
 * them (out = false) or as the reply writes them back (out = true).
 * Returns 0, or -ENOENT if that range was not transferred.
 */
int xfer_peek(const struct xfer_done *d, uint64_t uaddr, void *dst, size_t len,
	      bool out);

struct xfer_request {
	struct fuse_req *req;
	uint32_t cmd;
	uint64_t arg;
	const void *in_buf;
	size_t in_size;
	size_t out_size;
	struct ks_caller caller;
	/* called after the final reply was sent (not after a RETRY) */
	void (*done)(void *opaque, const struct xfer_done *d);
	/*
	 * called when this request (a first round) finds the state of an
	 * earlier syscall of the same thread that never came back: the
	 * kernel's copy faulted or a signal ended it between rounds
	 */
	void (*abandoned)(void *opaque, uint32_t cmd, uint64_t arg,
			  unsigned int rounds, uint64_t start_ns);
	void *done_opaque;
};

/*
 * Runs handler for one FUSE_IOCTL request and sends exactly one reply.
 * Returns the final result, or -KS_ERESTART when a RETRY was sent.
 */
long xfer_ioctl(struct xfer_table *t, const struct xfer_request *r,
		xfer_handler handler, void *obj);

/* Monotonic clock in nanoseconds. */
uint64_t xfer_now_ns(void);

#endif /* KVMSHIM_CUSE_XFER_H */
