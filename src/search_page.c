/*
 * search_page.c: the page answering a search, as gemtext, which gemini.c
 * sends as it is and gopher.c renders as a menu: the count of matches,
 * then each page found as a link with a snippet of its text around the
 * first word searched for.  The matches come from search.c's index.
 */
#include "lumbar.h"

#define SNIPPET_BEFORE	40	/* characters of context before the match */
#define SNIPPET_CHARS	140	/* characters of one snippet */
/* Bytes a snippet looks at on either side of its match: enough for its
 * characters (4 bytes at most each), so that a page of one long line
 * costs no more than any other. */
#define SNIPPET_LOOK	(SNIPPET_CHARS * 4 + 1)

/*
 * One line of the page's text around the first query word (the first
 * line when only the title matched): at most SNIPPET_CHARS characters,
 * cut on character and, where it can, word boundaries, "…" where cut.
 * Nothing is appended for a page without text.  The match's place comes
 * from the index (h->at): the work is bounded by SNIPPET_LOOK bytes on
 * either side of it, whatever the page's size.
 */
int
search_snippet(struct buf *b, const struct search_result *res,
    const struct search_hit *h)
{
	const char	*s = h->text;
	size_t		 n = h->textlen, m, ls, le, start, end, i, chars,
			 from = b->len;
	uint32_t	 cp;
	int		 k;

	m = h->at < n ? h->at : 0;
	if (h->at >= n)	/* only the title matched: the first words */
		while (m < n && m < SNIPPET_LOOK && (s[m] == '\n' ||
		    s[m] == ' '))
			m++;
	for (ls = m; ls > 0 && m - ls < SNIPPET_LOOK && s[ls - 1] != '\n';
	    ls--)
		;
	for (le = m; le < n && le - m < SNIPPET_LOOK && s[le] != '\n'; le++)
		;
	start = m;
	for (chars = 0; start > ls && chars < SNIPPET_BEFORE; chars++)
		while (--start > ls && ((unsigned char)s[start] & 0xC0) == 0x80)
			;
	if (start > ls) {	/* begin on a word, if one begins before m */
		for (i = start; i < m && s[i] != ' '; i++)
			;
		if (i < m)
			start = i + 1;
	}
	for (end = start, chars = 0; end < le && chars < SNIPPET_CHARS;
	    chars++) {
		k = utf8_next(s + end, le - end, &cp);
		end += (size_t)k;
	}
	if (end < le) {		/* end after a word, if one ends after m */
		for (i = end; i > m && s[i] != ' '; i--)
			;
		if (i > m)
			end = i;
	}
	while (start < end && s[start] == ' ')
		start++;
	while (end > start && s[end - 1] == ' ')
		end--;
	if (start == end)
		return 0;
	if (start > ls)
		buf_puts(b, "… ");
	utf8_repair(b, s + start, end - start);
	if (end < le)
		buf_puts(b, " …");
	if (buf_status(b) == -1)
		return -1;
	for (i = from; i < b->len; i++)		/* TAB, escape sequences */
		if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7F)
			b->data[i] = ' ';
	return 0;
}

/* The count line of a results page. */
static void
count_line(struct gmi_doc *doc, size_t n)
{
	if (n == 0)
		gmi_printf(doc, GMI_TEXT, "No page has all these words. "
		    "Try fewer words, or other ones.");
	else if (n == 1)
		gmi_printf(doc, GMI_TEXT, "1 page has all these words.");
	else if (n <= SEARCH_LIST_MAX)
		gmi_printf(doc, GMI_TEXT, "%zu pages have all these words, "
		    "best first.", n);
	else
		gmi_printf(doc, GMI_TEXT, "%zu pages have all these words; "
		    "the best %d are listed.", n, SEARCH_LIST_MAX);
}

/*
 * The answer to query q (checked by search_check) as gemtext: a heading,
 * the count, then each page as a link with its title and a snippet
 * line.  No result is a page too, not an error.
 */
int
search_page(const struct search_index *idx, struct gmi_doc *doc,
    const char *q, size_t n)
{
	struct search_result	 res;
	struct buf		 url, snip;
	size_t			 i;
	int			 r = -1;

	buf_init(&url);
	buf_init(&snip);
	/* search_run() clears res first: it can be freed whatever happens. */
	if (search_run(idx, q, n, SEARCH_LIST_MAX, &res) == -1)
		goto out;
	gmi_printf(doc, GMI_H1, "Search: %.*s", (int)n, q);
	count_line(doc, res.n);
	for (i = 0; i < res.nhits; i++) {
		buf_reset(&url);
		buf_reset(&snip);
		url_encode_path(&url, res.hits[i].path);
		buf_reserve(&url, 0);	/* a string, whatever the path */
		search_snippet(&snip, &res, &res.hits[i]);
		/* Before the link: a failed url may hold no string at all. */
		if (buf_status(&url) == -1 || buf_status(&snip) == -1)
			gmi_fail(doc);
		gmi_add(doc, GMI_TEXT, "", 0);
		gmi_add_link(doc, url.data, res.hits[i].title);
		if (snip.len > 0)
			gmi_add(doc, GMI_TEXT, snip.data, snip.len);
	}
	gmi_add(doc, GMI_TEXT, "", 0);
	gmi_add_link(doc, SEARCH_PATH, "Search again");
	gmi_add_link(doc, "/", "Home page");
	r = gmi_status(doc);
out:
	search_result_free(&res);
	buf_free(&url);
	buf_free(&snip);
	return r;
}
