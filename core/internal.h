/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Engine internals shared by the core's modules. */
#ifndef KVMSHIM_CORE_INTERNAL_H
#define KVMSHIM_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine.h"
#include "memslot.h"

struct ks_hpt_state;
struct ks_cmma_state;
struct ks_htab_ctx;
struct ks_rma_pool;

struct ks_engine {
	struct ks_engine_config cfg;
	_Atomic uint64_t mem_used;
	pthread_mutex_t lock; /* protects the VM list and the id counter */
	struct ks_vm *vms;
	uint64_t next_vm_id;
	struct ks_rma_pool *rma;
	/* when the D6 hint was last logged, and how many were held back */
	_Atomic int64_t no_launcher_log_ms;
	_Atomic uint64_t no_launcher_quiet;
};

struct ks_vm {
	struct ks_engine *eng;
	uint64_t id;
	_Atomic int refs;
	/*
	 * Serialises every change of VM state, as Linux's kvm->lock and MMU
	 * setup lock do; different VMs never wait for each other.
	 */
	pthread_mutex_t lock;
	pid_t creator_tgid;
	unsigned long type;
	uint32_t vcpus_created; /* never decremented */
	uint32_t vcpus_running;
	struct ks_memslots slots;
	struct ks_hpt_state *hpt; /* ppc profiles */
	struct ks_cmma_state *cmma; /* s390x profile */
	struct ks_vm *next;
	struct ks_vm *prev;
};

struct ks_handle {
	struct ks_engine *eng;
	enum ks_handle_kind kind;
	int oflags;
	struct ks_vm *vm; /* VM and HTAB handles hold a reference */
	struct ks_htab_ctx *htab; /* HTAB handles */
};

/* VM lifetime */
int ks_vm_create(struct ks_engine *eng, unsigned long type, pid_t creator,
		 struct ks_vm **out);
void ks_vm_get(struct ks_vm *vm);
void ks_vm_put(struct ks_vm *vm);

/* Linux's VM-fd caller check (generic.md §4.1): 0 or -EIO. */
int ks_vm_check_caller(const struct ks_vm *vm, const struct ks_caller *c);

long ks_sys_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		  struct ks_uctx *u);
long ks_vm_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		 struct ks_uctx *u);
/* kvmshim's private ioctls (uapi/kvmshim/kvmshim.h) on any handle */
long ks_priv_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		   struct ks_uctx *u);

/* What an fd-returning ioctl answers once all its checks passed (D6). */
int ks_no_launcher(struct ks_engine *eng, const char *ioctl_name,
		   const char *then);

#endif /* KVMSHIM_CORE_INTERNAL_H */
