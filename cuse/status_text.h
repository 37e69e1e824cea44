/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text of "kvmshimctl status" and the one-line sd_notify summary. */
#ifndef KVMSHIM_CUSE_STATUS_TEXT_H
#define KVMSHIM_CUSE_STATUS_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/engine.h"
#include "strbuf.h"

struct node;

/* What the status report describes. */
struct daemon_view {
	const char *name;
	pid_t pid;
	uint64_t started_ns; /* CLOCK_MONOTONIC */
	struct ks_engine *eng;
	struct node *nodes[2]; /* /dev/NAME, /dev/NAME-vm */
	const char *identity; /* who the daemon runs as */
	const char *control; /* control socket path, "" if none */
};

/*
 * Header lines "key: value", then one line per live VM:
 *   vm ID profile=P creator=TGID vcpus=N running=N memslots=N ...
 */
int status_text(struct strbuf *sb, const struct daemon_view *v);
/* "power8: 2 VMs, 3 open handles, model memory 1.5MiB of 64MiB" */
void status_summary(char *buf, size_t size, const struct daemon_view *v);
/* "1.5MiB" */
void status_format_bytes(char *buf, size_t size, uint64_t bytes);

#endif /* KVMSHIM_CUSE_STATUS_TEXT_H */
