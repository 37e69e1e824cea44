// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_ALLOCATE_RMA and its pool (spec: rma.md): sizes per profile, check
 * order, accounting, the memfd, and every way an entry returns: inotify
 * close, owner exit (pidfd), VM destruction (M7), token expiry.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/rma.h"
#include "core/status.h"
#include "core/token.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

static struct ks_engine *rma_engine(const char *profile, uint64_t size,
				    unsigned int count, bool cloexec)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;

	ck_assert_int_eq(ks_engine_config_init(&cfg, profile), 0);
	cfg.rma_size = size;
	cfg.rma_count = count;
	cfg.rma_fd_cloexec = cloexec;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	return eng;
}

static long rma_request(struct ks_handle *vm, pid_t tgid,
			struct kvmshim_fd_request *req)
{
	memset(req, 0, sizeof(*req));
	req->cmd = KS_ALLOCATE_RMA;
	req->token = SENTINEL;
	req->rma_size = SENTINEL;
	return unit_ioctl_as(vm, tgid, KVMSHIM_FD_REQUEST, (uintptr_t)req);
}

static uint64_t rma_token(struct ks_handle *vm, pid_t tgid)
{
	struct kvmshim_fd_request req;

	ck_assert_int_eq(rma_request(vm, tgid, &req), 0);
	ck_assert(req.token && req.token != SENTINEL);
	return req.token;
}

static int claim(struct ks_engine *eng, uint64_t token, pid_t owner)
{
	struct kvmshim_fd_info info;
	int fd;

	ck_assert_int_eq(ks_token_claim_fd(eng, token, owner, &fd, &info), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(info.kind, KVMSHIM_FD_KIND_RMA);
	return fd;
}

static unsigned int pool_free(struct ks_engine *eng)
{
	struct ks_engine_status st;

	ks_rma_pool_status(eng, &st);
	return st.rma_free;
}

static bool wait_free(struct ks_engine *eng, unsigned int n, int ms)
{
	int64_t end = ks_now_ms() + ms;

	while (pool_free(eng) != n) {
		if (ks_now_ms() > end)
			return false;
		usleep(2000);
	}
	return true;
}

/* The pool does not change for ms. */
static bool stays_free(struct ks_engine *eng, unsigned int n, int ms)
{
	int64_t end = ks_now_ms() + ms;

	while (ks_now_ms() < end) {
		if (pool_free(eng) != n)
			return false;
		usleep(5000);
	}
	return true;
}

static struct ks_handle *vm_as(struct ks_engine *eng, pid_t tgid)
{
	return unit_open(eng, 1, tgid);
}

START_TEST(test_pool_sizes_per_profile)
{
	static const uint64_t ok970[] = { 64 * MiB, 128 * MiB, 256 * MiB,
					  1 * GiB,  16 * GiB,  256 * GiB };
	static const uint64_t bad[] = { 0,	   32 * MiB,  48 * MiB,
					512 * MiB, 2 * GiB,   64 * MiB + 1,
					4096,	   512 * GiB, ~0ULL };
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	size_t i;

	for (i = 0; i < sizeof(ok970) / sizeof(ok970[0]); i++) {
		ck_assert(ks_rma_size_valid(KS_PROFILE_PPC970, ok970[i]));
		ck_assert(ks_rma_size_valid(KS_PROFILE_POWER7, ok970[i]));
		eng = rma_engine("ppc970", ok970[i], 1, false);
		ks_engine_free(eng);
	}
	/* 32 MiB only on POWER7 */
	ck_assert(ks_rma_size_valid(KS_PROFILE_POWER7, 32 * MiB));
	eng = rma_engine("power7", 32 * MiB, 2, false);
	ks_engine_free(eng);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(!ks_rma_size_valid(KS_PROFILE_PPC970, bad[i]));
		ck_assert_int_eq(ks_engine_config_init(&cfg, "ppc970"), 0);
		cfg.rma_size = bad[i];
		ck_assert_errno(ks_engine_new(&cfg, &eng), EINVAL);
		if (bad[i] != 32 * MiB) {
			ck_assert_int_eq(ks_engine_config_init(&cfg, "power7"),
					 0);
			cfg.rma_size = bad[i];
			ck_assert_errno(ks_engine_new(&cfg, &eng), EINVAL);
		}
	}
	/* the pool is unused on power8 and s390x: any size starts */
	eng = rma_engine("power8", 5, 3, false);
	ck_assert_int_eq(pool_free(eng), 0);
	ks_engine_free(eng);
	eng = rma_engine("s390x", 0, 0, false);
	ks_engine_free(eng);
	ck_assert(!ks_rma_size_valid(KS_PROFILE_POWER8, 64 * MiB));
}
END_TEST

START_TEST(test_pool_defaults)
{
	static const char *const profiles[] = { "ppc970", "power7", "power8",
						"s390x" };
	static const unsigned int total[] = { 4, 0, 0, 0 };
	static const uint64_t size[] = { 64 * MiB, 64 * MiB, 0, 0 };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_engine_status st;

	ks_engine_status(eng, &st, NULL, NULL);
	ck_assert_int_eq(st.rma_total, total[_i]);
	ck_assert_int_eq(st.rma_free, total[_i]);
	ck_assert_int_eq(st.rma_size, size[_i]);
	ck_assert(!ks_engine_config(eng)->rma_fd_cloexec);
	ks_engine_free(eng);
}
END_TEST

struct held {
	uint64_t id;
	unsigned int rmas;
	uint64_t bytes;
};

static void collect(void *opaque, const struct ks_vm_status *vs)
{
	struct held *h = opaque;

	for (; h->id; h++) {
		if (h->id == vs->id) {
			h->rmas = vs->rmas_held;
			h->bytes = vs->rma_bytes;
		}
	}
}

START_TEST(test_allocate_all_then_enomem)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *a = vm_as(eng, UNIT_TGID);
	struct ks_handle *b = vm_as(eng, UNIT_TGID);
	struct held held[3] = { { a->vm->id, 9, 9 }, { b->vm->id, 9, 9 } };
	struct ks_engine_status st;
	struct kvmshim_fd_request req;
	uint64_t size = SENTINEL;
	int i;

	/* without the launcher the plain ioctl passes its checks, then D6 */
	ck_assert_errno(unit_ioctl(a, KS_ALLOCATE_RMA, (uintptr_t)&size),
			EOPNOTSUPP);
	ck_assert_int_eq(size, SENTINEL);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rma_request(a, UNIT_TGID, &req), 0);
		ck_assert_int_eq(req.rma_size, 64 * MiB);
	}
	ck_assert_int_eq(rma_request(b, UNIT_TGID, &req), 0);
	ck_assert_int_eq(ks_tokens_pending(eng), 4);
	ks_engine_status(eng, &st, collect, held);
	ck_assert_int_eq(st.rma_free, 0);
	ck_assert_int_eq(st.rma_total, 4);
	ck_assert_int_eq(held[0].rmas, 3);
	ck_assert_int_eq(held[0].bytes, 3 * 64 * MiB);
	ck_assert_int_eq(held[1].rmas, 1);
	ck_assert_int_eq(held[1].bytes, 64 * MiB);
	/* empty: ENOMEM on both paths, nothing written */
	ck_assert_errno(rma_request(b, UNIT_TGID, &req), ENOMEM);
	ck_assert(req.token == SENTINEL && req.rma_size == SENTINEL);
	ck_assert_errno(unit_ioctl(a, KS_ALLOCATE_RMA, (uintptr_t)&size),
			ENOMEM);
	/* EIO comes before ENOMEM */
	ck_assert_errno(rma_request(b, UNIT_TGID + 1, &req), EIO);
	ck_assert_errno(unit_ioctl_as(a, 1, KS_ALLOCATE_RMA, (uintptr_t)&size),
			EIO);
	/* the ppc encoding reaches the same pool */
	ck_assert_errno(unit_ioctl(a, 0x4008AEA9, (uintptr_t)&size), ENOMEM);
	ks_release(b);
	ks_release(a);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_power7_pool)
{
	struct ks_engine *eng = unit_engine("power7");
	struct ks_handle *vm = vm_as(eng, UNIT_TGID);
	struct kvmshim_fd_request req;

	/* no released kernel filled the pool on POWER7 */
	ck_assert_errno(rma_request(vm, UNIT_TGID, &req), ENOMEM);
	ks_release(vm);
	ks_engine_free(eng);

	eng = rma_engine("power7", 32 * MiB, 1, false);
	vm = vm_as(eng, UNIT_TGID);
	ck_assert_int_eq(rma_request(vm, UNIT_TGID, &req), 0);
	ck_assert_int_eq(req.rma_size, 32 * MiB);
	ck_assert_errno(rma_request(vm, UNIT_TGID, &req), ENOMEM);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_memfd_properties)
{
	struct ks_engine *eng = rma_engine("ppc970", 128 * MiB, 2, _i);
	struct ks_handle *vm = vm_as(eng, getpid());
	struct kvmshim_fd_info info;
	uint64_t tok = rma_token(vm, getpid());
	struct stat st;
	char name[64], link[128];
	ssize_t n;
	int fd;

	ck_assert_int_eq(ks_token_claim_fd(eng, tok, getpid(), &fd, &info), 0);
	ck_assert_int_eq(info.kind, KVMSHIM_FD_KIND_RMA);
	ck_assert_int_eq(info.size, 128 * MiB);
	ck_assert_int_eq(info.vm_id, vm->vm->id);
	ck_assert_int_eq(info.flags, _i ? KVMSHIM_FD_CLOEXEC : 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 128 * MiB);
	/* read-write, exactly rma_size, sealed */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	ck_assert_int_eq(fcntl(fd, F_GET_SEALS),
			 F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	ck_assert_int_eq(ftruncate(fd, 256 * MiB), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(fd, 64 * MiB), -1);
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	n = readlink(name, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_msg(strstr(link, "kvm-rma"), "memfd named %s", link);
	/* a token is claimed once */
	close(fd);
	ck_assert_errno(ks_token_claim_fd(eng, tok, getpid(), &fd, &info),
			ENOENT);
	ck_assert_int_eq(fd, -1);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_two_mappings_share_zeroed_memory)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	int fd = claim(eng, rma_token(vm, getpid()), getpid());
	size_t len = 64 * MiB, i;
	unsigned char *m1, *m2;

	m1 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(m1 != MAP_FAILED && m2 != MAP_FAILED);
	for (i = 0; i < len; i += 1 * MiB)
		ck_assert_int_eq(m1[i] | m2[len - 1 - i], 0);
	memcpy(m1 + 4096, "real mode area", 15);
	m1[len - 1] = 0xa5;
	ck_assert_str_eq((char *)m2 + 4096, "real mode area");
	ck_assert_int_eq(m2[len - 1], 0xa5);
	munmap(m1, len);
	munmap(m2, len);
	close(fd);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

/* inotify: the last close of the description, mappings included */
START_TEST(test_returns_after_close_and_unmap)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	int fd = claim(eng, rma_token(vm, getpid()), getpid());
	int fd2 = dup(fd);
	char path[64];
	void *m1, *m2;

	ck_assert_int_eq(pool_free(eng), 3);
	m1 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert(m1 != MAP_FAILED && m2 != MAP_FAILED);
	close(fd);
	ck_assert(stays_free(eng, 3, 150));
	/* a reopen through /proc is another file: its close is not ours */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd2);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	ck_assert(stays_free(eng, 3, 150));
	close(fd2);
	/* a mapping still holds the file */
	ck_assert(stays_free(eng, 3, 150));
	munmap(m1, 4096);
	ck_assert(stays_free(eng, 3, 150));
	munmap(m2, 8192);
	ck_assert(wait_free(eng, 4, 3000));
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

/* pidfd: the owner exits while another process still holds the fd */
START_TEST(test_returns_when_owner_exits)
{
	struct ks_engine *eng = unit_engine("ppc970");
	int pipefd[2], status;
	struct ks_handle *vm;
	pid_t child;
	char c;
	int fd;

	ck_assert_int_eq(pipe(pipefd), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(pipefd[1]);
		/* lives until the test closes the pipe */
		if (read(pipefd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[0]);
	vm = vm_as(eng, child);
	fd = claim(eng, rma_token(vm, child), child);
	ck_assert(stays_free(eng, 3, 100));
	close(pipefd[1]);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	/* we still hold the fd: only the owner's exit can return it */
	ck_assert(wait_free(eng, 4, 3000));
	close(fd);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_claim_for_a_dead_owner)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct kvmshim_fd_info info;
	struct ks_handle *vm;
	pid_t child;
	uint64_t tok;
	int fd;

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	vm = vm_as(eng, child);
	tok = rma_token(vm, child);
	ck_assert_errno(ks_token_claim_fd(eng, tok, child, &fd, &info), ESRCH);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(pool_free(eng), 4);
	ck_assert_errno(ks_token_claim_fd(eng, tok, child, &fd, &info), ENOENT);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_claim_checks)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	struct ks_handle *sys = unit_open(eng, 0, getpid());
	struct kvmshim_fd_info info;
	uint64_t tok = rma_token(vm, getpid());
	int fd;

	/* another process, garbage, no owner: the token stays */
	ck_assert_errno(ks_token_claim_fd(eng, tok, getpid() + 1, &fd, &info),
			ENOENT);
	ck_assert_errno(ks_token_claim_fd(eng, tok ^ 8, getpid(), &fd, &info),
			ENOENT);
	ck_assert_errno(ks_token_claim_fd(eng, 0, getpid(), &fd, &info),
			ENOENT);
	ck_assert_errno(ks_token_claim_fd(eng, tok, 0, &fd, &info), EINVAL);
	ck_assert_errno(ks_token_claim_fd(eng, tok, -1, &fd, &info), EINVAL);
	/* an RMA cannot be bound to a node */
	ck_assert_errno(unit_ioctl_as(sys, getpid(), KVMSHIM_BIND,
				      (uintptr_t)&tok),
			EINVAL);
	ck_assert_int_eq(ks_handle_kind(sys), KS_HANDLE_SYSTEM);
	ck_assert_int_eq(ks_tokens_pending(eng), 1);
	fd = claim(eng, tok, getpid());
	close(fd);
	ck_assert(wait_free(eng, 4, 3000));
	ks_release(sys);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_supervised_request_for_a_client)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	struct kvmshim_fd_request req;
	struct kvmshim_fd_info info;
	int fd;

	memset(&req, 0, sizeof(req));
	req.cmd = KS_ALLOCATE_RMA;
	req.flags = KVMSHIM_FD_SUPERVISED;
	req.owner_tgid = getpid();
	/* a launcher (another process) asks for the VM's creator */
	ck_assert_int_eq(unit_ioctl_as(vm, 31337, KVMSHIM_FD_REQUEST,
				       (uintptr_t)&req),
			 0);
	/* the holder is the client, not the launcher */
	ck_assert_errno(ks_token_claim_fd(eng, req.token, 31337, &fd, &info),
			ENOENT);
	fd = claim(eng, req.token, getpid());
	close(fd);
	ck_assert(wait_free(eng, 4, 3000));
	/* and for a process that did not create the VM: EIO */
	req.owner_tgid = getpid() + 1;
	ck_assert_errno(unit_ioctl_as(vm, getpid(), KVMSHIM_FD_REQUEST,
				      (uintptr_t)&req),
			EIO);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

/* M7: destroying the VM returns its entries, claimed or not */
START_TEST(test_vm_destruction_returns_entries)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *a = vm_as(eng, getpid());
	struct ks_handle *b = vm_as(eng, getpid());
	struct kvmshim_fd_info info;
	uint64_t pending, tb;
	unsigned char *m;
	int fd, fd2;

	fd = claim(eng, rma_token(a, getpid()), getpid());
	pending = rma_token(a, getpid());
	tb = rma_token(b, getpid());
	ck_assert_int_eq(pool_free(eng), 1);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(m != MAP_FAILED);
	m[0] = 42;
	ks_release(a);
	ck_assert_int_eq(pool_free(eng), 3);
	/* the memory itself stays the client's */
	ck_assert_int_eq(m[0], 42);
	/* the pending token of the dead VM claims nothing */
	ck_assert_errno(ks_token_claim_fd(eng, pending, getpid(), &fd2, &info),
			ENOENT);
	/* the other VM's entry is untouched */
	fd2 = claim(eng, tb, getpid());
	ck_assert_int_eq(pool_free(eng), 3);
	/* the entry does not return a second time when the fd goes */
	munmap(m, 4096);
	close(fd);
	ck_assert(stays_free(eng, 3, 200));
	close(fd2);
	ck_assert(wait_free(eng, 4, 3000));
	ks_release(b);
	ks_engine_free(eng);
}
END_TEST

/* An entry is returned once per take, however many events report it. */
START_TEST(test_double_return_is_harmless)
{
	struct ks_engine *eng = rma_engine("ppc970", 64 * MiB, 1, false);
	struct ks_handle *a = vm_as(eng, getpid());
	struct ks_handle *b;
	uint64_t stale;
	int fd;

	ks_tokens_set_ttl_ms(eng, 150);
	stale = rma_token(a, getpid());
	ks_tokens_set_ttl_ms(eng, 60000);
	/* the VM goes first, the token expires later */
	ks_release(a);
	ck_assert_int_eq(pool_free(eng), 1);
	b = vm_as(eng, getpid());
	/* the same entry, taken again */
	fd = claim(eng, rma_token(b, getpid()), getpid());
	ck_assert_int_eq(pool_free(eng), 0);
	/* the stale token's expiry must not free the new take */
	while (ks_tokens_pending(eng))
		usleep(5000);
	ck_assert(stays_free(eng, 0, 100));
	(void)stale;
	/* the VM destruction and the close both report it: one return */
	ks_release(b);
	ck_assert_int_eq(pool_free(eng), 1);
	close(fd);
	ck_assert(stays_free(eng, 1, 150));
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_expiry_returns_the_entry)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	struct kvmshim_fd_info info;
	uint64_t tok;
	int fd;

	ks_tokens_set_ttl_ms(eng, 100);
	tok = rma_token(vm, getpid());
	rma_token(vm, getpid());
	ck_assert_int_eq(pool_free(eng), 2);
	ck_assert(wait_free(eng, 4, 3000));
	ck_assert_int_eq(ks_tokens_pending(eng), 0);
	ck_assert_errno(ks_token_claim_fd(eng, tok, getpid(), &fd, &info),
			ENOENT);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_fd_creation_failure_returns_entry)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	struct kvmshim_fd_request req;
	struct rlimit rl = { 64, 64 }, old;
	int fds[64], n = 0, i;

	/* fill the descriptor table */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 64 && (fds[n] = dup(0)) >= 0)
		n++;
	ck_assert_errno(rma_request(vm, getpid(), &req), EMFILE);
	ck_assert_int_eq(pool_free(eng), 4);
	for (i = 0; i < n; i++)
		close(fds[i]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_int_eq(rma_request(vm, getpid(), &req), 0);
	ck_assert_int_eq(pool_free(eng), 3);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_teardown_with_everything_outstanding)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *vm = vm_as(eng, getpid());
	struct ks_handle *sys = unit_open(eng, 0, getpid());
	struct kvmshim_fd_request req;
	int fd;

	fd = claim(eng, rma_token(vm, getpid()), getpid());
	rma_token(vm, getpid());
	memset(&req, 0, sizeof(req));
	req.cmd = KS_CREATE_VM;
	ck_assert_int_eq(unit_ioctl_as(sys, getpid(), KVMSHIM_FD_REQUEST,
				       (uintptr_t)&req),
			 0);
	ks_release(sys);
	ks_release(vm);
	/* pending tokens, a claimed memfd still open: nothing leaks */
	ks_engine_free(eng);
	ck_assert_int_eq(fcntl(fd, F_GET_SEALS),
			 F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	close(fd);
}
END_TEST

Suite *suite_rma(void);
Suite *suite_rma(void)
{
	Suite *s = suite_create("rma");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_pool_sizes_per_profile);
	tcase_add_loop_test(tc, test_pool_defaults, 0, 4);
	tcase_add_test(tc, test_allocate_all_then_enomem);
	tcase_add_test(tc, test_power7_pool);
	tcase_add_loop_test(tc, test_memfd_properties, 0, 2);
	tcase_add_test(tc, test_two_mappings_share_zeroed_memory);
	tcase_add_test(tc, test_returns_after_close_and_unmap);
	tcase_add_test(tc, test_returns_when_owner_exits);
	tcase_add_test(tc, test_claim_for_a_dead_owner);
	tcase_add_test(tc, test_claim_checks);
	tcase_add_test(tc, test_supervised_request_for_a_client);
	tcase_add_test(tc, test_vm_destruction_returns_entries);
	tcase_add_test(tc, test_double_return_is_harmless);
	tcase_add_test(tc, test_expiry_returns_the_entry);
	tcase_add_test(tc, test_fd_creation_failure_returns_entry);
	tcase_add_test(tc, test_teardown_with_everything_outstanding);
	suite_add_tcase(s, tc);
	return s;
}
