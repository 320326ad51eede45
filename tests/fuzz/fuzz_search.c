/*
 * fuzz_search: search's words, index, queries and snippets.  The first
 * line of the input is the query; the rest, split at form feeds, are the
 * pages.  Properties: every word is short, valid UTF-8 and folds to
 * itself; every hit holds every query word (AND) in its title or text;
 * hits come best first; snippets are one clean line of bounded length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define PAGES_MAX	32

/* Does the text of s hold the folded word w? */
static bool
holds(const char *s, size_t n, const char *w)
{
	char	 got[SEARCH_WORD_MAX + 1];
	size_t	 pos = 0;

	while (search_word(s, n, &pos, got, NULL) > 0)
		if (strcmp(got, w) == 0)
			return true;
	return false;
}

static void
check_words(const char *s, size_t n)
{
	char	 w[SEARCH_WORD_MAX + 1], again[SEARCH_WORD_MAX + 1];
	size_t	 pos = 0, len, p2, start, last = 0;

	while ((len = search_word(s, n, &pos, w, &start)) > 0) {
		FUZZ_ASSERT(len <= SEARCH_WORD_MAX && len == strlen(w));
		FUZZ_ASSERT(utf8_valid(w, len));
		FUZZ_ASSERT(start >= last && start < pos && pos <= n);
		last = pos;
		p2 = 0;
		FUZZ_ASSERT(search_word(w, len, &p2, again, NULL) == len);
		FUZZ_ASSERT(strcmp(again, w) == 0);
	}
	FUZZ_ASSERT(pos <= n);
}

static void
check_hits(const struct search_result *res)
{
	const struct search_hit	*h;
	struct buf		 snip;
	size_t			 i, k;

	buf_init(&snip);
	FUZZ_ASSERT(res->nhits <= res->n);
	for (i = 0; i < res->nhits; i++) {
		h = &res->hits[i];
		for (k = 0; k < res->nwords; k++)
			FUZZ_ASSERT(holds(h->title, strlen(h->title),
			    res->words[k]) || holds(h->text, h->textlen,
			    res->words[k]));
		if (i > 0) {
			const struct search_hit *p = &res->hits[i - 1];

			FUZZ_ASSERT(p->in_title > h->in_title ||
			    (p->in_title == h->in_title &&
			    (p->score > h->score || (p->score == h->score &&
			    p->order < h->order))));
		}
		buf_reset(&snip);
		FUZZ_ASSERT(search_snippet(&snip, res, h) == 0);
		FUZZ_ASSERT(utf8_valid(snip.data ? snip.data : "", snip.len));
		for (k = 0; k < snip.len; k++)
			FUZZ_ASSERT((unsigned char)snip.data[k] >= 0x20 &&
			    snip.data[k] != 0x7F);
		FUZZ_ASSERT(utf8_chars(snip.data ? snip.data : "", snip.len)
		    <= 140 + 4);
	}
	buf_free(&snip);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const char		*s = (const char *)data, *end = s + n, *p, *ff;
	const char		*why;
	struct search_index	*idx;
	struct search_result	 res;
	char			 path[32];
	size_t			 qn, npages = 0;

	p = memchr(s, '\n', n);
	qn = p ? (size_t)(p - s) : n;
	check_words(s, n);
	FUZZ_ASSERT((idx = search_new()) != NULL);
	for (p = p ? p + 1 : end; p < end && npages < PAGES_MAX; npages++) {
		ff = memchr(p, '\f', (size_t)(end - p));
		if (ff == NULL)
			ff = end;
		snprintf(path, sizeof(path), "/p%zu.gmi", PAGES_MAX - npages);
		FUZZ_ASSERT(search_add(idx, path, p, (size_t)(ff - p)) == 0);
		p = ff < end ? ff + 1 : end;
	}
	FUZZ_ASSERT(search_finish(idx) == 0);
	FUZZ_ASSERT(search_docs(idx) == npages);
	if (search_check(s, qn, &why) == 0) {
		FUZZ_ASSERT(search_run(idx, s, qn, 4, &res) == 0);
		FUZZ_ASSERT(res.nwords > 0);
		check_hits(&res);
		search_result_free(&res);
	} else
		FUZZ_ASSERT(why != NULL);
	search_free(idx);
	return 0;
}
