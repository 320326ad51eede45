/*
 * search.c: the full-text index of the capsule's gemtext pages and the
 * queries against it (the page answering a search: search_page.c).
 *
 * The parent builds the index before it forks (and again on SIGHUP), so
 * that every worker shares one copy, read-only.  The index is a handful
 * of flat arrays: every distinct word once in one arena, a hash table of
 * word numbers, and per word a run of postings (page, how often in the
 * title, in headings, in the text), pages in ascending order so that a
 * query intersects runs by binary search.  No allocation per word: the
 * memory is proportional to the text.  Each posting keeps where its word
 * first appears in the page's stored text, so that a snippet goes there
 * at once: no query scans a page, however large (a word found only in
 * titles of 1 MB pages made every query scan them whole).
 */
#include <stdlib.h>
#include <string.h>

#include "lumbar.h"

#define TITLE_WEIGHT	16	/* a word in the title counts 16 in the text */
#define HEAD_WEIGHT	4
#define NO_POS		UINT32_MAX	/* a word only in the title */
/* Arena offsets are 32-bit: text past this is not indexed, and said so. */
#define SEARCH_TEXT_MAX	(1024UL * 1024 * 1024)
#define COUNT_MAX	UINT16_MAX

enum field { F_TITLE, F_HEAD, F_BODY };

struct term {
	uint32_t	 off;		/* of the word in words */
	uint32_t	 first;		/* its first posting */
	uint32_t	 count;		/* its postings: pages it is in */
};

struct posting {
	uint32_t	 doc;
	uint16_t	 title, head;	/* saturating counts */
	uint32_t	 body;
	uint32_t	 at;		/* first in the page's text, or NO_POS */
};

struct page {
	uint32_t	 path, title, text;	/* offsets in strs */
	uint32_t	 textlen;
	uint32_t	 order;		/* place by path, set by search_finish */
};

struct tok {
	uint32_t	 term;
	uint32_t	 field;
	uint32_t	 at;		/* in the page's stored text, or NO_POS */
};

struct search_index {
	struct buf	 words;		/* every distinct word, NUL-ended */
	struct term	*terms;
	size_t		 nterms, capterms;
	uint32_t	*table;		/* term number + 1; 0 is a free slot */
	size_t		 tabsize;	/* a power of two */
	struct posting	*post;
	uint32_t	*postterm;	/* while building: each posting's term */
	size_t		 npost, cappost;
	struct buf	 strs;		/* paths, titles, indexed lines */
	struct page	*pages;
	size_t		 npages, cappages;
	struct tok	*toks;		/* one page's words, while building */
	size_t		 ntoks, captoks;
	bool		 full;		/* SEARCH_TEXT_MAX reached */
};

/* Make room for need elements of size bytes in *p (capacity *cap). */
static int
grow(void *p, size_t *cap, size_t need, size_t size)
{
	void	**pp = p;
	void	 *np;
	size_t	  nc = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (nc < need) {
		if (nc > SIZE_MAX / 2 / size)
			return -1;
		nc *= 2;
	}
	if ((np = realloc(*pp, nc * size)) == NULL)
		return -1;
	*pp = np;
	*cap = nc;
	return 0;
}

/*
 * Base letters of Latin-1 U+00C0..U+00FF and Latin Extended-A
 * U+0100..U+017F, so that "Séance", "SEANCE" and "seance" are one word.
 * ' ' marks a symbol (x, division sign), '#' a letter folding to two.
 */
static const char latin1[] =
    "aaaaaa#ceeeeiiiidnooooo ouuuuy##"
    "aaaaaa#ceeeeiiiidnooooo ouuuuy#y";
static const char latin_ext_a[] =
    "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh"
    "iiiiiiiiii" "##" "jj" "kkk" "llllllllll" "nnnnnnnnn" "oooooo" "##"
    "rrrrrr" "ssssssss" "tttttt" "uuuuuuuuuuuu" "ww" "yyy" "zzzzzz" "s";
_Static_assert(sizeof(latin1) == 0x40 + 1, "latin1 covers U+00C0..U+00FF");
_Static_assert(sizeof(latin_ext_a) == 0x80 + 1,
    "latin_ext_a covers U+0100..U+017F");

/* Punctuation and symbols beyond ASCII and Latin-1: they split words. */
static bool
is_separator(uint32_t cp)
{
	static const struct { uint32_t lo, hi; } seps[] = {
		{ 0x037E, 0x037E }, { 0x0387, 0x0387 },	/* Greek ; and . */
		{ 0x055A, 0x055F }, { 0x0589, 0x058A },	/* Armenian */
		{ 0x05BE, 0x05BE }, { 0x05C0, 0x05C0 }, { 0x05C3, 0x05C3 },
		{ 0x05F3, 0x05F4 }, { 0x060C, 0x060D }, { 0x061B, 0x061F },
		{ 0x066A, 0x066D }, { 0x06D4, 0x06D4 }, { 0x0964, 0x0965 },
		{ 0x2000, 0x2BFF },	/* punctuation, symbols, arrows, math */
		{ 0x2E00, 0x2E7F }, { 0x3000, 0x303F },	/* CJK punctuation */
		{ 0xD800, 0xF8FF },	/* surrogates, private use */
		{ 0xFE10, 0xFE6F }, { 0xFF00, 0xFF20 }, { 0xFF3B, 0xFF40 },
		{ 0xFF5B, 0xFF65 }, { 0xFFF0, 0xFFFF },
		{ 0x1F000, 0x1FAFF },	/* emoji and pictographs */
		{ 0xE0000, 0x10FFFF },	/* tags, private use */
	};
	size_t i;

	for (i = 0; i < sizeof(seps) / sizeof(seps[0]); i++)
		if (cp >= seps[i].lo && cp <= seps[i].hi)
			return true;
	return false;
}

/* Lower case of the scripts a reader of this capsule may type. */
static uint32_t
lower(uint32_t cp)
{
	/* U+03A2 is unassigned: +0x20 would make it a final sigma. */
	if ((cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) ||
	    (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;		/* Greek, Cyrillic */
	if (cp == 0x3C2)
		return 0x3C3;			/* final sigma */
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	if ((cp >= 0x1E00 && cp <= 0x1E95) || (cp >= 0x1EA0 && cp <= 0x1EFF))
		return cp | 1;			/* Latin Extended Additional */
	return cp;
}

/*
 * The folded form of cp into out (at most 4 bytes): its length, 0 for a
 * mark that belongs to the word but is folded away, -1 for a separator.
 */
static int
fold(uint32_t cp, char *out)
{
	const char	*two;
	char		 c;

	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		else if (!((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')))
			return -1;
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0xC0) {	/* only ª, º and µ are letters here */
		if (cp == 0xAA || cp == 0xBA) {
			out[0] = cp == 0xAA ? 'a' : 'o';
			return 1;
		}
		return cp == 0xB5 ? utf8_encode(0x3BC, out) : -1;
	}
	if (cp < 0x180) {
		c = cp < 0x100 ? latin1[cp - 0xC0] : latin_ext_a[cp - 0x100];
		if (c == ' ')
			return -1;
		if (c != '#') {
			out[0] = c;
			return 1;
		}
		if (cp == 0xC6 || cp == 0xE6)
			two = "ae";
		else if (cp == 0xDE || cp == 0xFE)
			two = "th";
		else if (cp == 0xDF)
			two = "ss";
		else if (cp == 0x132 || cp == 0x133)
			two = "ij";
		else
			two = "oe";
		memcpy(out, two, 2);
		return 2;
	}
	if (cp >= 0x300 && cp <= 0x36F)	/* combining accents */
		return 0;
	if (is_separator(cp))
		return -1;
	return utf8_encode(lower(cp), out);
}

/*
 * The next word of s[*pos..n), folded to lower case without accents, into
 * out (SEARCH_WORD_MAX + 1 bytes, NUL-terminated; a longer word is cut on
 * a character boundary).  Returns its length, 0 when no word is left;
 * *start gets where it began in s, *pos where to go on.  Invalid UTF-8
 * separates words like punctuation does.
 */
size_t
search_word(const char *s, size_t n, size_t *pos, char *out, size_t *start)
{
	char		 f[4];
	uint32_t	 cp;
	size_t		 p = *pos, len = 0;
	bool		 in = false, cut = false;
	int		 k, fl;

	while (p < n) {
		if ((k = utf8_decode(s + p, n - p, &cp)) < 1) {
			k = 1;
			fl = -1;
		} else
			fl = fold(cp, f);
		if (fl == -1) {
			p += (size_t)k;
			if (in && len > 0)
				break;
			in = false;	/* marks alone are no word */
			continue;
		}
		if (!in && start != NULL)
			*start = p;
		in = true;
		if (!cut && len + (size_t)fl <= SEARCH_WORD_MAX) {
			memcpy(out + len, f, (size_t)fl);
			len += (size_t)fl;
		} else
			cut = true;
		p += (size_t)k;
	}
	out[len] = '\0';
	*pos = p;
	return len;
}

struct search_index *
search_new(void)
{
	struct search_index *idx;

	if ((idx = calloc(1, sizeof(*idx))) == NULL)
		return NULL;
	buf_init(&idx->words);
	buf_init(&idx->strs);
	return idx;
}

void
search_free(struct search_index *idx)
{
	if (idx == NULL)
		return;
	buf_free(&idx->words);
	buf_free(&idx->strs);
	free(idx->terms);
	free(idx->table);
	free(idx->post);
	free(idx->postterm);
	free(idx->pages);
	free(idx->toks);
	free(idx);
}

size_t
search_docs(const struct search_index *idx)
{
	return idx ? idx->npages : 0;
}

static uint32_t
hash_word(const char *w)
{
	uint32_t h = 2166136261u;

	for (; *w != '\0'; w++)
		h = (h ^ (unsigned char)*w) * 16777619u;
	return h;
}

/* The slot of word w in the table: its term, or the free slot for it. */
static size_t
slot_of(const struct search_index *idx, const char *w)
{
	size_t mask = idx->tabsize - 1, i = hash_word(w) & mask;

	while (idx->table[i] != 0 && strcmp(idx->words.data +
	    idx->terms[idx->table[i] - 1].off, w) != 0)
		i = (i + 1) & mask;
	return i;
}

/* The term number of w, or -1. */
static long
find_term(const struct search_index *idx, const char *w)
{
	size_t i;

	if (idx->tabsize == 0)
		return -1;
	i = slot_of(idx, w);
	return idx->table[i] ? (long)idx->table[i] - 1 : -1;
}

/* Double the table: at most half full, so that probes stay short. */
static int
rehash(struct search_index *idx)
{
	size_t		 nsize = idx->tabsize ? idx->tabsize * 2 : 1024, i;
	uint32_t	*old = idx->table;
	size_t		 osize = idx->tabsize;

	if ((idx->table = calloc(nsize, sizeof(*idx->table))) == NULL) {
		idx->table = old;
		return -1;
	}
	idx->tabsize = nsize;
	for (i = 0; i < osize; i++)
		if (old[i] != 0)
			idx->table[slot_of(idx, idx->words.data +
			    idx->terms[old[i] - 1].off)] = old[i];
	free(old);
	return 0;
}

/* The term number of w, added if new; -1 when out of memory. */
static long
intern(struct search_index *idx, const char *w, size_t len)
{
	size_t	 i;
	long	 t;

	if ((t = find_term(idx, w)) != -1)
		return t;
	if (((idx->nterms + 1) * 2 > idx->tabsize && rehash(idx) == -1) ||
	    grow(&idx->terms, &idx->capterms, idx->nterms + 1,
	    sizeof(*idx->terms)) == -1 || idx->words.len > UINT32_MAX - len)
		return -1;
	idx->terms[idx->nterms].off = (uint32_t)idx->words.len;
	idx->terms[idx->nterms].count = 0;
	if (buf_append(&idx->words, w, len + 1) == -1)
		return -1;
	i = slot_of(idx, w);
	idx->table[i] = (uint32_t)++idx->nterms;
	return (long)idx->nterms - 1;
}

/* Every word of line s, at offset at of the page's text (NO_POS: not
 * stored, the title), into the page's tokens. */
static int
add_words(struct search_index *idx, const char *s, enum field field,
    size_t at)
{
	char	 w[SEARCH_WORD_MAX + 1];
	size_t	 pos = 0, n = strlen(s), len, start = 0;
	long	 t;

	while ((len = search_word(s, n, &pos, w, &start)) > 0) {
		if ((t = intern(idx, w, len)) == -1 ||
		    grow(&idx->toks, &idx->captoks, idx->ntoks + 1,
		    sizeof(*idx->toks)) == -1)
			return -1;
		idx->toks[idx->ntoks].term = (uint32_t)t;
		idx->toks[idx->ntoks].at = at == NO_POS ? NO_POS :
		    (uint32_t)(at + start);
		idx->toks[idx->ntoks++].field = field;
	}
	return 0;
}

static int
tok_cmp(const void *a, const void *b)
{
	const struct tok *x = a, *y = b;

	return x->term < y->term ? -1 : x->term > y->term;
}

static uint16_t
sat_add(uint16_t a)
{
	return a < COUNT_MAX ? a + 1 : a;
}

/* Room for one more posting, and for its term beside it. */
static int
grow_postings(struct search_index *idx)
{
	size_t		 cap = idx->cappost;
	uint32_t	*pt;

	if (grow(&idx->post, &idx->cappost, idx->npost + 1,
	    sizeof(*idx->post)) == -1)
		return -1;
	if (idx->cappost == cap && idx->postterm != NULL)
		return 0;
	if ((pt = realloc(idx->postterm, idx->cappost * sizeof(*pt))) == NULL) {
		idx->cappost = cap;	/* postterm still has only cap */
		return -1;
	}
	idx->postterm = pt;
	return 0;
}

/* The page's tokens, sorted by term, as one posting per distinct term. */
static int
add_postings(struct search_index *idx, uint32_t doc)
{
	struct posting	*p = NULL;
	size_t		 i;

	if (idx->ntoks > 0)
		qsort(idx->toks, idx->ntoks, sizeof(*idx->toks), tok_cmp);
	for (i = 0; i < idx->ntoks; i++) {
		if (i == 0 || idx->toks[i].term != idx->toks[i - 1].term) {
			if (grow_postings(idx) == -1)
				return -1;
			p = &idx->post[idx->npost];
			memset(p, 0, sizeof(*p));
			p->doc = doc;
			p->at = NO_POS;
			idx->postterm[idx->npost++] = idx->toks[i].term;
			idx->terms[idx->toks[i].term].count++;
		}
		if (idx->toks[i].at < p->at)	/* the sort is not stable */
			p->at = idx->toks[i].at;
		if (idx->toks[i].field == F_TITLE)
			p->title = sat_add(p->title);
		else if (idx->toks[i].field == F_HEAD)
			p->head = sat_add(p->head);
		else if (p->body < UINT32_MAX)
			p->body++;
	}
	idx->ntoks = 0;
	return 0;
}

/* Append s and its NUL to the strings; its offset. */
static uint32_t
put_str(struct search_index *idx, const char *s, size_t n)
{
	size_t off = idx->strs.len;

	buf_append(&idx->strs, s, n);
	buf_putc(&idx->strs, '\0');
	return (uint32_t)off;
}

/* The lines a reader searches: links are navigation, pre is art or code. */
static bool
indexed(enum gmi_type t)
{
	return t == GMI_TEXT || t == GMI_H1 || t == GMI_H2 || t == GMI_H3 ||
	    t == GMI_ITEM || t == GMI_QUOTE;
}

/*
 * Index the gemtext page at path (from "/").  Its title (gmi_title) is
 * its own field; the other indexed lines are kept, one per "\n", for the
 * snippets.
 */
int
search_add(struct search_index *idx, const char *path, const char *data,
    size_t n)
{
	struct gmi_doc	 doc;
	struct page	*pg;
	const char	*title;
	uint32_t	 po, to;
	size_t		 xo, i;
	int		 r = -1;

	if (idx->full)
		return 0;
	if (idx->strs.len + strlen(path) + n * 2 > SEARCH_TEXT_MAX) {
		idx->full = true;
		log_msg(LOG_LVL_WARN, "search: text past %lu bytes is not "
		    "indexed, from %s on", SEARCH_TEXT_MAX, path);
		return 0;
	}
	gmi_init(&doc);
	if (gmi_parse(&doc, data, n) == -1 ||
	    grow(&idx->pages, &idx->cappages, idx->npages + 1,
	    sizeof(*idx->pages)) == -1)
		goto out;
	title = gmi_title(&doc);
	po = put_str(idx, path, strlen(path));
	to = title ? put_str(idx, title, strlen(title)) : po;
	xo = idx->strs.len;
	for (i = 0; i < doc.len; i++) {
		const struct gmi_line *l = &doc.lines[i];
		enum field f = l->type == GMI_TEXT || l->type == GMI_ITEM ||
		    l->type == GMI_QUOTE ? F_BODY : F_HEAD;
		size_t at = idx->strs.len - xo;

		if (!indexed(l->type))
			continue;
		if (l->text == title) {
			f = F_TITLE;
			at = NO_POS;
		} else {
			buf_puts(&idx->strs, l->text);
			buf_putc(&idx->strs, '\n');
		}
		if (add_words(idx, l->text, f, at) == -1)
			goto out;
	}
	pg = &idx->pages[idx->npages];
	pg->path = po;
	pg->title = to;
	pg->text = (uint32_t)xo;
	pg->textlen = (uint32_t)(idx->strs.len - xo);
	buf_putc(&idx->strs, '\0');
	if (buf_status(&idx->strs) == -1 ||
	    add_postings(idx, (uint32_t)idx->npages) == -1)
		goto out;
	idx->npages++;
	r = 0;
out:
	idx->ntoks = 0;
	gmi_free(&doc);
	return r;
}

struct by_path {
	const char	*path;
	struct page	*page;
};

static int
by_path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct by_path *)a)->path,
	    ((const struct by_path *)b)->path);
}

/*
 * Number the pages in path order, so that equal results list the same
 * way whatever order the directory walk found them in, and a query
 * breaks ties by comparing numbers, not strings.
 */
static int
order_pages(struct search_index *idx)
{
	struct by_path	*v;
	size_t		 i;

	if (idx->npages == 0)
		return 0;
	if ((v = malloc(idx->npages * sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < idx->npages; i++) {
		v[i].path = idx->strs.data + idx->pages[i].path;
		v[i].page = &idx->pages[i];
	}
	qsort(v, idx->npages, sizeof(*v), by_path_cmp);
	for (i = 0; i < idx->npages; i++)
		v[i].page->order = (uint32_t)i;
	free(v);
	return 0;
}

/* Give back what doubling left unused: the index lives as long as it. */
static void
shrink(struct buf *b)
{
	char *p;

	if (b->data != NULL && b->cap > b->len + 1 &&
	    (p = realloc(b->data, b->len + 1)) != NULL) {
		b->data = p;
		b->cap = b->len + 1;
	}
}

/*
 * Group the postings by term (a counting sort, stable: pages stay in
 * ascending order within a term) and drop what only building needed.
 */
int
search_finish(struct search_index *idx)
{
	struct posting	*sorted = NULL;
	size_t		 i, at = 0;
	uint32_t	 t;

	if (order_pages(idx) == -1 || (idx->npost > 0 &&
	    (sorted = malloc(idx->npost * sizeof(*sorted))) == NULL))
		return -1;
	for (i = 0; i < idx->nterms; i++) {
		idx->terms[i].first = (uint32_t)at;
		at += idx->terms[i].count;
		idx->terms[i].count = 0;
	}
	for (i = 0; i < idx->npost; i++) {
		t = idx->postterm[i];
		sorted[idx->terms[t].first + idx->terms[t].count++] =
		    idx->post[i];
	}
	free(idx->post);
	free(idx->postterm);
	free(idx->toks);
	idx->post = sorted;
	idx->cappost = idx->npost;
	idx->postterm = NULL;
	idx->toks = NULL;
	idx->captoks = 0;
	shrink(&idx->words);
	shrink(&idx->strs);
	return 0;
}

/*
 * Is this a query to search for?  0: yes.  -1: no request a person typed
 * could be like it (invalid UTF-8, control characters).  1: a query to
 * type again (too long, no words, too many).  *why says it in a sentence.
 */
int
search_check(const char *q, size_t n, const char **why)
{
	char		 words[SEARCH_WORDS_MAX + 1][SEARCH_WORD_MAX + 1];
	char		 w[SEARCH_WORD_MAX + 1];
	uint32_t	 cp;
	size_t		 pos = 0, nw = 0, i, len;
	int		 k;

	if (n > SEARCH_QUERY_MAX) {
		*why = "The query is too long: 256 bytes at most";
		return 1;
	}
	if (!utf8_valid(q, n)) {
		*why = "The query is not valid UTF-8";
		return -1;
	}
	for (i = 0; i < n; i += (size_t)k) {
		k = utf8_decode(q + i, n - i, &cp);
		if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
			*why = "The query contains control characters";
			return -1;
		}
	}
	while ((len = search_word(q, n, &pos, w, NULL)) > 0) {
		for (i = 0; i < nw && strcmp(words[i], w) != 0; i++)
			;
		if (i < nw)
			continue;
		if (nw == SEARCH_WORDS_MAX) {
			*why = "The query has too many words: 16 at most";
			return 1;
		}
		memcpy(words[nw++], w, len + 1);
	}
	if (nw == 0) {
		*why = "The query has no words to search for, only punctuation";
		return 1;
	}
	*why = NULL;
	return 0;
}

/* The first posting at or after doc in p[lo..hi), by galloping. */
static size_t
seek(const struct posting *p, size_t lo, size_t hi, uint32_t doc)
{
	size_t step = 1, mid;

	while (lo + step < hi && p[lo + step].doc < doc) {
		lo += step;
		step *= 2;
	}
	if (lo + step < hi)
		hi = lo + step + 1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p[mid].doc < doc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct search_hit *x = a, *y = b;

	if (x->in_title != y->in_title)
		return x->in_title > y->in_title ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Keep h if it is among the best max: heap is a heap of the kept hits
 * with the worst on top, so that a match costs one comparison with it
 * unless it is better, and no query sorts every match.
 */
static void
keep_best(struct search_hit *heap, size_t *n, size_t max,
    const struct search_hit *h)
{
	struct search_hit	 tmp;
	size_t			 i, c;

	if (*n < max) {
		i = (*n)++;
		heap[i] = *h;
		while (i > 0 && hit_cmp(&heap[(i - 1) / 2], &heap[i]) < 0) {
			tmp = heap[i];
			heap[i] = heap[(i - 1) / 2];
			heap[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
		return;
	}
	if (max == 0 || hit_cmp(h, &heap[0]) >= 0)
		return;
	heap[0] = *h;
	for (i = 0; (c = 2 * i + 1) < *n; i = c) {
		if (c + 1 < *n && hit_cmp(&heap[c + 1], &heap[c]) > 0)
			c++;
		if (hit_cmp(&heap[c], &heap[i]) <= 0)
			break;
		tmp = heap[i];
		heap[i] = heap[c];
		heap[c] = tmp;
	}
}

static void
fill_hit(const struct search_index *idx, struct search_hit *h, uint32_t doc)
{
	const struct page *pg = &idx->pages[doc];

	h->path = idx->strs.data + pg->path;
	h->title = idx->strs.data + pg->title;
	h->text = idx->strs.data + pg->text;
	h->textlen = pg->textlen;
	h->order = pg->order;
	if (h->at > h->textlen)		/* no query word in the text */
		h->at = h->textlen;
}

/*
 * The pages holding every word of q: res->n counts them, res->hits holds
 * the best max of them, best first: more query words in the title first,
 * then a higher score (title 16, headings 4, text 1 for each
 * occurrence), then by path.  res->hits is NULL when none match.
 */
int
search_run(const struct search_index *idx, const char *q, size_t n,
    size_t max, struct search_result *res)
{
	const struct term	*t[SEARCH_WORDS_MAX], *tmp;
	size_t			 cur[SEARCH_WORDS_MAX];
	const struct posting	*p;
	struct search_hit	 hit, *h = &hit;
	size_t			 pos = 0, len, i, j, k;
	long			 ti;

	memset(res, 0, sizeof(*res));
	while (res->nwords < SEARCH_WORDS_MAX &&
	    (len = search_word(q, n, &pos, res->words[res->nwords], NULL)) >
	    0) {
		for (i = 0; i < res->nwords &&
		    strcmp(res->words[i], res->words[res->nwords]) != 0; i++)
			;
		if (i == res->nwords)
			res->nwords++;
	}
	if (idx == NULL || res->nwords == 0)
		return 0;
	for (i = 0; i < res->nwords; i++) {
		if ((ti = find_term(idx, res->words[i])) == -1)
			return 0;	/* AND: one absent word, no page */
		t[i] = &idx->terms[ti];
	}
	/* The rarest word first: its pages are the candidates. */
	for (i = 1; i < res->nwords; i++)
		for (j = i; j > 0 && t[j]->count < t[j - 1]->count; j--) {
			tmp = t[j];
			t[j] = t[j - 1];
			t[j - 1] = tmp;
		}
	if (max > t[0]->count)
		max = t[0]->count;
	if (max > 0 && (res->hits = calloc(max, sizeof(*res->hits))) == NULL)
		return -1;
	for (i = 0; i < res->nwords; i++)
		cur[i] = t[i]->first;
	for (k = t[0]->first; k < t[0]->first + t[0]->count; k++) {
		memset(h, 0, sizeof(*h));
		h->at = NO_POS;
		for (i = 0; i < res->nwords; i++) {
			if (i > 0) {
				cur[i] = seek(idx->post, cur[i], t[i]->first +
				    t[i]->count, idx->post[k].doc);
				if (cur[i] == t[i]->first + t[i]->count)
					goto done;	/* no later page has it */
				if (idx->post[cur[i]].doc != idx->post[k].doc)
					break;
			}
			p = &idx->post[i > 0 ? cur[i] : k];
			if (p->at < h->at)
				h->at = p->at;
			h->in_title += p->title > 0;
			h->score += (unsigned long)p->title * TITLE_WEIGHT +
			    (unsigned long)p->head * HEAD_WEIGHT + p->body;
		}
		if (i == res->nwords) {
			fill_hit(idx, h, idx->post[k].doc);
			keep_best(res->hits, &res->nhits, max, h);
			res->n++;
		}
	}
done:
	if (res->nhits > 1)
		qsort(res->hits, res->nhits, sizeof(*res->hits), hit_cmp);
	return 0;
}

void
search_result_free(struct search_result *res)
{
	free(res->hits);
	res->hits = NULL;
	res->n = res->nhits = 0;
}

static int
add_page(void *arg, const char *path, const char *data, size_t n)
{
	return search_add(arg, path, data, n);
}

/* An index of the pages of cap, and of no other capsule; NULL with the
 * reason.  The caller keeps the old one serving until this one is done. */
struct search_index *
search_build(struct capsule *cap, const char **err)
{
	struct search_index *idx;

	if ((idx = search_new()) == NULL ||
	    capsule_walk(cap, add_page, idx, SEARCH_FILE_MAX) == -1 ||
	    search_finish(idx) == -1) {
		search_free(idx);
		*err = "out of memory";
		return NULL;
	}
	return idx;
}
