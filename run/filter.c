// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The seccomp filter: ioctl(2) with one of the trapped numbers (compared on
 * the low 32 bits of the request, as the kernel's ioctl takes an unsigned
 * int) goes to the supervisor; everything else, other architectures'
 * system calls included, runs untouched.
 *
 * libseccomp builds and checks the program; it is loaded by hand, because
 * libseccomp 2.5 cannot ask for SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

/* libseccomp returns -errno; keep only what it says. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	struct stat st;
	void *buf = NULL;
	int fd, ret;

	fd = memfd_create("kvmshim-run-filter", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (!st.st_size || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		ret = -EIO;
		free(buf);
		goto out;
	}
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	prog->filter = buf;
out:
	close(fd);
	return ret;
}

int filter_build(const struct kvmshim_run_info *info, struct sock_fprog *prog)
{
	scmp_filter_ctx ctx;
	unsigned int i;
	int ret;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* 32-bit callers reach CUSE, which refuses them (D5) */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	/* no_new_privs is set by the child itself */
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/*
	 * The kernel ignores the request's high 32 bits, so must we.
	 * SCMP_A1_32 would still want them zero (libseccomp 2.5): mask
	 * them off instead.
	 */
	for (i = 0; !ret && i < info->n_traps; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 1,
				       SCMP_A1_64(SCMP_CMP_MASKED_EQ,
						  0xFFFFFFFFULL,
						  info->traps[i].cmd));
	if (!ret)
		ret = export_prog(ctx, prog);
	seccomp_release(ctx);
	return ret;
}

static long seccomp_set_filter(unsigned long flags,
			       const struct sock_fprog *prog)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

int filter_load(const struct sock_fprog *prog)
{
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	long fd;

	/* a signal arriving once the supervisor has the call waits for it */
	fd = seccomp_set_filter(flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
				prog);
	/* before 5.19: any signal interrupts a trapped call */
	if (fd < 0 && errno == EINVAL) {
		fd = seccomp_set_filter(flags, prog);
		if (fd >= 0)
			run_log("warning: this kernel cannot defer signals "
				"during a trapped call (Linux >= 5.19 can)");
	}
	return fd < 0 ? -errno : (int)fd;
}
