/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A growing text buffer with a size limit. */
#ifndef KVMSHIM_CUSE_STRBUF_H
#define KVMSHIM_CUSE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p; /* NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	size_t max; /* 0: no limit */
	bool truncated; /* something did not fit under max */
};

#define STRBUF_INIT(limit)                                                     \
	{                                                                      \
		.p = NULL, .len = 0, .cap = 0, .max = (limit)                  \
	}

/* 0 or -ENOMEM; past max the text is cut and truncated is set. */
int sb_append(struct strbuf *sb, const void *data, size_t len);
int sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_free(struct strbuf *sb);

#endif /* KVMSHIM_CUSE_STRBUF_H */
