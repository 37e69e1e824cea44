// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>

#include "log.h"

static ks_log_sink log_sink;
static int log_level = LOG_INFO;

void ks_log_set_sink(ks_log_sink sink)
{
	log_sink = sink;
}

void ks_log_set_level(int max_priority)
{
	log_level = max_priority;
}

void ks_log(int priority, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (priority > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_sink)
		log_sink(priority, msg);
	else
		fprintf(stderr, "kvmshim: %s\n", msg);
}
