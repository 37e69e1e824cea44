/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kvmshim engine: the transport-agnostic model behind the device nodes.
 * A front end (the CUSE daemon, a test) opens handles and passes every
 * request on them to the functions below.  Nothing here knows about FUSE.
 */
#ifndef KVMSHIM_CORE_ENGINE_H
#define KVMSHIM_CORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"
#include "uaccess.h"

struct ks_engine_config {
	struct ks_profile profile;
	/* bytes of model memory the engine may use; 0 = no limit */
	uint64_t memory_limit;
	/* HPT allocations above this order fail with ENOMEM (spec default 34) */
	unsigned int hpt_max_alloc_order;
	/* what an fd-returning ioctl gives without the launcher (D6) */
	int no_launcher_errno;
	/* KVM_ALLOCATE_RMA pool */
	uint64_t rma_size;
	unsigned int rma_count;
	bool rma_fd_cloexec;
	/* s390: the machine supports CMMA */
	bool s390_has_cmma;
	/* s390: guest memory limit reported by LIMIT_SIZE */
	uint64_t s390_mem_limit;
	/* ppc: running as a nested HV guest (ALLOCATE_HTAB -> EOPNOTSUPP) */
	bool ppc_nested;
	/*
	 * Whether process caller may act for process client in a supervised
	 * FD_REQUEST (EPERM if not); NULL lets anyone.
	 */
	bool (*may_supervise)(pid_t caller, pid_t client);
};

/* Defaults for the named profile; -EINVAL if there is no such profile. */
int ks_engine_config_init(struct ks_engine_config *cfg, const char *profile);

struct ks_engine;
struct ks_handle;

int ks_engine_new(const struct ks_engine_config *cfg, struct ks_engine **out);
void ks_engine_free(struct ks_engine *eng);
const struct ks_engine_config *ks_engine_config(const struct ks_engine *eng);

/* Model memory accounting against memory_limit. */
int ks_mem_charge(struct ks_engine *eng, size_t bytes);
void ks_mem_uncharge(struct ks_engine *eng, size_t bytes);
uint64_t ks_mem_used(const struct ks_engine *eng);

/* The two nodes of an instance: /dev/NAME and /dev/NAME-vm. */
enum ks_node {
	KS_NODE_SYSTEM,
	KS_NODE_VM,
};

enum ks_handle_kind {
	KS_HANDLE_SYSTEM,
	KS_HANDLE_VM,
	KS_HANDLE_HTAB,
};

/*
 * Open a handle.  An open of the VM node creates a new VM of the profile's
 * default type whose creator is caller->tgid.
 */
int ks_open(struct ks_engine *eng, enum ks_node node, int oflags,
	    const struct ks_caller *caller, struct ks_handle **out);

/*
 * An ioctl.  Returns the result (>= 0), -errno, or -KS_ERESTART when the
 * transport must fetch more of the caller's memory and call again.
 */
long ks_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
	      struct ks_uctx *u);

/* Transport facts that read and write semantics depend on. */
struct ks_chunk {
	/* bytes of this syscall already transferred (FUSE offset) */
	uint64_t offset;
	/* largest chunk the transport sends; 0 when the whole syscall */
	size_t cap;
	/* the transport's page size (a first chunk may be short by < 1 page) */
	size_t page_size;
};

/* read(): bytes placed in buf (< 0: -errno). */
ssize_t ks_read(struct ks_handle *h, void *buf, size_t size,
		const struct ks_chunk *chunk, const struct ks_caller *caller);
/* write(): bytes accepted of this chunk (< 0: -errno). */
ssize_t ks_write(struct ks_handle *h, const void *buf, size_t size,
		 const struct ks_chunk *chunk, const struct ks_caller *caller);

/* The last close of the open file description. */
void ks_release(struct ks_handle *h);

enum ks_handle_kind ks_handle_kind(const struct ks_handle *h);
/* The id of the VM a VM or HTAB handle refers to; 0 for a system handle. */
uint64_t ks_handle_vm_id(const struct ks_handle *h);

#endif /* KVMSHIM_CORE_ENGINE_H */
