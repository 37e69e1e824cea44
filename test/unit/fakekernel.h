/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A kernel-less CUSE harness: it plays the kernel's side of the CUSE
 * protocol over a SOCK_SEQPACKET socketpair against a real node (cuse/node.c
 * with libfuse and the engine) in this process.  It sends what
 * fs/fuse/cuse.c, ioctl.c and file.c send and applies their checks:
 *
 *  - CUSE_INIT, and the checks on its reply (major 7, minor >= 11,
 *    DEVNAME);
 *  - unrestricted ioctls with retry rounds: a RETRY reply's iovecs are
 *    checked like fuse_do_ioctl() does (at most 256, payload exactly
 *    16 bytes each, at most 32 pages per direction: ENOMEM or EIO), the
 *    in-regions are copied from this process's memory, a final reply
 *    larger than the out-regions is EIO and is scattered over them in
 *    order; ENOSYS becomes ENOTTY;
 *  - read and write split in chunks of 32 pages (the first shorter when the
 *    buffer is not page aligned), offset = bytes done in the syscall,
 *    stopping at the first short reply; a chunk ends before the first page
 *    that faults, and a chunk that would start there ends the syscall
 *    (EFAULT if nothing was done);
 *  - RELEASE without credentials, INTERRUPT.
 *
 * "Caller addresses" are addresses in this process.  fk_fault() makes a
 * range unreadable and unwritable, as a bad pointer is: copies touching it
 * fail with EFAULT, after copying out what precedes the fault.  The first
 * page and everything from 2^47 - 4096 on always fault.
 *
 * Every reply is matched to its request; fk_free() returns how many replies
 * arrived that no request was waiting for (a second reply, a reply to
 * nothing), which a correct daemon keeps at 0.
 */
#ifndef KVMSHIM_TEST_FAKEKERNEL_H
#define KVMSHIM_TEST_FAKEKERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/engine.h"
#include "cuse/node.h"

struct fk;

struct fk_options {
	unsigned int max_workers; /* 0: the node's default */
	bool trace;
	/* replaces ks_ioctl in the node (see struct node) */
	xfer_handler ioctl_fn;
};

/*
 * Starts a node of the given kind serving eng, and completes CUSE_INIT.
 * Fails the test on error.
 */
struct fk *fk_new(struct ks_engine *eng, enum ks_node kind,
		  const struct fk_options *opt);
/*
 * Stops the node like the daemon does at shutdown (opens still held are
 * freed), ends the connection, and returns the number of unmatched
 * replies seen over its life.
 */
unsigned int fk_free(struct fk *k);
/* The node under test. */
struct node *fk_node(struct fk *k);

/* What the CUSE_INIT reply said. */
struct fk_init_info {
	uint32_t major, minor, flags, max_read, max_write;
	char devname[80];
};
void fk_init_info(struct fk *k, struct fk_init_info *out);

/* Makes [addr, addr + len) fault; fk_unfault_all() forgets them all. */
void fk_fault(struct fk *k, const void *addr, size_t len);
void fk_unfault_all(struct fk *k);

/* Current thread id, the usual "caller" of a request. */
pid_t fk_gettid(void);

/* open(2) of the node: 0 and *fh, or -errno. */
int fk_open(struct fk *k, pid_t pid, int flags, uint64_t *fh);
/* The last close: RELEASE with uid = gid = pid = 0; 0 or -errno. */
int fk_release(struct fk *k, uint64_t fh);

/* read(2)/write(2) as the kernel chunks them; bytes or -errno. */
ssize_t fk_read(struct fk *k, uint64_t fh, pid_t pid, void *buf, size_t size);
ssize_t fk_write(struct fk *k, uint64_t fh, pid_t pid, const void *buf,
		 size_t size);

/* One ioctl(2), in every detail. */
struct fk_ioctl {
	uint64_t fh;
	pid_t pid;
	uint32_t cmd;
	uint64_t arg;
	bool compat; /* a 32-bit caller (compat_ioctl) */
	/*
	 * Called before round n (n >= 2) copies its in-regions; it may change
	 * caller memory.  Returning false abandons the syscall there, as a
	 * signal does: fk_ioctl_ex() then returns -EINTR without sending it.
	 */
	bool (*before_round)(void *opaque, unsigned int round);
	void *opaque;
	/* filled in */
	unsigned int rounds; /* requests sent */
	size_t max_in; /* largest in-data of one request */
	size_t max_out; /* largest out_size of one request */
	unsigned int max_iovs; /* most iovecs one RETRY asked for */
	bool kernel_check_failed; /* a RETRY broke the kernel's limits */
	uint64_t last_unique;
};
long fk_ioctl_ex(struct fk *k, struct fk_ioctl *io);
/* Result or -errno. */
long fk_ioctl(struct fk *k, uint64_t fh, pid_t pid, uint32_t cmd, uint64_t arg);

/* Raw messages, for what the helpers above do not cover. */
struct fk_reply {
	uint64_t unique;
	int32_t error; /* negative errno or 0 */
	size_t len; /* payload bytes */
	uint8_t data[];
};
/* Sends a request; returns its unique. */
uint64_t fk_send(struct fk *k, uint32_t opcode, pid_t pid, const void *arg,
		 size_t arg_len, const void *data, size_t data_len);
/* Sends FUSE_INTERRUPT for the request unique. */
void fk_interrupt(struct fk *k, uint64_t unique);
/* Waits for the reply to unique: NULL after timeout_ms. Free with free(). */
struct fk_reply *fk_wait(struct fk *k, uint64_t unique, int timeout_ms);
/* Number of replies received so far for interrupts (EAGAIN answers). */
unsigned int fk_interrupt_replies(struct fk *k);

#endif /* KVMSHIM_TEST_FAKEKERNEL_H */
