// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The CUSE front end against the engine, through the kernel-less harness:
 * requests the kernel sends, exactly one reply each, compat callers (D5),
 * bad pointers, release without credentials, interrupts, threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/status.h"
#include "cuse/procstat.h"
#include "cuse/xfer.h"
#include "fakekernel.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

static unsigned int live_vms(struct ks_engine *eng)
{
	struct ks_engine_status st;

	return ks_engine_status(eng, &st, NULL, NULL);
}

static unsigned int pending_xfers(struct fk *k)
{
	struct node_stats st;

	node_get_stats(fk_node(k), &st);
	return (unsigned int)st.pending_xfers;
}

START_TEST(test_init_reply)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct fk_init_info info;

	fk_init_info(k, &info);
	ck_assert_str_eq(info.devname, fk_node(k)->name);
	ck_assert(info.flags & CUSE_UNRESTRICTED_IOCTL);
	ck_assert_uint_eq(info.major, 7);
	ck_assert_uint_ge(info.minor, 11);
	ck_assert_uint_eq(info.max_read, 131072);
	ck_assert_uint_ge(info.max_write, 4096);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_system_node)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fk_ioctl io = { .pid = fk_gettid(), .cmd = KS_GET_API_VERSION };
	pid_t me = fk_gettid();
	uint64_t fh;
	char buf[64];

	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	io.fh = fh;
	ck_assert_int_eq(fk_ioctl_ex(k, &io), 12);
	/* a scalar argument needs no retry */
	ck_assert_uint_eq(io.rounds, 1);
	ck_assert_errno(fk_ioctl(k, fh, me, KS_GET_API_VERSION, 1), EINVAL);
	ck_assert_int_eq(
		fk_ioctl(k, fh, me, KS_CHECK_EXTENSION, KS_CAP_PPC_HTAB_FD), 1);
	/* Q18 */
	ck_assert_errno(fk_ioctl(k, fh, me, 0xAE99, 0), EINVAL);
	ck_assert_errno(fk_ioctl(k, fh, me, KS_CREATE_VM, 0), EOPNOTSUPP);
	ck_assert_errno(fk_read(k, fh, me, buf, sizeof(buf)), EINVAL);
	ck_assert_errno(fk_write(k, fh, me, buf, sizeof(buf)), EINVAL);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_out_only_ioctl_takes_two_rounds)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_whoami w;
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = KVMSHIM_WHOAMI,
		.arg = (uintptr_t)&w,
	};
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	io.fh = fh;
	memset(&w, 0xAA, sizeof(w));
	ck_assert_int_eq(fk_ioctl_ex(k, &io), 0);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_uint_eq(io.max_in, 0);
	ck_assert_uint_eq(io.max_out, sizeof(w));
	ck_assert_uint_eq(w.kind, KVMSHIM_KIND_VM);
	ck_assert_uint_eq(w.arch, KVMSHIM_ARCH_PPC);
	ck_assert_uint_eq(w.vm_id, 1);
	ck_assert_int_eq(w.creator_tgid, getpid());
	ck_assert_uint_eq(w.oflags & O_ACCMODE, O_RDWR);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_in_only_ioctl_and_state)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus v = { .created = 2, .running = 1 }, g;
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = KVMSHIM_SET_VCPUS,
		.arg = (uintptr_t)&v,
	};
	pid_t me = fk_gettid();
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	io.fh = fh;
	ck_assert_int_eq(fk_ioctl_ex(k, &io), 0);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_uint_eq(io.max_in, sizeof(v));
	ck_assert_uint_eq(io.max_out, 0);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_GET_VCPUS, (uintptr_t)&g),
			 0);
	ck_assert_uint_eq(g.created, 2);
	ck_assert_uint_eq(g.running, 1);
	/* invalid values change nothing */
	v.created = 1;
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_SET_VCPUS, (uintptr_t)&v),
			EINVAL);
	v = (struct kvmshim_vcpus){ .created = 3, .running = 4 };
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_SET_VCPUS, (uintptr_t)&v),
			EINVAL);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_GET_VCPUS, (uintptr_t)&g),
			 0);
	ck_assert_uint_eq(g.created, 2);
	ck_assert_uint_eq(g.running, 1);
	ck_assert_uint_eq(pending_xfers(k), 0);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_bad_pointers_efault)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus *v, g;
	struct kvmshim_whoami *w;
	pid_t me = fk_gettid();
	uint64_t fh;
	char *page;

	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(page, MAP_FAILED);
	v = (struct kvmshim_vcpus *)page;
	w = (struct kvmshim_whoami *)(page + 4096);
	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	*v = (struct kvmshim_vcpus){ .created = 4, .running = 4 };
	fk_fault(k, v, sizeof(*v));
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_SET_VCPUS, (uintptr_t)v),
			EFAULT);
	/* a fault in the last byte of the struct is still a fault */
	fk_unfault_all(k);
	fk_fault(k, (char *)v + sizeof(*v) - 1, 1);
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_SET_VCPUS, (uintptr_t)v),
			EFAULT);
	fk_unfault_all(k);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_GET_VCPUS, (uintptr_t)&g),
			 0);
	ck_assert_uint_eq(g.created, 0);
	/* NULL and wrapping pointers */
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_SET_VCPUS, 0), EFAULT);
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_SET_VCPUS, ~0ULL - 3),
			EFAULT);
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_WHOAMI, 0), EFAULT);
	/* an unwritable out struct: the kernel's copy-out fails */
	fk_fault(k, w, sizeof(*w));
	ck_assert_errno(fk_ioctl(k, fh, me, KVMSHIM_WHOAMI, (uintptr_t)w),
			EFAULT);
	fk_unfault_all(k);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_WHOAMI, (uintptr_t)w), 0);
	ck_assert_uint_eq(w->kind, KVMSHIM_KIND_VM);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	munmap(page, 8192);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_compat_callers_get_enotty)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *sys = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fk *vmk = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus v = { .created = 2, .running = 0 }, g;
	struct fk_ioctl io = { .pid = fk_gettid(), .compat = true };
	uint64_t sfh, vfh;

	ck_assert_int_eq(fk_open(sys, fk_gettid(), O_RDWR, &sfh), 0);
	ck_assert_int_eq(fk_open(vmk, fk_gettid(), O_RDWR, &vfh), 0);
	/* D5: everything, known or not, on every kind of handle */
	io.fh = sfh;
	io.cmd = KS_GET_API_VERSION;
	ck_assert_errno(fk_ioctl_ex(sys, &io), ENOTTY);
	ck_assert_uint_eq(io.rounds, 1);
	io.cmd = 0xAE99;
	ck_assert_errno(fk_ioctl_ex(sys, &io), ENOTTY);
	io.fh = vfh;
	io.cmd = KVMSHIM_SET_VCPUS;
	io.arg = (uintptr_t)&v;
	ck_assert_errno(fk_ioctl_ex(vmk, &io), ENOTTY);
	ck_assert_uint_eq(io.rounds, 1);
	io.cmd = KS_CHECK_EXTENSION;
	io.arg = KS_CAP_PPC_HTAB_FD;
	ck_assert_errno(fk_ioctl_ex(vmk, &io), ENOTTY);
	/* nothing changed, and native callers are served */
	ck_assert_int_eq(fk_ioctl(vmk, vfh, fk_gettid(), KVMSHIM_GET_VCPUS,
				  (uintptr_t)&g),
			 0);
	ck_assert_uint_eq(g.created, 0);
	ck_assert_uint_eq(pending_xfers(vmk), 0);
	ck_assert_int_eq(fk_release(sys, sfh), 0);
	ck_assert_int_eq(fk_release(vmk, vfh), 0);
	ck_assert_uint_eq(fk_free(sys), 0);
	ck_assert_uint_eq(fk_free(vmk), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_vm_creator_check)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	pid_t me = fk_gettid();
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KS_CHECK_EXTENSION,
				  KS_CAP_SPAPR_RESIZE_HPT),
			 1);
	/* init (pid 1) is another process: EIO before anything else */
	ck_assert_errno(fk_ioctl(k, fh, 1, KS_CHECK_EXTENSION,
				 KS_CAP_SPAPR_RESIZE_HPT),
			EIO);
	ck_assert_errno(fk_ioctl(k, fh, 1, 0xAE99, 0), EIO);
	/* M4: a caller the daemon cannot see (pid 0) is not checked */
	ck_assert_int_eq(fk_ioctl(k, fh, 0, KS_CHECK_EXTENSION,
				  KS_CAP_SPAPR_RESIZE_HPT),
			 1);
	/* ...nor is one whose /proc/PID/status cannot be read */
	ck_assert_int_eq(proc_tgid_of(me), getpid());
	ck_assert_int_eq(proc_tgid_of(0x7ffffff0), 0);
	ck_assert_int_eq(fk_ioctl(k, fh, 0x7ffffff0, KS_CHECK_EXTENSION,
				  KS_CAP_SPAPR_RESIZE_HPT),
			 1);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_proc_status_of_callers)
{
	int go[2];
	pid_t child;
	char b;

	ck_assert_int_eq(proc_status_field(getpid(), "Pid"), getpid());
	ck_assert_int_eq(proc_status_field(getpid(), "PPid"), getppid());
	ck_assert_int_eq(proc_status_field(getpid(), "Nosuchkey"), -1);
	ck_assert_int_eq(proc_status_field(0, "Pid"), -1);
	ck_assert_int_eq(proc_uid_of(getpid()), (long)getuid());
	ck_assert_int_eq(proc_uid_of(0x7ffffff0), -1);
	ck_assert_int_eq(pipe(go), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(go[1]);
		_exit(read(go[0], &b, 1) == 0 ? 0 : 1);
	}
	close(go[0]);
	/* a launcher is its program's ancestor, not the other way round */
	ck_assert(proc_is_ancestor(getpid(), child));
	ck_assert(proc_is_ancestor(getppid(), child));
	ck_assert(proc_is_ancestor(child, child));
	ck_assert(!proc_is_ancestor(child, getpid()));
	ck_assert(!proc_is_ancestor(0, child));
	ck_assert(!proc_is_ancestor(getpid(), 0x7ffffff0));
	close(go[1]);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
}
END_TEST

START_TEST(test_release_without_credentials_frees_vm)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	uint64_t base = ks_mem_used(eng), fh[3];
	unsigned int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh[i]), 0);
	ck_assert_uint_eq(live_vms(eng), 3);
	/* the kernel's RELEASE carries pid 0: it must still free the VM */
	ck_assert_int_eq(fk_release(k, fh[1]), 0);
	ck_assert_uint_eq(live_vms(eng), 2);
	ck_assert_int_eq(fk_release(k, fh[0]), 0);
	ck_assert_int_eq(fk_release(k, fh[2]), 0);
	ck_assert_uint_eq(live_vms(eng), 0);
	ck_assert_uint_eq(ks_mem_used(eng), base);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

static bool stop_at_round_2(void *opaque, unsigned int round)
{
	(void)opaque;
	return round < 2;
}

START_TEST(test_release_frees_unfinished_rounds)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus v = { .created = 1 };
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = KVMSHIM_SET_VCPUS,
		.arg = (uintptr_t)&v,
		.before_round = stop_at_round_2,
	};
	struct xfer_stats xs;
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	io.fh = fh;
	/* the caller dies between the rounds: the daemon keeps round 1 */
	ck_assert_errno(fk_ioctl_ex(k, &io), EINTR);
	ck_assert_uint_eq(io.rounds, 1);
	ck_assert_uint_eq(pending_xfers(k), 1);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 1);
	ck_assert_uint_gt(xs.bytes, 0);
	ck_assert_int_eq(fk_release(k, fh), 0);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 0);
	ck_assert_uint_eq(xs.bytes, 0);
	ck_assert_uint_eq(live_vms(eng), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_next_syscall_discards_stale_round)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus v = { .created = 5, .running = 2 }, g;
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = KVMSHIM_SET_VCPUS,
		.arg = (uintptr_t)&v,
		.before_round = stop_at_round_2,
	};
	pid_t me = fk_gettid();
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	io.fh = fh;
	ck_assert_errno(fk_ioctl_ex(k, &io), EINTR);
	ck_assert_uint_eq(pending_xfers(k), 1);
	/* the same thread's next ioctl starts afresh and is answered right */
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_GET_VCPUS, (uintptr_t)&g),
			 0);
	ck_assert_uint_eq(g.created, 0);
	ck_assert_uint_eq(pending_xfers(k), 0);
	/* and the same ioctl again, now completed */
	io.before_round = NULL;
	ck_assert_int_eq(fk_ioctl_ex(k, &io), 0);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_GET_VCPUS, (uintptr_t)&g),
			 0);
	ck_assert_uint_eq(g.created, 5);
	ck_assert_uint_eq(g.running, 2);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_interrupts_never_cause_a_second_reply)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fuse_ioctl_in in = {
		.flags = FUSE_IOCTL_UNRESTRICTED,
		.cmd = KS_GET_API_VERSION,
	};
	struct fk_reply *r;
	pid_t me = fk_gettid();
	uint64_t fh, u;
	int i;

	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	in.fh = fh;
	for (i = 0; i < 50; i++) {
		/* interrupted right after it was sent, as a signal does */
		u = fk_send(k, FUSE_IOCTL, me, &in, sizeof(in), NULL, 0);
		fk_interrupt(k, u);
		r = fk_wait(k, u, 10000);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->error, 0);
		free(r);
	}
	/* an interrupt for a request that never existed */
	fk_interrupt(k, 123456);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KS_GET_API_VERSION, 0), 12);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KS_GET_API_VERSION, 0), 12);
	/* libfuse answers queued interrupts with EAGAIN, once each at most */
	ck_assert_uint_le(fk_interrupt_replies(k), 51);
	/* drain interrupts still queued in libfuse (it would leak them) */
	for (i = 0; i < 60; i++)
		ck_assert_int_eq(fk_ioctl(k, fh, me, KS_GET_API_VERSION, 0),
				 12);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_unsupported_requests_get_one_reply)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_SYSTEM, NULL);
	static const uint32_t ops[] = { FUSE_FLUSH,   FUSE_FSYNC, FUSE_POLL,
					FUSE_GETATTR, FUSE_LSEEK, FUSE_MKNOD };
	uint8_t zero[64] = { 0 };
	struct fk_reply *r;
	uint64_t fh;
	size_t i;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	memcpy(zero, &fh, sizeof(fh));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		r = fk_wait(k,
			    fk_send(k, ops[i], fk_gettid(), zero, sizeof(zero),
				    NULL, 0),
			    10000);
		ck_assert_ptr_nonnull(r);
		/* poll unimplemented: the kernel then reports "always ready" */
		ck_assert_int_eq(r->error, -ENOSYS);
		free(r);
	}
	/* a second CUSE_INIT is refused */
	r = fk_wait(k, fk_send(k, CUSE_INIT, 0, zero, sizeof(zero), NULL, 0),
		    10000);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->error, -EIO);
	free(r);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

struct thread_arg {
	struct fk *k;
	uint64_t fh;
	int failures;
};

static void *whoami_loop(void *p)
{
	struct thread_arg *a = p;
	struct kvmshim_whoami w;
	struct kvmshim_vcpus g;
	pid_t me = fk_gettid();
	int i;

	for (i = 0; i < 100; i++) {
		memset(&w, 0, sizeof(w));
		if (fk_ioctl(a->k, a->fh, me, KVMSHIM_WHOAMI, (uintptr_t)&w) ||
		    w.kind != KVMSHIM_KIND_VM || w.vm_id != 1)
			a->failures++;
		if (fk_ioctl(a->k, a->fh, me, KVMSHIM_GET_VCPUS,
			     (uintptr_t)&g) ||
		    g.created != 3)
			a->failures++;
	}
	return NULL;
}

START_TEST(test_threads_share_one_open)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus v = { .created = 3 };
	struct thread_arg a[8];
	pthread_t t[8];
	uint64_t fh;
	int i;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KVMSHIM_SET_VCPUS,
				  (uintptr_t)&v),
			 0);
	for (i = 0; i < 8; i++) {
		a[i] = (struct thread_arg){ .k = k, .fh = fh };
		ck_assert_int_eq(
			pthread_create(&t[i], NULL, whoami_loop, &a[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(a[i].failures, 0);
	}
	ck_assert_uint_eq(pending_xfers(k), 0);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_shutdown_frees_held_opens)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_vcpus v = { .created = 1 };
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = KVMSHIM_SET_VCPUS,
		.arg = (uintptr_t)&v,
		.before_round = stop_at_round_2,
	};
	struct xfer_stats xs;
	uint64_t fh;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	io.fh = fh;
	ck_assert_errno(fk_ioctl_ex(k, &io), EINTR);
	ck_assert_uint_eq(live_vms(eng), 4);
	/* the kernel sends no RELEASE once the connection is closed */
	ck_assert_uint_eq(fk_free(k), 0);
	ck_assert_uint_eq(live_vms(eng), 0);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_draining_node_refuses_opens)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	uint64_t fh, fh2;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	node_drain(fk_node(k));
	ck_assert_errno(fk_open(k, fk_gettid(), O_RDWR, &fh2), ENODEV);
	/* what is open keeps working until the node goes */
	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KS_CHECK_EXTENSION,
				  KS_CAP_PPC_HTAB_FD),
			 1);
	ck_assert_uint_eq(live_vms(eng), 1);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

/* One ioctl through the harness: its result, rounds and largest transfers. */
static long rounds_of(struct fk *k, uint64_t fh, uint32_t cmd, void *arg,
		      unsigned int *rounds, size_t *in, size_t *out)
{
	struct fk_ioctl io = {
		.fh = fh,
		.pid = fk_gettid(),
		.cmd = cmd,
		.arg = (uintptr_t)arg,
	};
	long ret = fk_ioctl_ex(k, &io);

	*rounds = io.rounds;
	*in = io.max_in;
	*out = io.max_out;
	return ret;
}

/* cuse.md §7.1: the rounds of each ioctl with a struct argument. */
START_TEST(test_rounds_of_each_ioctl)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct ks_ppc_resize_hpt rz = { .shift = 20 };
	struct ks_userspace_memory_region mr = { 0 };
	struct ks_get_htab_fd g = { 0 };
	uint32_t order = 20;
	unsigned int rounds;
	size_t in, out;
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	/* in {arg, 4}, then run: nothing is written back */
	ck_assert_int_eq(rounds_of(k, fh, KS_PPC_ALLOCATE_HTAB, &order, &rounds,
				   &in, &out),
			 0);
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(in, 4);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(rounds_of(k, fh, KS_PPC_RESIZE_HPT_PREPARE, &rz,
				   &rounds, &in, &out),
			 100);
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(in, 16);
	ck_assert_uint_eq(out, 0);
	ck_assert_errno(rounds_of(k, fh, KS_SET_USER_MEMORY_REGION, &mr,
				  &rounds, &in, &out),
			EINVAL);
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(in, 32);
	ck_assert_uint_eq(out, 0);
	/* every check runs, then D6 */
	ck_assert_errno(rounds_of(k, fh, KS_PPC_GET_HTAB_FD, &g, &rounds, &in,
				  &out),
			EOPNOTSUPP);
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(in, 32);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

/* cuse.md §7.1, §7.3, §7.4 on s390x: attributes and CMMA transfers. */
START_TEST(test_rounds_of_attrs_and_cmma)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct ks_userspace_memory_region mr = {
		.memory_size = 1ULL << 32,
		.userspace_addr = 1ULL << 32,
	};
	uint64_t val = 1ULL << 30;
	struct ks_device_attr a = { .addr = (uintptr_t)&val };
	struct ks_s390_cmma_log log, zero;
	unsigned int rounds;
	uint8_t *values;
	size_t in, out;
	uint64_t fh;

	values = calloc(1, 1 << 20);
	ck_assert_ptr_nonnull(values);
	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);

	/* no CMMA yet: the error is answered in round 2 */
	log = (struct ks_s390_cmma_log){ .count = 1,
					 .flags = KS_S390_CMMA_PEEK,
					 .values = (uintptr_t)values };
	ck_assert_errno(rounds_of(k, fh, KS_S390_GET_CMMA_BITS, &log, &rounds,
				  &in, &out),
			ENXIO);
	ck_assert_uint_eq(rounds, 2);

	ck_assert_int_eq(rounds_of(k, fh, KS_HAS_DEVICE_ATTR, &a, &rounds, &in,
				   &out),
			 0);
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(in, 24);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(rounds_of(k, fh, KS_SET_DEVICE_ATTR, &a, &rounds, &in,
				   &out),
			 0);
	ck_assert_uint_eq(rounds, 2);
	/* LIMIT_SIZE needs the value too: a third round */
	a.attr = KS_S390_VM_MEM_LIMIT_SIZE;
	ck_assert_int_eq(rounds_of(k, fh, KS_SET_DEVICE_ATTR, &a, &rounds, &in,
				   &out),
			 0);
	ck_assert_uint_eq(rounds, 3);
	ck_assert_uint_eq(in, 32);
	ck_assert_uint_eq(out, 0);
	val = 0;
	ck_assert_int_eq(rounds_of(k, fh, KS_GET_DEVICE_ATTR, &a, &rounds, &in,
				   &out),
			 0);
	ck_assert_uint_eq(rounds, 3);
	ck_assert_uint_eq(in, 24);
	ck_assert_uint_eq(out, 8);
	ck_assert_uint_eq(val, 1ULL << 44);
	/* an unknown attribute is answered before addr is asked for */
	a.attr = 77;
	ck_assert_errno(rounds_of(k, fh, KS_GET_DEVICE_ATTR, &a, &rounds, &in,
				  &out),
			ENXIO);
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KS_SET_USER_MEMORY_REGION,
				  (uintptr_t)&mr),
			 0);

	/* §7.3: the struct's out region is asked for in round 1 ... */
	memset(&log, 0xAA, sizeof(log));
	log.count = 16;
	log.flags = KS_S390_CMMA_PEEK;
	ck_assert_int_eq(rounds_of(k, fh, KS_S390_GET_CMMA_BITS, &log, &rounds,
				   &in, &out),
			 0);
	/* ... so the all-zero answer (Q12: CMM never used) takes two */
	ck_assert_uint_eq(rounds, 2);
	ck_assert_uint_eq(in, 32);
	ck_assert_uint_eq(out, 32);
	ck_assert_mem_eq(&log, &zero, sizeof(log));

	/* §7.4: 524288 values take R1, R2 and five data rounds */
	log = (struct ks_s390_cmma_log){ .count = 524288,
					 .mask = ~0ULL,
					 .values = (uintptr_t)values };
	ck_assert_int_eq(rounds_of(k, fh, KS_S390_SET_CMMA_BITS, &log, &rounds,
				   &in, &out),
			 0);
	ck_assert_uint_eq(rounds, 7);
	ck_assert_uint_eq(in, 131072);
	ck_assert_uint_eq(out, 0);

	/* a real answer: R3 with out {arg, 32}, {values, 131040} (D1) */
	log = (struct ks_s390_cmma_log){ .count = 524288,
					 .flags = KS_S390_CMMA_PEEK,
					 .values = (uintptr_t)values };
	ck_assert_int_eq(rounds_of(k, fh, KS_S390_GET_CMMA_BITS, &log, &rounds,
				   &in, &out),
			 0);
	ck_assert_uint_eq(rounds, 3);
	ck_assert_uint_eq(in, 32);
	ck_assert_uint_eq(out, 131072);
	ck_assert_uint_eq(log.count, 131040);
	ck_assert_uint_eq(log.start_gfn, 0);

	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
	free(values);
}
END_TEST

Suite *suite_cuse(void);
Suite *suite_cuse(void)
{
	Suite *s = suite_create("cuse");
	TCase *tc = tcase_create("front end");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_reply);
	tcase_add_test(tc, test_system_node);
	tcase_add_test(tc, test_out_only_ioctl_takes_two_rounds);
	tcase_add_test(tc, test_in_only_ioctl_and_state);
	tcase_add_test(tc, test_bad_pointers_efault);
	tcase_add_test(tc, test_compat_callers_get_enotty);
	tcase_add_test(tc, test_vm_creator_check);
	tcase_add_test(tc, test_proc_status_of_callers);
	tcase_add_test(tc, test_release_without_credentials_frees_vm);
	tcase_add_test(tc, test_release_frees_unfinished_rounds);
	tcase_add_test(tc, test_next_syscall_discards_stale_round);
	tcase_add_test(tc, test_interrupts_never_cause_a_second_reply);
	tcase_add_test(tc, test_unsupported_requests_get_one_reply);
	tcase_add_test(tc, test_threads_share_one_open);
	tcase_add_test(tc, test_shutdown_frees_held_opens);
	tcase_add_test(tc, test_draining_node_refuses_opens);
	tcase_add_test(tc, test_rounds_of_each_ioctl);
	tcase_add_test(tc, test_rounds_of_attrs_and_cmma);
	suite_add_tcase(s, tc);
	return s;
}
