// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What kvmshim-run asks the daemon over the control socket: which ioctl
 * numbers to trap, and CMMA transfers for its clients (core/supervise.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "control_run.h"
#include "core/supervise.h"
#include "procstat.h"

static int op_run_info(struct ctl_call *c)
{
	struct kvmshim_run_info info;

	ks_run_info(c->eng, &info);
	return ctl_append(c, &info, sizeof(info));
}

static int op_cmma(struct ctl_call *c)
{
	struct kvmshim_ctl_cmma in;
	struct kvmshim_ctl_cmma_out out;
	pid_t client = c->req->owner_tgid;
	long uid;
	int ret;

	if (c->payload_len != sizeof(in) || client <= 0)
		return -EINVAL;
	if (c->n_in_fds != 1)
		return -EBADF;
	memcpy(&in, c->payload, sizeof(in));
	/* a launcher acts for its own user's programs, or it is root */
	uid = proc_uid_of(client);
	if (uid < 0)
		return -ESRCH;
	if (c->peer.uid != 0 && (uid_t)uid != c->peer.uid)
		return -EPERM;
	/* ...and only for the programs it runs */
	if (!proc_is_ancestor(c->peer.pid, client))
		return -EPERM;
	ret = ks_run_cmma(c->eng, c->req->token, c->peer.pid, client, &in,
			  c->in_fds[0], &out);
	if (ret)
		return ret;
	return ctl_append(c, &out, sizeof(out));
}

int control_run_register(void)
{
	int ret = ctl_register(KVMSHIM_CTL_RUN_INFO, "run-info", op_run_info);

	if (!ret)
		ret = ctl_register(KVMSHIM_CTL_CMMA, "cmma", op_cmma);
	return ret;
}
