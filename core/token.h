/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Single-use tokens for objects that Linux hands out as new file
 * descriptors (a VM, an HTAB stream, an RMA).  A CUSE reply cannot carry an
 * fd, so KVMSHIM_FD_REQUEST runs the real ioctl's checks, creates the
 * object and returns a token; the program (or kvmshim-run on its behalf)
 * then turns the token into a descriptor: KVMSHIM_BIND on an unbound open
 * of the system node for a VM or HTAB stream, or a claim over the control
 * socket for an RMA memfd.  Tokens expire if unused, releasing what they
 * hold.
 */
#ifndef KVMSHIM_CORE_TOKEN_H
#define KVMSHIM_CORE_TOKEN_H

#include <stdint.h>
#include <sys/types.h>

#include "kvmshim/kvmshim.h"

struct ks_engine;
struct ks_handle;
struct ks_uctx;

/*
 * Hands out the memfd behind an RMA token to a control-socket peer.  On
 * success *fd is a descriptor the caller sends and then closes, and *info
 * describes it; the engine keeps no reference to it.  owner_tgid is the
 * process that will hold the fd (its exit returns the pool entry): the
 * control socket passes the request's owner_tgid, or the peer's pid when
 * that is 0.  It must be the process the token was issued for.
 * -ENOENT: unknown, expired, used or foreign token, or an RMA whose VM is
 * gone; -EINVAL: not an RMA token, or owner_tgid <= 0; -ESRCH: the owner
 * has exited.  Only -ENOENT from a valid token and -ESRCH consume it.
 */
int ks_token_claim_fd(struct ks_engine *eng, uint64_t token, pid_t owner_tgid,
		      int *fd, struct kvmshim_fd_info *info);

/* ---- inside the core ---- */

/* The private ioctls of nr 0x40-0x4f (KVMSHIM_FD_REQUEST, KVMSHIM_BIND). */
long ks_token_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		    struct ks_uctx *u);

/*
 * A kind of object a token can stand for.  To add one (for example the
 * HTAB stream): write an FD_REQUEST handler (struct ks_fd_req below) that
 * runs the ioctl's checks, creates the object and calls ks_token_issue()
 * with a kind like this, and route the ioctl to it in token.c
 * (fd_request_vm() or fd_request_system()).
 */
struct ks_token_kind {
	const char *name;
	/* KVMSHIM_FD_KIND_* */
	uint32_t fd_kind;
	/*
	 * KVMSHIM_BIND: attach the object to h, an unbound system handle
	 * (set h->kind, h->vm, h->htab).  h is a copy that is published
	 * afterwards: keep no pointer to it.  Runs under the token table's
	 * lock: only set fields, take no other lock, never block.  From here
	 * the handle owns the object (ks_release frees it).  NULL: the object
	 * is not bound to a node (BIND gives EINVAL).
	 */
	void (*bind)(void *obj, struct ks_handle *h);
	/*
	 * Claim over the control socket: hand out a descriptor the caller
	 * closes after sending.  Owns obj from the call on, whatever it
	 * returns.  NULL: not claimable (EINVAL).
	 */
	int (*claim)(void *obj, pid_t owner_tgid, int *fd,
		     struct kvmshim_fd_info *info);
	/*
	 * The token is dropped unused (expiry, engine teardown): release
	 * everything obj holds and free it.  Runs without any engine lock.
	 */
	void (*cancel)(void *obj);
};

/* One FD_REQUEST, after the request was read and checked. */
struct ks_fd_req {
	struct ks_engine *eng;
	struct ks_handle *h; /* the handle it was issued on */
	int id; /* enum ks_ioctl_id of cmd */
	uint32_t flags; /* KVMSHIM_FD_* */
	uint64_t arg;
	uint8_t data[32];
	/* the calling process (0: not visible to the daemon) */
	pid_t requester;
	/*
	 * the process the object is for: a new VM's creator, an RMA's
	 * holder; owner_tgid for a supervised request, else the requester
	 */
	pid_t owner;
	/* out */
	uint64_t token;
	uint64_t rma_size;
};

/*
 * Issues a token for obj (of the given kind).  accmode is the O_ACCMODE a
 * binding open must have (ignored for kinds without bind).  Sets r->token.
 * On failure (-EMFILE, -ENFILE, -ENOMEM) obj has been cancelled.
 */
int ks_token_issue(struct ks_fd_req *r, const struct ks_token_kind *kind,
		   void *obj, int accmode);

/*
 * Uses up a token of the given kind that tgid requested (a foreign,
 * unknown, expired or other-kind token: -ENOENT, and it stays as it was).
 * On success the caller owns *obj and must release it as the kind's
 * cancel would.
 */
int ks_token_take(struct ks_engine *eng, uint64_t token, pid_t tgid,
		  const struct ks_token_kind *kind, void **obj);

/* KVMSHIM_VM_PROOF (core/supervise.c). */
long ks_vm_proof_ioctl(struct ks_handle *h, uint64_t arg, struct ks_uctx *u);

/* FD_REQUEST handlers of the domains (called after ks_uctx_ready). */
int ks_sys_fd_create_vm(struct ks_fd_req *r);
int ks_rma_fd_request(struct ks_fd_req *r);

/* The token table of an engine (it lives in the RMA pool object). */
struct ks_tokens;

struct ks_tokens *ks_tokens_new(void);
/* Cancels every pending token. */
void ks_tokens_free(struct ks_tokens *t);
/*
 * Cancels the tokens expired at now_ms (CLOCK_MONOTONIC); returns the
 * milliseconds until the next expiry, or -1 when no token is pending.
 */
int ks_tokens_reap(struct ks_tokens *t, int64_t now_ms);
/* For tests: the lifetime of tokens issued from now on. */
void ks_tokens_set_ttl_ms(struct ks_engine *eng, unsigned int ms);
/* Tokens pending (issued, not used, not yet reaped). */
unsigned int ks_tokens_pending(struct ks_engine *eng);

int64_t ks_now_ms(void);

#endif /* KVMSHIM_CORE_TOKEN_H */
