// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

int sb_append(struct strbuf *sb, const void *data, size_t len)
{
	size_t need;

	if (sb->max && sb->len + len > sb->max) {
		len = sb->max > sb->len ? sb->max - sb->len : 0;
		sb->truncated = true;
	}
	need = sb->len + len + 1;
	if (need > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 256;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(sb->p, cap);
		if (!p)
			return -ENOMEM;
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, data, len);
	sb->len += len;
	sb->p[sb->len] = '\0';
	return 0;
}

int sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return sb_append(sb, small, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	ret = sb_append(sb, big, (size_t)n);
	free(big);
	return ret;
}

void sb_free(struct strbuf *sb)
{
	free(sb->p);
	sb->p = NULL;
	sb->len = sb->cap = 0;
}
