/* test_search.c: words, folding, the index, ranking, AND and snippets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "lumbar.h"

/* The words of s, folded, joined by "|". */
static void
words_are(const char *s, const char *want)
{
	char		 w[SEARCH_WORD_MAX + 1];
	struct buf	 got;
	size_t		 pos = 0, n = strlen(s);

	buf_init(&got);
	while (search_word(s, n, &pos, w, NULL) > 0) {
		if (got.len > 0)
			assert_int_equal(buf_putc(&got, '|'), 0);
		assert_int_equal(buf_puts(&got, w), 0);
	}
	assert_int_equal(buf_reserve(&got, 0), 0);
	assert_string_equal(got.data, want);
	buf_free(&got);
}

static void
test_tokens(void **state)
{
	words_are("Hello, World!", "hello|world");
	words_are("  back-pain: (relief) ", "back|pain|relief");
	words_are("don't", "don|t");
	words_are("2013-01-01", "2013|01|01");
	words_are("a\xE2\x80\x94" "b x\xC3\x97y", "a|b|x|y");	/* em dash, × */
	words_are("calm\xF0\x9F\x98\x80" "down", "calm|down");	/* emoji */
	words_are("\xE2\x80\x9Cquoted\xE2\x80\x9D", "quoted");
	words_are("ab\xFF" "cd", "ab|cd");	/* invalid UTF-8 separates */
	words_are("", "");
	words_are("!!! ... ---", "");
}

static void
test_word_start(void **state)
{
	const char	*s = "  \xC3\xA9t\xC3\xA9, spine";
	char		 w[SEARCH_WORD_MAX + 1];
	size_t		 pos = 0, at = 99;

	assert_int_equal(search_word(s, strlen(s), &pos, w, &at), 3);
	assert_string_equal(w, "ete");
	assert_int_equal(at, 2);
	assert_int_equal(search_word(s, strlen(s), &pos, w, &at), 5);
	assert_int_equal(at, 9);
	assert_int_equal(search_word(s, strlen(s), &pos, w, &at), 0);
}

static void
test_folding(void **state)
{
	words_are("S\xC3\xA9" "ance \xC3\x86SIR Stra\xC3\x9F" "e", "seance|aesir|strasse");
	words_are("\xC5\x92uvre \xC5\x81\xC3\xB3" "d\xC5\xBA \xC4\xB2", "oeuvre|lodz|ij");
	words_are("\xC3\x9Eorn \xC3\xB1" "and\xC3\xBA", "thorn|nandu");
	words_are("e\xCC\x81t\xC3\xA9", "ete");		/* combining acute */
	words_are("\xCC\x81\xCC\x81 word", "word");	/* marks alone */
	words_are("\xCE\xA3\xCE\x9F\xCE\xA6\xCE\x99\xCE\x91",
	    "\xCF\x83\xCE\xBF\xCF\x86\xCE\xB9\xCE\xB1");	/* ΣΟΦΙΑ */
	words_are("\xD0\x9C\xD0\x98\xD0\xA0", "\xD0\xBC\xD0\xB8\xD1\x80");
	words_are("5\xC2\xB5m", "5\xCE\xBCm");		/* micro sign: mu */
	words_are("\xE4\xB8\xAD\xE6\x96\x87", "\xE4\xB8\xAD\xE6\x96\x87");
}

static void
test_long_word(void **state)
{
	char		 s[200], w[SEARCH_WORD_MAX + 1];
	size_t		 i, pos = 0, len;

	/* "a" then 40 two-byte letters: cut at 63 bytes, not inside one. */
	s[0] = 'a';
	for (i = 0; i < 40; i++)
		memcpy(s + 1 + 2 * i, "\xD0\xB6", 2);
	memcpy(s + 81, " next", 6);
	len = search_word(s, strlen(s), &pos, w, NULL);
	assert_int_equal(len, 63);
	assert_true(utf8_valid(w, len));
	/* The rest of the long word is not a word of its own. */
	assert_int_equal(search_word(s, strlen(s), &pos, w, NULL), 4);
	assert_string_equal(w, "next");
}

static void
test_check(void **state)
{
	char		 big[SEARCH_QUERY_MAX + 2];
	const char	*why;
	struct buf	 many;
	int		 i;

	assert_int_equal(search_check("back pain", 9, &why), 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(search_check(big, SEARCH_QUERY_MAX, &why), 0);
	assert_int_equal(search_check(big, SEARCH_QUERY_MAX + 1, &why), 1);
	assert_non_null(strstr(why, "too long"));
	assert_int_equal(search_check("caf\xC3", 4, &why), -1);
	assert_non_null(strstr(why, "UTF-8"));
	assert_int_equal(search_check("a\x1b[2Jb", 6, &why), -1);
	assert_int_equal(search_check("a\xC2\x85", 3, &why), -1);	/* NEL */
	assert_int_equal(search_check("?! ... \xE2\x80\x94", 10, &why), 1);
	assert_non_null(strstr(why, "no words"));
	buf_init(&many);
	for (i = 0; i < SEARCH_WORDS_MAX; i++)
		assert_int_equal(buf_printf(&many, "w%d w%d ", i, i), 0);
	assert_int_equal(search_check(many.data, many.len, &why), 0);
	assert_int_equal(buf_puts(&many, "one-more"), 0);
	assert_int_equal(search_check(many.data, many.len, &why), 1);
	buf_free(&many);
}

static struct search_index *
collection(void)
{
	static const struct { const char *path, *text; } pages[] = {
		{ "/c.gmi", "# Stretching\n## Inversion\nSome words.\n" },
		{ "/b.gmi", "# Tables\nInversion, inversion, inversion; "
		    "inversion and inversion again. Spine.\n" },
		{ "/a.gmi", "# Inversion tables\nHanging upside down.\n"
		    "=> x.gmi spine in a link label is not indexed\n" },
		{ "/d.gmi", "# Walking\nWalk daily; the spine likes it.\n"
		    "```\ninversion in preformatted text is not indexed\n"
		    "```\n" },
		{ "/e.gmi", "No heading here, only inversion.\n" },
	};
	struct search_index	*idx = search_new();
	size_t			 i;

	assert_non_null(idx);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		assert_int_equal(search_add(idx, pages[i].path, pages[i].text,
		    strlen(pages[i].text)), 0);
	assert_int_equal(search_finish(idx), 0);
	assert_int_equal(search_docs(idx), 5);
	return idx;
}

/* The paths of the hits for q, joined by " ". */
static void
finds(const struct search_index *idx, const char *q, const char *want)
{
	struct search_result	 res;
	struct buf		 got;
	size_t			 i;

	buf_init(&got);
	assert_int_equal(search_run(idx, q, strlen(q), 100, &res), 0);
	assert_int_equal(res.nhits, res.n);
	for (i = 0; i < res.n; i++)
		assert_int_equal(buf_printf(&got, "%s%s", i ? " " : "",
		    res.hits[i].path), 0);
	assert_int_equal(buf_reserve(&got, 0), 0);
	assert_string_equal(got.data, want);
	search_result_free(&res);
	buf_free(&got);
}

static void
test_ranking(void **state)
{
	struct search_index *idx = collection();

	/* Title first, then by count: 5 in the text beats 1 heading (4). */
	finds(idx, "inversion", "/a.gmi /b.gmi /c.gmi /e.gmi");
	finds(idx, "INVERSION!", "/a.gmi /b.gmi /c.gmi /e.gmi");
	finds(idx, "tables", "/a.gmi /b.gmi");
	/* Both in the title beats one in the title. */
	finds(idx, "tables inversion", "/a.gmi /b.gmi");
	search_free(idx);
}

static void
test_best_kept(void **state)
{
	struct search_index	*idx = collection();
	struct search_result	 res;

	/* All four counted, the best two kept, in order. */
	assert_int_equal(search_run(idx, "inversion", 9, 2, &res), 0);
	assert_int_equal(res.n, 4);
	assert_int_equal(res.nhits, 2);
	assert_string_equal(res.hits[0].path, "/a.gmi");
	assert_string_equal(res.hits[0].title, "Inversion tables");
	assert_int_equal(res.hits[0].in_title, 1);
	assert_string_equal(res.hits[1].path, "/b.gmi");
	search_result_free(&res);
	assert_int_equal(search_run(idx, "inversion", 9, 0, &res), 0);
	assert_int_equal(res.n, 4);
	assert_int_equal(res.nhits, 0);
	search_result_free(&res);
	search_free(idx);
}

/* Equal results list by path, not by the order pages were added. */
static void
test_ties_by_path(void **state)
{
	struct search_index	*idx = search_new();
	static const char	*const paths[] = { "/z.gmi", "/m.gmi", "/a.gmi",
				    "/k/b.gmi" };
	size_t			 i;

	for (i = 0; i < 4; i++)
		assert_int_equal(search_add(idx, paths[i], "same words\n", 11),
		    0);
	assert_int_equal(search_finish(idx), 0);
	finds(idx, "same", "/a.gmi /k/b.gmi /m.gmi /z.gmi");
	search_free(idx);
}

static void
test_and(void **state)
{
	struct search_index *idx = collection();

	finds(idx, "inversion spine", "/b.gmi");
	finds(idx, "spine", "/b.gmi /d.gmi");	/* not a's link label */
	finds(idx, "spine spine", "/b.gmi /d.gmi");
	finds(idx, "preformatted", "");
	finds(idx, "inversion nowhere", "");
	finds(idx, "nowhere", "");
	finds(idx, "...", "");
	search_free(idx);
}

static void
test_empty_index(void **state)
{
	struct search_index *idx = search_new();

	assert_int_equal(search_finish(idx), 0);
	finds(idx, "anything", "");
	finds(NULL, "anything", "");
	search_free(idx);
}

/* The snippet of the only hit for q in a one-page index of text. */
static char *
snippet(const char *text, const char *q)
{
	struct search_index	*idx = search_new();
	struct search_result	 res;
	struct buf		 b;

	assert_int_equal(search_add(idx, "/p.gmi", text, strlen(text)), 0);
	assert_int_equal(search_finish(idx), 0);
	assert_int_equal(search_run(idx, q, strlen(q), 10, &res), 0);
	assert_int_equal(res.n, 1);
	buf_init(&b);
	assert_int_equal(search_snippet(&b, &res, &res.hits[0]), 0);
	assert_int_equal(buf_reserve(&b, 0), 0);
	search_result_free(&res);
	search_free(idx);
	return buf_steal(&b);
}

static void
test_snippets(void **state)
{
	struct buf	 long_line;
	char		*s;
	int		 i;

	s = snippet("# Title\nFirst line.\nThe spine is here.\n", "spine");
	assert_string_equal(s, "The spine is here.");
	free(s);
	/* Only the title matches: the first words of the text. */
	s = snippet("# Spine\n\nFirst line.\nSecond.\n", "spine");
	assert_string_equal(s, "First line.");
	free(s);
	s = snippet("# Spine\n", "spine");
	assert_string_equal(s, "");
	free(s);

	/* A long line of two-byte letters: cut on both sides, valid. */
	buf_init(&long_line);
	assert_int_equal(buf_puts(&long_line, "# T\n"), 0);
	for (i = 0; i < 60; i++)
		assert_int_equal(buf_puts(&long_line, "\xC3\xBC" "ber "), 0);
	assert_int_equal(buf_puts(&long_line, "target"), 0);
	for (i = 0; i < 60; i++)
		assert_int_equal(buf_puts(&long_line, " gr\xC3\xBC" "n"), 0);
	s = snippet(long_line.data, "target");
	assert_true(strncmp(s, "\xE2\x80\xA6 \xC3\xBC" "ber", 6) == 0);
	assert_non_null(strstr(s, "target"));
	assert_true(strlen(s) > 4 && strcmp(s + strlen(s) - 4,
	    " \xE2\x80\xA6") == 0);
	assert_true(utf8_valid(s, strlen(s)));
	assert_true(utf8_chars(s, strlen(s)) <= 140 + 4);
	free(s);
	buf_free(&long_line);

	/* Control characters never reach a client's terminal. */
	s = snippet("# T\nan \x1b[31mescape\ttab spine\n", "spine");
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\t'));
	free(s);
}

/*
 * The snippet of the only hit for q in page, computed on a copy of the
 * hit's text in which every byte farther than a page of memory from the
 * first occurrence of near is unreadable (near NULL: from the text's
 * start): a snippet that scans the page faults instead of passing.
 */
static char *
guarded_snippet(const char *page, const char *q, const char *near)
{
	struct search_index	*idx = search_new();
	struct search_result	 res;
	struct search_hit	 h;
	struct buf		 b;
	size_t			 ps = (size_t)sysconf(_SC_PAGESIZE), len, at,
				 lo, hi;
	char			*mem, *hit;

	assert_int_equal(search_add(idx, "/p.gmi", page, strlen(page)), 0);
	assert_int_equal(search_finish(idx), 0);
	assert_int_equal(search_run(idx, q, strlen(q), 10, &res), 0);
	assert_int_equal(res.n, 1);
	h = res.hits[0];
	len = (h.textlen + ps - 1) / ps * ps + ps;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	memcpy(mem, h.text, h.textlen);
	hit = near ? memmem(mem, h.textlen, near, strlen(near)) : mem;
	assert_non_null(hit);
	at = (size_t)(hit - mem);
	lo = at / ps > 0 ? (at / ps - 1) * ps : 0;
	hi = (at / ps + 2) * ps;
	if (lo > 0)
		assert_int_equal(mprotect(mem, lo, PROT_NONE), 0);
	if (hi < len)
		assert_int_equal(mprotect(mem + hi, len - hi, PROT_NONE), 0);
	h.text = mem;
	buf_init(&b);
	assert_int_equal(search_snippet(&b, &res, &h), 0);
	assert_int_equal(buf_reserve(&b, 0), 0);
	munmap(mem, len);
	search_result_free(&res);
	search_free(idx);
	return buf_steal(&b);
}

/* No query costs a scan of a page (issue 14): a 2 MB page's snippet
 * reads only around its match, or its first words when only the title
 * matched; also when the page is one long line. */
static void
test_snippet_work_is_bounded(void **state)
{
	struct buf	 page;
	char		*s;
	int		 i;

	buf_init(&page);
	assert_int_equal(buf_puts(&page, "# Zebra crossing\n"), 0);
	for (i = 0; i < 40000; i++)
		assert_int_equal(buf_puts(&page, "Filler words on a line of "
		    "their own.\n"), 0);
	assert_int_equal(buf_puts(&page, "Here the needle is found.\n"), 0);
	for (i = 0; i < 20000; i++)
		assert_int_equal(buf_puts(&page, "More filler after it.\n"), 0);
	s = guarded_snippet(page.data, "zebra", NULL);
	assert_string_equal(s, "Filler words on a line of their own.");
	free(s);
	s = guarded_snippet(page.data, "needle", "Here the needle");
	assert_string_equal(s, "Here the needle is found.");
	free(s);
	/* One 2 MB line: the match in its middle. */
	buf_reset(&page);
	assert_int_equal(buf_puts(&page, "# T\n"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_puts(&page, "filler words "), 0);
	assert_int_equal(buf_puts(&page, "needle"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_puts(&page, " more words"), 0);
	s = guarded_snippet(page.data, "needle", "needle");
	assert_non_null(strstr(s, "needle"));
	assert_true(strncmp(s, "\xE2\x80\xA6 ", 4) == 0);
	free(s);
	buf_free(&page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_word_start),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_long_word),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_ranking),
		cmocka_unit_test(test_best_kept),
		cmocka_unit_test(test_ties_by_path),
		cmocka_unit_test(test_and),
		cmocka_unit_test(test_empty_index),
		cmocka_unit_test(test_snippets),
		cmocka_unit_test(test_snippet_work_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
