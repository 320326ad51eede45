/*
 * density.c: how much of each block's text is link text.  Without a
 * profile, a block that is mostly links is navigation; counting once for
 * the whole tree keeps that test linear however deep the page nests.
 */
#include <stdlib.h>
#include <string.h>

#include "html2gmi.h"

static size_t
hash_ptr(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= 0xed5ad4bbu;
	v ^= v >> 11;
	return (size_t)v;
}

static struct dstat *
find(const struct density *d, const GumboNode *n)
{
	size_t i = hash_ptr(n) & (d->nslots - 1);

	while (d->slots[i].node != NULL && d->slots[i].node != n)
		i = (i + 1) & (d->nslots - 1);
	return &d->slots[i];
}

/* Non-space bytes of a text node. */
static size_t
text_len(const GumboNode *n)
{
	const char	*s = n->v.text.text;
	size_t		 k = 0;

	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' &&
		    *s != '\f')
			k++;
	return k;
}

/*
 * Count text, link text and links of every element under root: elements
 * are listed in document order, then summed from the last to the first,
 * so each child is complete before it is added to its parent.
 */
int
density_build(struct density *d, GumboNode *root)
{
	GumboNode	**order = NULL, *n, **o, *p;
	size_t		  len = 0, cap = 0, i, k;
	struct dstat	 *s, *ps;

	memset(d, 0, sizeof(*d));
	for (n = root; n != NULL; n = tree_next(root, n, true)) {
		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 256;
			if ((o = realloc(order, cap * sizeof(*o))) == NULL)
				goto fail;
			order = o;
		}
		order[len++] = n;
	}
	for (d->nslots = 64; d->nslots < len * 2; d->nslots *= 2)
		;
	if ((d->slots = calloc(d->nslots, sizeof(*d->slots))) == NULL)
		goto fail;
	for (i = 0; i < len; i++)
		find(d, order[i])->node = order[i];
	for (i = len; i-- > 0;) {
		n = order[i];
		s = find(d, n);
		for (k = 0; k < n->v.element.children.length; k++) {
			p = n->v.element.children.data[k];
			if (p->type == GUMBO_NODE_TEXT)
				s->text += text_len(p);
		}
		if (n->v.element.tag == GUMBO_TAG_A) {
			s->link_text = s->text;
			s->links++;
		}
		if (n != root && n->parent != NULL &&
		    n->parent->type == GUMBO_NODE_ELEMENT) {
			ps = find(d, n->parent);
			if (ps->node == n->parent) {
				ps->text += s->text;
				ps->link_text += s->link_text;
				ps->links += s->links;
			}
		}
	}
	free(order);
	return 0;
fail:
	free(order);
	free(d->slots);
	memset(d, 0, sizeof(*d));
	return -1;
}

void
density_free(struct density *d)
{
	free(d->slots);
	memset(d, 0, sizeof(*d));
}

/* Several links, and links are most of the text: a navigation block. */
bool
density_dense(const struct density *d, const GumboNode *n, double limit)
{
	const struct dstat *s;

	if (d->slots == NULL || limit <= 0)
		return false;
	s = find(d, n);
	if (s->node != n || s->links < 3)
		return false;
	return s->text == 0 || (double)s->link_text > limit * (double)s->text;
}
