/*
 * density.c: where the article is, and which blocks are navigation,
 * when no profile says.  Counted once for the whole tree, from the
 * leaves up, so the cost stays linear however deep the page nests.
 *
 * A block that is mostly link text is navigation, but only where it is
 * not the article: the article is found by its own text, in the manner of
 * the readability family of extractors.  Each paragraph of real (non-link)
 * text scores for the blocks around it, more for commas and length; a
 * block's score is cut by its own link density; the best block is the
 * article.  That block, the block of the page's main heading, and the
 * blocks that hold either or most of the page's text are never dropped,
 * whatever links they hold; only what lies outside them can be.  Of that,
 * what comes after the heading and holds more text than the article is
 * the content of a page of links (an index, a book's contents), and a
 * block whose links all stay in the page is its table of contents: both
 * stay, with all inside them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

#define PARA_MIN	25	/* bytes of non-link text that make a paragraph */
#define SCORE_LEVELS	5	/* ancestors a paragraph scores for */
#define HEADING_TRIES	64	/* main heading candidates looked at */

static size_t
hash_ptr(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= 0xed5ad4bbu;
	v ^= v >> 11;
	return (size_t)v;
}

/*
 * The counts of n, or an empty entry (node NULL) when n was not counted.
 * The hash holds only node and index, the counts lie in document order:
 * the table probed at random is a fifth of the size it would be.
 */
static struct dstat *
find(const struct density *d, const GumboNode *n)
{
	size_t i = hash_ptr(n) & (d->nkeys - 1);

	while (d->keys[i].node != NULL && d->keys[i].node != n)
		i = (i + 1) & (d->nkeys - 1);
	return &d->slots[d->keys[i].node != NULL ? d->keys[i].at :
	    d->nstats];
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Non-space bytes, words and commas of a text node. */
static void
count_text(const GumboNode *n, struct dstat *s)
{
	const char	*p = n->v.text.text;
	bool		 in_word = false;

	for (; *p != '\0'; p++) {
		if (is_space(*p)) {
			in_word = false;
			continue;
		}
		s->text++;
		if (*p == ',')
			s->commas++;
		if (!in_word)
			s->words++;
		in_word = true;
	}
}

/* Text that is never shown: not counted, not descended into. */
static bool
unseen(const GumboNode *n)
{
	GumboTag t;

	if (n->type != GUMBO_NODE_ELEMENT)
		return false;
	t = n->v.element.tag;
	return t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE ||
	    t == GUMBO_TAG_NOSCRIPT || t == GUMBO_TAG_TEMPLATE ||
	    t == GUMBO_TAG_HEAD;
}

/* A link is an <a> with an href; <a name="x"> is only a target. */
static bool
is_link(const GumboNode *n)
{
	return n->v.element.tag == GUMBO_TAG_A && tree_attr(n, "href") != NULL;
}

/* Blocks whose text is read as a paragraph when scoring. */
static bool
is_para(GumboTag t)
{
	return t == GUMBO_TAG_P || t == GUMBO_TAG_PRE || t == GUMBO_TAG_TD ||
	    t == GUMBO_TAG_DD || t == GUMBO_TAG_LI || t == GUMBO_TAG_BLOCKQUOTE;
}

/* Containers that boilerplate lives in, in the class and id names. */
static bool
name_has(const char *v, const char *const *words, size_t n)
{
	size_t i;

	if (v == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (strcasestr(v, words[i]) != NULL)
			return true;
	return false;
}

/* A head start, as readability gives one, from the tag and its names. */
static double
bias(const GumboNode *n)
{
	static const char *const good[] = {
		"article", "body", "content", "entry", "main", "page",
		"post", "text", "story", "section", "chapter", "document",
	};
	static const char *const bad[] = {
		"sidebar", "nav", "menu", "footer", "header", "banner",
		"related", "comment", "breadcrumb", "sponsor", "share",
		"social", "masthead", "toolbar",
	};
	const char	*cl = tree_attr(n, "class"), *id = tree_attr(n, "id");
	double		 b = 0;

	switch (n->v.element.tag) {
	case GUMBO_TAG_DIV:
	case GUMBO_TAG_ARTICLE:
	case GUMBO_TAG_MAIN:
	case GUMBO_TAG_SECTION:
		b += 5;
		break;
	case GUMBO_TAG_PRE:
	case GUMBO_TAG_TD:
	case GUMBO_TAG_BLOCKQUOTE:
		b += 3;
		break;
	case GUMBO_TAG_UL:
	case GUMBO_TAG_OL:
	case GUMBO_TAG_DL:
	case GUMBO_TAG_DD:
	case GUMBO_TAG_DT:
	case GUMBO_TAG_LI:
	case GUMBO_TAG_FORM:
		b -= 3;
		break;
	default:
		break;
	}
	if (name_has(cl, bad, sizeof(bad) / sizeof(bad[0])) ||
	    name_has(id, bad, sizeof(bad) / sizeof(bad[0])))
		b -= 25;
	else if (name_has(cl, good, sizeof(good) / sizeof(good[0])) ||
	    name_has(id, good, sizeof(good) / sizeof(good[0])))
		b += 25;
	return b;
}

/* Is n inside an element that is boilerplate by its tag alone? */
static bool
in_chrome(const GumboNode *root, const GumboNode *n)
{
	GumboTag t;

	for (; n != NULL && n != root; n = n->parent) {
		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		t = n->v.element.tag;
		if (t == GUMBO_TAG_NAV || t == GUMBO_TAG_HEADER ||
		    t == GUMBO_TAG_FOOTER)
			return true;
	}
	return false;
}

/*
 * The page's main heading: its first <h1> outside nav, header and
 * footer, else its first such <h2>.  Its block is the first ancestor
 * that holds more text than the heading itself.
 */
static const GumboNode *
heading_block(struct density *d, GumboNode **order, size_t len,
    const GumboNode *root)
{
	GumboTag	 want[] = { GUMBO_TAG_H1, GUMBO_TAG_H2 };
	const GumboNode	*h = NULL, *b;
	size_t		 i, k, tries;
	size_t		 text;

	for (k = 0; k < 2 && h == NULL; k++)
		for (i = 0, tries = 0; i < len && tries < HEADING_TRIES; i++) {
			if (order[i]->v.element.tag != want[k])
				continue;
			tries++;
			if (!in_chrome(root, order[i])) {
				h = order[i];
				break;
			}
		}
	if (h == NULL)
		return NULL;
	d->heading = h;
	text = find(d, h)->text;
	for (b = h; b != root && b->parent != NULL &&
	    b->parent->type == GUMBO_NODE_ELEMENT; b = b->parent)
		if (find(d, b)->text > text)
			return b;
	return h;	/* a flat page: the heading stands alone */
}

/* n and its ancestors up to root hold the article: never dropped. */
static void
keep_up(struct density *d, const GumboNode *root, const GumboNode *n)
{
	struct dstat *s;

	for (; n != NULL; n = n->parent) {
		if (n->type != GUMBO_NODE_ELEMENT)
			break;
		if ((s = find(d, n))->node == n)
			s->keep = true;
		if (n == root)
			break;
	}
}

/* Readability's scoring: paragraphs score for their ancestors. */
static void
score(struct density *d, GumboNode **order, size_t len,
    const GumboNode *root)
{
	static const double share[SCORE_LEVELS] = { 1, 2, 6, 9, 12 };
	const GumboNode	*p;
	struct dstat	*s, *ps;
	double		 v, best = 0, ld;
	size_t		 i, own, lvl;

	for (i = 0; i < len; i++) {
		if (!is_para(order[i]->v.element.tag))
			continue;
		s = find(d, order[i]);
		own = s->text - s->link_text;
		if (own < PARA_MIN)
			continue;
		v = 1 + (double)s->commas + (own / 100 < 3 ? own / 100 : 3);
		p = order[i];
		for (lvl = 0; lvl < SCORE_LEVELS && p != root; lvl++) {
			p = p->parent;
			if (p == NULL || p->type != GUMBO_NODE_ELEMENT)
				break;
			ps = find(d, p);
			if (ps->node != p)
				break;
			if (ps->score == 0)
				ps->score = bias(p);
			ps->score += v / share[lvl];
		}
	}
	d->best = NULL;
	for (i = 0; i < len; i++) {
		s = find(d, order[i]);
		if (s->score <= 0)
			continue;
		ld = s->text ? (double)s->link_text / (double)s->text : 0;
		v = s->score * (1 - ld);
		if (v > best) {
			best = v;
			d->best = order[i];
		}
	}
}

static bool
table_part(const GumboNode *n)
{
	GumboTag t = n->v.element.tag;

	return t == GUMBO_TAG_TABLE || t == GUMBO_TAG_TBODY ||
	    t == GUMBO_TAG_THEAD || t == GUMBO_TAG_TFOOT || t == GUMBO_TAG_TR;
}

/*
 * Cells score for their row, so a layout table's row wins when the
 * article sits in one of its cells, beside the menu in another: the
 * article is the part of the row with the most text of its own.
 */
static void
into_cell(struct density *d)
{
	const GumboNode	*n = d->best, *k, *pick;
	const struct dstat *s;
	size_t		 i, most;

	while (n != NULL && table_part(n)) {
		pick = NULL;
		most = 0;
		for (i = 0; i < n->v.element.children.length; i++) {
			k = n->v.element.children.data[i];
			if (k->type != GUMBO_NODE_ELEMENT)
				continue;
			s = find(d, k);
			if (s->node == k && s->text - s->link_text > most) {
				most = s->text - s->link_text;
				pick = k;
			}
		}
		if (pick == NULL)
			break;
		n = pick;
	}
	d->best = n;
}

/* The elements under root worth counting, in document order. */
static int
collect(GumboNode *root, GumboNode ***order, size_t *len)
{
	GumboNode	**o, *n;
	size_t		  cap = 0;
	bool		  descend;

	*order = NULL;
	*len = 0;
	for (n = root; n != NULL; n = tree_next(root, n, descend)) {
		descend = !unseen(n);
		if (n->type != GUMBO_NODE_ELEMENT || !descend)
			continue;
		if (*len == cap) {
			cap = cap ? cap * 2 : 256;
			if ((o = realloc(*order, cap * sizeof(*o))) == NULL)
				return -1;
			*order = o;
		}
		(*order)[(*len)++] = n;
	}
	return 0;
}

/* The hash from node to its counts, which lie in document order. */
static int
index_nodes(struct density *d, GumboNode **order, size_t len)
{
	size_t	 i, k;

	for (d->nkeys = 64; d->nkeys < len * 2; d->nkeys *= 2)
		;
	d->nstats = len;
	if ((d->keys = calloc(d->nkeys, sizeof(*d->keys))) == NULL ||
	    (d->slots = calloc(len + 1, sizeof(*d->slots))) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		k = hash_ptr(order[i]) & (d->nkeys - 1);
		while (d->keys[k].node != NULL)
			k = (k + 1) & (d->nkeys - 1);
		d->keys[k].node = order[i];
		d->keys[k].at = i;
		d->slots[i].node = order[i];
	}
	return 0;
}

/* Each element's own text and links, added up into its ancestors. */
static void
count_up(struct density *d, GumboNode **order, size_t len, GumboNode *root)
{
	struct dstat	*s, *ps;
	GumboNode	*n, *p;
	size_t		 i, k;

	for (i = len; i-- > 0;) {
		n = order[i];
		s = &d->slots[i];
		for (k = 0; k < n->v.element.children.length; k++) {
			p = n->v.element.children.data[k];
			if (p->type == GUMBO_NODE_TEXT ||
			    p->type == GUMBO_NODE_CDATA)
				count_text(p, s);
		}
		if (is_link(n)) {
			s->link_text = s->text;
			s->links++;
			if (tree_attr(n, "href")[0] == '#')
				s->frag_links++;
		}
		if (n == root || n->parent == NULL ||
		    n->parent->type != GUMBO_NODE_ELEMENT)
			continue;
		ps = find(d, n->parent);
		if (ps->node == n->parent) {
			ps->text += s->text;
			ps->link_text += s->link_text;
			ps->links += s->links;
			ps->frag_links += s->frag_links;
			ps->words += s->words;
			ps->commas += s->commas;
		}
	}
}

/* The article's block and the main heading's, from the counts. */
static void
choose(struct density *d, GumboNode **order, size_t len, GumboNode *root)
{
	struct dstat	*s = find(d, root);

	d->own_text = s->text - s->link_text;
	score(d, order, len, root);
	into_cell(d);
	if (d->best == root)
		d->best = NULL;	/* no block stands out */
	d->head_block = heading_block(d, order, len, root);
	keep_up(d, root, d->best);
	keep_up(d, root, d->head_block);
	if (d->best != NULL)
		d->article_text = find(d, d->best)->text;
	if (d->head_block != NULL &&
	    find(d, d->head_block)->text > d->article_text)
		d->article_text = find(d, d->head_block)->text;
}

/*
 * Count text, link text and links of every element under root: elements
 * are listed in document order, then summed from the last to the first,
 * so each child is complete before it is added to its parent.  Then find
 * the article and the main heading.
 */
int
density_build(struct density *d, GumboNode *root)
{
	GumboNode	**order;
	size_t		  len;

	memset(d, 0, sizeof(*d));
	if (collect(root, &order, &len) == -1 ||
	    index_nodes(d, order, len) == -1) {
		free(order);
		free(d->keys);
		free(d->slots);
		memset(d, 0, sizeof(*d));
		return -1;
	}
	count_up(d, order, len, root);
	if (len > 0 && root->type == GUMBO_NODE_ELEMENT)
		choose(d, order, len, root);
	free(order);
	return 0;
}

void
density_free(struct density *d)
{
	free(d->keys);
	free(d->slots);
	memset(d, 0, sizeof(*d));
}

/*
 * Is n the article, or the block of the main heading?  Nothing inside
 * either is dropped for its links.
 */
bool
density_article(const struct density *d, const GumboNode *n)
{
	return d->slots != NULL && (n == d->best || n == d->head_block);
}

/* Words of text under n, as counted when the tree was read. */
size_t
density_words(const struct density *d, const GumboNode *n)
{
	const struct dstat *s;

	if (d->slots == NULL)
		return 0;
	s = find(d, n);
	return s->node == n ? s->words : 0;
}

/*
 * Several links, and links are most of the text: a navigation block,
 * unless it holds the article, the main heading, or at least half of
 * the page's own (non-link) text.  After the main heading (after is
 * true), a block with more text than the article is the page's content
 * (a book's table of contents after its title page), not its menu:
 * DENSE_CONTENT, and nothing inside it is dropped for its links either;
 * so is a block whose links all lead within the page (its contents).
 */
enum dense
density_dense(const struct density *d, const GumboNode *n, double limit,
    bool after)
{
	const struct dstat *s;

	if (d->slots == NULL || limit <= 0)
		return DENSE_NO;
	/* Neither an article nor a heading: a page of links, all content. */
	if (d->best == NULL && d->heading == NULL)
		return DENSE_NO;
	s = find(d, n);
	if (s->node != n || s->links < 3 || s->keep)
		return DENSE_NO;
	if (d->own_text > 0 && (s->text - s->link_text) * 2 >= d->own_text)
		return DENSE_NO;
	if (s->text != 0 && (double)s->link_text <= limit * (double)s->text)
		return DENSE_NO;
	if (s->frag_links == s->links)
		return DENSE_CONTENT;
	if ((after || d->heading == NULL) && s->text >= d->article_text)
		return DENSE_CONTENT;
	return DENSE_NAV;
}
