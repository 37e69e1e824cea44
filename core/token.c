// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until fd tokens land. */
#include <errno.h>

#include "token.h"

int ks_token_claim_fd(struct ks_engine *eng, uint64_t token, pid_t owner_tgid,
		      int *fd, struct kvmshim_fd_info *info)
{
	(void)eng, (void)token, (void)owner_tgid, (void)fd, (void)info;
	return -ENOENT;
}
