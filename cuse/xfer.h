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

/* The kernel's limits for one retry (fs/fuse/ioctl.c) */
#define XFER_MAX_IOV 256

struct xfer_region {
	uint64_t base;
	size_t len;
	bool slice; /* the current piece of an accumulated in-region */
};

/* What the previous round of one caller thread asked for. */
struct xfer_pending {
	pid_t tid;
	uint32_t cmd;
	uint64_t arg;
	size_t n_in;
	size_t n_out;
	struct xfer_region in[XFER_MAX_IOV];
	struct xfer_region out[XFER_MAX_IOV];
	/* an in-region too large for one round, gathered over several */
	uint64_t acc_base;
	size_t acc_len;
	size_t acc_done;
	uint8_t *acc_buf;
	struct xfer_pending *next;
};

/* Per-open list of pending multi-round requests, one per caller thread. */
struct xfer_table {
	pthread_mutex_t lock;
	struct xfer_pending *head;
	size_t count;
};

void xfer_table_init(struct xfer_table *t);
/* Frees everything, e.g. when a client died in the middle of an ioctl. */
void xfer_table_destroy(struct xfer_table *t);

/* The limits this transport moves per direction per request. */
size_t xfer_cap(void);

struct fuse_req;

/*
 * Runs handler for one FUSE_IOCTL request and sends exactly one reply.
 * handler returns a result, -errno or -KS_ERESTART.
 */
typedef long (*xfer_handler)(void *obj, uint32_t cmd, uint64_t arg,
			     struct ks_uctx *u);

struct xfer_request {
	struct fuse_req *req;
	uint32_t cmd;
	uint64_t arg;
	const void *in_buf;
	size_t in_size;
	size_t out_size;
	struct ks_caller caller;
};

/* Returns the handler's final result (or -KS_ERESTART after a retry). */
long xfer_ioctl(struct xfer_table *t, const struct xfer_request *r,
		xfer_handler handler, void *obj);

#endif /* KVMSHIM_CUSE_XFER_H */
