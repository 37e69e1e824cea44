// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux's tools/testing/selftests/kvm/s390/cmma_test.c, restated (spec:
 * cmma.md §8) and run against kvmshimd through a real CUSE node.  Each
 * "run the guest" is the simulated ESSA: a vCPU is created if none exists
 * yet, then ESSA SET_STABLE on the pages the guest code touches.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"
#include "lib/kvmcalls.h"

#define MAIN_PAGE_COUNT 512
#define TEST_DATA_PAGE_COUNT 512
#define TEST_DATA_START_GFN 4096
#define TEST_DATA_TWO_START_GFN 8192
#define TEST_DATA_TWO_PAGE_COUNT 256

static struct e2e_daemon daemon_;
static uint8_t cmma_value_buf[MAIN_PAGE_COUNT + TEST_DATA_PAGE_COUNT];

static long enable_migration_mode(int vm)
{
	return e2e_device_attr(vm, KS_SET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			       KS_S390_VM_MIGRATION_START, NULL);
}

static long is_migration_mode_on(int vm)
{
	uint64_t out = 0xdead;
	long ret = e2e_device_attr(vm, KS_GET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
				   KS_S390_VM_MIGRATION_STATUS, &out);

	return ret ? ret : (long)out;
}

static void create_memslots(int vm)
{
	e2e_is(e2e_s390_region(vm, 0, 0, 0, MAIN_PAGE_COUNT, 0x10000000), 0,
	       "main memslot");
	e2e_is(e2e_s390_region(vm, 1, 0, TEST_DATA_START_GFN,
			       TEST_DATA_PAGE_COUNT, 0x20000000),
	       0, "test data memslot");
}

static void enable_dirty_tracking(int vm)
{
	e2e_is(e2e_s390_region(vm, 0, KS_MEM_LOG_DIRTY_PAGES, 0,
			       MAIN_PAGE_COUNT, 0x10000000),
	       0, "dirty tracking on the main memslot");
	e2e_is(e2e_s390_region(vm, 1, KS_MEM_LOG_DIRTY_PAGES,
			       TEST_DATA_START_GFN, TEST_DATA_PAGE_COUNT,
			       0x20000000),
	       0, "dirty tracking on the test data memslot");
}

static void enable_cmma(int vm)
{
	e2e_is(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, KS_S390_VM_MEM_CTRL,
			       KS_S390_VM_MEM_ENABLE_CMMA, NULL),
	       0, "enable CMMA");
}

static void vcpu_add(int vm)
{
	struct kvmshim_vcpus v = { .created = 1 };

	e2e_is(e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&v), 0,
	       "create a vCPU");
}

/* SET_STABLE: usage 0, NODAT 0 */
static long essa(int vm, uint64_t gfn, uint32_t count)
{
	return e2e_s390_essa(vm, gfn, count, 0, 0);
}

/* guest_do_one_essa: the first page of TEST_DATA and of its second MiB */
static void guest_do_one_essa(int vm)
{
	e2e_is(essa(vm, TEST_DATA_START_GFN, 1) ?:
		       essa(vm, TEST_DATA_START_GFN + 256, 1),
	       0, "guest: one ESSA");
}

static void guest_dirty_test_data(int vm)
{
	e2e_is(essa(vm, TEST_DATA_START_GFN, TEST_DATA_PAGE_COUNT), 0,
	       "guest: ESSA on all of TEST_DATA");
}

static long get_cmma_bits(int vm, uint32_t flags, struct ks_s390_cmma_log *args)
{
	memset(args, 0, sizeof(*args));
	args->start_gfn = 0;
	args->count = sizeof(cmma_value_buf);
	args->flags = flags;
	args->values = (uintptr_t)cmma_value_buf;
	return e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)args);
}

static long query_cmma_range(int vm, uint64_t start_gfn, uint64_t gfn_count,
			     struct ks_s390_cmma_log *res)
{
	memset(res, 0, sizeof(*res));
	res->start_gfn = start_gfn;
	res->count = (uint32_t)gfn_count;
	res->values = (uintptr_t)cmma_value_buf;
	memset(cmma_value_buf, 0xff, sizeof(cmma_value_buf));
	return e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)res);
}

static void assert_cmma_dirty(int vm, uint64_t start, uint64_t count,
			      uint64_t first_dirty_gfn,
			      uint64_t dirty_gfn_count)
{
	struct ks_s390_cmma_log log;
	size_t i;
	bool stable = true;

	e2e_is(query_cmma_range(vm, start, count, &log), 0, "GET 0x%llx+0x%llx",
	       (unsigned long long)start, (unsigned long long)count);
	e2e_is((long long)log.start_gfn, (long long)first_dirty_gfn,
	       "  start_gfn 0x%llx", (unsigned long long)first_dirty_gfn);
	e2e_is(log.count, (long long)dirty_gfn_count, "  count 0x%llx",
	       (unsigned long long)dirty_gfn_count);
	for (i = 0; i < dirty_gfn_count; i++)
		stable = stable && cmma_value_buf[i] == 0;
	e2e_ok(stable, "  every value stable");
	e2e_is(cmma_value_buf[dirty_gfn_count], 0xff, "  next byte untouched");
}

static void assert_all_slots_cmma_dirty(int vm)
{
	struct ks_s390_cmma_log args;

	e2e_is(query_cmma_range(vm, 0, sizeof(cmma_value_buf), &args), 0,
	       "GET from 0");
	e2e_is(args.count, MAIN_PAGE_COUNT, "  count: the main memslot");
	e2e_is((long long)args.remaining, TEST_DATA_PAGE_COUNT,
	       "  remaining: the test data memslot");
	e2e_is((long long)args.start_gfn, 0, "  start_gfn 0");
	e2e_is(query_cmma_range(vm, MAIN_PAGE_COUNT, sizeof(cmma_value_buf),
				&args),
	       0, "GET from the hole after the main memslot");
	e2e_is(args.count, TEST_DATA_PAGE_COUNT, "  count");
	e2e_is((long long)args.start_gfn, TEST_DATA_START_GFN, "  start_gfn");
	e2e_is((long long)args.remaining, 0, "  remaining 0");
	e2e_is(query_cmma_range(vm, TEST_DATA_START_GFN + TEST_DATA_PAGE_COUNT,
				sizeof(cmma_value_buf), &args),
	       0, "GET beyond memory");
	e2e_ok(!args.count && !args.start_gfn && !args.remaining &&
		       !args.values && !args.flags,
	       "  all-zero struct");
}

static void assert_no_pages_cmma_dirty(int vm)
{
	struct ks_s390_cmma_log args;

	e2e_is(query_cmma_range(vm, 0, sizeof(cmma_value_buf), &args), 0,
	       "GET from 0 again");
	e2e_ok(!args.count && !args.remaining && !args.start_gfn,
	       "  nothing is dirty");
}

static int new_vm(void)
{
	return e2e_open(daemon_.vm_path, O_RDWR);
}

static void test_get_cmma_basic(void)
{
	struct ks_s390_cmma_log args;
	int vm = new_vm();

	e2e_diag("GET_CMMA_BITS: basic calls");
	create_memslots(vm);
	e2e_is(get_cmma_bits(vm, 0, &args), -ENXIO,
	       "GET without CMMA enabled: ENXIO");
	enable_cmma(vm);
	vcpu_add(vm);
	guest_do_one_essa(vm);
	e2e_is(get_cmma_bits(vm, 0, &args), -EINVAL,
	       "GET without migration mode, not peeking: EINVAL");
	e2e_is(get_cmma_bits(vm, KS_S390_CMMA_PEEK, &args), 0,
	       "PEEK without migration mode works");
	e2e_is(args.count, MAIN_PAGE_COUNT, "  it stops at the hole at 512");
	e2e_is((long long)args.remaining, 0, "  remaining 0");
	enable_dirty_tracking(vm);
	e2e_is(enable_migration_mode(vm), 0, "migration mode on");
	e2e_is(get_cmma_bits(vm, 0xfeedc0fe, &args), -EINVAL,
	       "GET with invalid flags: EINVAL");
	close(vm);
}

static void test_migration_mode(void)
{
	int vm = new_vm();

	e2e_diag("migration mode and dirty tracking");
	e2e_is(enable_migration_mode(vm), -EINVAL,
	       "migration mode on a VM without memory: EINVAL");
	e2e_is(is_migration_mode_on(vm), 0, "  still off");
	create_memslots(vm);
	enable_cmma(vm);
	vcpu_add(vm);
	guest_do_one_essa(vm);
	e2e_is(enable_migration_mode(vm), -EINVAL,
	       "memslots without dirty tracking: EINVAL");
	e2e_is(is_migration_mode_on(vm), 0, "  still off");
	enable_dirty_tracking(vm);
	e2e_is(enable_migration_mode(vm), 0, "migration mode on");
	e2e_is(is_migration_mode_on(vm), 1, "  on");
	guest_do_one_essa(vm);
	e2e_is(e2e_s390_region(vm, 2, 0, TEST_DATA_TWO_START_GFN,
			       TEST_DATA_TWO_PAGE_COUNT, 0x30000000),
	       0, "a memslot without dirty tracking");
	e2e_is(is_migration_mode_on(vm), 0, "  turned migration mode off");
	guest_do_one_essa(vm);
	e2e_is(e2e_s390_region(vm, 2, KS_MEM_LOG_DIRTY_PAGES,
			       TEST_DATA_TWO_START_GFN,
			       TEST_DATA_TWO_PAGE_COUNT, 0x30000000),
	       0, "dirty tracking on the new memslot");
	e2e_is(enable_migration_mode(vm), 0, "migration mode on again");
	e2e_is(is_migration_mode_on(vm), 1, "  on");
	e2e_is(e2e_s390_region(vm, 2, 0, TEST_DATA_TWO_START_GFN,
			       TEST_DATA_TWO_PAGE_COUNT, 0x30000000),
	       0, "dirty tracking off with a flags change");
	e2e_is(is_migration_mode_on(vm), 0, "  turned migration mode off");
	guest_do_one_essa(vm);
	close(vm);
}

static void test_get_initial_dirty(void)
{
	int vm = new_vm();

	e2e_diag("GET_CMMA_BITS: all pages are dirty initially");
	create_memslots(vm);
	enable_cmma(vm);
	vcpu_add(vm);
	guest_do_one_essa(vm);
	enable_dirty_tracking(vm);
	e2e_is(enable_migration_mode(vm), 0, "migration mode on");
	assert_all_slots_cmma_dirty(vm);
	assert_no_pages_cmma_dirty(vm);
	close(vm);
}

static void test_get_skip_holes(void)
{
	uint64_t off;
	int vm = new_vm();

	e2e_diag("GET_CMMA_BITS: holes are skipped");
	create_memslots(vm);
	enable_cmma(vm);
	vcpu_add(vm);
	guest_dirty_test_data(vm);
	enable_dirty_tracking(vm);
	e2e_is(enable_migration_mode(vm), 0, "migration mode on");
	assert_all_slots_cmma_dirty(vm);
	guest_dirty_test_data(vm);

	off = TEST_DATA_START_GFN;
	assert_cmma_dirty(vm, 0, 1, off, 1);
	off++;
	/* past the end of memory: wraps to the test data memslot */
	assert_cmma_dirty(vm, TEST_DATA_START_GFN + TEST_DATA_PAGE_COUNT, 0x20,
			  off, 0x20);
	off += 0x20 + 0x20;
	assert_cmma_dirty(vm, off, 0x20, off, 0x20);
	assert_cmma_dirty(vm, TEST_DATA_START_GFN, 1,
			  TEST_DATA_START_GFN + 0x21, 1);
	off = TEST_DATA_START_GFN + 0x23;
	assert_cmma_dirty(vm, off, 15, off, 15);
	off = TEST_DATA_START_GFN + 0x22;
	assert_cmma_dirty(vm, off, 17, off, 17);
	/* more than 16 clean pages follow 0x40 */
	off = TEST_DATA_START_GFN + 0x40;
	assert_cmma_dirty(vm, off, 25, off, 1);
	off = TEST_DATA_START_GFN + 0x33;
	assert_cmma_dirty(vm, off, 0x40 - 0x33, off, 0x40 - 0x33);
	assert_cmma_dirty(vm, TEST_DATA_START_GFN, TEST_DATA_PAGE_COUNT - 0x61,
			  TEST_DATA_START_GFN + 0x61,
			  TEST_DATA_PAGE_COUNT - 0x61);
	assert_no_pages_cmma_dirty(vm);
	close(vm);
}

int main(void)
{
	int sys, vm;

	e2e_daemon_start(&daemon_, "kvmshim-cmmasel", "--profile", "s390x",
			 NULL);
	sys = e2e_open(daemon_.sys_path, O_RDWR);
	/* preconditions the selftest checks (SYNC_REGS needs KVM_RUN) */
	e2e_is(e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_S390_CMMA_MIGRATION),
	       1, "KVM_CAP_S390_CMMA_MIGRATION");
	vm = new_vm();
	e2e_is(e2e_device_attr(vm, KS_HAS_DEVICE_ATTR, KS_S390_VM_MEM_CTRL,
			       KS_S390_VM_MEM_ENABLE_CMMA, NULL),
	       0, "the machine has CMMA");
	close(vm);

	test_migration_mode();
	test_get_cmma_basic();
	test_get_initial_dirty();
	test_get_skip_holes();

	close(sys);
	e2e_is(e2e_daemon_stop(&daemon_), 0, "daemon exits cleanly");
	return e2e_done();
}
