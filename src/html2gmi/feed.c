/*
 * feed.c: the Atom feed (RFC 4287) of the article index: the same
 * entries in the same order (newest first), their links and ids gemini://
 * URLs under the capsule's address (--feed-url, or "feed-url" in the
 * profile).  Dates are days, so every time is midnight UTC; the feed's
 * own "updated" is its newest entry's, so that converting the same site
 * twice writes the same bytes.
 */
#include <stdio.h>
#include <string.h>

#include "html2gmi.h"

#define FEED_SCHEME	"gemini://"
#define FEED_EPOCH	"1970-01-01"	/* "updated" of a feed without entries */

/* Is d a real day written YYYY-MM-DD, as xsd:dateTime will want it? */
bool
feed_date_ok(const char *d)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };
	int y, m, dd;

	if (d == NULL || strlen(d) != 10 || d[4] != '-' || d[7] != '-' ||
	    strspn(d, "0123456789") != 4 || strspn(d + 5, "0123456789") != 2 ||
	    strspn(d + 8, "0123456789") != 2)
		return false;
	y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 +
	    (d[3] - '0');
	m = (d[5] - '0') * 10 + (d[6] - '0');
	dd = (d[8] - '0') * 10 + (d[9] - '0');
	if (y < 1 || m < 1 || m > 12 || dd < 1 || dd > days[m - 1])
		return false;
	return m != 2 || dd < 29 || (y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0));
}

/*
 * Is url an address to put feed paths under: gemini://, a host, no
 * query, fragment, space or control character?  *why says what is wrong.
 */
int
feed_check_url(const char *url, const char **why)
{
	size_t n = strlen(FEED_SCHEME), i;

	if (strncmp(url, FEED_SCHEME, n) != 0 || url[n] == '\0' ||
	    url[n] == '/') {
		*why = "wants the capsule's gemini:// address, such as "
		    "gemini://example.org/";
		return -1;
	}
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7F ||
		    url[i] == '?' || url[i] == '#') {
			*why = "wants an address without spaces, query or "
			    "fragment";
			return -1;
		}
	return utf8_valid(url, i) ? 0 : (*why = "is not UTF-8", -1);
}

/*
 * s as XML character data or attribute value: markup characters escaped,
 * what XML 1.0 cannot hold at all (most C0 controls, U+FFFE, U+FFFF,
 * invalid UTF-8) replaced by U+FFFD.
 */
static int
put_xml(struct buf *b, const char *s)
{
	static const char	 repl[] = "\xEF\xBF\xBD";
	size_t			 n = strlen(s);
	uint32_t		 cp;
	int			 k, r;

	while (n > 0) {
		k = utf8_decode(s, n, &cp);
		if (k < 1)
			k = 1;
		switch (cp) {
		case '&':  r = buf_puts(b, "&amp;");  break;
		case '<':  r = buf_puts(b, "&lt;");   break;
		case '>':  r = buf_puts(b, "&gt;");   break;
		case '"':  r = buf_puts(b, "&quot;"); break;
		default:
			if ((cp < 0x20 && cp != '\t' && cp != '\n' &&
			    cp != '\r') || cp == 0xFFFE || cp == 0xFFFF)
				r = buf_append(b, repl, 3);
			else
				r = buf_append(b, s, (size_t)k);
			break;
		}
		if (r == -1)
			return -1;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The absolute URL of capsule path under base, XML-escaped. */
static int
put_url(struct buf *b, const char *base, const char *path)
{
	struct buf	u;
	int		r;

	buf_init(&u);
	while (*path == '/')
		path++;
	r = buf_puts(&u, base) == -1 ||
	    (u.len > 0 && u.data[u.len - 1] != '/' && buf_putc(&u, '/') == -1) ||
	    url_encode_path(&u, path) == -1 || buf_reserve(&u, 0) == -1 ||
	    put_xml(b, u.data) == -1 ? -1 : 0;
	buf_free(&u);
	return r;
}

/* <tag>text</tag> on a line of its own, at indent. */
static int
element(struct buf *b, const char *indent, const char *tag, const char *text)
{
	return buf_printf(b, "%s<%s>", indent, tag) == -1 ||
	    put_xml(b, text) == -1 ||
	    buf_printf(b, "</%s>\n", tag) == -1 ? -1 : 0;
}

/* <link rel="rel" type="type" href="URL"/>. */
static int
link_element(struct buf *b, const char *indent, const char *rel,
    const char *type, const char *base, const char *path)
{
	return buf_printf(b, "%s<link rel=\"%s\" type=\"%s\" href=\"", indent,
	    rel, type) == -1 || put_url(b, base, path) == -1 ||
	    buf_puts(b, "\"/>\n") == -1 ? -1 : 0;
}

static int
entry(struct buf *b, const struct feed *f, const struct feed_entry *e)
{
	if (buf_puts(b, "  <entry>\n    <id>") == -1 ||
	    put_url(b, f->base, e->path) == -1 ||
	    buf_puts(b, "</id>\n") == -1 ||
	    element(b, "    ", "title", e->title) == -1 ||
	    buf_printf(b, "    <updated>%sT00:00:00Z</updated>\n", e->date) ==
	    -1 ||
	    link_element(b, "    ", "alternate", "text/gemini", f->base,
	    e->path) == -1 ||
	    (e->summary != NULL && e->summary[0] != '\0' &&
	    element(b, "    ", "summary", e->summary) == -1))
		return -1;
	return buf_puts(b, "  </entry>\n");
}

/* The whole feed into out; every entry's date must pass feed_date_ok. */
int
feed_write(const struct feed *f, struct buf *out)
{
	const char	*updated = FEED_EPOCH;
	size_t		 i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].date, updated) > 0)
			updated = f->v[i].date;
	if (buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>") == -1 ||
	    put_url(out, f->base, f->index) == -1 ||
	    buf_puts(out, "</id>\n") == -1 ||
	    element(out, "  ", "title", f->title) == -1 ||
	    buf_printf(out, "  <updated>%sT00:00:00Z</updated>\n", updated) ==
	    -1 ||
	    buf_puts(out, "  <author>\n") == -1 ||
	    element(out, "    ", "name", f->author) == -1 ||
	    buf_puts(out, "  </author>\n") == -1 ||
	    link_element(out, "  ", "self", "application/atom+xml", f->base,
	    f->self) == -1 ||
	    link_element(out, "  ", "alternate", "text/gemini", f->base,
	    f->index) == -1 ||
	    buf_printf(out, "  <generator version=\"%s\">html2gmi</generator>\n",
	    H2G_VERSION) == -1)
		return -1;
	for (i = 0; i < f->n; i++)
		if (entry(out, f, &f->v[i]) == -1)
			return -1;
	return buf_puts(out, "</feed>\n");
}
