/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the CMMA unit tests (check_cmma*.c). */
#ifndef KVMSHIM_TEST_CHECK_CMMA_H
#define KVMSHIM_TEST_CHECK_CMMA_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmma.h"
#include "core/internal.h"
#include "core/uaccess.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define MiB (1ULL << 20)
#define LOG KS_MEM_LOG_DIRTY_PAGES
#define PEEK KS_S390_CMMA_PEEK
/* pages of one MiB */
#define SEG 256

static inline long cm_region(struct ks_handle *h, uint32_t slot, uint32_t flags,
			     uint64_t gfn, uint64_t pages, uint64_t uaddr)
{
	struct ks_userspace_memory_region m = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gfn << 12,
		.memory_size = pages << 12,
		.userspace_addr = uaddr,
	};

	return unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m);
}

static inline long cm_attr(struct ks_handle *h, uint32_t cmd, uint32_t group,
			   uint64_t attr, uint64_t addr)
{
	struct ks_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = addr,
	};

	return unit_ioctl(h, cmd, (uintptr_t)&a);
}

static inline long cm_set_attr(struct ks_handle *h, uint32_t group,
			       uint64_t attr)
{
	return cm_attr(h, KS_SET_DEVICE_ATTR, group, attr, 0);
}

static inline long cm_enable(struct ks_handle *h)
{
	return cm_set_attr(h, KS_S390_VM_MEM_CTRL, KS_S390_VM_MEM_ENABLE_CMMA);
}

static inline long cm_start(struct ks_handle *h)
{
	return cm_set_attr(h, KS_S390_VM_MIGRATION, KS_S390_VM_MIGRATION_START);
}

static inline long cm_stop(struct ks_handle *h)
{
	return cm_set_attr(h, KS_S390_VM_MIGRATION, KS_S390_VM_MIGRATION_STOP);
}

/* MIGRATION STATUS: 0 or 1, or -errno */
static inline long cm_status(struct ks_handle *h)
{
	uint64_t v = 0xdead;
	long ret = cm_attr(h, KS_GET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			   KS_S390_VM_MIGRATION_STATUS, (uintptr_t)&v);

	return ret ? ret : (long)v;
}

static inline long cm_vcpus(struct ks_handle *h, uint32_t n)
{
	struct kvmshim_vcpus v = { .created = n };

	return unit_ioctl(h, KVMSHIM_SET_VCPUS, (uintptr_t)&v);
}

static inline long cm_essa(struct ks_handle *h, uint64_t gfn, uint32_t count,
			   uint8_t usage, uint8_t nodat)
{
	struct kvmshim_s390_essa e = {
		.gfn = gfn,
		.count = count,
		.usage = usage,
		.nodat = nodat,
	};

	return unit_ioctl(h, KVMSHIM_S390_ESSA, (uintptr_t)&e);
}

static inline struct kvmshim_s390_cmma_info cm_info(struct ks_handle *h)
{
	struct kvmshim_s390_cmma_info i;

	memset(&i, 0xa5, sizeof(i));
	ck_assert_int_eq(unit_ioctl(h, KVMSHIM_S390_CMMA_INFO, (uintptr_t)&i),
			 0);
	return i;
}

/* GET_CMMA_BITS into buf (pre-filled with 0xff); log is in and out. */
static inline long cm_get(struct ks_handle *h, struct ks_s390_cmma_log *log,
			  uint64_t start, uint32_t count, uint32_t flags,
			  uint8_t *buf, size_t bufsize)
{
	memset(buf, 0xff, bufsize);
	memset(log, 0, sizeof(*log));
	log->start_gfn = start;
	log->count = count;
	log->flags = flags;
	log->values = (uintptr_t)buf;
	return unit_ioctl(h, KS_S390_GET_CMMA_BITS, (uintptr_t)log);
}

static inline long cm_set(struct ks_handle *h, uint64_t start, uint32_t count,
			  uint64_t mask, const uint8_t *vals)
{
	struct ks_s390_cmma_log log = {
		.start_gfn = start,
		.count = count,
		.mask = mask,
		.values = (uintptr_t)vals,
	};

	return unit_ioctl(h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log);
}

/* A new s390x VM: engine and VM handle. */
struct cm_vm {
	struct ks_engine *eng;
	struct ks_handle *h;
};

static inline struct cm_vm cm_new(void)
{
	struct cm_vm v;

	v.eng = unit_engine("s390x");
	v.h = unit_open(v.eng, 1, UNIT_TGID);
	return v;
}

static inline void cm_free(struct cm_vm *v)
{
	ks_release(v->h);
	ck_assert_uint_eq(ks_mem_used(v->eng), 0);
	ks_engine_free(v->eng);
}

/* GET_CMMA_BITS through the given user context. */
static inline long cm_get_with(struct ks_handle *h, struct ks_uctx_direct *d,
			       struct ks_s390_cmma_log *log)
{
	return ks_ioctl(h, KS_S390_GET_CMMA_BITS, (uintptr_t)log, &d->u);
}

/*
 * One logging slot of 1024 pages at gfn 0, CMMA on and used, migration
 * mode on, and exactly the n listed (distinct) gfns dirty, with the usage
 * states 1, 2, 3, 1, ... in list order.
 */
static inline struct cm_vm cm_dirty_vm(const uint64_t *gfns, size_t n)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t vals[1024];
	size_t i;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 1024, 0x10000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* START made every page dirty: one GET takes them all */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, 0, vals, sizeof(vals)), 0);
	ck_assert_uint_eq(log.count, 1024);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(cm_essa(v.h, gfns[i], 1, (i % 3) + 1, 0), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, n);
	return v;
}

/* The struct a GET wrote back. */
static inline void cm_expect_log(const struct ks_s390_cmma_log *log,
				 uint64_t start, uint32_t count,
				 uint64_t remaining)
{
	ck_assert_uint_eq(log->start_gfn, start);
	ck_assert_uint_eq(log->count, count);
	ck_assert_uint_eq(log->remaining, remaining);
}

/* The all-zero struct of the early returns (Q12). */
static inline void cm_expect_zero(const struct ks_s390_cmma_log *log)
{
	static const struct ks_s390_cmma_log zero;

	ck_assert_mem_eq(log, &zero, sizeof(zero));
}

#endif /* KVMSHIM_TEST_CHECK_CMMA_H */
