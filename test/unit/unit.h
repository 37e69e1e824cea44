/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the unit tests. */
#ifndef KVMSHIM_TEST_UNIT_H
#define KVMSHIM_TEST_UNIT_H

#include <check.h>
#include <stdint.h>

#include "core/engine.h"

/* An engine of the named profile with default options. */
struct ks_engine *unit_engine(const char *profile);
/* An ioctl through a direct user context as process "tgid". */
long unit_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg);
long unit_ioctl_as(struct ks_handle *h, pid_t tgid, uint32_t cmd, uint64_t arg);
/* Opens the system (vm = 0) or VM node as process tgid. */
struct ks_handle *unit_open(struct ks_engine *eng, int vm, pid_t tgid);
/* KVM_SET_USER_MEMORY_REGION (generic encoding) as UNIT_TGID. */
long unit_region(struct ks_handle *h, uint32_t slot, uint32_t flags,
		 uint64_t gpa, uint64_t size, uint64_t uaddr);

#define UNIT_TGID 4242

#define ck_assert_errno(expr, err) ck_assert_int_eq((long)(expr), -(long)(err))

#endif /* KVMSHIM_TEST_UNIT_H */
