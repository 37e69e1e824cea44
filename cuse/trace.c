// SPDX-License-Identifier: LGPL-2.1-or-later
/* --trace: requests decoded like strace shows system calls. */
#include <errno.h>
#include <inttypes.h>
#include <linux/ioctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"

#include "logging.h"
#include "trace.h"
#include "xfer.h"

struct tbuf {
	char *p;
	size_t size;
	size_t len;
};

static void tb_printf(struct tbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->len += (size_t)n;
	if (b->len >= b->size)
		b->len = b->size - 1;
}

struct peek {
	trace_peek_fn fn;
	void *opaque;
};

static bool peek_in(const struct peek *pk, uint64_t uaddr, void *dst,
		    size_t len)
{
	return pk->fn && pk->fn(pk->opaque, uaddr, dst, len, false) == 0;
}

static bool peek_out(const struct peek *pk, uint64_t uaddr, void *dst,
		     size_t len)
{
	return pk->fn && pk->fn(pk->opaque, uaddr, dst, len, true) == 0;
}

struct priv_name {
	uint32_t cmd;
	const char *name;
};

static const struct priv_name priv_names[] = {
	{ KVMSHIM_WHOAMI, "KVMSHIM_WHOAMI" },
	{ KVMSHIM_SET_VCPUS, "KVMSHIM_SET_VCPUS" },
	{ KVMSHIM_GET_VCPUS, "KVMSHIM_GET_VCPUS" },
	{ KVMSHIM_FD_REQUEST, "KVMSHIM_FD_REQUEST" },
	{ KVMSHIM_BIND, "KVMSHIM_BIND" },
};

const char *trace_ioctl_name(const struct ks_profile *p, uint32_t cmd)
{
	size_t i;

	if (_IOC_TYPE(cmd) == KVMSHIM_IO) {
		for (i = 0; i < sizeof(priv_names) / sizeof(priv_names[0]); i++)
			if (priv_names[i].cmd == cmd)
				return priv_names[i].name;
		return NULL;
	}
	return ks_ioctl_name(ks_ioctl_decode(p, cmd));
}

static void dec_ptr(struct tbuf *b, uint64_t arg)
{
	tb_printf(b, "0x%" PRIx64, arg);
}

static void dec_cap(struct tbuf *b, uint64_t arg)
{
	const char *name = arg <= UINT32_MAX ? ks_cap_name((uint32_t)arg) :
					       NULL;

	if (name)
		tb_printf(b, "KVM_CAP_%s", name);
	else
		tb_printf(b, "%" PRIu64, arg);
}

static void dec_memory_region(struct tbuf *b, const struct peek *pk,
			      uint64_t arg)
{
	struct ks_userspace_memory_region m;

	if (!peek_in(pk, arg, &m, sizeof(m))) {
		dec_ptr(b, arg);
		return;
	}
	tb_printf(b,
		  "{slot=%u, flags=0x%x, guest_phys_addr=0x%llx, "
		  "memory_size=%llu, userspace_addr=0x%llx}",
		  m.slot, m.flags, (unsigned long long)m.guest_phys_addr,
		  (unsigned long long)m.memory_size,
		  (unsigned long long)m.userspace_addr);
}

static void dec_htab_order(struct tbuf *b, const struct peek *pk, uint64_t arg)
{
	uint32_t order;

	if (!peek_in(pk, arg, &order, sizeof(order))) {
		dec_ptr(b, arg);
		return;
	}
	tb_printf(b, "order=%u", order);
}

static void dec_rma(struct tbuf *b, const struct peek *pk, uint64_t arg)
{
	struct ks_allocate_rma r;

	dec_ptr(b, arg);
	if (peek_out(pk, arg, &r, sizeof(r)))
		tb_printf(b, " => {rma_size=%llu}",
			  (unsigned long long)r.rma_size);
}

static void dec_htab_fd(struct tbuf *b, const struct peek *pk, uint64_t arg)
{
	struct ks_get_htab_fd g;

	if (!peek_in(pk, arg, &g, sizeof(g))) {
		dec_ptr(b, arg);
		return;
	}
	tb_printf(b, "{flags=0x%llx, start_index=%llu}",
		  (unsigned long long)g.flags,
		  (unsigned long long)g.start_index);
}

static void dec_resize(struct tbuf *b, const struct peek *pk, uint64_t arg)
{
	struct ks_ppc_resize_hpt r;

	if (!peek_in(pk, arg, &r, sizeof(r))) {
		dec_ptr(b, arg);
		return;
	}
	tb_printf(b, "{flags=0x%llx, shift=%u}", (unsigned long long)r.flags,
		  r.shift);
}

static void put_cmma(struct tbuf *b, const struct ks_s390_cmma_log *l, bool set)
{
	tb_printf(b, "{start_gfn=0x%llx, count=%u, flags=0x%x, %s=0x%llx",
		  (unsigned long long)l->start_gfn, l->count, l->flags,
		  set ? "mask" : "remaining", (unsigned long long)l->remaining);
	tb_printf(b, ", values=0x%llx}", (unsigned long long)l->values);
}

static void dec_cmma(struct tbuf *b, const struct peek *pk, uint64_t arg,
		     bool set)
{
	struct ks_s390_cmma_log l;

	if (!peek_in(pk, arg, &l, sizeof(l)))
		dec_ptr(b, arg);
	else
		put_cmma(b, &l, set);
	if (!set && peek_out(pk, arg, &l, sizeof(l))) {
		tb_printf(b, " => ");
		put_cmma(b, &l, false);
	}
}

static void dec_attr(struct tbuf *b, const struct peek *pk, uint64_t arg,
		     int id)
{
	struct ks_device_attr a;
	uint64_t v;

	if (!peek_in(pk, arg, &a, sizeof(a))) {
		dec_ptr(b, arg);
		return;
	}
	tb_printf(b, "{flags=0x%x, group=%u, attr=%llu, addr=0x%llx", a.flags,
		  a.group, (unsigned long long)a.attr,
		  (unsigned long long)a.addr);
	if (id == KS_IOCTL_SET_DEVICE_ATTR && peek_in(pk, a.addr, &v, 8))
		tb_printf(b, " [%llu]", (unsigned long long)v);
	tb_printf(b, "}");
	if (id == KS_IOCTL_GET_DEVICE_ATTR && peek_out(pk, a.addr, &v, 8))
		tb_printf(b, " => [%llu]", (unsigned long long)v);
}

static void dec_kvm(struct tbuf *b, const struct peek *pk, int id, uint64_t arg)
{
	switch (id) {
	case KS_IOCTL_CHECK_EXTENSION:
		dec_cap(b, arg);
		return;
	case KS_IOCTL_SET_USER_MEMORY_REGION:
		dec_memory_region(b, pk, arg);
		return;
	case KS_IOCTL_PPC_ALLOCATE_HTAB:
		dec_htab_order(b, pk, arg);
		return;
	case KS_IOCTL_ALLOCATE_RMA:
		dec_rma(b, pk, arg);
		return;
	case KS_IOCTL_PPC_GET_HTAB_FD:
		dec_htab_fd(b, pk, arg);
		return;
	case KS_IOCTL_PPC_RESIZE_HPT_PREPARE:
	case KS_IOCTL_PPC_RESIZE_HPT_COMMIT:
		dec_resize(b, pk, arg);
		return;
	case KS_IOCTL_S390_GET_CMMA_BITS:
		dec_cmma(b, pk, arg, false);
		return;
	case KS_IOCTL_S390_SET_CMMA_BITS:
		dec_cmma(b, pk, arg, true);
		return;
	case KS_IOCTL_SET_DEVICE_ATTR:
	case KS_IOCTL_GET_DEVICE_ATTR:
	case KS_IOCTL_HAS_DEVICE_ATTR:
		dec_attr(b, pk, arg, id);
		return;
	}
	/* scalar arguments: API version, CREATE_VM type, mmap size, ... */
	tb_printf(b, "%" PRIu64, arg);
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case KVMSHIM_KIND_SYSTEM:
		return "system";
	case KVMSHIM_KIND_VM:
		return "vm";
	case KVMSHIM_KIND_HTAB:
		return "htab";
	}
	return "?";
}

static void dec_priv(struct tbuf *b, const struct ks_profile *p,
		     const struct peek *pk, uint32_t cmd, uint64_t arg)
{
	struct kvmshim_whoami w;
	struct kvmshim_vcpus v;
	struct kvmshim_fd_request f;
	uint64_t token;
	const char *name;

	switch (cmd) {
	case KVMSHIM_WHOAMI:
		dec_ptr(b, arg);
		if (peek_out(pk, arg, &w, sizeof(w)))
			tb_printf(b,
				  " => {kind=%s, vm_id=%llu, creator_tgid=%d, "
				  "oflags=0x%x}",
				  kind_name(w.kind),
				  (unsigned long long)w.vm_id, w.creator_tgid,
				  w.oflags);
		return;
	case KVMSHIM_SET_VCPUS:
		if (!peek_in(pk, arg, &v, sizeof(v))) {
			dec_ptr(b, arg);
			return;
		}
		tb_printf(b, "{created=%u, running=%u}", v.created, v.running);
		return;
	case KVMSHIM_GET_VCPUS:
		dec_ptr(b, arg);
		if (peek_out(pk, arg, &v, sizeof(v)))
			tb_printf(b, " => {created=%u, running=%u}", v.created,
				  v.running);
		return;
	case KVMSHIM_FD_REQUEST:
		if (!peek_in(pk, arg, &f, sizeof(f))) {
			dec_ptr(b, arg);
			return;
		}
		name = ks_ioctl_name(ks_ioctl_decode(p, f.cmd));
		if (name)
			tb_printf(b, "{cmd=%s", name);
		else
			tb_printf(b, "{cmd=0x%x", f.cmd);
		tb_printf(b, ", flags=0x%x, arg=%llu}", f.flags,
			  (unsigned long long)f.arg);
		if (peek_out(pk, arg, &f, sizeof(f)))
			tb_printf(b, " => {token=0x%llx, rma_size=%llu}",
				  (unsigned long long)f.token,
				  (unsigned long long)f.rma_size);
		return;
	case KVMSHIM_BIND:
		if (!peek_in(pk, arg, &token, sizeof(token))) {
			dec_ptr(b, arg);
			return;
		}
		tb_printf(b, "token=0x%llx", (unsigned long long)token);
		return;
	}
	dec_ptr(b, arg);
}

size_t trace_format_ioctl(char *buf, size_t size, const struct ks_profile *p,
			  uint32_t cmd, uint64_t arg, long result,
			  trace_peek_fn peek, void *opaque)
{
	struct tbuf b = { .p = buf, .size = size };
	struct peek pk = { .fn = peek, .opaque = opaque };
	const char *name = trace_ioctl_name(p, cmd);

	(void)result;
	if (!size)
		return 0;
	buf[0] = '\0';
	if (!name) {
		tb_printf(&b, "ioctl(0x%08x, 0x%" PRIx64 ")", cmd, arg);
		return b.len;
	}
	tb_printf(&b, "%s(", name);
	if (_IOC_TYPE(cmd) == KVMSHIM_IO)
		dec_priv(&b, p, &pk, cmd, arg);
	else
		dec_kvm(&b, &pk, ks_ioctl_decode(p, cmd), arg);
	tb_printf(&b, ")");
	return b.len;
}

size_t trace_format_result(char *buf, size_t size, long result)
{
	struct tbuf b = { .p = buf, .size = size };
	const char *name, *desc;

	if (!size)
		return 0;
	buf[0] = '\0';
	if (result >= 0) {
		tb_printf(&b, "= %ld", result);
		return b.len;
	}
	name = strerrorname_np((int)-result);
	desc = strerrordesc_np((int)-result);
	if (name)
		tb_printf(&b, "= -1 %s (%s)", name, desc ? desc : "?");
	else
		tb_printf(&b, "= -1 errno %ld", -result);
	return b.len;
}

static void who_label(char *who, size_t size, const struct trace_who *w)
{
	if (!w->known)
		snprintf(who, size, "-");
	else if (w->kind == KS_HANDLE_SYSTEM)
		snprintf(who, size, "sys");
	else if (w->kind == KS_HANDLE_HTAB)
		snprintf(who, size, "htab vm %" PRIu64, w->vm);
	else
		snprintf(who, size, "vm %" PRIu64, w->vm);
}

void trace_emit(const struct trace_who *w, const char *ioctl_name,
		const char *call, long result, uint64_t start_ns,
		unsigned int rounds)
{
	struct log_fields f = {
		.vm = w->known ? w->vm : 0,
		.ioctl = ioctl_name,
		.err = result < 0 ? (int)-result : 0,
		.pid = w->pid,
		.trace = true,
	};
	uint64_t ns = xfer_now_ns() - start_ns;
	char who[48], res[96], extra[32] = "";

	who_label(who, sizeof(who), w);
	trace_format_result(res, sizeof(res), result);
	if (rounds > 1)
		snprintf(extra, sizeof(extra), " rounds=%u", rounds);
	log_msg(LOG_INFO, &f,
		"[pid %d] %s %s %s <%" PRIu64 ".%06" PRIu64 "s>%s", (int)w->pid,
		who, call, res, (uint64_t)(ns / 1000000000U),
		(uint64_t)(ns / 1000U % 1000000U), extra);
}

void trace_emit_raw(const struct trace_who *w, const char *ioctl_name,
		    const char *text)
{
	struct log_fields f = {
		.vm = w->known ? w->vm : 0,
		.ioctl = ioctl_name,
		.pid = w->pid,
		.trace = true,
	};
	char who[48];

	who_label(who, sizeof(who), w);
	log_msg(LOG_INFO, &f, "[pid %d] %s %s", (int)w->pid, who, text);
}
