/*
 * fuzz_html2gmi: the converter on raw bytes, the way html2gmi reads a
 * file: charset detection to UTF-8, the HTML sniff, then convert_html().
 * The bytes also go to convert_html() as they are, since it is the
 * function other code calls.  Whatever the page, the result must be a
 * well-formed gemtext model (valid UTF-8, preformatted blocks closed, no
 * link without a target) that the writer can write and the parser read
 * back as the same lines, so that no page can inject markup into the
 * capsule.  Odd-length inputs use a profile with content, drop and
 * disclaimer selectors, even ones the defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "html2gmi/html2gmi.h"

static struct profile	 plain, picky;
static bool		 ready;

/* Pages of the fake collection: every .html path has a .gmi twin. */
static const char *
lookup(void *arg, const char *path)
{
	struct buf *b = arg;

	if (strlen(path) < 5 || strcmp(path + strlen(path) - 5, ".html") != 0)
		return NULL;
	buf_reset(b);
	return gmi_path_of(path, b) == 0 ? b->data : NULL;
}

static void
setup(void)
{
	static const char *const lines[][2] = {
		{ "content", "article" },
		{ "content", "main#content" },
		{ "drop", ".nav" },
		{ "drop", "div.share.buttons" },
		{ "disclaimer", ".disclaimer" },
		{ "default-drops", "no" },
	};
	struct buf	 err;
	size_t		 i;

	profile_init(&plain);
	profile_init(&picky);
	buf_init(&err);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (profile_line(&picky, lines[i][0], lines[i][1], &err) == -1) {
			fprintf(stderr, "profile: %s\n", err.data);
			abort();
		}
	buf_free(&err);
	ready = true;
}

static void
check_text(const char *s)
{
	FUZZ_ASSERT(s == NULL || utf8_valid(s, strlen(s)));
}

/* The converted page is a model the writer and parser agree on. */
static void
check_page(const struct page *pg)
{
	const struct gmi_doc	*doc = &pg->doc;
	struct gmi_doc		 again;
	struct buf		 w, w2;
	bool			 pre = false;
	size_t			 i;

	for (i = 0; i < doc->len; i++) {
		const struct gmi_line *l = &doc->lines[i];

		FUZZ_ASSERT(l->text != NULL);
		check_text(l->text);
		FUZZ_ASSERT((l->type == GMI_LINK) == (l->url != NULL));
		if (l->url != NULL) {
			FUZZ_ASSERT(l->url[0] != '\0');
			check_text(l->url);
		}
		FUZZ_ASSERT((l->type == GMI_PRE || l->type == GMI_PRE_END) ==
		    pre);
		if (l->type == GMI_PRE_START)
			pre = true;
		else if (l->type == GMI_PRE_END)
			pre = false;
	}
	FUZZ_ASSERT(!pre);
	check_text(pg->title);
	check_text(pg->summary);
	check_text(pg->disclaimer);
	if (pg->date != NULL)
		FUZZ_ASSERT(strlen(pg->date) == 10 && pg->date[4] == '-' &&
		    pg->date[7] == '-');

	buf_init(&w);
	gmi_init(&again);
	FUZZ_ASSERT(gmi_write(doc, &w) == 0);
	FUZZ_ASSERT(gmi_parse(&again, w.data ? w.data : "", w.len) == 0);
	FUZZ_ASSERT(again.len == doc->len);
	for (i = 0; i < doc->len; i++)
		FUZZ_ASSERT(again.lines[i].type == doc->lines[i].type);
	/* The same lines: what was read back writes the same bytes. */
	buf_init(&w2);
	FUZZ_ASSERT(gmi_write(&again, &w2) == 0);
	FUZZ_ASSERT(w2.len == w.len &&
	    (w.len == 0 || memcmp(w.data, w2.data, w.len) == 0));
	buf_free(&w2);
	gmi_free(&again);
	buf_free(&w);
}

static void
convert(const char *s, size_t n, const struct profile *prof,
    const struct linkctx *lc)
{
	struct page pg;

	page_init(&pg);
	FUZZ_ASSERT(convert_html(s, n, prof, lc, &pg) == 0);
	check_page(&pg);
	page_free(&pg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct buf	 text, gmi;
	struct linkctx	 lc = { "https://example.com/blog/", "posts/entry.html",
			    true, lookup, NULL };
	const struct profile *prof;
	char		 label[H2G_CHARSET_MAX];

	if (!ready)
		setup();
	prof = n % 2 ? &picky : &plain;
	buf_init(&gmi);
	lc.arg = &gmi;
	convert((const char *)data, n, prof, &lc);

	buf_init(&text);
	FUZZ_ASSERT(charset_to_utf8((const char *)data, n, &text, label,
	    sizeof(label)) != -1);
	FUZZ_ASSERT(utf8_valid(text.data ? text.data : "", text.len));
	FUZZ_ASSERT(memchr(label, '\0', sizeof(label)) != NULL);
	/* UTF-8 comes through unchanged: no need to convert it twice. */
	if (html_sniff(text.data ? text.data : "", text.len) == NULL &&
	    (text.len != n || memcmp(text.data, data, n) != 0))
		convert(text.data, text.len, prof, &lc);
	buf_free(&text);
	buf_free(&gmi);
	return 0;
}
