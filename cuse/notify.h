/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd readiness and watchdog notifications (sd_notify). */
#ifndef KVMSHIM_CUSE_NOTIFY_H
#define KVMSHIM_CUSE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Reads $NOTIFY_SOCKET and the watchdog settings. */
void notify_init(void);
/* The service manager listens. */
bool notify_enabled(void);
/* How often to ping the watchdog, in microseconds; 0: not asked to. */
uint64_t notify_watchdog_interval(void);

void notify_ready(const char *status);
/* Sends STATUS= if it differs from the last one sent. */
void notify_status(const char *status);
void notify_stopping(const char *status);
void notify_watchdog(void);

#endif /* KVMSHIM_CUSE_NOTIFY_H */
