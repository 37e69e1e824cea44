/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --trace: one line per request, decoded like strace does, e.g.
 *   [pid 1234] vm 3 KVM_PPC_ALLOCATE_HTAB(order=20) = 0 <0.000021s>
 */
#ifndef KVMSHIM_CUSE_TRACE_H
#define KVMSHIM_CUSE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/engine.h"

/*
 * Copies len bytes of caller memory at uaddr as the request saw them
 * (out = false) or as the reply wrote them (out = true); 0 or -ENOENT.
 */
typedef int (*trace_peek_fn)(void *opaque, uint64_t uaddr, void *dst,
			     size_t len, bool out);

/* Name of an ioctl for this profile ("KVM_...", "KVMSHIM_..."), or NULL. */
const char *trace_ioctl_name(const struct ks_profile *p, uint32_t cmd);

/*
 * "NAME(decoded arguments)" for an ioctl that returned result; what the
 * reply wrote back follows " => ".  Unknown commands: "ioctl(CMD, ARG)".
 */
size_t trace_format_ioctl(char *buf, size_t size, const struct ks_profile *p,
			  uint32_t cmd, uint64_t arg, long result,
			  trace_peek_fn peek, void *opaque);

/* "= 0", "= 4096", "= -1 EINVAL (Invalid argument)" */
size_t trace_format_result(char *buf, size_t size, long result);

/* Who a request came from and what it went to. */
struct trace_who {
	pid_t pid;
	bool known; /* kind and vm are valid */
	enum ks_handle_kind kind;
	uint64_t vm;
};

/* Logs "[pid P] WHO CALL = RESULT <SECONDS>[ rounds=N]". */
void trace_emit(const struct trace_who *w, const char *ioctl_name,
		const char *call, long result, uint64_t start_ns,
		unsigned int rounds);

/* Logs "[pid P] WHO TEXT" (TEXT carries its own outcome). */
void trace_emit_raw(const struct trace_who *w, const char *ioctl_name,
		    const char *text);

#endif /* KVMSHIM_CUSE_TRACE_H */
