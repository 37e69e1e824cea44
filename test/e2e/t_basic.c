// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon's life cycle through a real CUSE kernel: the nodes appear,
 * answer the generic ioctls, refuse duplicates and bad names, and go away
 * on SIGTERM.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "lib/e2e.h"

/* cuse.md §1: the longest name, 64 characters; its VM node has 67 */
#define LONG_NAME                                                              \
	"kvmshim-basic-long-0123456789abcdef0123456789abcdef0123456789abc"

/* Runs kvmshimd with args and returns its exit status. */
static int run_daemon(const char *a1, const char *a2, const char *a3,
		      const char *a4)
{
	const char *argv[] = { e2e_daemon_path(), a1, a2, a3, a4, NULL };

	return e2e_run(argv, NULL);
}

/* An address with nothing mapped at it. */
static void *unmapped_page(void)
{
	void *p =
		mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		e2e_bail("mmap: %s", strerror(errno));
	munmap(p, 4096);
	return p;
}

/* What poll() says of fd at once, or -errno. */
static long poll_events(int fd)
{
	struct pollfd p = {
		.fd = fd, .events = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
	};

	if (poll(&p, 1, 1000) < 0)
		return -errno;
	return p.revents;
}

int main(void)
{
	struct e2e_daemon d;
	char buf[16] = { 0 };
	int sys, vm;

	e2e_daemon_start(&d, "kvmshim-basic", NULL);
	e2e_ok(e2e_wait_path("/dev/kvmshim-basic", true, 0),
	       "system node exists");
	e2e_ok(e2e_wait_path("/dev/kvmshim-basic-vm", true, 0),
	       "VM node exists");

	sys = e2e_open(d.sys_path, O_RDWR);
	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12,
	       "KVM_GET_API_VERSION is 12");
	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 1), -EINVAL,
	       "KVM_GET_API_VERSION with an argument is EINVAL");
	e2e_is(e2e_ioctl(sys, 0xAE99, 0), -EINVAL,
	       "unknown ioctl on the system fd is EINVAL");
	e2e_is(e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_PPC_HTAB_FD), 1,
	       "power8 reports KVM_CAP_PPC_HTAB_FD");
	e2e_is(read(sys, buf, sizeof(buf)) < 0 ? -errno : 0, -EINVAL,
	       "read on the system fd is EINVAL");
	e2e_is(write(sys, buf, sizeof(buf)) < 0 ? -errno : 0, -EINVAL,
	       "write on the system fd is EINVAL");
	e2e_is(read(sys, buf, 0), 0,
	       "a 0-byte read returns 0 (the kernel answers it; deviation)");
	e2e_is(read(sys, unmapped_page(), 16) < 0 ? -errno : 0, -EFAULT,
	       "a read into a bad buffer is EFAULT (the kernel; deviation)");
	e2e_ok(mmap(NULL, 4096, PROT_READ, MAP_SHARED, sys, 0) == MAP_FAILED &&
		       errno == ENODEV,
	       "mmap of the system fd is ENODEV");

	/* cuse.md §2: CUSE's noop llseek, and no poll handler */
	e2e_is(lseek(sys, 100, SEEK_SET), 0, "lseek is accepted and returns 0");
	e2e_is(lseek(sys, 0, SEEK_CUR), 0, "  and the position did not move");
	e2e_is(pread(sys, buf, sizeof(buf), 100) < 0 ? -errno : 0, -EINVAL,
	       "pread on the system fd is EINVAL");
	e2e_is(poll_events(sys), POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM,
	       "poll reports the system fd always ready, as /dev/kvm does");

	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(poll_events(vm), POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM,
	       "poll reports the VM fd always ready");
	e2e_is(e2e_ioctl(vm, 0xAE99, 0), -ENOTTY,
	       "unknown ioctl on a VM fd is ENOTTY");
	e2e_is(e2e_ioctl(vm, 0x12345678, 0), -ENOTTY,
	       "foreign ioctl on a VM fd is ENOTTY");
	e2e_is(e2e_ioctl(vm, KS_CHECK_EXTENSION, KS_CAP_SPAPR_RESIZE_HPT), 1,
	       "CHECK_EXTENSION works on the VM fd");
	close(vm);

	e2e_is(run_daemon("--foreground", "--name", "kvmshim-basic", NULL), 73,
	       "a second daemon with the same name refuses to start");
	e2e_is(run_daemon("--foreground", "--name", "bad name", NULL), 64,
	       "a name with a space is refused");
	e2e_is(run_daemon("--foreground", "--name", "../x", NULL), 64,
	       "a name with .. is refused");
	e2e_is(run_daemon("--foreground", "--name", "x", "--profile"), 64,
	       "a missing option argument is refused");
	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12,
	       "the first daemon still answers");
	close(sys);

	e2e_is(e2e_daemon_stop(&d), 0, "SIGTERM: exit status 0");
	e2e_ok(e2e_wait_path("/dev/kvmshim-basic", false, 3000),
	       "system node removed");
	e2e_ok(e2e_wait_path("/dev/kvmshim-basic-vm", false, 3000),
	       "VM node removed");

	e2e_is(strlen(LONG_NAME), 64, "LONG_NAME has 64 characters");
	e2e_is(run_daemon("--foreground", "--name", LONG_NAME "d", NULL), 64,
	       "a name of 65 characters is refused");
	e2e_daemon_start(&d, LONG_NAME, NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(e2e_ioctl(vm, KS_CHECK_EXTENSION, KS_CAP_SPAPR_RESIZE_HPT), 1,
	       "a name of 64 characters works, and so does its VM node");
	close(vm);
	e2e_is(e2e_daemon_stop(&d), 0, "  and it stops cleanly");
	return e2e_done();
}
