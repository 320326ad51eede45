/*
 * redirect.c: pages that moved or are gone (the redirect, redirect-
 * temporary and gone settings), matched against a request's path before
 * the capsule is looked at.  FROM is a path, or a prefix ending in "*";
 * TO is a path or an absolute URL, and when both end in "*" the rest of
 * the path after FROM's prefix is appended to TO's.  Paths are written
 * as the capsule's file names are, not percent-encoded; an exact FROM
 * wins over a prefix, and a longer prefix over a shorter one, whatever
 * their order.
 */
#include <stdlib.h>
#include <string.h>

#include "lumbar.h"

#define REDIRECTS_MAX	100000	/* html2gmi's lists of a large site fit */

/* No spaces or control characters in n bytes of s. */
static bool
clean(const char *s, size_t n)
{
	for (; n > 0; s++, n--)
		if ((unsigned char)*s <= 0x20 || *s == 0x7F)
			return false;
	return true;
}

/* "FROM TO" (status 30 or 31) or "PATH" (52) into rds. */
int
redirect_add(struct redirects *rds, int status, const char *spec,
    struct buf *why)
{
	struct redirect	 rd = { .status = status };
	struct redirect	*v;
	const char	*sp, *star;
	size_t		 n;

	if (spec == NULL) {
		buf_puts(why, status == 52 ? "which path is gone?" :
		    "which path moves where? (FROM TO)");
		return -1;
	}
	sp = spec + strcspn(spec, " \t");
	n = (size_t)(sp - spec);
	while (*sp == ' ' || *sp == '\t')
		sp++;
	if (status == 52 && *sp != '\0') {
		buf_printf(why, "one path only, not \"%s\"", spec);
		return -1;
	}
	if (status != 52 && (*sp == '\0' || strpbrk(sp, " \t") != NULL)) {
		buf_printf(why, "\"%s\": give FROM and TO, two paths", spec);
		return -1;
	}
	if (!utf8_valid(spec, strlen(spec)) || !clean(spec, n) ||
	    !clean(sp, strlen(sp))) {
		buf_puts(why, "control characters or bad UTF-8");
		return -1;
	}
	if (spec[0] != '/' || ((star = memchr(spec, '*', n)) != NULL &&
	    star != spec + n - 1)) {
		buf_printf(why, "\"%.*s\": FROM is a path from \"/\", with "
		    "\"*\" only at its end", (int)n, spec);
		return -1;
	}
	rd.prefix = spec[n - 1] == '*';
	rd.fromlen = rd.prefix ? n - 1 : n;
	if (status != 52) {
		n = strlen(sp);
		star = strchr(sp, '*');
		if ((sp[0] != '/' && !url_has_scheme(sp)) ||
		    (star != NULL && star != sp + n - 1)) {
			buf_printf(why, "\"%s\": TO is a path from \"/\" or a "
			    "URL, with \"*\" only at its end", sp);
			return -1;
		}
		rd.to_rest = star != NULL;
		if (rd.to_rest && !rd.prefix) {
			buf_printf(why, "\"%s\": TO ends in \"*\", so FROM "
			    "must too", sp);
			return -1;
		}
		if ((rd.to = strndup(sp, rd.to_rest ? n - 1 : n)) == NULL) {
			buf_puts(why, "out of memory");
			return -1;
		}
	}
	if ((rd.from = strndup(spec, rd.fromlen)) == NULL) {
		free(rd.to);
		buf_puts(why, "out of memory");
		return -1;
	}
	if (rds->n == rds->cap) {
		size_t cap = rds->cap ? rds->cap * 2 : 16;

		if (rds->n >= REDIRECTS_MAX || (v = reallocarray(rds->v, cap,
		    sizeof(*v))) == NULL) {
			free(rd.from);
			free(rd.to);
			buf_printf(why, "more than %d redirects", REDIRECTS_MAX);
			return -1;
		}
		rds->v = v;
		rds->cap = cap;
	}
	rds->v[rds->n++] = rd;
	return 0;
}

/* The rule for path, or NULL: an exact one, else the longest prefix. */
const struct redirect *
redirect_find(const struct redirects *rds, const char *path)
{
	const struct redirect	*best = NULL;
	size_t			 i, n = strlen(path);

	for (i = 0; i < rds->n; i++) {
		const struct redirect *rd = &rds->v[i];

		if (rd->prefix ? n < rd->fromlen : n != rd->fromlen)
			continue;
		if (memcmp(path, rd->from, rd->fromlen) != 0)
			continue;
		if (!rd->prefix)
			return rd;
		if (best == NULL || rd->fromlen > best->fromlen)
			best = rd;
	}
	return best;
}

/*
 * Where rd sends path: TO, with the rest after FROM's prefix when TO ends
 * in "*".  As a URL (Gemini's META) a path is percent-encoded; as a
 * selector (Gopher) it is not.
 */
int
redirect_target(const struct redirect *rd, const char *path, bool as_url,
    struct buf *out)
{
	const char	*rest = rd->to_rest ? path + rd->fromlen : "";
	bool		 abs;

	buf_reset(out);
	if (rd->to == NULL)
		return -1;
	abs = url_has_scheme(rd->to);
	if (!as_url)
		return buf_puts(out, rd->to) == 0 && buf_puts(out, rest) == 0 ?
		    0 : -1;
	if (abs ? buf_puts(out, rd->to) : url_encode_path(out, rd->to))
		return -1;
	return url_encode_path(out, rest);
}

void
redirect_free(struct redirects *rds)
{
	size_t i;

	for (i = 0; i < rds->n; i++) {
		free(rds->v[i].from);
		free(rds->v[i].to);
	}
	free(rds->v);
	rds->v = NULL;
	rds->n = rds->cap = 0;
}
