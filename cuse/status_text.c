// SPDX-License-Identifier: LGPL-2.1-or-later
/* What "kvmshimctl status" prints, built from ks_engine_status(). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "node.h"
#include "status_text.h"
#include "xfer.h"

#ifndef KVMSHIM_VERSION
#define KVMSHIM_VERSION "0"
#endif

void status_format_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (!u || v >= 100 || v == (double)(uint64_t)v)
		snprintf(buf, size, "%.0f%s", v, units[u]);
	else
		snprintf(buf, size, "%.1f%s", v, units[u]);
}

static uint64_t rss_bytes(void)
{
	unsigned long long size, rss;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

struct vm_lines {
	struct strbuf *sb;
	const struct ks_engine_config *cfg;
};

static const char *yes(bool v)
{
	return v ? "yes" : "no";
}

static void vm_line(void *opaque, const struct ks_vm_status *vs)
{
	struct vm_lines *l = opaque;
	struct strbuf *sb = l->sb;

	sb_printf(sb,
		  "vm %" PRIu64 " profile=%s creator=%d vcpus=%u running=%u "
		  "memslots=%u",
		  vs->id, l->cfg->profile.name, (int)vs->creator_tgid,
		  vs->vcpus_created, vs->vcpus_running, vs->memslots);
	if (l->cfg->profile.arch == KS_ARCH_PPC) {
		sb_printf(sb,
			  " hpt_order=%u hpt_valid=%" PRIu64 " mmu_ready=%s",
			  vs->hpt_order, vs->hpt_valid, yes(vs->mmu_ready));
		if (vs->resize_order)
			sb_printf(sb, " resize=%u/%s", vs->resize_order,
				  vs->resize_state ? vs->resize_state : "?");
		else
			sb_printf(sb, " resize=none");
		sb_printf(sb,
			  " htab_readers=%u htab_writers=%u rmas_held=%u "
			  "rma_bytes=%" PRIu64,
			  vs->htab_readers, vs->htab_writers, vs->rmas_held,
			  vs->rma_bytes);
	} else {
		sb_printf(sb,
			  " cmma=%s cmm_used=%s migration=%s "
			  "cmma_dirty=%" PRIu64,
			  yes(vs->cmma_enabled), yes(vs->uses_cmm),
			  yes(vs->migration_mode), vs->cmma_dirty);
	}
	sb_printf(sb, "\n");
}

static void node_lines(struct strbuf *sb, const struct daemon_view *v)
{
	struct node_stats st[2];
	struct xfer_stats xs;
	char bytes[32];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		if (v->nodes[i])
			node_get_stats(v->nodes[i], &st[i]);
	}
	xfer_get_stats(&xs);
	status_format_bytes(bytes, sizeof(bytes), xs.bytes);
	sb_printf(sb, "handles: %u (system node %u, vm node %u)\n",
		  st[0].opens + st[1].opens, st[0].opens, st[1].opens);
	sb_printf(sb, "requests: served=%" PRIu64 " in_flight=%u\n",
		  st[0].served + st[1].served,
		  st[0].in_flight + st[1].in_flight);
	sb_printf(sb, "unfinished_ioctls: %" PRIu64 " (%s)\n", xs.pending,
		  bytes);
	sb_printf(sb, "workers: %u %u\n", st[0].workers, st[1].workers);
}

int status_text(struct strbuf *sb, const struct daemon_view *v)
{
	const struct ks_engine_config *cfg = ks_engine_config(v->eng);
	struct ks_engine_status es;
	struct vm_lines l = { .sb = sb, .cfg = cfg };
	struct strbuf vms = STRBUF_INIT(sb->max);
	char used[32], limit[32], rss[32], size[32];
	uint64_t up = (xfer_now_ns() - v->started_ns) / 1000000000ULL;
	int ret;

	/* VM lines first: the header reports the same snapshot's totals */
	l.sb = &vms;
	ks_engine_status(v->eng, &es, vm_line, &l);
	status_format_bytes(used, sizeof(used), es.mem_used);
	status_format_bytes(limit, sizeof(limit), es.mem_limit);
	status_format_bytes(rss, sizeof(rss), rss_bytes());
	sb_printf(sb, "kvmshimd: %s\n", KVMSHIM_VERSION);
	sb_printf(sb, "instance: %s\n", v->name);
	sb_printf(sb, "pid: %d\n", (int)v->pid);
	sb_printf(sb, "uptime: %" PRIu64 "s\n", up);
	sb_printf(sb, "profile: %s\n", es.profile);
	sb_printf(sb, "nodes: /dev/%s /dev/%s-vm\n", v->name, v->name);
	sb_printf(sb, "control: %s\n", *v->control ? v->control : "none");
	sb_printf(sb, "identity: %s\n", v->identity);
	if (es.mem_limit)
		sb_printf(sb,
			  "memory: used=%" PRIu64 " limit=%" PRIu64
			  " (%s of %s)\n",
			  es.mem_used, es.mem_limit, used, limit);
	else
		sb_printf(sb, "memory: used=%" PRIu64 " limit=none (%s)\n",
			  es.mem_used, used);
	sb_printf(sb, "rss: %s\n", rss);
	node_lines(sb, v);
	if (es.rma_total || cfg->profile.has_rma) {
		status_format_bytes(size, sizeof(size), es.rma_size);
		sb_printf(sb,
			  "rma_pool: rma_free=%u rma_total=%u rma_size=%s\n",
			  es.rma_free, es.rma_total, size);
	}
	sb_printf(sb, "vms: %u\n", es.vms);
	ret = vms.p ? sb_append(sb, vms.p, vms.len) : 0;
	if (vms.truncated || sb->truncated)
		sb->truncated = true;
	sb_free(&vms);
	return ret;
}

void status_summary(char *buf, size_t size, const struct daemon_view *v)
{
	struct ks_engine_status es;
	struct node_stats a = { 0 }, b = { 0 };
	char used[32], limit[32];

	ks_engine_status(v->eng, &es, NULL, NULL);
	if (v->nodes[0])
		node_get_stats(v->nodes[0], &a);
	if (v->nodes[1])
		node_get_stats(v->nodes[1], &b);
	status_format_bytes(used, sizeof(used), es.mem_used);
	status_format_bytes(limit, sizeof(limit), es.mem_limit);
	snprintf(buf, size,
		 "%s: %u VM%s, %u open handle%s, model memory %s%s%s",
		 es.profile, es.vms, es.vms == 1 ? "" : "s", a.opens + b.opens,
		 a.opens + b.opens == 1 ? "" : "s", used,
		 es.mem_limit ? " of " : "", es.mem_limit ? limit : "");
}
