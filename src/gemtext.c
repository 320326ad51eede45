/*
 * gemtext.c: the gemtext line model.  The parser reads a file into it, the
 * writer turns it back into gemtext; the converter, directory listings,
 * search pages and the Gopher renderer all meet here.  Also what is
 * gemtext: the one test of a file name and the one of a MIME type.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lumbar.h"

void
gmi_init(struct gmi_doc *doc)
{
	doc->lines = NULL;
	doc->len = 0;
	doc->cap = 0;
	doc->failed = false;
}

void
gmi_free(struct gmi_doc *doc)
{
	size_t i;

	for (i = 0; i < doc->len; i++) {
		free(doc->lines[i].text);
		free(doc->lines[i].url);
	}
	free(doc->lines);
	gmi_init(doc);
}

/* -1 when an add to doc has failed (out of memory), else 0. */
int
gmi_status(const struct gmi_doc *doc)
{
	return doc->failed ? -1 : 0;
}

/* Mark doc failed: a line that was to go into it could not be made. */
void
gmi_fail(struct gmi_doc *doc)
{
	doc->failed = true;
}

static struct gmi_line *
gmi_push(struct gmi_doc *doc)
{
	struct gmi_line	*l;
	size_t		 cap;

	if (doc->failed)
		return NULL;
	if (doc->len == doc->cap) {
		cap = doc->cap ? doc->cap * 2 : 32;
		if (cap > SIZE_MAX / sizeof(*l) ||
		    (l = realloc(doc->lines, cap * sizeof(*l))) == NULL) {
			doc->failed = true;
			return NULL;
		}
		doc->lines = l;
		doc->cap = cap;
	}
	l = &doc->lines[doc->len];
	l->text = NULL;
	l->url = NULL;
	return l;
}

/* Copy n bytes of s as one line's text, invalid UTF-8 and NUL repaired. */
static char *
line_text(const char *s, size_t n)
{
	struct buf	 b;
	size_t		 i, start = 0;

	buf_init(&b);
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '\0') {
			if (utf8_repair(&b, s + start, i - start) == -1) {
				buf_free(&b);
				return NULL;
			}
			start = i + 1;
		}
	}
	return buf_steal(&b);
}

int
gmi_add(struct gmi_doc *doc, enum gmi_type type, const char *text, size_t n)
{
	struct gmi_line *l;

	if ((l = gmi_push(doc)) == NULL)
		return -1;
	if ((l->text = line_text(text ? text : "", text ? n : 0)) == NULL) {
		doc->failed = true;
		return -1;
	}
	l->type = type;
	doc->len++;
	return 0;
}

int
gmi_add_link(struct gmi_doc *doc, const char *url, const char *label)
{
	struct gmi_line *l;

	if ((l = gmi_push(doc)) == NULL)
		return -1;
	l->text = line_text(label ? label : "", label ? strlen(label) : 0);
	l->url = line_text(url, strlen(url));
	if (l->text == NULL || l->url == NULL) {
		free(l->text);
		free(l->url);
		doc->failed = true;
		return -1;
	}
	l->type = GMI_LINK;
	doc->len++;
	return 0;
}

/* Add the line of type t made in b; a failed b fails doc. */
int
gmi_add_buf(struct gmi_doc *doc, enum gmi_type t, const struct buf *b)
{
	if (buf_status(b) == -1)
		gmi_fail(doc);
	return gmi_add(doc, t, b->data, b->len);
}

/* Add a line of type t, printf-style. */
int
gmi_printf(struct gmi_doc *doc, enum gmi_type t, const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	gmi_add_buf(doc, t, &b);
	buf_free(&b);
	return gmi_status(doc);
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static bool
starts(const char *p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

static int
parse_link(struct gmi_doc *doc, const char *p, const char *end)
{
	const char	*u, *ue, *label;
	char		*url;

	u = skip_ws(p + 2, end);
	for (ue = u; ue < end && *ue != ' ' && *ue != '\t'; ue++)
		;
	if (ue == u)	/* "=>" with no URL reads as text */
		return gmi_add(doc, GMI_TEXT, p, (size_t)(end - p));
	label = skip_ws(ue, end);
	while (end > label && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((url = line_text(u, (size_t)(ue - u))) == NULL) {
		doc->failed = true;
		return -1;
	}
	if (url[0] == '\0') {	/* NUL bytes only, dropped: no URL after all */
		free(url);
		return gmi_add(doc, GMI_TEXT, p, (size_t)(end - p));
	}
	if (gmi_add(doc, GMI_LINK, label, (size_t)(end - label)) == -1) {
		free(url);
		return -1;
	}
	doc->lines[doc->len - 1].url = url;
	return 0;
}

/* One line outside a preformatted block. */
static int
parse_line(struct gmi_doc *doc, const char *p, const char *end)
{
	const char	*t;
	enum gmi_type	 type;
	int		 level;

	if (starts(p, end, "=>"))
		return parse_link(doc, p, end);
	if (starts(p, end, "```"))
		return gmi_add(doc, GMI_PRE_START, p + 3, (size_t)(end - p - 3));
	if (*p == '#') {
		for (level = 0; level < 3 && p + level < end && p[level] == '#';
		    level++)
			;
		type = level == 1 ? GMI_H1 : level == 2 ? GMI_H2 : GMI_H3;
		t = skip_ws(p + level, end);
		return gmi_add(doc, type, t, (size_t)(end - t));
	}
	if (starts(p, end, "* ")) {
		t = skip_ws(p + 2, end);
		return gmi_add(doc, GMI_ITEM, t, (size_t)(end - t));
	}
	if (*p == '>') {
		t = skip_ws(p + 1, end);
		return gmi_add(doc, GMI_QUOTE, t, (size_t)(end - t));
	}
	return gmi_add(doc, GMI_TEXT, p, (size_t)(end - p));
}

/* Parse n bytes of gemtext into doc (appending). Returns -1 on no memory. */
int
gmi_parse(struct gmi_doc *doc, const char *src, size_t n)
{
	const char	*p = src, *end = src + n, *nl, *le;
	bool		 pre = false;

	while (p < end && gmi_status(doc) == 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		le = nl;
		if (le > p && le[-1] == '\r')
			le--;
		if (pre) {
			if (starts(p, le, "```")) {
				gmi_add(doc, GMI_PRE_END, "", 0);
				pre = false;
			} else
				gmi_add(doc, GMI_PRE, p, (size_t)(le - p));
		} else if (p == le)
			gmi_add(doc, GMI_TEXT, "", 0);
		else if (parse_line(doc, p, le) == 0 &&
		    doc->lines[doc->len - 1].type == GMI_PRE_START)
			pre = true;
		p = nl < end ? nl + 1 : end;
	}
	if (pre)
		gmi_add(doc, GMI_PRE_END, "", 0);
	return gmi_status(doc);
}

/*
 * Would this text, written at the start of a line, read as another type?
 * "*" then CR or LF counts: put_text() writes those as the space.
 */
static bool
reads_as_markup(const char *s)
{
	return strncmp(s, "=>", 2) == 0 || s[0] == '#' ||
	    (s[0] == '*' && (s[1] == ' ' || s[1] == '\r' || s[1] == '\n')) ||
	    s[0] == '>' || strncmp(s, "```", 3) == 0;
}

/* Text on one line: line breaks become spaces so no line can be forged. */
static void
put_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		buf_putc(b, (*s == '\n' || *s == '\r') ? ' ' : *s);
}

/* A link target cannot hold white space or control bytes: encode them. */
static void
put_url(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7F)
			buf_printf(b, "%%%02X", c);
		else
			buf_putc(b, c);
	}
}

int
gmi_write(const struct gmi_doc *doc, struct buf *b)
{
	static const char *const prefix[] = {
		[GMI_TEXT] = "", [GMI_LINK] = "=> ", [GMI_H1] = "# ",
		[GMI_H2] = "## ", [GMI_H3] = "### ", [GMI_ITEM] = "* ",
		[GMI_QUOTE] = "> ", [GMI_PRE_START] = "```", [GMI_PRE] = "",
		[GMI_PRE_END] = "```",
	};
	const struct gmi_line	*l;
	size_t			 i;

	if (gmi_status(doc) == -1)	/* a page with lines missing */
		buf_fail(b);
	for (i = 0; i < doc->len && buf_status(b) == 0; i++) {
		l = &doc->lines[i];
		buf_puts(b, prefix[l->type]);
		switch (l->type) {
		case GMI_LINK:
			put_url(b, l->url);
			if (l->text[0] != '\0') {
				buf_putc(b, ' ');
				put_text(b, l->text);
			}
			break;
		case GMI_TEXT:
		case GMI_PRE:
			if (reads_as_markup(l->text) && (l->type == GMI_TEXT ||
			    strncmp(l->text, "```", 3) == 0))
				buf_putc(b, ' ');
			put_text(b, l->text);
			break;
		case GMI_PRE_END:
			break;
		default:
			put_text(b, l->text);
			break;
		}
		buf_putc(b, '\n');
	}
	return buf_status(b);
}

/* The endings of a gemtext file's name, as lumbar serves them. */
const char *const gemtext_suffixes[] = { ".gmi", ".gemini", NULL };

/* Is name (a file name or a path) a gemtext page's? */
bool
gemtext_name(const char *name)
{
	const char *const *s;

	for (s = gemtext_suffixes; *s != NULL; s++)
		if (path_ends_with(name, *s))
			return true;
	return false;
}

/* Is mime gemtext, whatever its parameters ("; charset=utf-8")?  Types
 * are case-insensitive (RFC 2045, 5.1). */
bool
gemtext_mime(const char *mime)
{
	size_t n = strlen("text/gemini");

	return strncasecmp(mime, "text/gemini", n) == 0 &&
	    (mime[n] == '\0' || mime[n] == ';' || mime[n] == ' ');
}

/* The page's title: its first level-1 heading, else its first heading. */
const char *
gmi_title(const struct gmi_doc *doc)
{
	const char	*any = NULL;
	size_t		 i;

	for (i = 0; i < doc->len; i++) {
		if (doc->lines[i].type == GMI_H1)
			return doc->lines[i].text;
		if (any == NULL && (doc->lines[i].type == GMI_H2 ||
		    doc->lines[i].type == GMI_H3))
			any = doc->lines[i].text;
	}
	return any;
}
