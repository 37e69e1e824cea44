/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Single-use tokens for objects that Linux hands out as new file
 * descriptors (a VM, an HTAB stream, an RMA).  A CUSE reply cannot carry an
 * fd, so KVMSHIM_FD_REQUEST runs the real ioctl's checks and returns a
 * token; the program (or kvmshim-run on its behalf) then turns the token
 * into a descriptor: KVMSHIM_BIND on a fresh open of the system node for a
 * VM or HTAB stream, or a claim over the control socket for an RMA memfd.
 * Tokens expire if unused, releasing what they hold.
 */
#ifndef KVMSHIM_CORE_TOKEN_H
#define KVMSHIM_CORE_TOKEN_H

#include <stdint.h>
#include <sys/types.h>

#include "kvmshim/kvmshim.h"

struct ks_engine;
struct ks_handle;

/*
 * Hands out the memfd behind an RMA token to a control-socket peer.  On
 * success *fd is a descriptor the caller sends and then closes, and *info
 * describes it.  owner_tgid is the process that will hold the fd (its exit
 * returns the pool entry).  -ENOENT for an unknown or expired token.
 */
int ks_token_claim_fd(struct ks_engine *eng, uint64_t token, pid_t owner_tgid,
		      int *fd, struct kvmshim_fd_info *info);

#endif /* KVMSHIM_CORE_TOKEN_H */
