// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The client side of the systemd test (unit-test.sh): an ordinary user
 * against the nodes of kvmshimd@s390x as systemd started them.  Without
 * the node group it is refused; in it, the s390 calls a VMM makes first
 * work.  Prints "client pid N" so the script can find its calls in the
 * journal.
 *
 *   unit-client NODE GROUP UID
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "test/e2e/lib/e2e.h"

static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void become(uid_t uid, gid_t group, bool in_group)
{
	if (setgroups(in_group ? 1 : 0, &group) || setgid(uid) || setuid(uid))
		e2e_bail("cannot become uid %u: %s", (unsigned int)uid,
			 strerror(errno));
}

/* Checks run as uid without the node group, in a child. */
static void outsider(const char *sys, const char *vm, uid_t uid)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		e2e_bail("fork: %s", strerror(errno));
	if (!pid) {
		become(uid, (gid_t)uid, false);
		_exit(open_errno(sys, O_RDWR) == -EACCES &&
				      open_errno(vm, O_RDWR) == -EACCES ?
			      0 :
			      1);
	}
	waitpid(pid, &st, 0);
	e2e_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "a user outside the node group gets EACCES on both nodes");
}

static void vm_calls(const char *vm_path)
{
	struct ks_userspace_memory_region m = {
		.slot = 0,
		.flags = KS_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0,
		.memory_size = 1 << 20,
		.userspace_addr = 0x10000000,
	};
	struct ks_device_attr a = { .group = KS_S390_VM_MEM_CTRL,
				    .attr = KS_S390_VM_MEM_ENABLE_CMMA };
	struct ks_s390_cmma_log log = { .count = 1 };
	uint64_t status = 7;
	int vm = e2e_open(vm_path, O_RDWR);

	e2e_is(e2e_ioctl(vm, KS_SET_USER_MEMORY_REGION, (unsigned long)&m), 0,
	       "SET_USER_MEMORY_REGION");
	e2e_is(e2e_ioctl(vm, KS_SET_DEVICE_ATTR, (unsigned long)&a), 0,
	       "SET_DEVICE_ATTR(MEM_CTRL, ENABLE_CMMA)");
	a.group = KS_S390_VM_MIGRATION;
	a.attr = KS_S390_VM_MIGRATION_START;
	e2e_is(e2e_ioctl(vm, KS_SET_DEVICE_ATTR, (unsigned long)&a), 0,
	       "SET_DEVICE_ATTR(MIGRATION, START)");
	a.attr = KS_S390_VM_MIGRATION_STATUS;
	a.addr = (uintptr_t)&status;
	e2e_is(e2e_ioctl(vm, KS_GET_DEVICE_ATTR, (unsigned long)&a), 0,
	       "GET_DEVICE_ATTR(MIGRATION, STATUS)");
	e2e_is((long long)status, 1, "migration mode is on");
	/* the guest never used CMM: the all-zero struct (Q12) */
	log.values = (uintptr_t)&status;
	e2e_is(e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)&log), 0,
	       "GET_CMMA_BITS before the guest used CMM");
	e2e_is((long long)(log.count | log.values), 0,
	       "... answers the all-zero struct");
	e2e_is(e2e_ioctl(vm, 0xAE99, 0), -ENOTTY,
	       "an unknown ioctl on the VM fd is ENOTTY");
	close(vm);
}

int main(int argc, char **argv)
{
	char vm_path[256];
	struct group *g;
	uid_t uid;
	int sys;

	if (argc != 4) {
		fprintf(stderr, "usage: unit-client NODE GROUP UID\n");
		return 2;
	}
	snprintf(vm_path, sizeof(vm_path), "%s-vm", argv[1]);
	g = getgrnam(argv[2]);
	if (!g)
		e2e_bail("no group %s", argv[2]);
	uid = (uid_t)strtoul(argv[3], NULL, 10);

	outsider(argv[1], vm_path, uid);
	become(uid, g->gr_gid, true);
	printf("client pid %d\n", (int)getpid());
	fflush(stdout);
	sys = e2e_open(argv[1], O_RDWR);
	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), KS_API_VERSION,
	       "GET_API_VERSION as uid %u in group %s", (unsigned int)uid,
	       argv[2]);
	e2e_is(e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_S390_CMMA_MIGRATION),
	       1, "CHECK_EXTENSION(S390_CMMA_MIGRATION)");
	e2e_is(e2e_ioctl(sys, 0xAE99, 0), -EINVAL,
	       "an unknown ioctl on the system fd is EINVAL");
	vm_calls(vm_path);
	close(sys);
	return e2e_done();
}
