/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the HTAB stream's unit tests. */
#ifndef KVMSHIM_TEST_CHECK_HTAB_H
#define KVMSHIM_TEST_CHECK_HTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

/* A power8 engine and a VM handle, with an HPT of order (0: none). */
struct htab_fix {
	struct ks_engine *eng;
	struct ks_handle *vm;
};

/* An engine whose hpt_max_alloc_order is max_order (0: the default). */
struct ks_engine *htab_engine(unsigned int max_order);
void htab_fix_init(struct htab_fix *f, unsigned int order);
/* Releases the VM handle, checks that no model memory is left, frees. */
void htab_fix_fini(struct htab_fix *f);

long htab_alloc(struct ks_handle *vm, uint32_t order);
/* The KVMSHIM_FD_REQUEST argument for GET_HTAB_FD{flags, start}. */
void htab_fd_request_init(struct kvmshim_fd_request *req, uint64_t flags,
			  uint64_t start);
/*
 * Through the kernel-less harness: opens the system node with the access
 * mode the GET_HTAB_FD flags need, plus open_extra, and binds token to it.
 */
struct fk;
uint64_t htab_fk_bind(struct fk *sys, uint64_t flags, uint64_t token,
		      int open_extra);
/* KVMSHIM_FD_REQUEST for GET_HTAB_FD; the token in *token. */
long htab_request(struct ks_handle *vm, uint64_t flags, uint64_t start,
		  uint64_t *token);
/* A bound stream handle (request, open of the system node, BIND). */
struct ks_handle *htab_open(struct ks_handle *vm, uint64_t flags,
			    uint64_t start);

/* A read as CUSE delivers it (one request of n bytes). */
ssize_t htab_rd(struct ks_handle *h, void *buf, size_t n);
/* A write of n bytes as one whole call (no transport chunks). */
ssize_t htab_wr(struct ks_handle *h, const void *buf, size_t n);
/* One CUSE chunk (cap 131072, 4 KiB pages) of a write by thread tid. */
ssize_t htab_wr_chunk(struct ks_handle *h, const void *buf, size_t n,
		      uint64_t off, pid_t tid);

/* The guest simulation on the VM handle. */
long htab_insert(struct ks_handle *vm, uint64_t idx, uint64_t v, uint64_t r,
		 bool modified);
long htab_remove(struct ks_handle *vm, uint64_t idx);
long htab_set_rc(struct ks_handle *vm, uint64_t idx, uint64_t bits);
struct kvmshim_ppc_entry htab_entry(struct ks_handle *vm, uint64_t idx);
bool htab_holds(struct ks_handle *vm, uint64_t idx, uint64_t v, uint64_t r);
bool htab_empty(struct ks_handle *vm, uint64_t idx);
void htab_set_vcpus(struct ks_handle *vm, uint32_t created, uint32_t running);
void htab_set_ready(struct ks_handle *vm, uint32_t ready);
struct kvmshim_ppc_info htab_info(struct ks_handle *vm);

/* Stream bytes: a host-endian header, an HPTE (big-endian V, R). */
size_t htab_hdr(uint8_t *p, uint32_t index, uint16_t nv, uint16_t ni);
size_t htab_hpte(uint8_t *p, uint64_t v, uint64_t r);

#endif /* KVMSHIM_TEST_CHECK_HTAB_H */
