/*
 * feed.c: the article index's entries, for site mode and gemlog mode
 * alike: their order (newest first), their lines in the index page
 * ("=> path YYYY-MM-DD Title", the Gemini subscription convention) and
 * the Atom feed (RFC 4287) of the same entries in the same order, their
 * links and ids gemini:// URLs under the capsule's address (--feed-url,
 * or "feed-url" in the profile).  Dates are days, so every time is
 * midnight UTC; the feed's own "updated" is its newest entry's, so that
 * converting the same site twice writes the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Newest first, as the Gemini subscription convention asks; then title. */
static int
cmp_newest(const void *a, const void *b)
{
	const struct feed_entry *x = a, *y = b;
	int r = strcmp(y->date ? y->date : "", x->date ? x->date : "");

	if (r == 0)
		r = strcasecmp(x->title, y->title);
	return r ? r : strcmp(x->path, y->path);
}

void
feed_sort(struct feed_entry *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_newest);
}

/*
 * The entries, in their order, as the index page's lines into doc: each
 * "=> path YYYY-MM-DD Title", path relative to the index at capsule path
 * from.  With summaries (site mode), each entry follows a blank line and
 * is followed by its summary; without (gemlog mode, where the lines sit
 * among the author's), they are one run of link lines.
 */
int
feed_index(struct gmi_doc *doc, const char *from, const struct feed_entry *v,
    size_t n, bool summaries)
{
	struct buf	 label, url;
	size_t		 i;

	buf_init(&label);
	buf_init(&url);
	for (i = 0; i < n && gmi_status(doc) == 0; i++) {
		buf_reset(&label);
		if (v[i].date != NULL)
			buf_printf(&label, "%s ", v[i].date);
		buf_puts(&label, v[i].title);
		/* Before the link: a failed buffer may hold no string. */
		if (buf_status(&label) == -1 ||
		    link_relative(from, v[i].path, &url) == -1)
			gmi_fail(doc);
		if (summaries)
			gmi_add(doc, GMI_TEXT, "", 0);
		gmi_add_link(doc, url.data, label.data);
		if (summaries && v[i].summary != NULL)
			gmi_add(doc, GMI_TEXT, v[i].summary,
			    strlen(v[i].summary));
	}
	buf_free(&label);
	buf_free(&url);
	return gmi_status(doc);
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
 * The Atom writers below write on without checking each write: out stays
 * failed once a write fails (buf.c), and feed_write checks it once.
 */

/*
 * s as XML character data or attribute value: markup characters escaped,
 * what XML 1.0 cannot hold at all (most C0 controls, U+FFFE, U+FFFF,
 * invalid UTF-8) replaced by U+FFFD.
 */
static void
put_xml(struct buf *b, const char *s)
{
	static const char	 repl[] = "\xEF\xBF\xBD";
	size_t			 n = strlen(s);
	uint32_t		 cp;
	int			 k;

	while (n > 0) {
		k = utf8_next(s, n, &cp);
		switch (cp) {
		case '&':  buf_puts(b, "&amp;");  break;
		case '<':  buf_puts(b, "&lt;");   break;
		case '>':  buf_puts(b, "&gt;");   break;
		case '"':  buf_puts(b, "&quot;"); break;
		default:
			if ((cp < 0x20 && cp != '\t' && cp != '\n' &&
			    cp != '\r') || cp == 0xFFFE || cp == 0xFFFF ||
			    cp == UTF8_REPLACEMENT)
				buf_append(b, repl, 3);
			else
				buf_append(b, s, (size_t)k);
			break;
		}
		s += k;
		n -= (size_t)k;
	}
}

/* The absolute URL of capsule path under base, XML-escaped. */
static void
put_url(struct buf *b, const char *base, const char *path)
{
	struct buf	u;

	buf_init(&u);
	while (*path == '/')
		path++;
	buf_puts(&u, base);
	if (u.len > 0 && u.data[u.len - 1] != '/')
		buf_putc(&u, '/');
	url_encode_path(&u, path);
	if (buf_reserve(&u, 0) == -1)
		buf_fail(b);
	else
		put_xml(b, u.data);
	buf_free(&u);
}

/* <tag>text</tag> on a line of its own, at indent. */
static void
element(struct buf *b, const char *indent, const char *tag, const char *text)
{
	buf_printf(b, "%s<%s>", indent, tag);
	put_xml(b, text);
	buf_printf(b, "</%s>\n", tag);
}

/* <link rel="rel" type="type" href="URL"/>. */
static void
link_element(struct buf *b, const char *indent, const char *rel,
    const char *type, const char *base, const char *path)
{
	buf_printf(b, "%s<link rel=\"%s\" type=\"%s\" href=\"", indent, rel,
	    type);
	put_url(b, base, path);
	buf_puts(b, "\"/>\n");
}

static void
entry(struct buf *b, const struct feed *f, const struct feed_entry *e)
{
	/* An entry without a date (site mode's mtime_date can fail). */
	const char *date = e->date ? e->date : FEED_EPOCH;

	buf_puts(b, "  <entry>\n    <id>");
	put_url(b, f->base, e->path);
	buf_puts(b, "</id>\n");
	element(b, "    ", "title", e->title);
	buf_printf(b, "    <updated>%sT00:00:00Z</updated>\n", date);
	link_element(b, "    ", "alternate", "text/gemini", f->base, e->path);
	if (e->summary != NULL && e->summary[0] != '\0')
		element(b, "    ", "summary", e->summary);
	buf_puts(b, "  </entry>\n");
}

/* The whole feed into out; every entry's date passes feed_date_ok or is
 * NULL (the epoch).  -1 when out of memory. */
int
feed_write(const struct feed *f, struct buf *out)
{
	const char	*updated = FEED_EPOCH;
	size_t		 i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].date != NULL && strcmp(f->v[i].date, updated) > 0)
			updated = f->v[i].date;
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>");
	put_url(out, f->base, f->index);
	buf_puts(out, "</id>\n");
	element(out, "  ", "title", f->title);
	buf_printf(out, "  <updated>%sT00:00:00Z</updated>\n", updated);
	buf_puts(out, "  <author>\n");
	element(out, "    ", "name", f->author);
	buf_puts(out, "  </author>\n");
	link_element(out, "  ", "self", "application/atom+xml", f->base,
	    f->self);
	link_element(out, "  ", "alternate", "text/gemini", f->base, f->index);
	buf_printf(out, "  <generator version=\"%s\">html2gmi</generator>\n",
	    H2G_VERSION);
	for (i = 0; i < f->n; i++)
		entry(out, f, &f->v[i]);
	buf_puts(out, "</feed>\n");
	return buf_status(out);
}
