/*
 * tree.c: small helpers over gumbo's tree.  Walking uses the parent
 * links instead of recursion, so a page nested 100,000 deep needs no
 * more stack than a flat one.
 */
#include <string.h>

#include "html2gmi.h"

const GumboVector *
tree_children(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_DOCUMENT)
		return &n->v.document.children;
	if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
		return &n->v.element.children;
	return NULL;
}

/* The position of n among its parent's children. */
static size_t
index_of(const GumboNode *n, const GumboVector *k)
{
	size_t i = n->index_within_parent;

	if (i < k->length && k->data[i] == n)
		return i;
	for (i = 0; i < k->length; i++)	/* should not happen */
		if (k->data[i] == n)
			return i;
	return k->length;
}

/*
 * The node after n in document order inside root; with descend false
 * n's own children are skipped.  NULL at the end.
 */
GumboNode *
tree_next(const GumboNode *root, GumboNode *n, bool descend)
{
	const GumboVector	*k;
	size_t			 i;

	if (descend && (k = tree_children(n)) != NULL && k->length > 0)
		return k->data[0];
	while (n != root && n->parent != NULL) {
		k = tree_children(n->parent);
		i = index_of(n, k) + 1;
		if (i < k->length)
			return k->data[i];
		n = n->parent;
	}
	return NULL;
}

const char *
tree_attr(const GumboNode *n, const char *name)
{
	const GumboAttribute *a;

	if (n->type != GUMBO_NODE_ELEMENT)
		return NULL;
	a = gumbo_get_attribute(&n->v.element.attributes, name);
	return a ? a->value : NULL;
}

/*
 * Bytes of an invisible break hint at s (n bytes): a soft hyphen U+00AD,
 * or a zero-width space U+200B; 0 for anything else.  Browsers show
 * neither unless they break a line there, and gemtext lines do not break.
 */
static size_t
invisible(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 2 && u[0] == 0xC2 && u[1] == 0xAD)
		return 2;
	if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0x8B)
		return 3;
	return 0;
}

/*
 * Append s to b with HTML white space (and no-break spaces, which pages
 * use for layout) collapsed to single spaces and the invisible break
 * hints left out; *space carries a pending space between calls so that
 * none leads or trails.  False on no memory.
 */
bool
collapse_into(struct buf *b, bool *space, const char *s, size_t n)
{
	size_t		i, run;
	unsigned char	c;

	for (i = 0; i < n; i += run) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f') {
			*space = true;
			run = 1;
			continue;
		}
		if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {
			*space = true;
			run = 2;
			continue;
		}
		if ((c == 0xC2 || c == 0xE2) && (run = invisible(s + i,
		    n - i)) > 0)
			continue;
		/* A word at a time: this loop sees every byte of the page. */
		for (run = 1; i + run < n; run++) {
			c = (unsigned char)s[i + run];
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			    c == '\f' || c == 0xC2 || c == 0xE2)
				break;
		}
		if (*space && b->len > 0 && buf_putc(b, ' ') == -1)
			return false;
		*space = false;
		if (buf_append(b, s + i, run) == -1)
			return false;
	}
	return true;
}

/* The collapsed text of a subtree, without scripts and styles. */
int
tree_text(const GumboNode *root, struct buf *b)
{
	GumboNode	*n = (GumboNode *)root;
	bool		 space = false, descend;
	GumboTag	 t;

	for (; n != NULL; n = tree_next(root, n, descend)) {
		descend = true;
		if (n->type == GUMBO_NODE_ELEMENT) {
			t = n->v.element.tag;
			descend = t != GUMBO_TAG_SCRIPT && t != GUMBO_TAG_STYLE &&
			    t != GUMBO_TAG_TEMPLATE && t != GUMBO_TAG_NOSCRIPT;
			if (t == GUMBO_TAG_BR || t == GUMBO_TAG_P ||
			    t == GUMBO_TAG_DIV || t == GUMBO_TAG_LI ||
			    t == GUMBO_TAG_TD)
				space = true;
		} else if (n->type == GUMBO_NODE_TEXT ||
		    n->type == GUMBO_NODE_CDATA ||
		    n->type == GUMBO_NODE_WHITESPACE) {
			if (!collapse_into(b, &space, n->v.text.text,
			    strlen(n->v.text.text)))
				return -1;
		} else if (n->type == GUMBO_NODE_TEMPLATE)
			descend = false;
	}
	if (b->data == NULL && buf_puts(b, "") == -1)
		return -1;
	return 0;
}
