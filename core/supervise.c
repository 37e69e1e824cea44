// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's side of kvmshim-run: the trap list, VM proofs and CMMA
 * transfers run on a client's behalf (uapi/kvmshim/kvmshim.h, 0x42 and the
 * KVMSHIM_CTL_RUN_INFO / KVMSHIM_CTL_CMMA control operations).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "internal.h"
#include "rma.h"
#include "status.h"
#include "supervise.h"
#include "token.h"

/* A proof token holds a reference on its VM until used or expired. */
static void proof_cancel(void *obj)
{
	ks_vm_put(obj);
}

static const struct ks_token_kind proof_kind = {
	.name = "VM proof",
	.cancel = proof_cancel,
};

long ks_vm_proof_ioctl(struct ks_handle *h, uint64_t arg, struct ks_uctx *u)
{
	struct ks_fd_req r;
	long ret;

	if (ks_handle_kind(h) != KS_HANDLE_VM)
		return -ENOTTY;
	ret = ks_want_to_user(u, arg, sizeof(r.token));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	memset(&r, 0, sizeof(r));
	r.eng = h->eng;
	r.h = h;
	r.requester = u->caller.tgid;
	r.owner = u->caller.tgid;
	ks_vm_get(h->vm);
	/* on failure the token layer has cancelled it: the reference is gone */
	ret = ks_token_issue(&r, &proof_kind, h->vm, O_RDWR);
	if (ret)
		return ret;
	/* unwritable: the unused proof expires and drops the VM */
	return ks_copy_to_user(u, arg, &r.token, sizeof(r.token));
}

static unsigned int add_trap(const struct ks_profile *p, int id, uint32_t kind,
			     struct kvmshim_run_trap *traps, unsigned int n,
			     unsigned int max)
{
	uint32_t cmds[2] = { ks_ioctl_generic_cmd(id), ks_ioctl_ppc_cmd(id) };
	unsigned int i;

	for (i = 0; i < 2 && n < max; i++) {
		if (i == 1 && cmds[1] == cmds[0])
			break;
		/* only what the profile accepts: CUSE answers the rest */
		if (ks_ioctl_decode(p, cmds[i]) != id)
			continue;
		traps[n].cmd = cmds[i];
		traps[n].kind = kind;
		n++;
	}
	return n;
}

unsigned int ks_run_traps(const struct ks_profile *p,
			  struct kvmshim_run_trap *traps, unsigned int max)
{
	unsigned int n = 0;

	n = add_trap(p, KS_IOCTL_CREATE_VM, KVMSHIM_TRAP_CREATE_VM, traps, n,
		     max);
	if (p->arch == KS_ARCH_PPC)
		n = add_trap(p, KS_IOCTL_PPC_GET_HTAB_FD,
			     KVMSHIM_TRAP_GET_HTAB_FD, traps, n, max);
	if (p->has_rma)
		n = add_trap(p, KS_IOCTL_ALLOCATE_RMA,
			     KVMSHIM_TRAP_ALLOCATE_RMA, traps, n, max);
	if (p->arch == KS_ARCH_S390) {
		/* not for an fd: for transfers above one CUSE request (D1) */
		n = add_trap(p, KS_IOCTL_S390_GET_CMMA_BITS,
			     KVMSHIM_TRAP_GET_CMMA_BITS, traps, n, max);
		n = add_trap(p, KS_IOCTL_S390_SET_CMMA_BITS,
			     KVMSHIM_TRAP_SET_CMMA_BITS, traps, n, max);
	}
	return n;
}

void ks_run_info(struct ks_engine *eng, struct kvmshim_run_info *info)
{
	const struct ks_profile *p = &eng->cfg.profile;
	struct ks_engine_status st;

	memset(info, 0, sizeof(*info));
	info->arch = p->arch == KS_ARCH_PPC ? KVMSHIM_ARCH_PPC :
					      KVMSHIM_ARCH_S390;
	info->n_traps = ks_run_traps(p, info->traps, KVMSHIM_RUN_TRAPS_MAX);
	info->vms = ks_engine_status(eng, &st, NULL, NULL);
	info->rma_free = st.rma_free;
	info->rma_total = st.rma_total;
	info->tokens_pending = ks_tokens_pending(eng);
}

static void cmma_result(const struct ks_uctx_remote *x, long ret,
			struct kvmshim_ctl_cmma_out *out)
{
	/* a handler never restarts without a transport asking for it */
	out->result = ret == -KS_ERESTART ? -EIO : (int32_t)ret;
	/*
	 * Linux writes GET's struct last, after the values, and only on
	 * success; the engine writes it first for CUSE's sake (D8).  A
	 * failed call gives the client nothing.
	 */
	if (out->result)
		return;
	if (x->r[0].written)
		out->written |= KVMSHIM_CMMA_WROTE_LOG;
	if (x->r[1].written) {
		out->written |= KVMSHIM_CMMA_WROTE_VALUES;
		out->values_len = x->r[1].written_end;
	}
}

int ks_run_cmma(struct ks_engine *eng, uint64_t proof, pid_t peer, pid_t client,
		const struct kvmshim_ctl_cmma *in, int fd,
		struct kvmshim_ctl_cmma_out *out)
{
	const struct ks_profile *p = &eng->cfg.profile;
	struct ks_caller c = { .tid = client, .tgid = client };
	struct ks_s390_cmma_log log;
	struct ks_uctx_remote x;
	struct ks_handle h;
	void *obj;
	long ret;
	int id;

	memset(out, 0, sizeof(*out));
	id = ks_ioctl_decode(p, in->cmd);
	if (in->flags || client <= 0 ||
	    (id != KS_IOCTL_S390_GET_CMMA_BITS &&
	     id != KS_IOCTL_S390_SET_CMMA_BITS))
		return -EINVAL;
	/* only a memfd: reads and writes of it never block the daemon */
	if (fcntl(fd, F_GET_SEALS) < 0)
		return -EBADF;
	ret = ks_token_take(eng, proof, peer, &proof_kind, &obj);
	if (ret)
		return (int)ret;
	_Static_assert(sizeof(log) == sizeof(in->log), "cmma_log size");
	memcpy(&log, in->log, sizeof(log));
	memcpy(out->log, in->log, sizeof(out->log));
	ks_uctx_remote_init(&x, &c);
	/* the struct first: where it overlaps the values, it is what is read */
	ks_uctx_remote_add(&x, in->arg, sizeof(out->log), out->log, -1);
	ks_uctx_remote_add(&x, log.values, KS_S390_SKEYS_MAX, NULL, fd);
	memset(&h, 0, sizeof(h));
	h.eng = eng;
	h.kind = KS_HANDLE_VM;
	h.oflags = O_RDWR;
	h.vm = obj;
	/* the creator check (EIO) is the first thing it does */
	ret = ks_vm_ioctl(&h, in->cmd, in->arg, &x.u);
	ks_vm_put(obj);
	cmma_result(&x, ret, out);
	return 0;
}
