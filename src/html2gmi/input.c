/*
 * input.c: the files html2gmi reads: any file whole, up to a limit the
 * caller sets, and an HTML page read, decoded to UTF-8 (charset.c) and
 * handed to convert.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "html2gmi.h"

/*
 * Read a whole file, or standard input for "-", into b: -1 with the
 * reason in err, -2 (err untouched) when it is larger than max bytes,
 * which each caller words for what it was doing, -3 with "out of memory"
 * in err.
 */
int
h2g_read_file(const char *path, struct buf *b, size_t max, struct buf *err)
{
	struct stat	st;
	ssize_t		r;
	int		fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_puts(err, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		buf_puts(err, "is a directory");
		goto fail;
	}
	for (;;) {
		if (buf_reserve(b, 65536) == -1) {
			buf_puts(err, "out of memory");
			if (fd != STDIN_FILENO)
				close(fd);
			return -3;
		}
		r = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			buf_puts(err, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
		b->data[b->len] = '\0';
		if (b->len > max) {
			if (fd != STDIN_FILENO)
				close(fd);
			return -2;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return 0;
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	return -1;
}

/*
 * The defaults left out much of the page: say so, so that a page whose
 * article was taken for navigation does not go unseen (a profile's drop
 * rules say it on purpose, and are not reported).
 */
static void
warn_dropped(const char *name, size_t words)
{
	char	digits[32], grouped[48];
	size_t	n, i, k = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%zu", words);
	for (i = 0; i < n && k + 2 < sizeof(grouped); i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[k++] = ',';
		grouped[k++] = digits[i];
	}
	grouped[k] = '\0';
	fprintf(stderr, "html2gmi: %s: dropped %s words of navigation\n",
	    name, grouped);
}

/*
 * Read, decode and convert the file at path.  On failure err says what
 * is wrong with it (the caller names the file) and -1 is returned.
 */
int
convert_file(const char *path, const char *name, const struct profile *prof,
    const struct linkctx *lc, struct page *pg, struct buf *err)
{
	struct buf	 raw, text;
	char		 label[H2G_CHARSET_MAX];
	const char	*why;
	int		 r = -1, rd, cs;

	buf_init(&raw);
	buf_init(&text);
	if ((rd = h2g_read_file(path, &raw, (size_t)prof->max_input * 1024 *
	    1024, err)) < 0) {
		if (rd == -2)
			buf_printf(err, "larger than %d MiB, not converted "
			    "(--max-input raises the limit)", prof->max_input);
		goto out;
	}
	if ((cs = charset_to_utf8(raw.data ? raw.data : "", raw.len, &text,
	    label, sizeof(label))) == -1) {
		buf_puts(err, "out of memory");
		goto out;
	}
	if (cs == 1)
		fprintf(stderr, "html2gmi: %s: unknown charset, read as "
		    "windows-1252\n", name);
	if ((why = html_sniff(text.data ? text.data : "", text.len)) != NULL) {
		buf_puts(err, why);
		goto out;
	}
	if (convert_html(text.data, text.len, prof, lc, pg) == -1) {
		buf_puts(err, "out of memory");
		goto out;
	}
	if (pg->dropped >= H2G_DROP_WARN)
		warn_dropped(name, pg->dropped);
	r = 0;
out:
	buf_free(&raw);
	buf_free(&text);
	return r;
}
