/*
 * fuzz_gemtext: gemtext.c's parser and writer.  The model's invariants
 * must hold after any input, and writing a model out and parsing it again
 * must give the same lines: the same types always, the same texts and
 * URLs up to the few rewrites the writer makes on purpose (a line break
 * or CR becomes a space, a control byte in a URL is percent-encoded, a
 * text line that would read as markup gets a leading space).
 *
 * Two kinds of input: plain bytes are a gemtext file; bytes starting
 * with 0x01 build a model directly through gmi_add()/gmi_add_link(), as
 * the converter and the listings do, one record per 0x1F-separated field
 * whose first byte picks the line type (a link's URL and label are split
 * by 0x1E).  Such models hold what a parsed file cannot: line breaks in
 * texts, URLs with spaces.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define GEN_MARK	0x01
#define GEN_RECORD	0x1F
#define GEN_FIELD	0x1E

static bool
markup(const char *s)
{
	return strncmp(s, "=>", 2) == 0 || s[0] == '#' ||
	    (s[0] == '*' && strchr(" \r\n", s[1]) != NULL && s[1] != '\0') ||
	    s[0] == '>' || strncmp(s, "```", 3) == 0;
}

/* A line's text as the writer is meant to leave it. */
static char *
expect_text(const struct gmi_line *l)
{
	struct buf	 b;
	const char	*s = l->text;

	buf_init(&b);
	FUZZ_ASSERT(buf_reserve(&b, 0) == 0);
	if (l->type == GMI_PRE_END)	/* a closing fence carries no text */
		return buf_steal(&b);
	if ((l->type == GMI_TEXT && markup(s)) ||
	    (l->type == GMI_PRE && strncmp(s, "```", 3) == 0))
		FUZZ_ASSERT(buf_putc(&b, ' ') == 0);
	for (; *s != '\0'; s++)
		FUZZ_ASSERT(buf_putc(&b, *s == '\r' || *s == '\n' ? ' ' : *s)
		    == 0);
	/* The parser skips white space after a line's marker... */
	if (l->type == GMI_LINK || l->type == GMI_H1 || l->type == GMI_H2 ||
	    l->type == GMI_H3 || l->type == GMI_ITEM || l->type == GMI_QUOTE) {
		size_t k = strspn(b.data, " \t");

		memmove(b.data, b.data + k, b.len - k + 1);
		b.len -= k;
	}
	/* ...and after a link's label. */
	if (l->type == GMI_LINK)
		while (b.len > 0 && (b.data[b.len - 1] == ' ' ||
		    b.data[b.len - 1] == '\t'))
			b.data[--b.len] = '\0';
	return buf_steal(&b);
}

static char *
expect_url(const char *s)
{
	struct buf b;

	buf_init(&b);
	FUZZ_ASSERT(buf_reserve(&b, 0) == 0);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7F)
			FUZZ_ASSERT(buf_printf(&b, "%%%02X", c) == 0);
		else
			FUZZ_ASSERT(buf_putc(&b, c) == 0);
	}
	return buf_steal(&b);
}

/* What every model the parser builds must satisfy. */
static void
check_model(const struct gmi_doc *doc, bool parsed)
{
	const struct gmi_line	*l;
	const char		*title;
	bool			 pre = false;
	size_t			 i;

	for (i = 0; i < doc->len; i++) {
		l = &doc->lines[i];
		FUZZ_ASSERT(l->text != NULL);
		FUZZ_ASSERT(utf8_valid(l->text, strlen(l->text)));
		FUZZ_ASSERT((l->type == GMI_LINK) == (l->url != NULL));
		if (l->url != NULL)
			FUZZ_ASSERT(utf8_valid(l->url, strlen(l->url)));
		if (parsed) {
			FUZZ_ASSERT(strchr(l->text, '\n') == NULL);
			if (l->url != NULL)
				FUZZ_ASSERT(l->url[0] != '\0' &&
				    strpbrk(l->url, " \t\n") == NULL);
		}
		/* Preformatted lines only between a start and an end. */
		FUZZ_ASSERT((l->type == GMI_PRE || l->type == GMI_PRE_END) ==
		    pre);
		if (l->type == GMI_PRE_START)
			pre = true;
		else if (l->type == GMI_PRE_END)
			pre = false;
	}
	FUZZ_ASSERT(!pre);
	title = gmi_title(doc);
	for (i = 0; title != NULL && i < doc->len; i++)
		if (doc->lines[i].text == title)
			break;
	FUZZ_ASSERT(title == NULL || i < doc->len);
}

static void
round_trip(const struct gmi_doc *doc)
{
	struct gmi_doc	 again;
	struct buf	 w1, w2;
	size_t		 i, lines = 0;
	char		*want;

	buf_init(&w1);
	buf_init(&w2);
	FUZZ_ASSERT(gmi_write(doc, &w1) == 0);
	FUZZ_ASSERT(utf8_valid(w1.data ? w1.data : "", w1.len));
	for (i = 0; i < w1.len; i++)
		lines += w1.data[i] == '\n';
	FUZZ_ASSERT(lines == doc->len);

	gmi_init(&again);
	FUZZ_ASSERT(gmi_parse(&again, w1.data ? w1.data : "", w1.len) == 0);
	check_model(&again, true);
	FUZZ_ASSERT(again.len == doc->len);
	for (i = 0; i < doc->len; i++) {
		FUZZ_ASSERT(again.lines[i].type == doc->lines[i].type);
		want = expect_text(&doc->lines[i]);
		FUZZ_ASSERT(strcmp(again.lines[i].text, want) == 0);
		free(want);
		if (doc->lines[i].type == GMI_LINK) {
			want = expect_url(doc->lines[i].url);
			FUZZ_ASSERT(strcmp(again.lines[i].url, want) == 0);
			free(want);
		}
	}
	/*
	 * One write and parse brings a model to its normal form (a CR
	 * written as a space at the end of a label is trimmed when read
	 * back); from there on, writing is a fixed point.
	 */
	FUZZ_ASSERT(gmi_write(&again, &w2) == 0);
	gmi_free(&again);
	buf_reset(&w1);
	FUZZ_ASSERT(gmi_parse(&again, w2.data ? w2.data : "", w2.len) == 0);
	FUZZ_ASSERT(gmi_write(&again, &w1) == 0);
	FUZZ_ASSERT(w1.len == w2.len &&
	    (w1.len == 0 || memcmp(w1.data, w2.data, w1.len) == 0));
	gmi_free(&again);
	buf_free(&w1);
	buf_free(&w2);
}

/*
 * A model built the way generators do, kept to the grammar (preformatted
 * lines only inside a block, which is closed at the end).  Links get a
 * non-empty URL: every generator has one to give.
 */
static void
build(struct gmi_doc *doc, const uint8_t *data, size_t n)
{
	const uint8_t	*p = data, *end = data + n, *rec, *sep;
	bool		 pre = false;
	enum gmi_type	 t;
	char		*url, *label;

	while (p < end) {
		rec = memchr(p, GEN_RECORD, (size_t)(end - p));
		if (rec == NULL)
			rec = end;
		t = (enum gmi_type)(p < rec ? *p % 10 : 0);
		if (p < rec)
			p++;
		if (pre)
			t = t % 2 ? GMI_PRE_END : GMI_PRE;
		else if (t == GMI_PRE || t == GMI_PRE_END)
			t = GMI_TEXT;
		if (t == GMI_LINK) {
			sep = memchr(p, GEN_FIELD, (size_t)(rec - p));
			url = fuzz_strndup(p, (size_t)((sep ? sep : rec) - p));
			label = sep ? fuzz_strndup(sep + 1,
			    (size_t)(rec - sep - 1)) : NULL;
			if (url[0] != '\0')
				FUZZ_ASSERT(gmi_add_link(doc, url, label) == 0);
			free(url);
			free(label);
		} else
			FUZZ_ASSERT(gmi_add(doc, t, (const char *)p,
			    (size_t)(rec - p)) == 0);
		if (t == GMI_PRE_START)
			pre = true;
		else if (t == GMI_PRE_END)
			pre = false;
		p = rec < end ? rec + 1 : end;
	}
	if (pre)
		FUZZ_ASSERT(gmi_add(doc, GMI_PRE_END, "", 0) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct gmi_doc doc;

	gmi_init(&doc);
	if (n > 0 && data[0] == GEN_MARK) {
		build(&doc, data + 1, n - 1);
		check_model(&doc, false);
	} else {
		FUZZ_ASSERT(gmi_parse(&doc, (const char *)data, n) == 0);
		check_model(&doc, true);
	}
	round_trip(&doc);
	gmi_free(&doc);
	return 0;
}
