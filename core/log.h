/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging from the core; the front end decides where messages go. */
#ifndef KVMSHIM_CORE_LOG_H
#define KVMSHIM_CORE_LOG_H

#include <stdarg.h>
#include <syslog.h>

typedef void (*ks_log_sink)(int priority, const char *msg);

void ks_log_set_sink(ks_log_sink sink);
void ks_log_set_level(int max_priority);
void ks_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* KVMSHIM_CORE_LOG_H */
