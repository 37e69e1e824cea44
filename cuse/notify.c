// SPDX-License-Identifier: LGPL-2.1-or-later
/* sd_notify wrappers: READY=1, STATUS=, STOPPING=1 and WATCHDOG=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "core/log.h"
#include "notify.h"

static bool enabled;
static uint64_t watchdog_usec;
static char last_status[256];

void notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	uint64_t usec = 0;

	enabled = s && *s;
	/* > 0 only if the watchdog is meant for this process */
	if (sd_watchdog_enabled(0, &usec) > 0)
		watchdog_usec = usec;
}

bool notify_enabled(void)
{
	return enabled;
}

uint64_t notify_watchdog_interval(void)
{
	/* ping twice per period, as sd_watchdog_enabled(3) advises */
	return watchdog_usec / 2;
}

static void send_state(const char *state)
{
	int ret;

	if (!enabled)
		return;
	ret = sd_notify(0, state);
	if (ret < 0)
		ks_log(LOG_WARNING, "sd_notify: %s", strerror(-ret));
}

static void send_with_status(const char *what, const char *status)
{
	char msg[320];

	if (status) {
		snprintf(last_status, sizeof(last_status), "%s", status);
		snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", what, status);
		send_state(msg);
	} else {
		send_state(what);
	}
}

void notify_ready(const char *status)
{
	char what[64];

	/* after a fork of our own, tell the manager who the daemon is */
	snprintf(what, sizeof(what), "READY=1\nMAINPID=%d", (int)getpid());
	send_with_status(what, status);
}

void notify_status(const char *status)
{
	char msg[300];

	if (!strncmp(status, last_status, sizeof(last_status) - 1))
		return;
	snprintf(last_status, sizeof(last_status), "%s", status);
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	send_state(msg);
}

void notify_stopping(const char *status)
{
	send_with_status("STOPPING=1", status);
}

void notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}
