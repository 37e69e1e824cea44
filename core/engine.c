// SPDX-License-Identifier: LGPL-2.1-or-later
/* Engine lifetime, memory accounting, handles and request routing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ioctl.h>

#include "kvmshim/kvmshim.h"

#include "htab.h"
#include "internal.h"
#include "log.h"
#include "rma.h"
#include "token.h"

int ks_engine_config_init(struct ks_engine_config *cfg, const char *profile)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = ks_profile_init(&cfg->profile, profile);
	if (ret)
		return ret;
	cfg->memory_limit = 0;
	cfg->hpt_max_alloc_order = 34;
	cfg->no_launcher_errno = EOPNOTSUPP;
	cfg->rma_size = 64ULL << 20;
	cfg->rma_count = cfg->profile.id == KS_PROFILE_PPC970 ? 4 : 0;
	cfg->rma_fd_cloexec = false;
	cfg->s390_has_cmma = true;
	cfg->s390_mem_limit = 1ULL << 44;
	cfg->ppc_nested = false;
	return 0;
}

int ks_engine_new(const struct ks_engine_config *cfg, struct ks_engine **out)
{
	struct ks_engine *eng;
	int ret;

	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return -ENOMEM;
	eng->cfg = *cfg;
	eng->next_vm_id = 1;
	pthread_mutex_init(&eng->lock, NULL);
	ret = ks_rma_pool_init(eng);
	if (ret) {
		pthread_mutex_destroy(&eng->lock);
		free(eng);
		return ret;
	}
	*out = eng;
	return 0;
}

void ks_engine_free(struct ks_engine *eng)
{
	if (!eng)
		return;
	/* pending tokens hold VMs: cancelling them comes first */
	ks_rma_pool_free(eng);
	if (eng->vms)
		ks_log(LOG_WARNING, "engine freed with live VMs");
	pthread_mutex_destroy(&eng->lock);
	free(eng);
}

const struct ks_engine_config *ks_engine_config(const struct ks_engine *eng)
{
	return &eng->cfg;
}

int ks_mem_charge(struct ks_engine *eng, size_t bytes)
{
	uint64_t cur = atomic_load(&eng->mem_used);
	uint64_t limit = eng->cfg.memory_limit;

	do {
		if (limit && (bytes > limit || cur > limit - bytes))
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak(&eng->mem_used, &cur,
					       cur + bytes));
	return 0;
}

void ks_mem_uncharge(struct ks_engine *eng, size_t bytes)
{
	atomic_fetch_sub(&eng->mem_used, bytes);
}

uint64_t ks_mem_used(const struct ks_engine *eng)
{
	return atomic_load(&((struct ks_engine *)eng)->mem_used);
}

/* A client may retry in a loop: the hint must not flood the log. */
#define KS_NO_LAUNCHER_LOG_MS 60000

int ks_no_launcher(struct ks_engine *eng, const char *ioctl_name,
		   const char *then)
{
	int64_t now = ks_now_ms();
	int64_t last = atomic_load(&eng->no_launcher_log_ms);
	uint64_t quiet;

	if ((last && now - last < KS_NO_LAUNCHER_LOG_MS) ||
	    !atomic_compare_exchange_strong(&eng->no_launcher_log_ms, &last,
					    now)) {
		atomic_fetch_add(&eng->no_launcher_quiet, 1);
		return -eng->cfg.no_launcher_errno;
	}
	quiet = atomic_exchange(&eng->no_launcher_quiet, 0);
	if (quiet)
		ks_log(LOG_NOTICE, "%llu similar messages suppressed",
		       (unsigned long long)quiet);
	ks_log(LOG_NOTICE,
	       "%s returns a new file descriptor, which a CUSE reply cannot "
	       "carry: run the program under kvmshim-run, or issue "
	       "KVMSHIM_FD_REQUEST on the same fd and %s",
	       ioctl_name, then);
	return -eng->cfg.no_launcher_errno;
}

int ks_open(struct ks_engine *eng, enum ks_node node, int oflags,
	    const struct ks_caller *caller, struct ks_handle **out)
{
	struct ks_handle *h;
	int ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->eng = eng;
	h->oflags = oflags;
	h->kind = KS_HANDLE_SYSTEM;
	if (node == KS_NODE_VM) {
		ret = ks_vm_create(eng, 0, caller->tgid, &h->vm);
		if (ret) {
			free(h);
			return ret;
		}
		h->kind = KS_HANDLE_VM;
	}
	*out = h;
	return 0;
}

enum ks_handle_kind ks_handle_kind(const struct ks_handle *h)
{
	/* a BIND may publish the kind meanwhile: see its fields with it */
	return __atomic_load_n(&h->kind, __ATOMIC_ACQUIRE);
}

uint64_t ks_handle_vm_id(const struct ks_handle *h)
{
	return h->vm ? h->vm->id : 0;
}

long ks_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
	      struct ks_uctx *u)
{
	if (_IOC_TYPE(cmd) == KVMSHIM_IO)
		return ks_priv_ioctl(h, cmd, arg, u);
	switch (ks_handle_kind(h)) {
	case KS_HANDLE_SYSTEM:
		return ks_sys_ioctl(h, cmd, arg, u);
	case KS_HANDLE_VM:
		return ks_vm_ioctl(h, cmd, arg, u);
	case KS_HANDLE_HTAB:
		/* the kvm-htab file has no ioctl operation */
		return -ENOTTY;
	}
	return -ENOTTY;
}

ssize_t ks_read(struct ks_handle *h, void *buf, size_t size,
		const struct ks_chunk *chunk, const struct ks_caller *caller)
{
	if (ks_handle_kind(h) == KS_HANDLE_HTAB)
		return ks_htab_read(h, buf, size, chunk, caller);
	/* system and VM fds have no read operation */
	return -EINVAL;
}

ssize_t ks_write(struct ks_handle *h, const void *buf, size_t size,
		 const struct ks_chunk *chunk, const struct ks_caller *caller)
{
	if (ks_handle_kind(h) == KS_HANDLE_HTAB)
		return ks_htab_write(h, buf, size, chunk, caller);
	return -EINVAL;
}

void ks_release(struct ks_handle *h)
{
	if (!h)
		return;
	if (h->kind == KS_HANDLE_HTAB)
		ks_htab_release(h);
	if (h->vm)
		ks_vm_put(h->vm);
	free(h);
}
