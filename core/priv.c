// SPDX-License-Identifier: LGPL-2.1-or-later
/* kvmshim's private ioctls (uapi/kvmshim/kvmshim.h). */
#include <errno.h>
#include <linux/ioctl.h>
#include <stdbool.h>
#include <string.h>

#include "kvmshim/kvmshim.h"

#include "cmma.h"
#include "hpt.h"
#include "htab.h"
#include "internal.h"
#include "token.h"

static long priv_whoami(struct ks_handle *h, uint64_t arg, struct ks_uctx *u)
{
	enum ks_handle_kind kind;
	struct kvmshim_whoami w;
	int ret;

	ret = ks_want_to_user(u, arg, sizeof(w));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	kind = ks_handle_kind(h);
	memset(&w, 0, sizeof(w));
	w.kind = kind == KS_HANDLE_VM	? KVMSHIM_KIND_VM :
		 kind == KS_HANDLE_HTAB ? KVMSHIM_KIND_HTAB :
					  KVMSHIM_KIND_SYSTEM;
	w.arch = h->eng->cfg.profile.arch == KS_ARCH_PPC ? KVMSHIM_ARCH_PPC :
							   KVMSHIM_ARCH_S390;
	w.oflags = (__u32)h->oflags;
	if (kind == KS_HANDLE_HTAB)
		w.htab_flags = ks_htab_flags(h);
	if (kind != KS_HANDLE_SYSTEM) {
		w.vm_id = h->vm->id;
		w.creator_tgid = h->vm->creator_tgid;
	}
	return ks_copy_to_user(u, arg, &w, sizeof(w));
}

static long priv_set_vcpus(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_vcpus v;
	long ret;

	ret = ks_copy_from_user(u, &v, arg, sizeof(v));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	if (v.created < vm->vcpus_created || v.running > v.created)
		ret = -EINVAL;
	else {
		vm->vcpus_created = v.created;
		vm->vcpus_running = v.running;
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static long priv_get_vcpus(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_vcpus v;
	long ret;

	ret = ks_want_to_user(u, arg, sizeof(v));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	v.created = vm->vcpus_created;
	v.running = vm->vcpus_running;
	pthread_mutex_unlock(&vm->lock);
	return ks_copy_to_user(u, arg, &v, sizeof(v));
}

/* Every private ioctl kvmshim defines, on whichever handle it applies. */
static bool priv_defined(uint32_t cmd)
{
	static const uint32_t defined[] = {
		KVMSHIM_WHOAMI,
		KVMSHIM_SET_VCPUS,
		KVMSHIM_GET_VCPUS,
		KVMSHIM_PPC_H_ENTER,
		KVMSHIM_PPC_H_REMOVE,
		KVMSHIM_PPC_H_PROTECT,
		KVMSHIM_PPC_SET_RC,
		KVMSHIM_PPC_READ_ENTRY,
		KVMSHIM_PPC_INSERT_RAW,
		KVMSHIM_PPC_RUN,
		KVMSHIM_PPC_SET_MMU_READY,
		KVMSHIM_PPC_RESIZE_WORKER,
		KVMSHIM_PPC_RESIZE_RELEASE,
		KVMSHIM_PPC_FAIL_ALLOC,
		KVMSHIM_PPC_INFO,
		KVMSHIM_S390_ESSA,
		KVMSHIM_S390_CMMA_INFO,
		KVMSHIM_FD_REQUEST,
		KVMSHIM_BIND,
		KVMSHIM_VM_PROOF,
	};
	size_t i;

	for (i = 0; i < sizeof(defined) / sizeof(defined[0]); i++)
		if (defined[i] == cmd)
			return true;
	return false;
}

long ks_priv_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		   struct ks_uctx *u)
{
	enum ks_handle_kind kind = ks_handle_kind(h);
	unsigned int nr = _IOC_NR(cmd);

	if (cmd == KVMSHIM_WHOAMI)
		return priv_whoami(h, arg, u);
	/*
	 * A number kvmshim does not define is an unknown ioctl, whatever its
	 * type byte: EINVAL on the system fd (Q18); a VM fd checks its
	 * caller first (EIO), then does not know it (ENOTTY).
	 */
	if (!priv_defined(cmd)) {
		if (kind == KS_HANDLE_SYSTEM)
			return -EINVAL;
		if (kind == KS_HANDLE_VM)
			return ks_vm_ioctl(h, cmd, arg, u);
		return -ENOTTY;
	}
	/* fd tokens work on system and VM handles */
	if (nr >= 0x40 && nr < 0x50)
		return ks_token_ioctl(h, cmd, arg, u);
	if (kind != KS_HANDLE_VM)
		return -ENOTTY;
	switch (cmd) {
	case KVMSHIM_SET_VCPUS:
		return priv_set_vcpus(h->vm, arg, u);
	case KVMSHIM_GET_VCPUS:
		return priv_get_vcpus(h->vm, arg, u);
	}
	if (nr >= 0x10 && nr < 0x30 && h->eng->cfg.profile.arch == KS_ARCH_PPC)
		return ks_ppc_sim_ioctl(h->vm, cmd, arg, u);
	if (nr >= 0x30 && nr < 0x40 && h->eng->cfg.profile.arch == KS_ARCH_S390)
		return ks_s390_sim_ioctl(h->vm, cmd, arg, u);
	return -ENOTTY;
}
