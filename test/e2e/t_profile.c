// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Each profile through a real CUSE node: its whole capability table on the
 * system fd and on a VM fd (spec: generic.md §5), its system ioctls, and
 * --cap overrides.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "lib/e2e.h"

struct cap_row {
	unsigned int nr;
	long value[4]; /* ppc970, power7, power8, s390x */
};

/* generic.md §5, written out independently of the daemon's tables */
static const struct cap_row spec_caps[] = {
	{ 3, { 1, 1, 1, 1 } },	 { 10, { 32767, 32767, 32767, 32766 } },
	{ 57, { 0, 0, 0, 0 } },	 { 65, { 2, 1, 0, 0 } },
	{ 74, { 0, 0, 0, 0 } },	 { 79, { 0, 0, 0, 0 } },
	{ 80, { 1, 1, 1, 0 } },	 { 84, { 1, 1, 1, 0 } },
	{ 89, { 0, 0, 0, 0 } },	 { 101, { 0, 0, 0, 1 } },
	{ 105, { 1, 1, 1, 1 } }, { 133, { 1, 1, 1, 0 } },
	{ 134, { 0, 0, 0, 0 } }, { 135, { 0, 0, 0, 0 } },
	{ 145, { 0, 0, 0, 1 } }, { 156, { 0, 0, 0, 0 } },
};

static const char *const profiles[] = { "ppc970", "power7", "power8", "s390x" };

static long spec_value(int profile, unsigned long cap)
{
	size_t i;

	for (i = 0; i < sizeof(spec_caps) / sizeof(spec_caps[0]); i++)
		if (spec_caps[i].nr == cap)
			return spec_caps[i].value[profile];
	return 0;
}

/* Every cap 0-299 and a few odd arguments; the number of mismatches. */
static int check_table(int fd, unsigned long cmd, int profile, const char *what)
{
	static const unsigned long odd[] = { 1UL << 32, (1UL << 32) | 65, ~0UL,
					     4096 };
	int bad = 0;
	unsigned long cap;
	size_t i;
	long got;

	for (cap = 0; cap < 300; cap++) {
		got = e2e_ioctl(fd, cmd, cap);
		if (got != spec_value(profile, cap)) {
			e2e_diag("%s %s cap %lu: %ld, expected %ld",
				 profiles[profile], what, cap, got,
				 spec_value(profile, cap));
			bad++;
		}
	}
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		got = e2e_ioctl(fd, cmd, odd[i]);
		if (got) {
			e2e_diag("%s %s cap 0x%lx: %ld", profiles[profile],
				 what, odd[i], got);
			bad++;
		}
	}
	return bad;
}

static void check_profile(int p)
{
	static const long mmap_size[] = { 131072, 131072, 131072, 4096 };
	char name[32];
	struct e2e_daemon d;
	int sys, vm;

	snprintf(name, sizeof(name), "ks-prof-%s", profiles[p]);
	e2e_daemon_start(&d, name, "--profile", profiles[p], NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	vm = e2e_open(d.vm_path, O_RDWR);

	e2e_is(check_table(sys, 0xAE03, p, "system fd"), 0,
	       "%s: capability table on the system fd", profiles[p]);
	e2e_is(check_table(vm, 0xAE03, p, "VM fd"), 0,
	       "%s: capability table on a VM fd", profiles[p]);
	if (p != 3) {
		e2e_is(check_table(sys, 0x2000AE03, p, "system fd (ppc)"), 0,
		       "%s: the same in the powerpc encoding (system fd)",
		       profiles[p]);
		e2e_is(check_table(vm, 0x2000AE03, p, "VM fd (ppc)"), 0,
		       "%s: the same in the powerpc encoding (VM fd)",
		       profiles[p]);
	} else {
		e2e_is(e2e_ioctl(sys, 0x2000AE03, 3), -EINVAL,
		       "s390x: the powerpc encoding is unknown (system fd)");
		e2e_is(e2e_ioctl(vm, 0x2000AE03, 3), -ENOTTY,
		       "s390x: the powerpc encoding is unknown (VM fd)");
	}
	e2e_is(e2e_ioctl(sys, 0xAE00, 0), 12, "%s: API version 12",
	       profiles[p]);
	e2e_is(e2e_ioctl(sys, 0xAE04, 0), mmap_size[p],
	       "%s: KVM_GET_VCPU_MMAP_SIZE", profiles[p]);
	e2e_is(e2e_ioctl(sys, 0xAE04, 1), -EINVAL,
	       "%s: KVM_GET_VCPU_MMAP_SIZE with an argument", profiles[p]);
	e2e_is(e2e_ioctl(sys, 0xAE06, 0), p == 3 ? 0 : -EINVAL,
	       "%s: KVM_S390_ENABLE_SIE", profiles[p]);
	e2e_is(e2e_ioctl(sys, 0x8008AEA9, 0), -EINVAL,
	       "%s: KVM_ALLOCATE_RMA on the system fd", profiles[p]);
	e2e_is(e2e_ioctl(sys, 0xC020AEB8, 0), -EINVAL,
	       "%s: a VM ioctl on the system fd", profiles[p]);
	e2e_is(e2e_ioctl(vm, 0xAE00, 0), -ENOTTY,
	       "%s: a system ioctl on a VM fd", profiles[p]);
	close(vm);
	close(sys);
	e2e_is(e2e_daemon_stop(&d), 0, "%s: daemon stops", profiles[p]);
}

static void check_overrides(void)
{
	struct e2e_daemon d;
	int sys, vm;

	e2e_daemon_start(&d, "ks-prof-cap", "--profile", "power8", "--cap",
			 "PPC_RMA=1", "--cap", "KVM_CAP_PPC_HTAB_FD=0", "--cap",
			 "200=77", NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(e2e_ioctl(sys, 0xAE03, 65), 1, "--cap PPC_RMA=1: system fd");
	e2e_is(e2e_ioctl(vm, 0xAE03, 65), 1, "--cap PPC_RMA=1: VM fd");
	e2e_is(e2e_ioctl(sys, 0xAE03, 84), 0, "--cap KVM_CAP_PPC_HTAB_FD=0");
	e2e_is(e2e_ioctl(vm, 0xAE03, 84), 0,
	       "--cap KVM_CAP_PPC_HTAB_FD=0 (VM)");
	e2e_is(e2e_ioctl(vm, 0xAE03, 200), 77, "--cap 200=77");
	e2e_is(e2e_ioctl(vm, 0xAE03, 133), 1, "other caps keep their value");
	close(vm);
	close(sys);
	e2e_is(e2e_daemon_stop(&d), 0, "override daemon stops");
}

/* Runs kvmshimd with args and returns its exit status. */
static int run_daemon(const char *a1, const char *a2, const char *a3,
		      const char *a4)
{
	const char *argv[] = { e2e_daemon_path(),
			       "--foreground",
			       "--name",
			       "ks-prof-bad",
			       a1,
			       a2,
			       a3,
			       a4,
			       NULL };

	return e2e_run(argv, NULL);
}

int main(void)
{
	int p;

	for (p = 0; p < 4; p++)
		check_profile(p);
	check_overrides();
	e2e_is(run_daemon("--profile", "power9", NULL, NULL), 64,
	       "an unknown profile is refused");
	e2e_is(run_daemon("--cap", "NO_SUCH_CAP=1", NULL, NULL), 64,
	       "an unknown capability name is refused");
	e2e_is(run_daemon("--cap", "65=-1", NULL, NULL), 64,
	       "a negative capability value is refused");
	return e2e_done();
}
