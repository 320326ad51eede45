/*
 * gather.c: the links of one block, collected while its text is read and
 * written after it as "=>" lines, each URL once, because gemtext cannot
 * put a link inside a line of text.
 */
#include <stdlib.h>
#include <string.h>

#include "html2gmi.h"

void
gather_init(struct gather *g)
{
	memset(g, 0, sizeof(*g));
}

static void
clear(struct gather *g)
{
	size_t i;

	for (i = 0; i < g->len; i++) {
		free(g->v[i].url);
		free(g->v[i].label);
	}
	g->len = 0;
	if (g->slots != NULL)
		memset(g->slots, 0, g->nslots * sizeof(*g->slots));
}

void
gather_free(struct gather *g)
{
	clear(g);
	free(g->v);
	free(g->slots);
	gather_init(g);
}

static size_t
hash(const char *s)
{
	size_t h = 14695981039346656037u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* Slot of url in the table: its entry (index + 1) or the empty slot. */
static size_t *
slot(struct gather *g, const char *url)
{
	size_t i = hash(url) & (g->nslots - 1);

	while (g->slots[i] != 0 && strcmp(g->v[g->slots[i] - 1].url, url) != 0)
		i = (i + 1) & (g->nslots - 1);
	return &g->slots[i];
}

/* Keep the table at most half full so that probing stays short. */
static int
grow(struct gather *g)
{
	size_t	 n = g->nslots ? g->nslots * 2 : 64, i, *old = g->slots;
	size_t	 oldn = g->nslots;

	if ((g->slots = calloc(n, sizeof(*g->slots))) == NULL) {
		g->slots = old;
		return -1;
	}
	g->nslots = n;
	for (i = 0; i < oldn; i++)
		if (old[i] != 0)
			*slot(g, g->v[old[i] - 1].url) = old[i];
	free(old);
	return 0;
}

/*
 * Add a link; a URL already gathered keeps its first real label.  Returns
 * 1 when label is then said by no link line (the URL was gathered with
 * another label), so the caller knows that text is not repeated there.
 */
int
gather_add(struct gather *g, const char *url, const char *label)
{
	struct glink	*v;
	size_t		*s;
	char		*l;

	if ((g->len + 1) * 2 > g->nslots && grow(g) == -1)
		return -1;
	s = slot(g, url);
	if (*s != 0) {
		v = &g->v[*s - 1];
		if (strcmp(v->label, v->url) == 0 && strcmp(label, url) != 0) {
			if ((l = strdup(label)) == NULL)
				return -1;
			free(v->label);
			v->label = l;
		}
		return strcmp(v->label, label) == 0 ? 0 : 1;
	}
	if (g->len == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;

		if ((v = realloc(g->v, cap * sizeof(*v))) == NULL)
			return -1;
		g->v = v;
		g->cap = cap;
	}
	v = &g->v[g->len];
	v->url = strdup(url);
	v->label = strdup(label);
	if (v->url == NULL || v->label == NULL) {
		free(v->url);
		free(v->label);
		return -1;
	}
	*s = ++g->len;
	return 0;
}

/* Write the gathered links to doc in the order met, and start afresh. */
int
gather_flush(struct gather *g, struct gmi_doc *doc)
{
	size_t i;

	for (i = 0; i < g->len; i++)
		gmi_add_link(doc, g->v[i].url, g->v[i].label);
	clear(g);
	return gmi_status(doc);
}
