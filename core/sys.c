// SPDX-License-Identifier: LGPL-2.1-or-later
/* System-fd ioctls (spec: generic.md §2, §3). */
#include <errno.h>
#include <fcntl.h>

#include "internal.h"
#include "token.h"

/* KVM_CREATE_VM type rules of the profile's architecture (D7: no EMFILE). */
static int sys_check_vm_type(const struct ks_profile *p, uint64_t type)
{
	if (p->arch == KS_ARCH_PPC) {
		/* HV only: no PR backend is loaded */
		if (type == 0 || type == KS_VM_PPC_HV)
			return 0;
		return -EINVAL;
	}
	/* s390x: a kernel built without UCONTROL support */
	return type == 0 ? 0 : -EINVAL;
}

/* A VM token holds the new VM's only reference until BIND. */
static void vm_token_bind(void *obj, struct ks_handle *h)
{
	h->vm = obj;
	h->kind = KS_HANDLE_VM;
}

static void vm_token_cancel(void *obj)
{
	ks_vm_put(obj);
}

static const struct ks_token_kind vm_token_kind = {
	.name = "VM",
	.fd_kind = KVMSHIM_FD_KIND_VM,
	.bind = vm_token_bind,
	.cancel = vm_token_cancel,
};

int ks_sys_fd_create_vm(struct ks_fd_req *r)
{
	struct ks_vm *vm;
	int ret;

	ret = sys_check_vm_type(&r->eng->cfg.profile, r->arg);
	if (ret)
		return ret;
	ret = ks_vm_create(r->eng, r->arg, r->owner, &vm);
	if (ret)
		return ret;
	/* Linux's VM fd is O_RDWR */
	return ks_token_issue(r, &vm_token_kind, vm, O_RDWR);
}

long ks_sys_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		  struct ks_uctx *u)
{
	const struct ks_profile *p = &h->eng->cfg.profile;
	int ret;

	(void)u;
	switch (ks_ioctl_decode(p, cmd)) {
	case KS_IOCTL_GET_API_VERSION:
		return arg ? -EINVAL : KS_API_VERSION;
	case KS_IOCTL_CHECK_EXTENSION:
		return ks_profile_cap(p, arg);
	case KS_IOCTL_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : (long)p->vcpu_mmap_size;
	case KS_IOCTL_S390_ENABLE_SIE:
		if (p->arch != KS_ARCH_S390)
			break;
		return 0;
	case KS_IOCTL_CREATE_VM:
		ret = sys_check_vm_type(p, arg);
		if (ret)
			return ret;
		return ks_no_launcher(h->eng, "KVM_CREATE_VM",
				      "KVMSHIM_BIND the token on an O_RDWR "
				      "open of the system node");
	}
	/* Q18: anything else on the system fd, VM ioctls included */
	return -EINVAL;
}
