/*
 * render_gopher.c: turn the gemtext line model into a Gopher menu (type 1)
 * or plain text (type 0).  The Gopher wire format's lines (item lines,
 * info lines, error items and their Gopher+ form, the URL: convention) are
 * written here, so that gopher.c decides what to answer and this file how
 * it looks; gopher.c keeps only Gopher+ framing and caps.txt, its own.
 * Pure functions: what they know of the server (its host and port for
 * menus, the width, its Gemini address) comes in the page's gopher_site,
 * and a link target's MIME type through a callback, so the golden tests
 * need neither configuration nor capsule.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lumbar.h"

/*
 * Info lines carry no real selector; "null.host" port 1 is the convention
 * Gophernicus and most servers use, and Lagrange, lynx and bombadillo all
 * draw such lines as plain text.  They still need all four fields:
 * Lagrange drops a menu line without tabs.
 */
#define INFO_TAIL	"\t\tnull.host\t1\r\n"
#define ERROR_TAIL	"\t\terror.host\t1\r\n"
#define TAB_STOP	8
#define WRAP_MIN	10

/* Where the output of one rendering goes, and what was last written. */
struct out {
	struct buf	*b;
	bool		 menu;		/* i lines, else plain CRLF lines */
	size_t		 width;		/* columns of wrapped text */
	bool		 started;	/* a line was written */
	bool		 blank;		/* the last line written was empty */
	int		 err;
};

/* What a gemtext link points at, seen from Gopher. */
struct target {
	char		 type;		/* Gopher item type; 0: not linkable */
	struct buf	 sel;		/* selector */
	const char	*host;
	int		 port;
	char		 hostbuf[HOSTNAME_MAX + 1];
	struct buf	 url;		/* absolute URL, for h items and notes */
};

/* The site's width, kept to one a line can be cut to. */
static size_t
wrap_width(const struct gopher_site *site)
{
	int w = site->wrap > 0 ? site->wrap : WRAP_DEFAULT;

	return (size_t)(w < WRAP_MIN ? WRAP_MIN : w);
}

static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/*
 * Copy n bytes of s into b such that it can stand in a menu field and on a
 * terminal: TAB, CR and LF would split fields or lines, so they become
 * spaces; other control characters (escape sequences) become U+FFFD.
 */
static int
put_clean(struct buf *b, const char *s, size_t n)
{
	static const char	 repl[] = "\xEF\xBF\xBD";
	uint32_t		 cp;
	int			 k;

	while (n > 0) {
		if ((k = utf8_decode(s, n, &cp)) < 1) {
			buf_append(b, repl, 3);
			k = 1;
		} else if (cp == '\t' || cp == '\r' || cp == '\n')
			buf_putc(b, ' ');
		else if (is_control(cp))
			buf_append(b, repl, 3);
		else
			buf_append(b, s, (size_t)k);
		s += k;
		n -= (size_t)k;
	}
	return buf_status(b);
}

/* One output line of n bytes, already clean and within the width. */
static void
emit(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->menu)
		buf_putc(o->b, 'i');
	buf_append(o->b, s, n);
	buf_puts(o->b, o->menu ? INFO_TAIL : "\r\n");
	o->err = buf_status(o->b);
	o->started = true;
	o->blank = n == 0;
}

/* A blank line to set a block apart, unless one is already there. */
static void
separate(struct out *o)
{
	if (o->started && !o->blank)
		emit(o, "", 0);
}

/*
 * Word-wrap state: the line being filled, its columns, and the columns
 * of its prefix (a word is cut only past it).
 */
struct wrapping {
	struct out	*o;
	struct buf	 line;
	const char	*cont;
	size_t		 col, lead, *maxw;
};

/* The line is full: emit it and start the next with the hanging indent. */
static void
break_line(struct wrapping *wr)
{
	if (wr->maxw != NULL && wr->col > *wr->maxw)
		*wr->maxw = wr->col;
	if (buf_status(&wr->line) == -1)	/* before the reset clears it */
		wr->o->err = -1;
	emit(wr->o, wr->line.data, wr->line.len);
	buf_reset(&wr->line);
	buf_puts(&wr->line, wr->cont);
	wr->lead = wr->col = utf8_columns(wr->cont, strlen(wr->cont));
}

/* A word too long for any line (w to end): cut it character by character. */
static void
cut_word(struct wrapping *wr, const char *w, const char *end)
{
	uint32_t	 cp;
	size_t		 ww;
	int		 k;

	while (w < end) {
		k = utf8_next(w, (size_t)(end - w), &cp);
		ww = (size_t)utf8_width(cp);
		if (wr->col + ww > wr->o->width && wr->col > wr->lead)
			break_line(wr);
		buf_append(&wr->line, w, (size_t)k);
		wr->col += ww;
		w += k;
	}
}

/*
 * Word-wrap text (clean: no TAB, CR, LF or control characters) to the
 * wrap width.  The first line starts with first, the others with cont (a
 * hanging indent).  Runs of spaces collapse, as in any reflowed text; a
 * word longer than a line is cut on a character boundary, never inside a
 * UTF-8 sequence and never before a zero-width mark.  *maxw gets the
 * widest line, for heading underlines.  The line's buffer is checked at
 * each break and at the end: a failed write leaves it failed (buf.c).
 */
static void
wrap(struct out *o, const char *text, const char *first, const char *cont,
    size_t *maxw)
{
	struct wrapping	 wr = { .o = o, .cont = cont, .maxw = maxw };
	const char	*p = text, *w;
	size_t		 ww;
	bool		 words = false;

	buf_init(&wr.line);
	if (maxw != NULL)
		*maxw = 0;
	buf_puts(&wr.line, first);
	wr.lead = wr.col = utf8_columns(first, strlen(first));
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && *p != ' '; p++)
			;
		ww = utf8_columns(w, (size_t)(p - w));
		if (words && wr.col + 1 + ww > o->width) {
			break_line(&wr);
			words = false;
		}
		if (words) {
			buf_putc(&wr.line, ' ');
			wr.col++;
		}
		words = true;
		if (wr.col + ww <= o->width) {
			buf_append(&wr.line, w, (size_t)(p - w));
			wr.col += ww;
		} else
			cut_word(&wr, w, p);
	}
	if (words || wr.line.len > 0) {
		if (maxw != NULL && wr.col > *maxw)
			*maxw = wr.col;
		/* An empty text line is a blank line, not a lone prefix. */
		emit(o, wr.line.data, words ? wr.line.len : 0);
	}
	if (buf_status(&wr.line) == -1)
		o->err = -1;
	buf_free(&wr.line);
}

/* Clean text, then wrap it. */
static void
wrap_clean(struct out *o, const char *text, const char *first,
    const char *cont, size_t *maxw)
{
	struct buf b;

	buf_init(&b);
	put_clean(&b, text, strlen(text));
	if (buf_reserve(&b, 0) == -1) {	/* a string even when empty */
		o->err = -1;
		buf_free(&b);
		return;
	}
	wrap(o, b.data, first, cont, maxw);
	buf_free(&b);
}

/*
 * A preformatted line, verbatim: never wrapped (it is ASCII art or code),
 * tabs expanded to the next multiple of eight columns.
 */
static void
preformatted(struct out *o, const char *s)
{
	struct buf	 b;
	size_t		 n = strlen(s), col = 0, start;
	uint32_t	 cp;
	int		 k;

	buf_init(&b);
	while (n > 0 && !o->err) {
		k = utf8_next(s, n, &cp);
		if (cp == '\t') {
			start = col;
			do {
				if (buf_putc(&b, ' ') == -1)
					o->err = -1;
				col++;
			} while (col % TAB_STOP != 0 && col - start < TAB_STOP);
		} else {
			if (put_clean(&b, s, (size_t)k) == -1)
				o->err = -1;
			col += is_control(cp) ? 1 : (size_t)utf8_width(cp);
		}
		s += k;
		n -= (size_t)k;
	}
	if (!o->err)
		emit(o, b.data ? b.data : "", b.len);
	buf_free(&b);
}

/* Headings: set apart by a blank line and underlined, setext style. */
static void
heading(struct out *o, const struct gmi_line *l)
{
	static const char	 under[] = { [GMI_H1] = '=', [GMI_H2] = '-',
				    [GMI_H3] = '~' };
	struct buf		 u;
	size_t			 w, i;

	separate(o);
	wrap_clean(o, l->text, "", "", &w);
	if (w == 0)
		return;
	buf_init(&u);
	for (i = 0; i < w && !o->err; i++)
		if (buf_putc(&u, under[l->type]) == -1)
			o->err = -1;
	if (!o->err)
		emit(o, u.data, u.len);
	buf_free(&u);
}

/* Is mime (parameters after ';' ignored) exactly type? */
static bool
mime_is(const char *mime, const char *type)
{
	size_t n = strlen(type);

	return strncasecmp(mime, type, n) == 0 &&
	    (mime[n] == '\0' || mime[n] == ';' || mime[n] == ' ');
}

/*
 * Gopher item type for a MIME type as capsule_mime() gives it ("directory"
 * for a directory), the way clients expect files typed.
 */
static char
gopher_type_for_mime(const char *mime)
{
	if (gemtext_mime(mime) || mime_is(mime, "directory") ||
	    mime_is(mime, "inode/directory"))
		return '1';
	if (mime_is(mime, "text/html"))
		return 'h';
	if (strncasecmp(mime, "text/", 5) == 0)
		return '0';
	if (mime_is(mime, "image/gif"))
		return 'g';
	if (strncasecmp(mime, "image/", 6) == 0)
		return 'I';
	return '9';
}

/* The item type of a path inside the capsule. */
static char
local_type(const struct gopher_page *pg, struct buf *sel)
{
	char mime[MIME_MAX];

	/* As gopher_handle() does: capsule_lookup() refuses "//". */
	url_squeeze_slashes(sel->data);
	sel->len = strlen(sel->data);
	if (strcmp(sel->data, SEARCH_PATH) == 0)	/* gopher.c's search */
		return '7';
	if (sel->len > 0 && sel->data[sel->len - 1] == '/')
		return '1';
	if (pg->mime != NULL && pg->mime(pg->mime_arg, sel->data, mime,
	    sizeof(mime)) == 0) {
		/*
		 * A directory named without its slash: Gopher cannot redirect,
		 * so the item gets the slash, unless that would make it too
		 * long (gopher.c serves the directory without it too).
		 */
		if ((mime_is(mime, "directory") ||
		    mime_is(mime, "inode/directory")) &&
		    sel->len < GOPHER_SELECTOR_MAX && buf_putc(sel, '/') == -1)
			return 0;
		return gopher_type_for_mime(mime);
	}
	/* Not there (a broken link): guess from the name. */
	if (gemtext_name(sel->data))
		return '1';
	if (path_ends_with(sel->data, ".txt"))
		return '0';
	return '9';
}

/* Would these bytes break a menu field, or our own request checks? */
static bool
field_safe(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			return false;
	return utf8_valid(s, n);
}

/* The absolute gemini:// URL of a path on this capsule. */
static int
own_gemini_url(struct buf *b, const struct gopher_site *site,
    const char *path, size_t n)
{
	if (buf_printf(b, "gemini://%s", site->gemini_host) == -1)
		return -1;
	if (site->gemini_port > 0 && site->gemini_port != GEMINI_DEFAULT_PORT &&
	    buf_printf(b, ":%d", site->gemini_port) == -1)
		return -1;
	return buf_append(b, path, n);
}

/* An h item: the URL: selector convention. Type 0 if it cannot be one. */
static int
url_item(struct target *t)
{
	t->type = 'h';
	if (!field_safe(t->url.data, t->url.len)) {
		t->type = 0;	/* cannot be written as a selector */
		return buf_reserve(&t->url, 0);
	}
	buf_puts(&t->sel, "URL:");
	buf_append(&t->sel, t->url.data, t->url.len);
	return buf_status(&t->sel);
}

/*
 * gopher://host[:port]/Tselector (RFC 4266) into an item of its own.
 * False when the URL does not fit in a menu line (a search string after
 * %09, control bytes): it then stays an h item.
 */
static bool
gopher_url(struct target *t, const char *url)
{
	struct url	 u;
	const char	*err;
	char		 q[GEMINI_URL_MAX + 1];
	size_t		 plen, qlen;

	if (url_parse(url, strlen(url), &u, &err) == -1)
		return false;
	plen = strlen(u.path);
	if (plen <= 1) {
		t->type = '1';
		buf_reset(&t->sel);
	} else {
		t->type = u.path[1];
		buf_reset(&t->sel);
		if (buf_append(&t->sel, u.path + 2, plen - 2) == -1)
			goto fail;
	}
	/* '?' has no meaning in a Gopher selector: it is part of it. */
	if (u.has_query) {
		if (url_decode(u.query, strlen(u.query), q, sizeof(q), &qlen) ==
		    -1 || buf_putc(&t->sel, '?') == -1 ||
		    buf_append(&t->sel, q, qlen) == -1)
			goto fail;
	}
	/*
	 * 'i' and '3' are not things to fetch: a URL naming them would show
	 * as bare text (or an error) instead of a link, so it stays a URL.
	 */
	if (buf_reserve(&t->sel, 0) == -1 ||
	    !field_safe(t->sel.data, t->sel.len) || (unsigned char)t->type <
	    0x21 || (unsigned char)t->type > 0x7E || t->type == 'i' ||
	    t->type == '3')
		goto fail;
	memcpy(t->hostbuf, u.host, sizeof(t->hostbuf));
	t->host = t->hostbuf;
	t->port = u.port > 0 ? u.port : GOPHER_DEFAULT_PORT;
	return true;
fail:
	buf_reset(&t->sel);
	return false;
}

/*
 * Resolve a link of the page into a Gopher item.  Capsule paths become
 * selectors on this server; gopher:// URLs keep their own host, type and
 * selector; everything else, gemini:// included, is an h item with the
 * URL: selector convention, which clients open themselves or fetch from
 * us as a redirect page.
 */
static int
resolve(struct target *t, const struct gopher_page *pg, const char *ref)
{
	struct buf	 merged;
	size_t		 n = strcspn(ref, "#"), q = strcspn(ref, "?#"), dl;
	const char	*err;
	char		*dec;
	bool		 local = false;

	t->type = 'h';
	t->host = pg->site->host;
	t->port = pg->site->port;
	buf_reset(&t->sel);
	buf_reset(&t->url);

	if (url_has_scheme(ref)) {
		if (buf_puts(&t->url, ref) == -1)
			return -1;
		if (strncasecmp(ref, "gopher:", 7) == 0 && gopher_url(t, ref))
			return 0;
		return url_item(t);
	}
	if (strncmp(ref, "//", 2) == 0) {	/* network-path reference */
		if (buf_puts(&t->url, "gemini:") == -1 ||
		    buf_append(&t->url, ref, n) == -1)
			return -1;
		return url_item(t);
	}

	buf_init(&merged);
	if (url_merge_path(&merged, pg->path, ref, q) == -1 ||
	    buf_reserve(&merged, 0) == -1 ||
	    (dec = malloc(merged.len + 1)) == NULL) {
		buf_free(&merged);
		return -1;
	}
	if (q == n && url_decode(merged.data, merged.len, dec, merged.len + 1,
	    &dl) == 0 && field_safe(dec, dl) && path_check(dec, &err) == 0 &&
	    dl <= GOPHER_SELECTOR_MAX) {
		local = true;
		if (buf_append(&t->sel, dec, dl) == -1 ||
		    (t->type = local_type(pg, &t->sel)) == 0)
			goto fail;
	} else {
		/*
		 * A query only Gemini can answer, or a path no selector of ours
		 * can hold: link to the page on Gemini.
		 */
		if (own_gemini_url(&t->url, pg->site, merged.data, merged.len)
		    == -1 ||
		    buf_append(&t->url, ref + q, n - q) == -1)
			goto fail;
	}
	free(dec);
	buf_free(&merged);
	if (!local)
		return url_item(t);
	/* Plain text references name the item by its gopher:// URL. */
	buf_printf(&t->url, "gopher://%s", t->host);
	if (t->port != GOPHER_DEFAULT_PORT)
		buf_printf(&t->url, ":%d", t->port);
	buf_printf(&t->url, "/%c", t->type);
	url_encode_path(&t->url, t->sel.data);
	buf_reserve(&t->sel, 0);
	return buf_status(&t->url) == -1 ? -1 : buf_status(&t->sel);
fail:
	free(dec);
	buf_free(&merged);
	return -1;
}

/* One menu item line: type, display string, selector, host, port. */
int
gopher_item(struct buf *b, char type, const char *display,
    const char *sel, const char *host, int port)
{
	buf_putc(b, type);
	put_clean(b, display, strlen(display));
	buf_putc(b, '\t');
	put_clean(b, sel, strlen(sel));
	buf_putc(b, '\t');
	put_clean(b, host, strlen(host));
	buf_printf(b, "\t%d\r\n", port);
	return buf_status(b);
}

/* The whole answer for a refused request: one error item, then the end. */
int
gopher_error(struct buf *b, const char *msg)
{
	buf_putc(b, '3');
	put_clean(b, msg, strlen(msg));
	buf_puts(b, ERROR_TAIL);
	gopher_menu_end(b);
	return buf_status(b);
}

/* The same refusal after a Gopher+ request: "--1", then the error code
 * (1: not available, 2: try again later) and msg on one line, then ".". */
int
gopher_plus_error(struct buf *b, int code, const char *msg)
{
	buf_printf(b, "--1\r\n%d ", code);
	put_clean(b, msg, strlen(msg));
	buf_puts(b, "\r\n");
	return gopher_menu_end(b);
}

int
gopher_menu_end(struct buf *b)
{
	return buf_puts(b, ".\r\n");
}

static void
link_item(struct out *o, const struct gopher_page *pg, const struct gmi_line *l,
    struct target *t)
{
	const char *label = l->text[0] != '\0' ? l->text : l->url;

	if (resolve(t, pg, l->url) == -1) {
		o->err = -1;
		return;
	}
	if (t->type == 0) {	/* unusable URL: keep the words, drop the link */
		wrap_clean(o, label, "", "  ", NULL);
		return;
	}
	if (gopher_item(o->b, t->type, label, t->sel.data, t->host,
	    t->port) == -1)
		o->err = -1;
	o->started = true;
	o->blank = false;
}

static void
target_init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->sel);
	buf_init(&t->url);
}

static void
target_free(struct target *t)
{
	buf_free(&t->sel);
	buf_free(&t->url);
}

/* The line kinds both renderings share. */
static void
common_line(struct out *o, const struct gmi_line *l)
{
	switch (l->type) {
	case GMI_TEXT:
		/* A blank line parts paragraphs: keep one, never a run. */
		if (l->text[0] == '\0')
			separate(o);
		else
			wrap_clean(o, l->text, "", "", NULL);
		break;
	case GMI_H1:
	case GMI_H2:
	case GMI_H3:
		heading(o, l);
		break;
	case GMI_ITEM:
		wrap_clean(o, l->text, "* ", "  ", NULL);
		break;
	case GMI_QUOTE:
		wrap_clean(o, l->text, "> ", "> ", NULL);
		break;
	case GMI_PRE:
		preformatted(o, l->text);
		break;
	case GMI_PRE_START:	/* alt text is for screen readers */
	case GMI_PRE_END:
	case GMI_LINK:
		break;
	}
}

/*
 * The page as a Gopher menu, ended by ".".  pg->text_sel, when set, is
 * linked at the end as the page's plain-text form.
 */
int
gopher_render_menu(struct buf *b, const struct gmi_doc *doc,
    const struct gopher_page *pg)
{
	struct out	 o = { .b = b, .menu = true,
			    .width = wrap_width(pg->site),
			    .err = gmi_status(doc) };
	struct target	 t;
	size_t		 i;

	target_init(&t);
	for (i = 0; i < doc->len && !o.err; i++) {
		if (doc->lines[i].type == GMI_LINK)
			link_item(&o, pg, &doc->lines[i], &t);
		else
			common_line(&o, &doc->lines[i]);
	}
	target_free(&t);
	if (!o.err && pg->text_sel != NULL) {
		separate(&o);
		if (gopher_item(b, '0', "This page as plain text", pg->text_sel,
		    pg->site->host, pg->site->port) == -1)
			o.err = -1;
	}
	if (!o.err && gopher_menu_end(b) == -1)
		o.err = -1;
	return o.err;
}

/*
 * The page as plain text: the same wrapping, each link's label followed
 * by a [n] marker, the URLs listed at the end.  Lines end in CRLF as RFC
 * 1436 asks of text items; no "." terminator (see gopher.c).
 */
int
gopher_render_text(struct buf *b, const struct gmi_doc *doc,
    const struct gopher_page *pg)
{
	struct out	 o = { .b = b, .menu = false,
			    .width = wrap_width(pg->site),
			    .err = gmi_status(doc) };
	struct target	 t;
	struct buf	 refs, label;
	size_t		 i, nref = 0;

	target_init(&t);
	buf_init(&refs);
	buf_init(&label);
	for (i = 0; i < doc->len && !o.err; i++) {
		const struct gmi_line *l = &doc->lines[i];

		if (l->type != GMI_LINK) {
			common_line(&o, l);
			continue;
		}
		if (resolve(&t, pg, l->url) == -1) {
			o.err = -1;
			break;
		}
		buf_reset(&label);
		buf_puts(&label, l->text[0] ? l->text : l->url);
		buf_printf(&label, " [%zu]", ++nref);
		buf_printf(&refs, "[%zu] ", nref);
		put_clean(&refs, t.url.len ? t.url.data : l->url,
		    t.url.len ? t.url.len : strlen(l->url));
		buf_puts(&refs, "\r\n");
		if (buf_status(&label) == -1 || buf_status(&refs) == -1) {
			o.err = -1;
			break;
		}
		wrap_clean(&o, label.data, "", "  ", NULL);
	}
	if (!o.err && nref > 0) {
		separate(&o);
		if (buf_append(b, refs.data, refs.len) == -1)
			o.err = -1;
	}
	target_free(&t);
	buf_free(&refs);
	buf_free(&label);
	return o.err;
}

static void
put_html(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':  buf_puts(b, "&amp;");  break;
		case '<':  buf_puts(b, "&lt;");   break;
		case '>':  buf_puts(b, "&gt;");   break;
		case '"':  buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;");  break;
		default:   buf_putc(b, *s);       break;
		}
	}
}

/*
 * The page a URL: selector answers: browsers that fetch h items from the
 * server (the UMN client, older lynx) get sent on by a meta refresh, with
 * a plain link for those that do not follow it.  The caller has checked
 * the scheme; the URL is HTML-escaped so that it cannot leave the
 * attribute.
 */
int
gopher_url_page(struct buf *b, const char *url)
{
	buf_puts(b, "<!DOCTYPE html>\n<html>\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"0; url=");
	put_html(b, url);
	buf_puts(b, "\">\n<title>Redirect</title>\n</head>\n<body>\n"
	    "<p>This link leaves Gopherspace: <a href=\"");
	put_html(b, url);
	buf_puts(b, "\">");
	put_html(b, url);
	buf_puts(b, "</a></p>\n</body>\n</html>\n");
	return buf_status(b);
}
