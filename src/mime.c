/*
 * mime.c: the MIME type of a capsule's file: by its name where the name
 * says one (gemtext, feeds, styles, which libmagic cannot tell apart from
 * text or XML), else by its first bytes, through libmagic.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <magic.h>

#include "capsule.h"

#define MAGIC_PEEK	(64 * 1024)	/* bytes libmagic looks at */

static magic_t	 magic;		/* shared by every capsule */

/* libmagic, loaded once: a request must never wait on its database. */
int
mime_init(const char **err)
{
	if (magic != NULL)
		return 0;
	if ((magic = magic_open(MAGIC_MIME | MAGIC_ERROR)) == NULL ||
	    magic_load(magic, NULL) == -1) {
		*err = magic ? magic_error(magic) : "cannot initialise libmagic";
		return -1;
	}
	return 0;
}

void
mime_close(void)
{
	if (magic != NULL)
		magic_close(magic);
	magic = NULL;
}

/* The MIME type a file's name gives, into out; false when it gives none. */
bool
mime_by_name(const char *name, char *out, size_t outsz)
{
	static const struct { const char *ext, *mime; } byname[] = {
		{ ".atom", "application/atom+xml" },
		{ "atom.xml", "application/atom+xml" },
		{ ".css", "text/css" },
		{ ".svg", "image/svg+xml" },
	};
	size_t		 i;

	if (gemtext_name(name)) {
		snprintf(out, outsz, "%s", GEMTEXT_MIME);
		return true;
	}
	for (i = 0; i < sizeof(byname) / sizeof(byname[0]); i++)
		if (path_ends_with(name, byname[i].ext)) {
			snprintf(out, outsz, "%s", byname[i].mime);
			return true;
		}
	return false;
}

/* The MIME type of a file whose first n bytes are data. */
void
mime_by_contents(const char *data, size_t n, char *out, size_t outsz)
{
	const char *m;

	if (n > MAGIC_PEEK)
		n = MAGIC_PEEK;
	m = magic_buffer(magic, data, n);
	if (m == NULL || strncmp(m, "application/x-empty", 19) == 0 ||
	    strncmp(m, "inode/x-empty", 13) == 0)
		m = n == 0 ? "text/plain; charset=us-ascii" :
		    "application/octet-stream";
	snprintf(out, outsz, "%s", m);
	/* "charset=binary" says nothing a client can use. */
	if ((m = strstr(out, "; charset=binary")) != NULL)
		out[m - out] = '\0';
}

/* The MIME type of the open file fd, too large to read whole: its head. */
void
mime_by_head(int fd, char *out, size_t outsz)
{
	char	 peek[MAGIC_PEEK];
	ssize_t	 r;

	if ((r = pread(fd, peek, sizeof(peek), 0)) == -1)
		r = 0;
	mime_by_contents(peek, (size_t)r, out, outsz);
}
