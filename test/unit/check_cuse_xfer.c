// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The retry helper (cuse/xfer.c) through the kernel-less harness, with
 * test handlers that chase pointers, gather large buffers and write
 * several regions: rounds, data changing between rounds, the kernel's
 * iovec and size limits, stale and abandoned round state, threads, and a
 * slow request that must not hold up other VMs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuse/xfer.h"
#include "fakekernel.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

/* Reads len bytes at ptr; writes their checksum to sum and a pattern. */
struct chase {
	uint64_t ptr;
	uint32_t len;
	uint32_t seed;
	uint64_t out_ptr;
	uint32_t out_len;
	uint32_t sum;
};

/* Reads n single bytes at base, base + step, ... */
struct scatter {
	uint64_t base;
	uint32_t n;
	uint32_t step;
};

/* Writes n regions of len bytes at ptr, ptr + stride, ... */
struct spray {
	uint64_t ptr;
	uint32_t len;
	uint32_t n;
	uint32_t stride;
	uint32_t fill; /* bytes written in all, <= n * len */
};

#define T_CHASE _IOWR('T', 1, struct chase)
#define T_SCATTER _IOW('T', 2, struct scatter)
#define T_SPRAY _IOW('T', 3, struct spray)
#define T_SLOW _IO('T', 4)
#define T_ENOSYS _IO('T', 5)
#define T_BIGERR _IO('T', 6)

#define CHASE_MAX (8U << 20)

static uint32_t checksum(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static long t_chase(uint64_t arg, struct ks_uctx *u)
{
	struct chase c;
	uint8_t *buf = NULL, *out = NULL;
	uint32_t i, sum;
	long ret;

	ret = ks_copy_from_user(u, &c, arg, sizeof(c));
	if (ret)
		return ret;
	if (c.len > CHASE_MAX || c.out_len > u->out_cap - 4)
		return -EINVAL;
	ret = ks_want_to_user(u, arg + offsetof(struct chase, sum), 4);
	if (!ret && c.out_len)
		ret = ks_want_to_user(u, c.out_ptr, c.out_len);
	if (ret)
		return ret;
	buf = malloc(c.len ? c.len : 1);
	out = malloc(c.out_len ? c.out_len : 1);
	if (!buf || !out) {
		ret = -ENOMEM;
		goto out;
	}
	ret = ks_copy_from_user(u, buf, c.ptr, c.len);
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		goto out;
	sum = checksum(buf, c.len);
	for (i = 0; i < c.out_len; i++)
		out[i] = (uint8_t)(c.seed + i);
	ret = ks_copy_to_user(u, arg + offsetof(struct chase, sum), &sum, 4);
	if (!ret)
		ret = ks_copy_to_user(u, c.out_ptr, out, c.out_len);
	if (!ret)
		ret = c.len;
out:
	free(buf);
	free(out);
	return ret;
}

static long t_scatter(uint64_t arg, struct ks_uctx *u)
{
	struct scatter s;
	uint32_t i, sum = 0;
	uint8_t b;
	long ret;

	ret = ks_copy_from_user(u, &s, arg, sizeof(s));
	if (ret)
		return ret;
	for (i = 0; i < s.n; i++) {
		ret = ks_copy_from_user(u, &b, s.base + (uint64_t)i * s.step,
					1);
		if (ret)
			return ret;
		sum += b;
	}
	ret = ks_uctx_ready(u);
	return ret ? ret : (long)sum;
}

static long t_spray(uint64_t arg, struct ks_uctx *u)
{
	struct spray s;
	uint8_t *data;
	uint32_t i, left;
	long ret;

	ret = ks_copy_from_user(u, &s, arg, sizeof(s));
	if (ret)
		return ret;
	for (i = 0; i < s.n; i++) {
		ret = ks_want_to_user(u, s.ptr + (uint64_t)i * s.stride, s.len);
		if (ret)
			return ret;
	}
	ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	data = malloc(s.len ? s.len : 1);
	if (!data)
		return -ENOMEM;
	for (i = 0; i < s.len; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	left = s.fill;
	for (i = 0; i < s.n && left && !ret; i++) {
		uint32_t n = left < s.len ? left : s.len;

		ret = ks_copy_to_user(u, s.ptr + (uint64_t)i * s.stride, data,
				      n);
		left -= n;
	}
	free(data);
	return ret ? ret : (long)s.fill;
}

/* T_SLOW waits until the test opens the gate. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static unsigned int gate_waiting;

static long t_slow(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_waiting++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	gate_waiting--;
	pthread_mutex_unlock(&gate_lock);
	return 7;
}

static long test_handler(void *obj, uint32_t cmd, uint64_t arg,
			 struct ks_uctx *u)
{
	switch (cmd) {
	case T_CHASE:
		return t_chase(arg, u);
	case T_SCATTER:
		return t_scatter(arg, u);
	case T_SPRAY:
		return t_spray(arg, u);
	case T_SLOW:
		return t_slow();
	case T_ENOSYS:
		return -ENOSYS;
	case T_BIGERR:
		return -5000;
	}
	return ks_ioctl(obj, cmd, arg, u);
}

static const struct fk_options test_opts = { .ioctl_fn = test_handler };

struct rig {
	struct ks_engine *eng;
	struct fk *k;
	uint64_t fh;
};

static void rig_up(struct rig *r)
{
	r->eng = unit_engine("power8");
	r->k = fk_new(r->eng, KS_NODE_VM, &test_opts);
	ck_assert_int_eq(fk_open(r->k, fk_gettid(), O_RDWR, &r->fh), 0);
}

static void rig_down(struct rig *r)
{
	struct xfer_stats xs;

	ck_assert_int_eq(fk_release(r->k, r->fh), 0);
	ck_assert_uint_eq(fk_free(r->k), 0);
	ks_engine_free(r->eng);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 0);
	ck_assert_uint_eq(xs.bytes, 0);
}

static unsigned int pending_xfers(struct fk *k)
{
	struct node_stats st;

	node_get_stats(fk_node(k), &st);
	return (unsigned int)st.pending_xfers;
}

static uint8_t *pattern(size_t len, unsigned int seed)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed) >> 3);
	return p;
}

/* Rounds a chase of len bytes takes: R1, the struct, the data slices. */
static unsigned int chase_rounds(size_t len)
{
	size_t cap = xfer_cap(), first = cap - sizeof(struct chase);

	if (len <= first)
		return 3;
	return 2 + (unsigned int)((len + first - 1) / first);
}

static long chase(struct rig *r, struct chase *c, struct fk_ioctl *io)
{
	memset(io, 0, sizeof(*io));
	io->fh = r->fh;
	io->pid = fk_gettid();
	io->cmd = T_CHASE;
	io->arg = (uintptr_t)c;
	return fk_ioctl_ex(r->k, io);
}

START_TEST(test_pointer_chase_rounds)
{
	struct rig r;
	uint8_t *buf = pattern(100, 1), out[16];
	struct chase c = {
		.ptr = (uintptr_t)buf,
		.len = 100,
		.seed = 40,
		.out_ptr = (uintptr_t)out,
		.out_len = sizeof(out),
	};
	struct fk_ioctl io;
	unsigned int i;

	rig_up(&r);
	ck_assert_int_eq(chase(&r, &c, &io), 100);
	/* R1 nothing; R2 the struct; R3 the struct again and the buffer */
	ck_assert_uint_eq(io.rounds, 3);
	ck_assert_uint_eq(io.max_in, sizeof(c) + 100);
	ck_assert_uint_eq(io.max_out, 4 + sizeof(out));
	ck_assert_uint_eq(c.sum, checksum(buf, 100));
	for (i = 0; i < sizeof(out); i++)
		ck_assert_uint_eq(out[i], (uint8_t)(40 + i));
	ck_assert(!io.kernel_check_failed);
	free(buf);
	rig_down(&r);
}
END_TEST

struct change {
	struct chase *c;
	unsigned int at_round;
	struct chase to;
};

static bool change_struct(void *opaque, unsigned int round)
{
	struct change *ch = opaque;

	if (round == ch->at_round)
		*ch->c = ch->to;
	return true;
}

START_TEST(test_struct_changes_between_rounds)
{
	struct rig r;
	uint8_t *a = pattern(64, 1), *b = pattern(300, 2), oa[8], ob[8];
	struct chase c = {
		.ptr = (uintptr_t)a,
		.len = 64,
		.seed = 1,
		.out_ptr = (uintptr_t)oa,
		.out_len = sizeof(oa),
	};
	struct change ch = { .c = &c, .at_round = 3 };
	struct fk_ioctl io;

	rig_up(&r);
	memset(oa, 0xEE, sizeof(oa));
	memset(ob, 0xEE, sizeof(ob));
	/* the caller points the struct elsewhere before the last round */
	ch.to = (struct chase){ .ptr = (uintptr_t)b,
				.len = 300,
				.seed = 9,
				.out_ptr = (uintptr_t)ob,
				.out_len = sizeof(ob) };
	memset(&io, 0, sizeof(io));
	io.fh = r.fh;
	io.pid = fk_gettid();
	io.cmd = T_CHASE;
	io.arg = (uintptr_t)&c;
	io.before_round = change_struct;
	io.opaque = &ch;
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), 300);
	/* the final answer is based on the final round's data */
	ck_assert_uint_eq(io.rounds, 4);
	ck_assert_uint_eq(c.sum, checksum(b, 300));
	ck_assert_uint_eq(ob[0], 9);
	ck_assert_uint_eq(ob[7], 16);
	/* nothing went to the out region of the earlier rounds */
	ck_assert_uint_eq(oa[0], 0xEE);
	/* changed into something invalid: re-validated, nothing written */
	c = (struct chase){ .ptr = (uintptr_t)a, .len = 64, .out_len = 0 };
	ch.to = c;
	ch.to.len = CHASE_MAX + 1;
	ck_assert_errno(fk_ioctl_ex(r.k, &io), EINVAL);
	ck_assert_uint_eq(io.rounds, 3);
	ck_assert_uint_eq(c.sum, 0);
	ck_assert_uint_eq(pending_xfers(r.k), 0);
	free(a);
	free(b);
	rig_down(&r);
}
END_TEST

START_TEST(test_in_region_of_exactly_one_round)
{
	struct rig r;
	size_t cap = xfer_cap(), len = cap - sizeof(struct chase);
	uint8_t *buf = pattern(len + 1, 3);
	struct chase c = { .ptr = (uintptr_t)buf, .len = (uint32_t)len };
	struct fk_ioctl io;

	rig_up(&r);
	ck_assert_int_eq(chase(&r, &c, &io), (long)len);
	ck_assert_uint_eq(io.rounds, 3);
	ck_assert_uint_eq(io.max_in, cap);
	ck_assert_uint_eq(c.sum, checksum(buf, len));
	/* one byte more no longer fits beside the struct: gathered */
	c.len = (uint32_t)len + 1;
	ck_assert_int_eq(chase(&r, &c, &io), (long)len + 1);
	ck_assert_uint_eq(io.rounds, 4);
	ck_assert_uint_le(io.max_in, cap);
	ck_assert_uint_eq(c.sum, checksum(buf, len + 1));
	ck_assert(!io.kernel_check_failed);
	free(buf);
	rig_down(&r);
}
END_TEST

START_TEST(test_gathers_one_mib)
{
	struct rig r;
	size_t len = 1U << 20;
	uint8_t *buf = pattern(len, 4), out[32];
	struct chase c = {
		.ptr = (uintptr_t)buf,
		.len = (uint32_t)len,
		.seed = 3,
		.out_ptr = (uintptr_t)out,
		.out_len = sizeof(out),
	};
	struct fk_ioctl io;

	rig_up(&r);
	ck_assert_int_eq(chase(&r, &c, &io), (long)len);
	/* 1 MiB in slices of 128 KiB minus the struct: 9 data rounds */
	ck_assert_uint_eq(io.rounds, chase_rounds(len));
	ck_assert_uint_eq(io.rounds, 11);
	ck_assert_uint_le(io.max_in, xfer_cap());
	ck_assert_uint_le(io.max_iovs, 4);
	ck_assert(!io.kernel_check_failed);
	ck_assert_uint_eq(c.sum, checksum(buf, len));
	ck_assert_uint_eq(out[31], 34);
	free(buf);
	rig_down(&r);
}
END_TEST

static bool resize_at_round_5(void *opaque, unsigned int round)
{
	struct chase *c = opaque;

	if (round == 5)
		c->len = 300000;
	return true;
}

START_TEST(test_gathering_restarts_when_length_changes)
{
	struct rig r;
	size_t len = 1U << 20;
	uint8_t *buf = pattern(len, 5);
	struct chase c = { .ptr = (uintptr_t)buf, .len = (uint32_t)len };
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = T_CHASE,
		.arg = (uintptr_t)&c,
		.before_round = resize_at_round_5,
		.opaque = &c,
	};

	rig_up(&r);
	io.fh = r.fh;
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), 300000);
	ck_assert_uint_eq(c.sum, checksum(buf, 300000));
	/* 4 rounds, a fresh start, then 3 data rounds of 300000 bytes */
	ck_assert_uint_eq(io.rounds, 4 + 1 + 3);
	free(buf);
	rig_down(&r);
}
END_TEST

struct reseed {
	struct chase *c;
	uint8_t *buf;
};

/* Between two data rounds: a new seed, and new bytes in the first slice. */
static bool reseed_at_round_5(void *opaque, unsigned int round)
{
	struct reseed *rs = opaque;

	if (round == 5) {
		rs->c->seed++;
		memset(rs->buf, 0x5A, 1000);
	}
	return true;
}

/* cuse.md §7.4 step 3: any change of the struct starts the gathering over. */
START_TEST(test_gathering_restarts_when_struct_changes)
{
	struct rig r;
	size_t len = 1U << 20;
	uint8_t *buf = pattern(len, 9);
	struct chase c = { .ptr = (uintptr_t)buf, .len = (uint32_t)len };
	struct reseed rs = { .c = &c, .buf = buf };
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = T_CHASE,
		.arg = (uintptr_t)&c,
		.before_round = reseed_at_round_5,
		.opaque = &rs,
	};

	rig_up(&r);
	io.fh = r.fh;
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), (long)len);
	/* the slices gathered before the change were read again */
	ck_assert_uint_eq(c.sum, checksum(buf, len));
	/* 4 rounds, a fresh start, then the 9 data rounds again */
	ck_assert_uint_eq(io.rounds, 4 + 1 + 9);
	ck_assert_uint_eq(pending_xfers(r.k), 0);
	free(buf);
	rig_down(&r);
}
END_TEST

START_TEST(test_fault_while_gathering)
{
	struct rig r;
	size_t len = 1U << 20;
	uint8_t *buf = pattern(len, 6);
	struct chase c = { .ptr = (uintptr_t)buf, .len = (uint32_t)len };
	struct xfer_stats xs;
	struct fk_ioctl io;

	rig_up(&r);
	/* the third slice is unreadable: the kernel fails the ioctl */
	fk_fault(r.k, buf + 300000, 1);
	ck_assert_errno(chase(&r, &c, &io), EFAULT);
	ck_assert_uint_eq(io.rounds, 4);
	/* what was gathered waits for the thread's next syscall */
	ck_assert_uint_eq(pending_xfers(r.k), 1);
	xfer_get_stats(&xs);
	ck_assert_uint_ge(xs.bytes, len);
	fk_unfault_all(r.k);
	ck_assert_int_eq(chase(&r, &c, &io), (long)len);
	ck_assert_uint_eq(io.rounds, chase_rounds(len));
	ck_assert_uint_eq(c.sum, checksum(buf, len));
	ck_assert_uint_eq(pending_xfers(r.k), 0);
	free(buf);
	rig_down(&r);
}
END_TEST

START_TEST(test_too_large_to_gather)
{
	struct rig r;
	struct chase c = { .ptr = 0x10000, .len = XFER_MAX_ACC + 1 };
	struct fk_ioctl io;

	rig_up(&r);
	ck_assert_errno(chase(&r, &c, &io), ENOMEM);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_uint_eq(pending_xfers(r.k), 0);
	rig_down(&r);
}
END_TEST

START_TEST(test_iovec_limit)
{
	struct rig r;
	uint8_t *bytes = pattern(1024, 7);
	struct scatter s = { .base = (uintptr_t)bytes, .n = 255, .step = 3 };
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = T_SCATTER,
		.arg = (uintptr_t)&s,
	};
	uint32_t i, sum = 0;

	rig_up(&r);
	io.fh = r.fh;
	for (i = 0; i < 255; i++)
		sum += bytes[i * 3];
	/* the struct and 255 bytes: 256 iovecs, the kernel's maximum */
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), (long)sum);
	ck_assert_uint_eq(io.max_iovs, 256);
	ck_assert(!io.kernel_check_failed);
	/* one more would break the kernel's limit: the daemon refuses */
	s.n = 256;
	ck_assert_errno(fk_ioctl_ex(r.k, &io), EIO);
	ck_assert(!io.kernel_check_failed);
	ck_assert_uint_le(io.max_iovs, 256);
	ck_assert_uint_eq(pending_xfers(r.k), 0);
	free(bytes);
	rig_down(&r);
}
END_TEST

START_TEST(test_out_limits)
{
	struct rig r;
	size_t cap = xfer_cap();
	uint8_t *out = calloc(1, 2 * cap);
	struct spray s = {
		.ptr = (uintptr_t)out,
		.len = (uint32_t)cap,
		.n = 1,
		.stride = 0,
		.fill = (uint32_t)cap,
	};
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = T_SPRAY,
		.arg = (uintptr_t)&s,
	};

	rig_up(&r);
	io.fh = r.fh;
	/* exactly 32 pages of out-data fit */
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), (long)cap);
	ck_assert_uint_eq(io.max_out, cap);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_uint_eq(out[cap - 1], (uint8_t)((cap - 1) * 7 + 1));
	ck_assert_uint_eq(out[cap], 0);
	/* one byte more cannot be returned: an internal error, not a hang */
	s.len = (uint32_t)cap + 1;
	s.fill = 1;
	ck_assert_errno(fk_ioctl_ex(r.k, &io), EIO);
	ck_assert(!io.kernel_check_failed);
	free(out);
	rig_down(&r);
}
END_TEST

START_TEST(test_out_regions_in_order_and_prefix)
{
	struct rig r;
	uint8_t out[4][64];
	struct spray s = {
		.ptr = (uintptr_t)out,
		.len = 16,
		.n = 4,
		.stride = 64,
		.fill = 40,
	};
	struct fk_ioctl io = {
		.pid = fk_gettid(),
		.cmd = T_SPRAY,
		.arg = (uintptr_t)&s,
	};

	rig_up(&r);
	io.fh = r.fh;
	memset(out, 0xEE, sizeof(out));
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), 40);
	/* 16 + 16 + 8 bytes: a prefix of the regions, in order */
	ck_assert_uint_eq(out[0][15], (uint8_t)(15 * 7 + 1));
	ck_assert_uint_eq(out[0][16], 0xEE);
	ck_assert_uint_eq(out[1][0], 1);
	ck_assert_uint_eq(out[2][7], (uint8_t)(7 * 7 + 1));
	ck_assert_uint_eq(out[2][8], 0xEE);
	ck_assert_uint_eq(out[3][0], 0xEE);
	/* an unwritable second region: the first is still written */
	memset(out, 0xEE, sizeof(out));
	fk_fault(r.k, out[1], 16);
	ck_assert_errno(fk_ioctl_ex(r.k, &io), EFAULT);
	ck_assert_uint_eq(out[0][0], 1);
	ck_assert_uint_eq(out[2][0], 0xEE);
	fk_unfault_all(r.k);
	rig_down(&r);
}
END_TEST

START_TEST(test_errno_sanitised)
{
	struct rig r;
	struct fuse_ioctl_in in = { .flags = FUSE_IOCTL_UNRESTRICTED };
	struct fk_reply *rep;

	rig_up(&r);
	in.fh = r.fh;
	/* the daemon itself never sends ENOSYS */
	in.cmd = T_ENOSYS;
	rep = fk_wait(r.k,
		      fk_send(r.k, FUSE_IOCTL, fk_gettid(), &in, sizeof(in),
			      NULL, 0),
		      10000);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->error, -ENOTTY);
	free(rep);
	/* nor something that is not an errno */
	ck_assert_errno(fk_ioctl(r.k, r.fh, fk_gettid(), T_BIGERR, 0), EIO);
	rig_down(&r);
}
END_TEST

static pid_t fake_tid = 4000000;

static bool stop_at_round_3(void *opaque, unsigned int round)
{
	(void)opaque;
	return round < 3;
}

START_TEST(test_unfinished_requests_are_bounded)
{
	struct rig r;
	uint8_t buf[64];
	struct chase c = { .ptr = (uintptr_t)buf, .len = sizeof(buf) };
	struct fk_ioctl io = {
		.cmd = T_CHASE,
		.arg = (uintptr_t)&c,
		.before_round = stop_at_round_3,
	};
	unsigned int i;

	rig_up(&r);
	io.fh = r.fh;
	/* 300 threads that each die between two rounds */
	for (i = 0; i < 300; i++) {
		io.pid = fake_tid + (pid_t)i;
		ck_assert_errno(fk_ioctl_ex(r.k, &io), EINTR);
	}
	ck_assert_uint_eq(pending_xfers(r.k), XFER_MAX_PENDING);
	/* the latest ones are kept: they still complete in full */
	io.before_round = NULL;
	io.pid = fake_tid + 299;
	ck_assert_int_eq(fk_ioctl_ex(r.k, &io), sizeof(buf));
	ck_assert_uint_eq(pending_xfers(r.k), XFER_MAX_PENDING - 1);
	rig_down(&r);
}
END_TEST

struct gather_arg {
	struct rig *r;
	unsigned int seed;
	int failures;
};

static void *gather_loop(void *p)
{
	struct gather_arg *a = p;
	size_t len = (1U << 20) - a->seed * 4099;
	uint8_t *buf = pattern(len, a->seed);
	struct chase c;
	struct fk_ioctl io;
	int i;

	for (i = 0; i < 3; i++) {
		c = (struct chase){ .ptr = (uintptr_t)buf,
				    .len = (uint32_t)len };
		if (chase(a->r, &c, &io) != (long)len ||
		    c.sum != checksum(buf, len) ||
		    io.rounds != chase_rounds(len))
			a->failures++;
	}
	free(buf);
	return NULL;
}

START_TEST(test_threads_gather_on_one_open)
{
	struct rig r;
	struct gather_arg a[4];
	pthread_t t[4];
	unsigned int i;

	rig_up(&r);
	for (i = 0; i < 4; i++) {
		a[i] = (struct gather_arg){ .r = &r, .seed = i + 1 };
		ck_assert_int_eq(
			pthread_create(&t[i], NULL, gather_loop, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(a[i].failures, 0);
	}
	ck_assert_uint_eq(pending_xfers(r.k), 0);
	rig_down(&r);
}
END_TEST

struct slow_arg {
	struct fk *k;
	uint64_t fh;
	long ret;
};

static void *slow_call(void *p)
{
	struct slow_arg *a = p;

	a->ret = fk_ioctl(a->k, a->fh, fk_gettid(), T_SLOW, 0);
	return NULL;
}

START_TEST(test_slow_vm_does_not_block_others)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *k = fk_new(eng, KS_NODE_VM, &test_opts);
	struct kvmshim_vcpus g;
	struct slow_arg a[6];
	struct node_stats st;
	struct fk_reply *rep;
	struct fuse_ioctl_in in = {
		.flags = FUSE_IOCTL_UNRESTRICTED,
		.cmd = KS_CHECK_EXTENSION,
		.arg = KS_CAP_PPC_HTAB_FD,
	};
	uint64_t slow_fh, fast_fh;
	pthread_t t[6];
	unsigned int i;

	gate_open = false;
	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &slow_fh), 0);
	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fast_fh), 0);
	/* more slow requests on one VM than the pool starts with */
	for (i = 0; i < 6; i++) {
		a[i] = (struct slow_arg){ .k = k, .fh = slow_fh };
		ck_assert_int_eq(pthread_create(&t[i], NULL, slow_call, &a[i]),
				 0);
	}
	pthread_mutex_lock(&gate_lock);
	while (gate_waiting < 6)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	/* another VM is answered at once */
	in.fh = fast_fh;
	rep = fk_wait(k,
		      fk_send(k, FUSE_IOCTL, fk_gettid(), &in, sizeof(in), NULL,
			      0),
		      2000);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->error, 0);
	free(rep);
	ck_assert_int_eq(fk_ioctl(k, fast_fh, fk_gettid(), KVMSHIM_GET_VCPUS,
				  (uintptr_t)&g),
			 0);
	node_get_stats(fk_node(k), &st);
	ck_assert_uint_ge(st.workers, 7);
	/* the fast requests may still be counted until their worker returns */
	ck_assert_uint_ge(st.in_flight, 6);
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(a[i].ret, 7);
	}
	ck_assert_int_eq(fk_release(k, slow_fh), 0);
	ck_assert_int_eq(fk_release(k, fast_fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_cuse_xfer(void);
Suite *suite_cuse_xfer(void)
{
	Suite *s = suite_create("cuse_xfer");
	TCase *tc = tcase_create("retry rounds");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pointer_chase_rounds);
	tcase_add_test(tc, test_struct_changes_between_rounds);
	tcase_add_test(tc, test_in_region_of_exactly_one_round);
	tcase_add_test(tc, test_gathers_one_mib);
	tcase_add_test(tc, test_gathering_restarts_when_length_changes);
	tcase_add_test(tc, test_gathering_restarts_when_struct_changes);
	tcase_add_test(tc, test_fault_while_gathering);
	tcase_add_test(tc, test_too_large_to_gather);
	tcase_add_test(tc, test_iovec_limit);
	tcase_add_test(tc, test_out_limits);
	tcase_add_test(tc, test_out_regions_in_order_and_prefix);
	tcase_add_test(tc, test_errno_sanitised);
	tcase_add_test(tc, test_unfinished_requests_are_bounded);
	tcase_add_test(tc, test_threads_gather_on_one_open);
	tcase_add_test(tc, test_slow_vm_does_not_block_others);
	suite_add_tcase(s, tc);
	return s;
}
