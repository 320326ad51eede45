/*
 * meta.c: what a page says of itself besides its text: the title, date
 * and disclaimer its markup holds, and the summary its converted lines
 * begin with.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

/*
 * The collapsed text of n into *text, NULL when it has none.  -1 when
 * out of memory.
 */
static int
node_text(const GumboNode *n, char **text)
{
	struct buf b;

	*text = NULL;
	buf_init(&b);
	if (tree_text(n, &b) == -1) {
		buf_free(&b);
		return -1;
	}
	if (b.len == 0)
		buf_free(&b);
	else
		*text = buf_steal(&b);
	return 0;
}

/* The text of the page's <title>, or NULL; -1 when out of memory. */
static int
doc_title(GumboOutput *out, char **title)
{
	GumboNode *n;

	*title = NULL;
	for (n = out->document; n != NULL; n = tree_next(out->document, n,
	    true)) {
		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		if (n->v.element.tag == GUMBO_TAG_BODY)
			break;
		if (n->v.element.tag == GUMBO_TAG_TITLE)
			return node_text(n, title);
	}
	return 0;
}

/*
 * A YYYY-MM-DD date from the page's date metadata, or NULL; -1 when out
 * of memory.
 */
static int
doc_date(GumboOutput *out, char **date)
{
	static const char *const names[] = {
		"date", "dc.date", "dcterms.date", "dcterms.modified",
		"dcterms.created", "article:published_time",
		"article:modified_time", "last-modified",
	};
	GumboNode	*n;
	const char	*name, *v;
	size_t		 i;

	*date = NULL;
	for (n = out->document; n != NULL; n = tree_next(out->document, n,
	    true)) {
		if (n->type != GUMBO_NODE_ELEMENT ||
		    n->v.element.tag != GUMBO_TAG_META)
			continue;
		if ((name = tree_attr(n, "name")) == NULL &&
		    (name = tree_attr(n, "property")) == NULL)
			continue;
		if ((v = tree_attr(n, "content")) == NULL || strlen(v) < 10)
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcasecmp(name, names[i]) != 0)
				continue;
			if (v[4] == '-' && v[7] == '-' &&
			    strspn(v, "0123456789") == 4 &&
			    strspn(v + 5, "0123456789") == 2 &&
			    strspn(v + 8, "0123456789") >= 2)
				return (*date = strndup(v, 10)) == NULL ? -1 :
				    0;
		}
	}
	return 0;
}

/*
 * The text of the first element the disclaimer selectors match, or
 * NULL; -1 when out of memory.
 */
static int
doc_disclaimer(const struct profile *p, GumboOutput *out, char **text)
{
	GumboNode *n;

	*text = NULL;
	if (p->disclaimer.len == 0)
		return 0;
	for (n = out->document; n != NULL; n = tree_next(out->document, n,
	    true))
		if (selector_any(&p->disclaimer, n))
			return node_text(n, text);
	return 0;
}

/* Put a title line and a blank line in front of the page. */
static int
prepend_title(struct gmi_doc *doc, const char *title)
{
	struct gmi_line	 h, b;
	size_t		 n = doc->len;

	gmi_add(doc, GMI_H1, title, strlen(title));
	if (n > 0)
		gmi_add(doc, GMI_TEXT, "", 0);
	if (gmi_status(doc) == -1)
		return -1;
	if (n == 0)
		return 0;
	h = doc->lines[n];
	b = doc->lines[n + 1];
	memmove(doc->lines + 2, doc->lines, n * sizeof(*doc->lines));
	doc->lines[0] = h;
	doc->lines[1] = b;
	return 0;
}

/* The page's first line of text, which may not be its first line. */
static int
doc_summary(const struct gmi_doc *doc, char **summary)
{
	size_t i;

	*summary = NULL;
	for (i = 0; i < doc->len; i++)
		if (doc->lines[i].type == GMI_TEXT &&
		    doc->lines[i].text[0] != '\0')
			return (*summary = strdup(doc->lines[i].text)) ==
			    NULL ? -1 : 0;
	return 0;
}

/*
 * Fill in pg's title, summary, date and disclaimer once its lines are
 * converted (had_h1: they hold a title line); a page without one gets
 * its <title> as its first line.  -1 when out of memory.
 */
int
page_meta(struct page *pg, GumboOutput *out, const struct profile *prof,
    bool had_h1)
{
	char *title;

	if (!had_h1) {
		if (doc_title(out, &title) == -1)
			return -1;
		if (title != NULL && prepend_title(&pg->doc, title) == -1) {
			free(title);
			return -1;
		}
		if (pg->title == NULL)
			pg->title = title;
		else
			free(title);
	}
	/* Known only now: a line of link text may have gone (emit_links). */
	if (doc_summary(&pg->doc, &pg->summary) == -1 ||
	    doc_date(out, &pg->date) == -1 ||
	    doc_disclaimer(prof, out, &pg->disclaimer) == -1)
		return -1;
	return 0;
}
