// SPDX-License-Identifier: LGPL-2.1-or-later
/* Log destinations: the journal (structured) or stderr (one line each). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "core/log.h"
#include "logging.h"

#define LOG_LINE_MAX 2048

static enum log_target target = LOG_TARGET_STDERR;
static int level = LOG_INFO;
static char instance[80];
static __thread const struct log_fields *thread_fields;

bool log_stream_is_journal(const char *journal_stream, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!journal_stream ||
	    sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(fd, &st))
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

int log_parse_target(const char *s)
{
	if (!strcmp(s, "auto"))
		return LOG_TARGET_AUTO;
	if (!strcmp(s, "stderr"))
		return LOG_TARGET_STDERR;
	if (!strcmp(s, "journal"))
		return LOG_TARGET_JOURNAL;
	return -1;
}

static const char *prio_prefix(int prio)
{
	if (prio <= LOG_ERR)
		return "error: ";
	if (prio == LOG_WARNING)
		return "warning: ";
	return "";
}

size_t log_format_line(char *buf, size_t size, int prio,
		       const struct log_fields *f, const char *msg)
{
	char ctx[128] = "";
	int n;

	if (!size)
		return 0;
	/* trace lines name their request themselves */
	if (f && !f->trace && f->vm && f->ioctl)
		snprintf(ctx, sizeof(ctx), "vm %" PRIu64 " %s: ", f->vm,
			 f->ioctl);
	else if (f && !f->trace && f->vm)
		snprintf(ctx, sizeof(ctx), "vm %" PRIu64 ": ", f->vm);
	else if (f && !f->trace && f->ioctl)
		snprintf(ctx, sizeof(ctx), "%s: ", f->ioctl);
	n = snprintf(buf, size, "kvmshimd: %s%s%s\n", prio_prefix(prio), ctx,
		     msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= size) {
		/* keep the line a line */
		n = (int)size - 1;
		if (n > 0)
			buf[n - 1] = '\n';
		buf[n] = '\0';
	}
	return (size_t)n;
}

static void emit_stderr(int prio, const struct log_fields *f, const char *msg)
{
	char line[LOG_LINE_MAX];
	size_t len = log_format_line(line, sizeof(line), prio, f, msg);

	/* one write per line, so that threads never interleave */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

#define JOURNAL_FIELDS 10

static int emit_journal(int prio, const struct log_fields *f, const char *msg)
{
	char fields[JOURNAL_FIELDS][160];
	struct iovec iov[JOURNAL_FIELDS + 1];
	char *message;
	int n = 0, ret;

	if (asprintf(&message, "MESSAGE=%s", msg) < 0)
		return -ENOMEM;
	iov[n].iov_base = message;
	iov[n++].iov_len = strlen(message);
#define FIELD(...)                                                             \
	do {                                                                   \
		snprintf(fields[n], sizeof(fields[n]), __VA_ARGS__);           \
		iov[n].iov_base = fields[n];                                   \
		iov[n].iov_len = strlen(fields[n]);                            \
		n++;                                                           \
	} while (0)
	FIELD("PRIORITY=%d", prio);
	FIELD("SYSLOG_IDENTIFIER=kvmshimd");
	if (instance[0])
		FIELD("KVMSHIM_INSTANCE=%s", instance);
	if (f && f->vm)
		FIELD("KVMSHIM_VM=%" PRIu64, f->vm);
	if (f && f->ioctl)
		FIELD("KVMSHIM_IOCTL=%s", f->ioctl);
	if (f && f->err > 0) {
		const char *name = strerrorname_np(f->err);

		FIELD("ERRNO=%d", f->err);
		if (name)
			FIELD("KVMSHIM_ERRNO=%s", name);
	}
	if (f && f->pid)
		FIELD("KVMSHIM_PID=%d", (int)f->pid);
	if (f && f->trace)
		FIELD("KVMSHIM_TRACE=1");
#undef FIELD
	ret = sd_journal_sendv(iov, n);
	free(message);
	return ret;
}

static void emit(int prio, const struct log_fields *f, const char *msg)
{
	if (!f)
		f = thread_fields;
	if (target == LOG_TARGET_JOURNAL && emit_journal(prio, f, msg) >= 0)
		return;
	emit_stderr(prio, f, msg);
}

void log_msg(int prio, const struct log_fields *f, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	if (prio > level && !(f && f->trace))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(prio, f, msg);
}

static void core_sink(int prio, const char *msg)
{
	emit(prio, NULL, msg);
}

void log_set_request(const struct log_fields *f)
{
	thread_fields = f;
}

void log_set_level(int prio)
{
	level = prio;
	ks_log_set_level(prio);
}

void log_setup(enum log_target t, const char *name)
{
	if (t == LOG_TARGET_AUTO)
		t = log_stream_is_journal(getenv("JOURNAL_STREAM"),
					  STDERR_FILENO) ?
			    LOG_TARGET_JOURNAL :
			    LOG_TARGET_STDERR;
	target = t;
	snprintf(instance, sizeof(instance), "%s", name ? name : "");
	ks_log_set_sink(core_sink);
}

enum log_target log_current_target(void)
{
	return target;
}
