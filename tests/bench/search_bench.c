/*
 * search_bench.c: the search index over a generated collection of 10,000
 * articles (lorem-style words from a fixed list, a fixed seed, so every
 * run indexes the same text): time to build, memory against the text,
 * and the time of queries of every kind, from the word lookup to the
 * whole results page with snippets.  `make bench-search`; timings only
 * here, never in `make test`.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lumbar.h"

#define ARTICLES	10000
#define ROUNDS		200	/* of each query */

static const char *const vocab[] = {
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
	"elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore",
	"et", "dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam",
	"quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi",
	"aliquip", "ex", "ea", "commodo", "consequat", "duis", "aute",
	"irure", "in", "reprehenderit", "voluptate", "velit", "esse",
	"cillum", "fugiat", "nulla", "pariatur", "excepteur", "sint",
	"occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui",
	"officia", "deserunt", "mollit", "anim", "id", "est", "laborum",
	"curabitur", "pretium", "tincidunt", "lacus", "nunc", "pulvinar",
	"sapien", "ligula", "ornare", "fringilla", "vestibulum", "porta",
	"m\xC3\xA6" "cenas", "s\xC3\xA9" "ance", "\xC3\xA9" "t\xC3\xA9",
	"gravida", "rhoncus", "volutpat", "faucibus", "ultrices", "posuere",
};
#define NVOCAB	(sizeof(vocab) / sizeof(vocab[0]))

static unsigned long rng = 88172645463325252UL;

/* xorshift64: the same collection on every machine. */
static unsigned long
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * A word, skewed like a real text: a few words are everywhere, most are
 * rare; "w<n>" words (one in eight) give a long tail of distinct ones.
 */
static void
word(struct buf *b)
{
	unsigned long r = next();

	if (r % 8 == 0)
		buf_printf(b, "w%lu", (r >> 8) % 50000);
	else
		buf_puts(b, vocab[((r >> 8) % NVOCAB) * ((r >> 20) % NVOCAB) /
		    NVOCAB]);
}

static void
article(struct buf *b, size_t i)
{
	size_t p, s, w, np = 4 + next() % 6;

	buf_reset(b);
	buf_puts(b, "# ");
	for (w = 0; w < 3 + next() % 4; w++) {
		word(b);
		buf_putc(b, ' ');
	}
	buf_printf(b, "%zu\n\n", i);
	for (p = 0; p < np; p++) {
		if (p == np / 2) {
			buf_puts(b, "## ");
			word(b);
			buf_puts(b, " ");
			word(b);
			buf_putc(b, '\n');
		}
		for (s = 0; s < 3 + next() % 5; s++) {
			for (w = 0; w < 6 + next() % 12; w++) {
				word(b);
				buf_putc(b, ' ');
			}
			b->data[b->len - 1] = '.';
			buf_putc(b, ' ');
		}
		buf_puts(b, "\n=> /articles/ All articles\n\n");
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, 99th percentile and worst of ROUNDS runs of the query, in microseconds. */
static void
time_query(const struct search_index *idx, const char *q)
{
	static double		 t[ROUNDS];
	struct search_result	 res;
	struct buf		 snip;
	size_t			 i, k, hits = 0;
	double			 t0;

	buf_init(&snip);
	for (i = 0; i < ROUNDS; i++) {
		t0 = now();
		if (search_run(idx, q, strlen(q), SEARCH_LIST_MAX, &res) ==
		    -1) {
			fprintf(stderr, "search_run failed\n");
			exit(1);
		}
		/* What a results page costs: snippets of the listed hits. */
		for (k = 0; k < res.nhits; k++) {
			buf_reset(&snip);
			search_snippet(&snip, &res, &res.hits[k]);
		}
		hits = res.n;
		search_result_free(&res);
		t[i] = (now() - t0) * 1e6;
	}
	qsort(t, ROUNDS, sizeof(t[0]), dcmp);
	printf("  %-20s %5zu hits  median %7.1f us  p99 %7.1f us  "
	    "max %7.1f us\n", q, hits, t[ROUNDS / 2], t[ROUNDS * 99 / 100],
	    t[ROUNDS - 1]);
	buf_free(&snip);
}

int
main(void)
{
	static const char *const queries[] = {
		"lorem",		/* in nearly every article */
		"lorem ipsum dolor",	/* three common words, AND */
		"seance",		/* folded: the text has "séance" */
		"w123",			/* rare */
		"w123 lorem",		/* rare and common */
		"ipsum w42 w4242",	/* AND of rare words */
		"nowhere",		/* no result */
	};
	struct search_index	*idx;
	struct buf		 b;
	struct mallinfo2	 m0, m1;
	size_t			 i, text = 0;
	double			 t0, build;

	buf_init(&b);
	m0 = mallinfo2();
	if ((idx = search_new()) == NULL)
		return 1;
	t0 = now();
	for (i = 0; i < ARTICLES; i++) {
		char path[64];

		article(&b, i);
		text += b.len;
		snprintf(path, sizeof(path), "/articles/a%05zu.gmi", i);
		if (search_add(idx, path, b.data, b.len) == -1)
			return 1;
	}
	if (search_finish(idx) == -1)
		return 1;
	build = now() - t0;
	buf_free(&b);
	m1 = mallinfo2();
	printf("search: %d generated articles, %.1f MB of gemtext\n",
	    ARTICLES, text / 1e6);
	printf("  build %.0f ms; index %.1f MB, %.2f bytes per byte of text\n",
	    build * 1e3, (double)(m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd) / 1e6,
	    (double)(m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd) / (double)text);
	printf("  each query %d times, with the snippets of its first %d "
	    "hits:\n", ROUNDS, SEARCH_LIST_MAX);
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		time_query(idx, queries[i]);
	search_free(idx);
	return 0;
}
