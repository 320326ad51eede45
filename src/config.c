/*
 * config.c: the configuration file, lumbar -f FILE.  One setting a line,
 * "name value", "#" comments, "include FILE".  This file only reads the
 * lines; what a name means is settings.c's business (it hands each one to
 * the handler the command line's options use), so that there is one list
 * of settings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lumbar.h"

#define CONFIG_LINE_MAX		4096	/* bytes of one line */
#define CONFIG_INCLUDE_DEPTH	8	/* includes within includes */

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * "include FILE" names FILE from the directory of the file that includes
 * it, so that a configuration and its lists move together.
 */
static int
include_path(struct buf *out, const char *from, const char *name)
{
	const char *slash;

	buf_reset(out);
	if (name[0] == '/' || (slash = strrchr(from, '/')) == NULL)
		return buf_puts(out, name);
	if (buf_append(out, from, (size_t)(slash - from + 1)) == -1)
		return -1;
	return buf_puts(out, name);
}

static int	read_file(const char *, int, config_set_fn, void *,
		    struct buf *);

/* One line, without its newline: a comment, nothing, or a setting. */
static int
read_line(const char *path, unsigned long lineno, char *s, int depth,
    config_set_fn set, void *ctx, struct buf *err)
{
	struct buf	 why, inc;
	char		*name, *value, *e;
	int		 rc;

	while (is_space(*s))
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	/* A "#" after a space starts a comment; inside a word it does not
	 * (a URL's fragment, a file name). */
	for (e = s; *e != '\0'; e++)
		if (*e == '#' && is_space(e[-1])) {
			*e = '\0';
			break;
		}
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = '\0';
	name = s;
	while (*s != '\0' && !is_space(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	while (is_space(*s))
		s++;
	value = *s != '\0' ? s : NULL;
	if (strcmp(name, "include") == 0) {
		if (value == NULL) {
			buf_printf(err, "%s:%lu: include: which file?", path,
			    lineno);
			return -1;
		}
		if (depth >= CONFIG_INCLUDE_DEPTH) {
			buf_printf(err, "%s:%lu: include %s: more than %d "
			    "includes deep (does it include itself?)", path,
			    lineno, value, CONFIG_INCLUDE_DEPTH);
			return -1;
		}
		buf_init(&inc);
		if (include_path(&inc, path, value) == -1) {
			buf_free(&inc);
			buf_printf(err, "%s:%lu: out of memory", path, lineno);
			return -1;
		}
		buf_init(&why);
		rc = read_file(inc.data, depth + 1, set, ctx, &why);
		if (rc == -1 && why.len > 0 && strncmp(why.data, inc.data,
		    inc.len) == 0)	/* an error inside names its own line */
			buf_puts(err, why.data);
		else if (rc == -1)
			buf_printf(err, "%s:%lu: include %s: %s", path, lineno,
			    value, why.data ? why.data : "error");
		buf_free(&why);
		buf_free(&inc);
		return rc;
	}
	buf_init(&why);
	rc = set(ctx, name, value, &why);
	if (rc == -1)
		buf_printf(err, "%s:%lu: %s", path, lineno,
		    why.data ? why.data : "error");
	buf_free(&why);
	return rc;
}

static int
read_file(const char *path, int depth, config_set_fn set, void *ctx,
    struct buf *err)
{
	FILE		*f;
	char		 line[CONFIG_LINE_MAX + 2];
	unsigned long	 lineno = 0;
	size_t		 n;
	int		 rc = 0;

	if ((f = fopen(path, "re")) == NULL) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n > CONFIG_LINE_MAX && line[n - 1] != '\n') {
			buf_printf(err, "%s:%lu: longer than %d bytes", path,
			    lineno, CONFIG_LINE_MAX);
			rc = -1;
			break;
		}
		if (!utf8_valid(line, n)) {
			buf_printf(err, "%s:%lu: not UTF-8", path, lineno);
			rc = -1;
			break;
		}
		rc = read_line(path, lineno, line, depth, set, ctx, err);
	}
	if (rc == 0 && ferror(f)) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(f);
	return rc;
}

/*
 * Read the file at path, calling set(ctx, name, value, why) for every
 * setting in order (value NULL when the line has none).  The first error
 * stops it; err then holds "FILE:LINE: the problem".
 */
int
config_read(const char *path, config_set_fn set, void *ctx, struct buf *err)
{
	buf_reset(err);
	return read_file(path, 0, set, ctx, err);
}
