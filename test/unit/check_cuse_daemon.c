// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshimd's service parts without a kernel: options, the trace decoder,
 * log formatting, sd_notify messages, the status text, the control
 * socket, and the privilege drop (when the tests run as root).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fuse.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cuse/control.h"
#include "cuse/daemon.h"
#include "cuse/logging.h"
#include "cuse/notify.h"
#include "cuse/privs.h"
#include "cuse/status_text.h"
#include "cuse/trace.h"
#include "fakekernel.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

/* daemon_parse_args on a NULL-terminated list after "kvmshimd". */
static int parse(struct daemon_opts *o, ...)
{
	char *argv[64];
	int argc = 0;
	const char *a;
	va_list ap;

	argv[argc++] = (char *)"kvmshimd";
	va_start(ap, o);
	while ((a = va_arg(ap, const char *)) && argc < 63)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return daemon_parse_args(argc, argv, o);
}

START_TEST(test_options_defaults)
{
	struct daemon_opts o;

	ck_assert_int_eq(parse(&o, "--name", "a/b", NULL), 0);
	ck_assert_str_eq(o.name, "a/b");
	ck_assert_str_eq(o.cfg.profile.name, "power8");
	ck_assert_uint_eq(o.workers, NODE_DEFAULT_WORKERS);
	ck_assert_str_eq(o.control, "/run/kvmshim/a!b.sock");
	ck_assert(!o.control_explicit);
	ck_assert(!o.foreground);
	ck_assert(!o.trace);
	ck_assert_int_eq(o.log_target, LOG_TARGET_AUTO);
	ck_assert_ptr_null(o.user);
	ck_assert_uint_eq(daemon_node_mode(&o), 0);
	ck_assert_int_eq(o.cfg.no_launcher_errno, EOPNOTSUPP);
	ck_assert_uint_eq(o.cfg.hpt_max_alloc_order, 34);
	ck_assert(!o.cfg.profile.native_encoding_only);
}
END_TEST

START_TEST(test_options_engine_ppc)
{
	struct daemon_opts o;

	ck_assert_int_eq(parse(&o, "-n", "x", "-p", "ppc970", "-f",
			       "--hpt-max-alloc-order", "30",
			       "--no-launcher-errno", "ENOSPC", "--rma-size",
			       "128M", "--rma-count", "2", "--rma-fd-cloexec",
			       "--ppc-nested", "--ioctl-encodings", "native",
			       "--memory-limit", "1G", "--cap", "PPC_RMA=1",
			       "--workers", "3", "--trace", "--log", "stderr",
			       "-v", NULL),
			 0);
	ck_assert_str_eq(o.cfg.profile.name, "ppc970");
	ck_assert(o.foreground);
	ck_assert_uint_eq(o.cfg.hpt_max_alloc_order, 30);
	ck_assert_int_eq(o.cfg.no_launcher_errno, ENOSPC);
	ck_assert_uint_eq(o.cfg.rma_size, 128ULL << 20);
	ck_assert_uint_eq(o.cfg.rma_count, 2);
	ck_assert(o.cfg.rma_fd_cloexec);
	ck_assert(o.cfg.ppc_nested);
	ck_assert(o.cfg.profile.native_encoding_only);
	ck_assert_uint_eq(o.cfg.memory_limit, 1ULL << 30);
	ck_assert_int_eq(ks_profile_cap(&o.cfg.profile, KS_CAP_PPC_RMA), 1);
	ck_assert_uint_eq(o.workers, 3);
	ck_assert(o.trace);
	ck_assert_int_eq(o.log_target, LOG_TARGET_STDERR);
	ck_assert_int_eq(o.log_level, LOG_DEBUG);
	/* options may come before the profile they depend on */
	ck_assert_int_eq(parse(&o, "--rma-count", "0", "--no-launcher-errno",
			       "22", "-p", "power7", "-n", "y", NULL),
			 0);
	ck_assert_uint_eq(o.cfg.rma_count, 0);
	ck_assert_int_eq(o.cfg.no_launcher_errno, EINVAL);
	/* generic.md §2, §4.3: the two page-size parameters of ppc */
	ck_assert_uint_eq(o.cfg.profile.vcpu_mmap_size, 131072);
	ck_assert_uint_eq(o.cfg.profile.host_page_size, 65536);
	ck_assert_int_eq(parse(&o, "-n", "y", "--vcpu-mmap-size", "64K",
			       "--host-page-size", "4096", NULL),
			 0);
	ck_assert_uint_eq(o.cfg.profile.vcpu_mmap_size, 65536);
	ck_assert_uint_eq(o.cfg.profile.host_page_size, 4096);
	/* s390x has fixed values: the options have no effect there */
	ck_assert_int_eq(parse(&o, "-n", "y", "-p", "s390x", "--vcpu-mmap-size",
			       "64K", NULL),
			 0);
	ck_assert_uint_eq(o.cfg.profile.vcpu_mmap_size, 4096);
	ck_assert_uint_eq(o.cfg.profile.host_page_size, 4096);
}
END_TEST

START_TEST(test_options_engine_s390_and_service)
{
	struct daemon_opts o;

	ck_assert_int_eq(parse(&o, "--name", "s", "--profile", "s390x",
			       "--s390-no-cmma", "--s390-mem-limit", "1T",
			       "--user", "nobody", "--group", "nogroup",
			       "--node-group", "kvm", "--control",
			       "/tmp/x.sock", NULL),
			 0);
	ck_assert(!o.cfg.s390_has_cmma);
	ck_assert_uint_eq(o.cfg.s390_mem_limit, 1ULL << 40);
	ck_assert_str_eq(o.user, "nobody");
	ck_assert_str_eq(o.group, "nogroup");
	ck_assert_str_eq(o.node_group, "kvm");
	ck_assert_uint_eq(daemon_node_mode(&o), 0660);
	ck_assert_str_eq(o.control, "/tmp/x.sock");
	ck_assert(o.control_explicit);
	ck_assert_int_eq(parse(&o, "--name", "s", "--mode", "0640",
			       "--node-group", "kvm", "--no-control", NULL),
			 0);
	ck_assert_uint_eq(daemon_node_mode(&o), 0640);
	ck_assert_str_eq(o.control, "");
}
END_TEST

/* 65 characters; without the first, a name of the longest length */
#define NAME_65                                                                \
	"x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_options_rejected)
{
	struct daemon_opts o;

	ck_assert_int_eq(parse(&o, NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "bad name", NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "a/../b", NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "a..b", NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "a/b..", NULL), KSD_EXIT_USAGE);
	/* cuse.md §1: 1 to 64 characters */
	ck_assert_int_eq(parse(&o, "-n", "", NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", NAME_65, NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", NAME_65 + 1, NULL), 0);
	ck_assert_str_eq(o.name, NAME_65 + 1);
	ck_assert_int_eq(parse(&o, "-n", "x", "-p", "x86", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "extra", NULL), KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--mode", "888", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--mode", "4755", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--mode", "-1", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--memory-limit", "12Q", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--memory-limit", "-1", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--no-launcher-errno", "EFOO",
			       NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--no-launcher-errno", "0", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--ioctl-encodings", "some",
			       NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--hpt-max-alloc-order", "64",
			       NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--workers", "0", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--workers", "100000", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--group", "kvm", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--control", "", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--control", "/a", "--no-control",
			       NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--log", "syslog", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--cap", "PPC_RMA", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--rma-size", "0", "-p", "ppc970",
			       NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--vcpu-mmap-size", "0", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--vcpu-mmap-size", "2G", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--host-page-size", "8K", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--memory-limit", " -1", NULL),
			 KSD_EXIT_USAGE);
	ck_assert_int_eq(parse(&o, "-n", "x", "--bogus", NULL), KSD_EXIT_USAGE);
}
END_TEST

START_TEST(test_parse_errno_and_size)
{
	uint64_t v;

	ck_assert_int_eq(parse_errno("EOPNOTSUPP"), EOPNOTSUPP);
	ck_assert_int_eq(parse_errno("ENOTSUP"), EOPNOTSUPP);
	ck_assert_int_eq(parse_errno("EINVAL"), EINVAL);
	ck_assert_int_eq(parse_errno("95"), 95);
	ck_assert_int_eq(parse_errno("0"), -EINVAL);
	ck_assert_int_eq(parse_errno("4096"), -EINVAL);
	ck_assert_int_eq(parse_errno("einval"), -EINVAL);
	ck_assert_int_eq(parse_size("64M", &v), 0);
	ck_assert_uint_eq(v, 64ULL << 20);
	ck_assert_int_eq(parse_size("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 30);
	ck_assert_int_eq(parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(parse_size("0x1000", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(parse_size("17179869184T", &v), -EINVAL);
	ck_assert_int_eq(parse_size("10iB", &v), -EINVAL);
	ck_assert_int_eq(parse_size("", &v), -EINVAL);
}
END_TEST

struct fake_mem {
	uint64_t addr;
	const void *in;
	size_t in_len;
	const void *out;
	size_t out_len;
};

static int fake_peek(void *opaque, uint64_t uaddr, void *dst, size_t len,
		     bool out)
{
	const struct fake_mem *m = opaque;
	const void *src = out ? m->out : m->in;
	size_t have = out ? m->out_len : m->in_len;

	if (!src || uaddr < m->addr || uaddr - m->addr + len > have)
		return -ENOENT;
	memcpy(dst, (const uint8_t *)src + (uaddr - m->addr), len);
	return 0;
}

static const char *fmt_ioctl(const char *profile, uint32_t cmd, uint64_t arg,
			     struct fake_mem *m)
{
	static char buf[512];
	struct ks_profile p;

	ck_assert_int_eq(ks_profile_init(&p, profile), 0);
	trace_format_ioctl(buf, sizeof(buf), &p, cmd, arg, 0,
			   m ? fake_peek : NULL, m);
	return buf;
}

START_TEST(test_trace_decoding)
{
	uint32_t order = 20;
	struct fake_mem m = { .addr = 0x1000, .in = &order, .in_len = 4 };
	struct kvmshim_vcpus v = { .created = 2, .running = 1 };
	struct kvmshim_whoami w = { .kind = KVMSHIM_KIND_VM,
				    .vm_id = 3,
				    .creator_tgid = 77,
				    .oflags = 2 };
	struct ks_s390_cmma_log l = {
		.start_gfn = 0x10, .count = 16, .flags = 1, .values = 0x2000
	};
	struct ks_userspace_memory_region r = { .slot = 1,
						.memory_size = 1 << 20,
						.userspace_addr = 0x7000 };

	ck_assert_str_eq(fmt_ioctl("power8", KS_PPC_ALLOCATE_HTAB, 0x1000, &m),
			 "KVM_PPC_ALLOCATE_HTAB(order=20)");
	/* the powerpc encoding of the same ioctl */
	ck_assert_str_eq(fmt_ioctl("power8", 0xc004aea7, 0x1000, &m),
			 "KVM_PPC_ALLOCATE_HTAB(order=20)");
	/* data never transferred (a bad pointer): the address */
	ck_assert_str_eq(fmt_ioctl("power8", KS_PPC_ALLOCATE_HTAB, 0x1000,
				   NULL),
			 "KVM_PPC_ALLOCATE_HTAB(0x1000)");
	ck_assert_str_eq(fmt_ioctl("power8", KS_CHECK_EXTENSION,
				   KS_CAP_PPC_HTAB_FD, NULL),
			 "KVM_CHECK_EXTENSION(KVM_CAP_PPC_HTAB_FD)");
	ck_assert_str_eq(fmt_ioctl("power8", KS_CHECK_EXTENSION, 9999, NULL),
			 "KVM_CHECK_EXTENSION(9999)");
	ck_assert_str_eq(fmt_ioctl("power8", KS_GET_API_VERSION, 0, NULL),
			 "KVM_GET_API_VERSION(0)");
	ck_assert_str_eq(fmt_ioctl("power8", 0x1234, 5, NULL),
			 "ioctl(0x00001234, 0x5)");
	m = (struct fake_mem){ .addr = 0x1000, .in = &v, .in_len = sizeof(v) };
	ck_assert_str_eq(fmt_ioctl("power8", KVMSHIM_SET_VCPUS, 0x1000, &m),
			 "KVMSHIM_SET_VCPUS({created=2, running=1})");
	m = (struct fake_mem){ .addr = 0x1000,
			       .out = &w,
			       .out_len = sizeof(w) };
	ck_assert_str_eq(fmt_ioctl("power8", KVMSHIM_WHOAMI, 0x1000, &m),
			 "KVMSHIM_WHOAMI(0x1000 => {kind=vm, vm_id=3, "
			 "creator_tgid=77, oflags=0x2})");
	m = (struct fake_mem){ .addr = 0x1000, .in = &l, .in_len = sizeof(l) };
	ck_assert_str_eq(fmt_ioctl("s390x", KS_S390_GET_CMMA_BITS, 0x1000, &m),
			 "KVM_S390_GET_CMMA_BITS({start_gfn=0x10, count=16, "
			 "flags=0x1, remaining=0x0, values=0x2000})");
	m = (struct fake_mem){ .addr = 0x1000, .in = &r, .in_len = sizeof(r) };
	ck_assert_str_eq(fmt_ioctl("s390x", KS_SET_USER_MEMORY_REGION, 0x1000,
				   &m),
			 "KVM_SET_USER_MEMORY_REGION({slot=1, flags=0x0, "
			 "guest_phys_addr=0x0, memory_size=1048576, "
			 "userspace_addr=0x7000})");
}
END_TEST

START_TEST(test_trace_results)
{
	char buf[96];

	trace_format_result(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "= 0");
	trace_format_result(buf, sizeof(buf), 4096);
	ck_assert_str_eq(buf, "= 4096");
	trace_format_result(buf, sizeof(buf), -EINVAL);
	ck_assert_str_eq(buf, "= -1 EINVAL (Invalid argument)");
	trace_format_result(buf, sizeof(buf), -ENOTTY);
	ck_assert_str_eq(buf, "= -1 ENOTTY (Inappropriate ioctl for device)");
}
END_TEST

/* Runs fn with stderr sent to a file; returns what was written. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/kvmshim-stderr.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	char *text;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert_int_eq(fstat(fd, &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	ck_assert_int_eq(pread(fd, text, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	return text;
}

static void traced_session(void *arg)
{
	struct fk_options opt = { .trace = true };
	struct ks_engine *eng = arg;
	struct fk *k = fk_new(eng, KS_NODE_VM, &opt);
	struct kvmshim_vcpus v = { .created = 2, .running = 1 };
	uint64_t fh;

	log_setup(LOG_TARGET_STDERR, "unit");
	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KVMSHIM_SET_VCPUS,
				  (uintptr_t)&v),
			 0);
	ck_assert_errno(fk_ioctl(k, fh, fk_gettid(), KVMSHIM_SET_VCPUS, 0),
			EFAULT);
	ck_assert_errno(fk_ioctl(k, fh, fk_gettid(), 0xAE99, 0), ENOTTY);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
}

START_TEST(test_trace_lines)
{
	struct ks_engine *eng = unit_engine("power8");
	char *text = capture_stderr(traced_session, eng);
	char want[128];

	snprintf(want, sizeof(want),
		 "kvmshimd: [pid %d] vm 1 open(O_RDWR) = 0 <",
		 (int)fk_gettid());
	ck_assert_msg(strstr(text, want), "no open line in:\n%s", text);
	ck_assert_ptr_nonnull(
		strstr(text, "vm 1 KVMSHIM_SET_VCPUS({created=2, running=1}) "
			     "= 0 <"));
	ck_assert_ptr_nonnull(strstr(text, "s> rounds=2\n"));
	/*
	 * R1 asked for the struct and the kernel's copy faulted: the daemon
	 * learns it only from the thread's next syscall
	 */
	ck_assert_ptr_nonnull(strstr(text, "vm 1 KVMSHIM_SET_VCPUS(0x0) = ? "
					   "<abandoned after round 1>\n"));
	ck_assert_ptr_nonnull(strstr(text, "vm 1 ioctl(0x0000ae99, 0x0) = -1 "
					   "ENOTTY"));
	ck_assert_ptr_nonnull(strstr(text, "[pid 0] vm 1 release() = 0 <"));
	free(text);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_log_format)
{
	struct log_fields f = { .vm = 3, .ioctl = "KVM_PPC_ALLOCATE_HTAB" };
	char line[64];

	log_format_line(line, sizeof(line), LOG_ERR, NULL, "boom");
	ck_assert_str_eq(line, "kvmshimd: error: boom\n");
	log_format_line(line, sizeof(line), LOG_INFO, &f, "cleared");
	ck_assert_str_eq(line,
			 "kvmshimd: vm 3 KVM_PPC_ALLOCATE_HTAB: cleared\n");
	f.trace = true;
	log_format_line(line, sizeof(line), LOG_INFO, &f, "x");
	ck_assert_str_eq(line, "kvmshimd: x\n");
	/* a long message stays one line */
	log_format_line(line, 16, LOG_INFO, NULL, "0123456789abcdef");
	ck_assert_uint_eq(strlen(line), 15);
	ck_assert_int_eq(line[14], '\n');
}
END_TEST

START_TEST(test_journal_stream_detection)
{
	char path[] = "/tmp/kvmshim-js.XXXXXX", env[64];
	int fd = mkstemp(path);
	struct stat st;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	ck_assert(log_stream_is_journal(env, fd));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	ck_assert(!log_stream_is_journal(env, fd));
	ck_assert(!log_stream_is_journal("garbage", fd));
	ck_assert(!log_stream_is_journal(NULL, fd));
	close(fd);
	ck_assert_int_eq(log_parse_target("journal"), LOG_TARGET_JOURNAL);
	ck_assert_int_eq(log_parse_target("auto"), LOG_TARGET_AUTO);
	ck_assert_int_eq(log_parse_target("file"), -1);
}
END_TEST

/* An abstract datagram socket standing in for systemd's. */
static int notify_listener(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "kvmshim-unit-notify-%d", (int)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	memcpy(sa.sun_path + 1, name, strlen(name));
	ck_assert_int_eq(
		bind(fd, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				 strlen(name))),
		0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "@%s", name);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	return fd;
}

static bool next_msg(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, 0);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

START_TEST(test_sd_notify_messages)
{
	int fd = notify_listener();
	char msg[512], want[64];

	setenv("WATCHDOG_USEC", "3000000", 1);
	snprintf(want, sizeof(want), "%d", (int)getpid());
	setenv("WATCHDOG_PID", want, 1);
	notify_init();
	ck_assert(notify_enabled());
	ck_assert_uint_eq(notify_watchdog_interval(), 1500000);
	notify_ready("power8: 0 VMs");
	ck_assert(next_msg(fd, msg, sizeof(msg)));
	snprintf(want, sizeof(want), "READY=1\nMAINPID=%d\n", (int)getpid());
	ck_assert_ptr_eq(strstr(msg, want), msg);
	ck_assert_ptr_nonnull(strstr(msg, "\nSTATUS=power8: 0 VMs"));
	/* an unchanged status is not sent again */
	notify_status("power8: 0 VMs");
	ck_assert(!next_msg(fd, msg, sizeof(msg)));
	notify_status("power8: 1 VM");
	ck_assert(next_msg(fd, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "STATUS=power8: 1 VM");
	notify_watchdog();
	ck_assert(next_msg(fd, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "WATCHDOG=1");
	notify_stopping("bye");
	ck_assert(next_msg(fd, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "STOPPING=1\nSTATUS=bye");
	close(fd);
}
END_TEST

static struct ks_handle *open_vm(struct ks_engine *eng, pid_t tgid)
{
	return unit_open(eng, 1, tgid);
}

START_TEST(test_status_text)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *a = open_vm(eng, 4242), *b = open_vm(eng, 4343);
	struct kvmshim_vcpus v = { .created = 3, .running = 2 };
	struct daemon_view view = {
		.name = "unit",
		.pid = 99,
		.started_ns = xfer_now_ns(),
		.eng = eng,
		.identity = "uid=0(root)",
		.control = "/run/kvmshim/unit.sock",
	};
	struct strbuf sb = STRBUF_INIT(0);
	char summary[256];

	ck_assert_int_eq(
		unit_ioctl_as(b, 4343, KVMSHIM_SET_VCPUS, (uintptr_t)&v), 0);
	ck_assert_int_eq(status_text(&sb, &view), 0);
	ck_assert_ptr_nonnull(strstr(sb.p, "instance: unit\n"));
	ck_assert_ptr_nonnull(strstr(sb.p, "profile: power8\n"));
	ck_assert_ptr_nonnull(strstr(sb.p, "nodes: /dev/unit /dev/unit-vm\n"));
	ck_assert_ptr_nonnull(strstr(sb.p, "memory: used=0 limit=none"));
	ck_assert_ptr_nonnull(strstr(sb.p, "vms: 2\n"));
	ck_assert_ptr_nonnull(strstr(sb.p, "\nvm 1 profile=power8 creator=4242 "
					   "vcpus=0 running=0 memslots=0 "
					   "hpt_order=0 hpt_valid=0 "
					   "mmu_ready=no resize=none "
					   "htab_readers=0 htab_writers=0 "
					   "rmas_held=0 rma_bytes=0\n"));
	ck_assert_ptr_nonnull(strstr(sb.p, "\nvm 2 profile=power8 creator=4343 "
					   "vcpus=3 running=2 "));
	/* VM lines come last, oldest first */
	ck_assert(strstr(sb.p, "vms: 2") < strstr(sb.p, "\nvm 1 "));
	ck_assert(strstr(sb.p, "\nvm 1 ") < strstr(sb.p, "\nvm 2 "));
	status_summary(summary, sizeof(summary), &view);
	ck_assert_str_eq(summary, "power8: 2 VMs, 0 open handles, model "
				  "memory 0B");
	sb_free(&sb);
	ks_release(a);
	ks_release(b);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_status_text_s390)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *a;
	struct daemon_view view = { .name = "z",
				    .identity = "",
				    .control = "" };
	struct strbuf sb = STRBUF_INIT(0);
	char summary[256], line[128], used[32];

	ck_assert_int_eq(ks_engine_config_init(&cfg, "s390x"), 0);
	cfg.memory_limit = 64ULL << 20;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	view.eng = eng;
	a = open_vm(eng, 7);
	ck_assert_int_eq(status_text(&sb, &view), 0);
	ck_assert_ptr_nonnull(strstr(sb.p, "control: none\n"));
	/* a VM's own model state (its memslot table) is accounted */
	status_format_bytes(used, sizeof(used), ks_mem_used(eng));
	snprintf(line, sizeof(line),
		 "memory: used=%llu limit=67108864 (%s of 64MiB)\n",
		 (unsigned long long)ks_mem_used(eng), used);
	ck_assert_ptr_nonnull(strstr(sb.p, line));
	ck_assert_ptr_nonnull(strstr(sb.p, "\nvm 1 profile=s390x creator=7 "
					   "vcpus=0 running=0 memslots=0 "
					   "cmma=no cmm_used=no migration=no "
					   "cmma_dirty=0\n"));
	ck_assert_ptr_null(strstr(sb.p, "rma_pool"));
	status_summary(summary, sizeof(summary), &view);
	snprintf(line, sizeof(line),
		 "s390x: 1 VM, 0 open handles, model memory %s of 64MiB", used);
	ck_assert_str_eq(summary, line);
	sb_free(&sb);
	ks_release(a);
	ks_engine_free(eng);
}
END_TEST

static int status_stub(void *opaque, struct strbuf *sb)
{
	(void)opaque;
	return sb_printf(sb, "hello status\n");
}

static int seen_fds[CTL_MAX_FDS];
static unsigned int n_seen_fds;

/* Keeps the first fd a request carries; the server closes the others. */
static int op_fds(struct ctl_call *c)
{
	unsigned int i;

	n_seen_fds = c->n_in_fds;
	for (i = 0; i < c->n_in_fds; i++)
		seen_fds[i] = c->in_fds[i];
	if (c->n_in_fds)
		c->in_fds[0] = -1;
	return ctl_printf(c, "fds=%u", c->n_in_fds);
}

/* Sends a request with fds attached, returns the reply's error. */
static int ask_with_fds(int fd, const void *req, size_t len, const int *fds,
			unsigned int n, char *text, size_t size)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = len };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct kvmshim_ctl_reply rep;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	char buf[512];
	ssize_t r;

	memset(&u, 0, sizeof(u));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	ck_assert_int_eq(sendmsg(fd, &m, 0), (ssize_t)len);
	r = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_ge(r, (ssize_t)sizeof(rep));
	memcpy(&rep, buf, sizeof(rep));
	snprintf(text, size, "%.*s", (int)rep.len, buf + sizeof(rep));
	return rep.error;
}

static int op_echo(struct ctl_call *c)
{
	ctl_printf(c, "pid=%d uid=%u payload=", (int)c->peer.pid,
		   (unsigned int)c->peer.uid);
	return ctl_append(c, c->payload, c->payload_len);
}

static int connect_ctl(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Sends len bytes, returns the reply's error and payload. */
static int ask(int fd, const void *req, size_t len, char *text, size_t size)
{
	struct kvmshim_ctl_reply rep;
	char buf[4096];
	ssize_t n;

	ck_assert_int_eq(send(fd, req, len, 0), (ssize_t)len);
	n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_ge(n, (ssize_t)sizeof(rep));
	memcpy(&rep, buf, sizeof(rep));
	ck_assert_uint_eq(rep.len, (size_t)n - sizeof(rep));
	if (text) {
		snprintf(text, size, "%.*s", (int)rep.len, buf + sizeof(rep));
	}
	return rep.error;
}

START_TEST(test_control_socket)
{
	char dir[] = "/tmp/kvmshim-ctl.XXXXXX", path[100], text[256], want[64];
	struct ks_engine *eng = unit_engine("power8");
	struct ctl_config cfg = {
		.path = path,
		.eng = eng,
		.status = status_stub,
		.dir_owner = (uid_t)-1,
	};
	struct kvmshim_ctl_request req = { .op = KVMSHIM_CTL_STATUS };
	struct {
		struct kvmshim_ctl_request r;
		char p[5];
	} echo = { .r = { .op = 77 }, .p = "abcde" };
	struct ctl_server *s, *s2;
	char *big;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/x.sock", dir);
	ck_assert_int_eq(ctl_register(77, "echo", op_echo), 0);
	ck_assert_int_eq(ctl_open(&s, &cfg), 0);
	ck_assert_int_eq(ctl_start(s), 0);
	/* a second instance on the same path is refused */
	ck_assert_int_eq(ctl_open(&s2, &cfg), -EADDRINUSE);
	fd = connect_ctl(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ask(fd, &req, sizeof(req), text, sizeof(text)), 0);
	ck_assert_str_eq(text, "hello status\n");
	/* several requests on one connection */
	ck_assert_int_eq(ask(fd, &echo, sizeof(echo), text, sizeof(text)), 0);
	snprintf(want, sizeof(want), "pid=%d uid=%u payload=abcde",
		 (int)getpid(), (unsigned int)getuid());
	ck_assert_str_eq(text, want);
	ck_assert_str_eq(ctl_op_name(77), "echo");
	/* the token module answers ENOENT for an unknown token */
	req.op = KVMSHIM_CTL_CLAIM;
	req.token = 12345;
	ck_assert_int_eq(ask(fd, &req, sizeof(req), NULL, 0), -ENOENT);
	req.owner_tgid = 999999999;
	ck_assert_int_eq(ask(fd, &req, sizeof(req), NULL, 0), -ESRCH);
	req.op = 999;
	ck_assert_int_eq(ask(fd, &req, sizeof(req), NULL, 0), -EOPNOTSUPP);
	/* fds sent with a request reach the operation */
	{
		struct kvmshim_ctl_request fr = { .op = 78 };
		int p[2];

		ck_assert_int_eq(ctl_register(78, "fds", op_fds), 0);
		ck_assert_int_eq(pipe(p), 0);
		ck_assert_int_eq(ask_with_fds(fd, &fr, sizeof(fr), p, 2, text,
					      sizeof(text)),
				 0);
		ck_assert_str_eq(text, "fds=2");
		ck_assert_uint_eq(n_seen_fds, 2);
		/* the kept one is open and close-on-exec, the other closed */
		ck_assert_int_eq(fcntl(seen_fds[0], F_GETFD), FD_CLOEXEC);
		ck_assert_int_eq(fcntl(seen_fds[1], F_GETFD), -1);
		close(seen_fds[0]);
		close(p[0]);
		close(p[1]);
	}
	ck_assert_int_eq(ask(fd, &req, 4, NULL, 0), -EINVAL);
	big = calloc(1, CTL_MAX_REQUEST + 1);
	ck_assert_int_eq(ask(fd, big, CTL_MAX_REQUEST + 1, NULL, 0), -EMSGSIZE);
	free(big);
	close(fd);
	ctl_close(s);
	/* the socket is removed; a stale one left by a crash is replaced */
	ck_assert_int_eq(access(path, F_OK), -1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
	}
	close(fd);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(ctl_open(&s, &cfg), 0);
	ctl_close(s);
	ck_assert_int_eq(connect_ctl(path), -ENOENT);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_privs_resolve)
{
	struct daemon_opts o;
	struct privs p;
	struct passwd *pw = getpwnam("nobody");

	ck_assert_int_eq(parse(&o, "-n", "x", "--user", "root", NULL), 0);
	ck_assert_int_eq(privs_resolve(&o, &p), 0);
	ck_assert(p.change_user);
	ck_assert_uint_eq(p.uid, 0);
	ck_assert_uint_eq(p.gid, 0);
	ck_assert_int_eq(
		parse(&o, "-n", "x", "--user", "no-such-user-here", NULL), 0);
	ck_assert_int_eq(privs_resolve(&o, &p), KSD_EXIT_NOUSER);
	ck_assert_int_eq(
		parse(&o, "-n", "x", "--node-group", "no-such-group", NULL), 0);
	ck_assert_int_eq(privs_resolve(&o, &p), KSD_EXIT_NOUSER);
	ck_assert_int_eq(parse(&o, "-n", "x", "--node-group", "4321", NULL), 0);
	ck_assert_int_eq(privs_resolve(&o, &p), 0);
	ck_assert(p.node_group);
	ck_assert_uint_eq(p.node_gid, 4321);
	ck_assert_uint_eq(p.mode, 0660);
	if (pw) {
		ck_assert_int_eq(parse(&o, "-n", "x", "--user", "nobody", NULL),
				 0);
		ck_assert_int_eq(privs_resolve(&o, &p), 0);
		ck_assert_uint_eq(p.uid, pw->pw_uid);
		ck_assert_uint_eq(p.gid, pw->pw_gid);
	}
}
END_TEST

/*
 * Dropping privileges is for good: only in a forked, single-threaded test
 * process, and only as root.
 */
static bool may_drop(void)
{
	const char *fork = getenv("CK_FORK");

	return getuid() == 0 && !(fork && !strcmp(fork, "no"));
}

START_TEST(test_privs_drop_and_verify)
{
	struct daemon_opts o;
	struct privs p;
	char why[256] = "";
	uid_t r, e, s;
	int cap;

	if (!may_drop() || !getpwnam("nobody"))
		return;
	ck_assert_int_eq(parse(&o, "-n", "x", "--user", "nobody", NULL), 0);
	ck_assert_int_eq(privs_resolve(&o, &p), 0);
	ck_assert_msg(privs_drop(&p, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(privs_verify(&p, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(getresuid(&r, &e, &s), 0);
	ck_assert_uint_eq(r, p.uid);
	ck_assert_uint_eq(e, p.uid);
	ck_assert_uint_eq(s, p.uid);
	ck_assert_int_eq(setuid(0), -1);
	ck_assert_int_eq(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		ck_assert_int_ne(prctl(PR_CAPBSET_READ, cap, 0, 0, 0), 1);
	ck_assert_int_eq(getgroups(0, NULL), 0);
}
END_TEST

START_TEST(test_privs_root_without_user_keeps_no_caps)
{
	struct daemon_opts o;
	struct privs p;
	char why[256] = "", path[] = "/tmp/kvmshim-own.XXXXXX";
	cap_t caps, none;
	int fd;

	if (!may_drop())
		return;
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(parse(&o, "-n", "x", NULL), 0);
	ck_assert_int_eq(privs_resolve(&o, &p), 0);
	ck_assert_msg(privs_drop(&p, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(privs_verify(&p, why, sizeof(why)) == 0, "%s", why);
	ck_assert_uint_eq(getuid(), 0);
	caps = cap_get_proc();
	none = cap_init();
	ck_assert_int_eq(cap_compare(caps, none), 0);
	cap_free(caps);
	cap_free(none);
	/* root without capabilities cannot give files away */
	ck_assert_int_eq(chown(path, 1, 1), -1);
	ck_assert_int_eq(errno, EPERM);
	unlink(path);
}
END_TEST

Suite *suite_cuse_daemon(void);
Suite *suite_cuse_daemon(void)
{
	Suite *s = suite_create("cuse_daemon");
	TCase *opts = tcase_create("options");
	TCase *obs = tcase_create("observability");
	TCase *svc = tcase_create("service");

	tcase_add_test(opts, test_options_defaults);
	tcase_add_test(opts, test_options_engine_ppc);
	tcase_add_test(opts, test_options_engine_s390_and_service);
	tcase_add_test(opts, test_options_rejected);
	tcase_add_test(opts, test_parse_errno_and_size);
	tcase_add_test(obs, test_trace_decoding);
	tcase_add_test(obs, test_trace_results);
	tcase_add_test(obs, test_trace_lines);
	tcase_add_test(obs, test_log_format);
	tcase_add_test(obs, test_journal_stream_detection);
	tcase_add_test(obs, test_sd_notify_messages);
	tcase_add_test(obs, test_status_text);
	tcase_add_test(obs, test_status_text_s390);
	tcase_add_test(svc, test_control_socket);
	tcase_add_test(svc, test_privs_resolve);
	tcase_add_test(svc, test_privs_drop_and_verify);
	tcase_add_test(svc, test_privs_root_without_user_keeps_no_caps);
	suite_add_tcase(s, opts);
	suite_add_tcase(s, obs);
	suite_add_tcase(s, svc);
	return s;
}
