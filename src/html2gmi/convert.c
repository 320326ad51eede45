/*
 * convert.c: one page's HTML, parsed by gumbo, to the gemtext line model
 * (meta.c then adds its title, date and summary).  The walk keeps its
 * own stack of frames, one per open element, so that nesting costs
 * heap, not C stack; each element kind has a small enter and exit step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

/* What entering an element started, so that leaving it can finish it. */
enum act {
	ACT_NONE,
	ACT_BLOCK,
	ACT_HEADING,
	ACT_LIST,
	ACT_ITEM,
	ACT_QUOTE,
	ACT_PRE,
	ACT_ANCHOR,
	ACT_DTABLE,
	ACT_ROW,
	ACT_CELL,
	ACT_CAPTION,
	ACT_THEAD,
	ACT_TERM,
	ACT_Q,
};

struct frame {
	GumboNode	*node;
	size_t		 next;		/* child to visit next */
	enum act	 act;
	enum gmi_type	 kind;		/* the line kind to restore */
	long		 counter;	/* ordered list: the next number */
	int		 step;		/* +1, or -1 for reversed lists */
	bool		 ordered;
	size_t		 span;		/* table cell: columns it takes */
	bool		 last;		/* term item: the run ends with it */
	bool		 article;	/* the article's block: see density.c */
};

struct conv {
	const struct profile	*prof;
	const struct linkctx	*lc;
	struct page		*pg;
	struct gmi_doc		*doc;
	struct buf		 line;	/* the line being gathered */
	bool			 space;	/* a space is due before more text */
	enum gmi_type		 kind;	/* what the line becomes */
	char			 number[32];	/* "3. " for an ordered item */
	int			 hold;	/* in lists and quotes links wait */
	bool			 blank;	/* a blank line before the next block */
	bool			 had_h1;
	/*
	 * Does the line hold words that no link line will repeat?  trail
	 * is the first of the block's last lines that hold none (only
	 * link text), SIZE_MAX when there are none: see emit_links.
	 */
	bool			 wordy;
	size_t			 trail;
	bool			 term_run;	/* in a run of term items */
	struct gather		 links;
	/* The open anchor: its target and the text that will label it. */
	bool			 in_a;
	char			*a_url;
	struct buf		 a_label;
	bool			 a_space;
	char			*a_alt;
	int			 pre;
	struct buf		 pretext;
	struct table		*tbl;	/* the data table being read */
	size_t			 col;
	bool			 row_th;	/* every cell of the row a th */
	bool			 thead;
	struct density		 dens;
	bool			 use_density;
	int			 in_article;	/* article blocks open */
	bool			 past_heading;	/* the main heading is read */
	const GumboNode		*root;
	int			 q_depth;	/* open <q>: “ outside, ‘ in */
	bool			 in_noframes;	/* converting a <noframes> */
	bool			 failed;	/* out of memory */
};

static bool
tag_in(GumboTag t, const GumboTag *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == t)
			return true;
	return false;
}
#define TAG_IN(t, set) tag_in((t), (set), sizeof(set) / sizeof(set[0]))

/* Never content: code, styling, forms, embedded objects. */
static const GumboTag never[] = {
	GUMBO_TAG_SCRIPT, GUMBO_TAG_STYLE, GUMBO_TAG_NOSCRIPT,
	GUMBO_TAG_TEMPLATE, GUMBO_TAG_HEAD, GUMBO_TAG_INPUT, GUMBO_TAG_BUTTON,
	GUMBO_TAG_SELECT, GUMBO_TAG_TEXTAREA, GUMBO_TAG_IFRAME,
	GUMBO_TAG_OBJECT, GUMBO_TAG_EMBED, GUMBO_TAG_SVG, GUMBO_TAG_MATH,
	GUMBO_TAG_CANVAS, GUMBO_TAG_AUDIO, GUMBO_TAG_VIDEO, GUMBO_TAG_MAP,
	GUMBO_TAG_APPLET, GUMBO_TAG_DATALIST,
	GUMBO_TAG_OPTION, GUMBO_TAG_LABEL, GUMBO_TAG_KEYGEN,
};

/* Elements that start and end a block of text. */
static const GumboTag blocks[] = {
	GUMBO_TAG_ADDRESS, GUMBO_TAG_ARTICLE, GUMBO_TAG_ASIDE,
	GUMBO_TAG_BODY, GUMBO_TAG_CENTER, GUMBO_TAG_DD, GUMBO_TAG_DETAILS,
	GUMBO_TAG_DIV, GUMBO_TAG_DL, GUMBO_TAG_DT,
	GUMBO_TAG_FIELDSET, GUMBO_TAG_FIGCAPTION, GUMBO_TAG_FIGURE,
	GUMBO_TAG_FOOTER, GUMBO_TAG_FORM, GUMBO_TAG_HEADER, GUMBO_TAG_HGROUP,
	GUMBO_TAG_HTML, GUMBO_TAG_LEGEND, GUMBO_TAG_MAIN, GUMBO_TAG_NAV,
	GUMBO_TAG_P, GUMBO_TAG_SECTION, GUMBO_TAG_SUMMARY, GUMBO_TAG_TABLE,
	GUMBO_TAG_TBODY, GUMBO_TAG_THEAD, GUMBO_TAG_TFOOT, GUMBO_TAG_TR,
	GUMBO_TAG_TD, GUMBO_TAG_TH, GUMBO_TAG_CAPTION, GUMBO_TAG_NOFRAMES,
};

/* Containers whose link density is measured when no profile says more. */
static const GumboTag dense_candidates[] = {
	GUMBO_TAG_DIV, GUMBO_TAG_TD, GUMBO_TAG_TABLE, GUMBO_TAG_UL,
	GUMBO_TAG_OL, GUMBO_TAG_SECTION, GUMBO_TAG_DL, GUMBO_TAG_MENU,
	GUMBO_TAG_CENTER, GUMBO_TAG_TR, GUMBO_TAG_ASIDE,
};

/*
 * In a table with header cells these are a cell's paragraphs and lists,
 * read as one line; in one without, they make it a layout table.
 */
static const GumboTag cell_blocks[] = {
	GUMBO_TAG_P, GUMBO_TAG_DIV, GUMBO_TAG_UL, GUMBO_TAG_OL, GUMBO_TAG_LI,
	GUMBO_TAG_DL, GUMBO_TAG_DT, GUMBO_TAG_DD,
};

/* A data table holds none of these; a layout table usually does. */
static const GumboTag not_in_data[] = {
	GUMBO_TAG_TABLE, GUMBO_TAG_H1, GUMBO_TAG_H2, GUMBO_TAG_H3,
	GUMBO_TAG_H4, GUMBO_TAG_H5, GUMBO_TAG_H6, GUMBO_TAG_BLOCKQUOTE,
	GUMBO_TAG_PRE, GUMBO_TAG_FORM, GUMBO_TAG_HR, GUMBO_TAG_CENTER,
	GUMBO_TAG_SECTION, GUMBO_TAG_ARTICLE, GUMBO_TAG_NAV, GUMBO_TAG_MAIN,
	GUMBO_TAG_HEADER, GUMBO_TAG_FOOTER, GUMBO_TAG_ASIDE,
	GUMBO_TAG_ADDRESS, GUMBO_TAG_FIGURE, GUMBO_TAG_IFRAME,
	GUMBO_TAG_MENU,
	GUMBO_TAG_DIR, GUMBO_TAG_LISTING, GUMBO_TAG_XMP, GUMBO_TAG_PLAINTEXT,
	GUMBO_TAG_DETAILS, GUMBO_TAG_FIELDSET, GUMBO_TAG_HGROUP,
};

static void
fail_if(struct conv *c, bool bad)
{
	if (bad)
		c->failed = true;
}

static bool
last_blank(const struct gmi_doc *doc)
{
	return doc->len > 0 && doc->lines[doc->len - 1].type == GMI_TEXT &&
	    doc->lines[doc->len - 1].text[0] == '\0';
}

/* A blank line between blocks, never at the top, never two. */
static void
separate(struct conv *c)
{
	if (c->blank && c->doc->len > 0 && !last_blank(c->doc))
		fail_if(c, gmi_add(c->doc, GMI_TEXT, "", 0) == -1);
	c->blank = false;
}

/* Drop the doc's lines from index from on. */
static void
truncate_doc(struct gmi_doc *doc, size_t from)
{
	while (doc->len > from) {
		doc->len--;
		free(doc->lines[doc->len].text);
		free(doc->lines[doc->len].url);
	}
}

/*
 * The block's links follow its text.  The block's last lines, if they
 * hold nothing but the text of its links (a link on a line of its own,
 * "Home | About"), would be said twice, once as text and at once again
 * as link lines: the link lines alone say it.
 */
static void
emit_links(struct conv *c)
{
	size_t trail = c->trail;

	c->trail = SIZE_MAX;
	if (c->links.len == 0)
		return;
	if (trail != SIZE_MAX)
		truncate_doc(c->doc, trail);
	separate(c);
	fail_if(c, gather_flush(&c->links, c->doc) == -1);
}

/* The gathered text becomes one line of the current kind. */
static void
flush_line(struct conv *c)
{
	enum gmi_type	 type = c->kind;
	struct buf	*l = &c->line;
	bool		 wordy = c->wordy;

	c->space = false;
	c->wordy = false;
	if (l->len == 0)
		return;
	if (c->number[0] != '\0') {
		struct buf nb;

		buf_init(&nb);
		fail_if(c, buf_puts(&nb, c->number) == -1 ||
		    buf_append(&nb, l->data, l->len) == -1);
		buf_free(l);
		*l = nb;
		c->number[0] = '\0';
	}
	if (type == GMI_H1) {
		if (c->had_h1)
			type = GMI_H2;	/* the page has one title */
		c->had_h1 = true;
	}
	separate(c);
	if (l->data == NULL || gmi_add(c->doc, type, l->data, l->len) == -1) {
		c->failed = true;
		return;
	}
	if (type == GMI_H1 && c->pg->title == NULL)
		fail_if(c, (c->pg->title = strdup(c->doc->lines[c->doc->len -
		    1].text)) == NULL);
	/* Only text whose links follow it at once (hold 0) can go. */
	if (type != GMI_TEXT || c->hold > 0 || wordy)
		c->trail = SIZE_MAX;
	else if (c->trail == SIZE_MAX)
		c->trail = c->doc->len - 1;
	buf_reset(l);
}

/* The end of a block: its line, then, unless held, its links. */
static void
block_edge(struct conv *c)
{
	flush_line(c);
	if (c->in_a)
		c->a_space = true;
	if (c->hold == 0) {
		emit_links(c);
		c->blank = true;
	}
}

/*
 * Does s hold a word: a letter or digit, or any character but a few
 * separators menus put between links ("|", "-", "\u00b7", "\u00bb")?
 */
static bool
has_words(const char *s, size_t n)
{
	/* UTF-8 of separators: middle dot, guillemets, dashes, bullet. */
	static const char *const seps[] = {
		"\xc2\xb7", "\xc2\xab", "\xc2\xbb", "\xe2\x80\x93",
		"\xe2\x80\x94", "\xe2\x80\xa2", "\xe2\x80\xa6",
		"\xe2\x80\xb9", "\xe2\x80\xba", "\xc2\xa0",
	};
	size_t		i, k;
	unsigned char	ch;

	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if (ch < 0x80) {
			if ((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' &&
			    (ch | 0x20) <= 'z'))
				return true;
			continue;
		}
		for (k = 0; k < sizeof(seps) / sizeof(seps[0]); k++)
			if (n - i >= strlen(seps[k]) && memcmp(s + i, seps[k],
			    strlen(seps[k])) == 0)
				break;
		if (k == sizeof(seps) / sizeof(seps[0]))
			return true;
		i += strlen(seps[k]) - 1;
	}
	return false;
}

static void
add_text(struct conv *c, const char *s, size_t n)
{
	if (c->pre > 0)
		fail_if(c, buf_append(&c->pretext, s, n) == -1);
	else
		fail_if(c, !collapse_into(&c->line, &c->space, s, n));
	/* Text of a link that is dropped stays only in the line. */
	if (!c->wordy && (!c->in_a || c->a_url == NULL))
		c->wordy = has_words(s, n);
	if (c->in_a)
		fail_if(c, !collapse_into(&c->a_label, &c->a_space, s, n));
}

static void
add_link(struct conv *c, const char *url, const char *label)
{
	int r = gather_add(&c->links, url, label[0] ? label : url);

	fail_if(c, r == -1);
	if (r == 1)
		c->wordy = true;	/* its link line has another label */
}

/* Resolve an href or src through the link rules; NULL when dropped. */
static char *
resolve(struct conv *c, const char *href)
{
	struct buf	out;
	int		r;

	buf_init(&out);
	if ((r = link_resolve(c->lc, href, &out)) == 1)
		return buf_steal(&out);
	fail_if(c, r == -1);
	buf_free(&out);
	return NULL;
}

static void
anchor_end(struct conv *c)
{
	const char *label;

	if (!c->in_a)
		return;
	c->in_a = false;
	if (c->a_url != NULL) {
		label = c->a_label.len ? c->a_label.data :
		    c->a_alt ? c->a_alt : c->a_url;
		add_link(c, c->a_url, label);
	}
	free(c->a_url);
	free(c->a_alt);
	c->a_url = c->a_alt = NULL;
	buf_reset(&c->a_label);
}

/* An <a>: its link is gathered when it ends (anchor_end). */
static void
anchor_start(struct conv *c, struct frame *f)
{
	GumboNode	*n = f->node;
	const char	*href = tree_attr(n, "href"), *title;

	f->act = ACT_ANCHOR;
	anchor_end(c);
	c->in_a = true;
	c->a_space = false;
	c->a_url = href ? resolve(c, href) : NULL;
	if ((title = tree_attr(n, "title")) != NULL && *title != '\0') {
		struct buf t;
		bool sp = false;

		buf_init(&t);
		fail_if(c, !collapse_into(&t, &sp, title, strlen(title)));
		if (t.len > 0)
			c->a_alt = buf_steal(&t);
		else
			buf_free(&t);
	}
}

/* Spacer GIFs and tracking pixels carry no meaning even with an alt. */
static bool
is_spacer(GumboNode *n)
{
	const char *w = tree_attr(n, "width"), *h = tree_attr(n, "height");
	const char *src = tree_attr(n, "src"), *base;

	if ((w && atoi(w) > 0 && atoi(w) <= 2) ||
	    (h && atoi(h) > 0 && atoi(h) <= 2))
		return true;
	if (src == NULL)
		return true;
	base = strrchr(src, '/');
	base = base ? base + 1 : src;
	return strncasecmp(base, "spacer", 6) == 0 ||
	    strncasecmp(base, "blank.", 6) == 0 ||
	    strncasecmp(base, "pixel.", 6) == 0 ||
	    strncasecmp(base, "clear.", 6) == 0 ||
	    strncasecmp(base, "transparent.", 12) == 0;
}

static void
image(struct conv *c, GumboNode *n)
{
	const char	*alt = tree_attr(n, "alt");
	struct buf	 t;
	bool		 sp = false;
	char		*url;

	if (alt == NULL || is_spacer(n))
		return;
	buf_init(&t);
	fail_if(c, !collapse_into(&t, &sp, alt, strlen(alt)));
	if (t.len == 0) {
		buf_free(&t);
		return;
	}
	if (c->in_a && c->a_url != NULL) {
		/* The anchor's link says it; the alt may label it. */
		if (c->a_alt == NULL)
			c->a_alt = buf_steal(&t);
		buf_free(&t);
		return;
	}
	url = c->in_a ? NULL : resolve(c, tree_attr(n, "src"));
	if (url != NULL)
		add_link(c, url, t.data);
	else {
		/* Nowhere to link: the alt text stays, as text browsers show
		 * it, in brackets. */
		add_text(c, "[", 1);
		add_text(c, t.data, t.len);
		add_text(c, "]", 1);
	}
	free(url);
	buf_free(&t);
}

/*
 * A permalink beside a heading or term (Sphinx's "\u00b6", rustdoc's
 * "\u00a7"): a link to the element itself, whose glyph is not text.
 */
static bool
is_permalink(struct conv *c, GumboNode *a)
{
	static const char *const glyphs[] = {
		"\xc2\xb6", "\xc2\xa7", "#", "\xf0\x9f\x94\x97", "\xe2\x9a\x93",
		"\xe2\x81\x8b",
	};
	const char	*href = tree_attr(a, "href"), *cl = tree_attr(a, "class");
	struct buf	 t;
	size_t		 i;
	bool		 yes = false;

	if (href == NULL || href[0] != '#')
		return false;
	if (cl != NULL && strstr(cl, "headerlink") != NULL)
		return true;
	buf_init(&t);
	if (tree_text(a, &t) == -1)
		c->failed = true;
	else
		for (i = 0; i < sizeof(glyphs) / sizeof(glyphs[0]); i++)
			if (strcmp(t.data, glyphs[i]) == 0)
				yes = true;
	buf_free(&t);
	return yes;
}

/*
 * The HTML of a <noframes>, which the parser keeps as raw text, converted
 * in place; one level only, so nesting cannot recurse.
 */
static void walk(struct conv *, GumboNode *);

/*
 * Parse n bytes of UTF-8 HTML, nesting capped (depth.c), into a tree
 * that lives in mem until arena_free(mem).  NULL when out of memory.
 */
static GumboOutput *
parse(const char *s, size_t n, struct arena *mem)
{
	GumboOptions	 opt = kGumboDefaultOptions;
	GumboOutput	*out;
	struct buf	 capped;
	int		 r;

	/* Error records cost memory and time; nothing here reads them. */
	opt.max_errors = 0;
	arena_init(mem);
	arena_gumbo(mem, &opt);
	buf_init(&capped);
	if ((r = depth_cap(s, n, &capped)) == -1) {
		buf_free(&capped);
		return NULL;
	}
	if (r == 1) {
		s = capped.data;
		n = capped.len;
	}
	out = gumbo_parse_with_options(&opt, s, n);
	buf_free(&capped);
	if (out == NULL)
		arena_free(mem);
	return out;
}

static void
noframes(struct conv *c, GumboNode *n)
{
	GumboOutput	*out;
	GumboNode	*k, *body = NULL;
	struct arena	 mem;
	const char	*s;

	if (n->v.element.children.length != 1 || c->in_noframes)
		return;
	k = n->v.element.children.data[0];
	if (k->type != GUMBO_NODE_TEXT)
		return;
	s = k->v.text.text;
	if ((out = parse(s, strlen(s), &mem)) == NULL) {
		c->failed = true;
		return;
	}
	for (k = out->root; k != NULL; k = tree_next(out->root, k, true))
		if (k->type == GUMBO_NODE_ELEMENT &&
		    k->v.element.tag == GUMBO_TAG_BODY) {
			body = k;
			break;
		}
	c->in_noframes = true;
	if (body != NULL)
		walk(c, body);
	c->in_noframes = false;
	arena_free(&mem);
}

/* A frame of a frameset: a link to its page. */
static void
frame(struct conv *c, GumboNode *n)
{
	const char	*src = tree_attr(n, "src"), *label;
	char		*url;

	if (src == NULL || (url = resolve(c, src)) == NULL)
		return;
	if ((label = tree_attr(n, "title")) == NULL || *label == '\0')
		if ((label = tree_attr(n, "name")) == NULL || *label == '\0')
			label = url;
	add_link(c, url, label);
	free(url);
}

/*
 * A form that wraps the whole page (ASP.NET does) is not a form to drop:
 * it holds headings, an article, or more paragraphs than a form's labels.
 */
static bool
wraps_content(GumboNode *form)
{
	GumboNode	*n;
	GumboTag	 t;
	int		 paras = 0;

	for (n = form; n != NULL; n = tree_next(form, n, true)) {
		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		t = n->v.element.tag;
		if (t == GUMBO_TAG_H1 || t == GUMBO_TAG_H2 ||
		    t == GUMBO_TAG_ARTICLE || t == GUMBO_TAG_MAIN ||
		    (t == GUMBO_TAG_P && ++paras > 2))
			return true;
	}
	return false;
}

/*
 * A data table has header cells, a caption or a border, several rows
 * and columns, text in its data cells (a row of image links under a
 * <th> is a navigation bar), and no tables or headings inside; only one
 * with header cells may hold paragraphs and lists in its cells.
 * Anything else is layout.
 */
static bool
is_data_table(GumboNode *table)
{
	GumboNode	*n;
	GumboTag	 t, cell = GUMBO_TAG_LAST;
	const char	*role = tree_attr(table, "role"), *border;
	bool		 header = false, blocky = false, data = false;
	size_t		 rows = 0, cells = 0, maxcells = 0;

	if (role != NULL && (strcasecmp(role, "presentation") == 0 ||
	    strcasecmp(role, "none") == 0))
		return false;
	for (n = tree_next(table, table, true); n != NULL;
	    n = tree_next(table, n, true)) {
		/* Cells do not nest here: text is in the last cell met. */
		if (n->type == GUMBO_NODE_TEXT && cell == GUMBO_TAG_TD)
			data = true;
		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		t = n->v.element.tag;
		if (TAG_IN(t, not_in_data))
			return false;
		if (TAG_IN(t, cell_blocks))
			blocky = true;
		if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH ||
		    t == GUMBO_TAG_CAPTION)
			cell = t;
		if (t == GUMBO_TAG_TH || t == GUMBO_TAG_CAPTION ||
		    t == GUMBO_TAG_THEAD)
			header = true;
		if (t == GUMBO_TAG_TR) {
			rows++;
			cells = 0;
		}
		if ((t == GUMBO_TAG_TD || t == GUMBO_TAG_TH) &&
		    ++cells > maxcells)
			maxcells = cells;
	}
	if (header)
		return rows >= 1 && data;
	border = tree_attr(table, "border");
	return !blocky && border != NULL && atoi(border) > 0 && rows >= 2 &&
	    maxcells >= 2;
}

static void
item_start(struct conv *c, struct frame *f, struct frame *parent)
{
	const char	*v = tree_attr(f->node, "value");
	long		 num;

	f->kind = c->kind;
	if (c->kind != GMI_QUOTE)
		c->kind = GMI_ITEM;
	c->number[0] = '\0';
	if (parent == NULL || parent->act != ACT_LIST || !parent->ordered)
		return;
	if (v != NULL && *v != '\0')
		parent->counter = strtol(v, NULL, 10);
	num = parent->counter;
	/* start="9223372036854775807" must not overflow (undefined). */
	if (__builtin_add_overflow(parent->counter, parent->step,
	    &parent->counter))
		parent->counter = num;
	snprintf(c->number, sizeof(c->number), "%ld. ", num);
}

static void
list_start(struct frame *f)
{
	const char	*start = tree_attr(f->node, "start");
	const GumboVector *k = &f->node->v.element.children;
	size_t		 i;
	long		 items = 0;

	f->ordered = f->node->v.element.tag == GUMBO_TAG_OL;
	f->step = tree_attr(f->node, "reversed") ? -1 : 1;
	for (i = 0; f->step < 0 && i < k->length; i++)
		if (((GumboNode *)k->data[i])->type == GUMBO_NODE_ELEMENT &&
		    ((GumboNode *)k->data[i])->v.element.tag == GUMBO_TAG_LI)
			items++;
	f->counter = start && *start ? strtol(start, NULL, 10) :
	    f->step > 0 ? 1 : items;
}

/* The preformatted text, verbatim, one model line per line. */
static void
pre_end(struct conv *c)
{
	struct buf	*p = &c->pretext;
	const char	*s, *nl, *end;

	if (p->len > 0 && p->data[p->len - 1] == '\n')
		p->len--;	/* the newline before </pre> ends the text */
	if (p->len == 0) {
		buf_reset(p);
		return;
	}
	separate(c);
	fail_if(c, gmi_add(c->doc, GMI_PRE_START, "", 0) == -1);
	for (s = p->data, end = p->data + p->len; s <= end; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		fail_if(c, gmi_add(c->doc, GMI_PRE, s, (size_t)(nl - s)) == -1);
	}
	fail_if(c, gmi_add(c->doc, GMI_PRE_END, "", 0) == -1);
	buf_reset(p);
}

static void
cell_start(struct conv *c, struct frame *f)
{
	const char *span = tree_attr(f->node, "colspan");

	buf_reset(&c->line);
	c->space = false;
	if (f->node->v.element.tag != GUMBO_TAG_TH)
		c->row_th = false;
	f->span = span ? (size_t)atoi(span) : 1;
	if (f->span < 1 || f->span > H2G_TABLE_COLS)
		f->span = 1;
}

static void
cell_end(struct conv *c, struct frame *f)
{
	fail_if(c, table_set(c->tbl, c->col, c->line.data ? c->line.data :
	    "") == -1);
	c->col += f->span;
	buf_reset(&c->line);
	c->space = false;
}

/* Elements inside a data table: rows and cells fill the table. */
static bool
enter_table_part(struct conv *c, struct frame *f, GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_TR:
		fail_if(c, table_add_row(c->tbl) == -1);
		c->col = 0;
		c->row_th = true;
		f->act = ACT_ROW;
		return true;
	case GUMBO_TAG_TD:
	case GUMBO_TAG_TH:
		cell_start(c, f);
		f->act = ACT_CELL;
		return true;
	case GUMBO_TAG_CAPTION:
		buf_reset(&c->line);
		c->space = false;
		f->act = ACT_CAPTION;
		return true;
	case GUMBO_TAG_THEAD:
		c->thead = true;
		f->act = ACT_THEAD;
		return true;
	default:
		return false;
	}
}

static void
table_start(struct conv *c, struct frame *f)
{
	block_edge(c);
	if ((c->tbl = malloc(sizeof(*c->tbl))) == NULL) {
		c->failed = true;
		return;
	}
	table_init(c->tbl);
	c->thead = false;
	c->hold++;
	f->act = ACT_DTABLE;
}

static void
table_end(struct conv *c)
{
	if (c->tbl == NULL)
		return;
	if (c->tbl->rows > 0 && c->tbl->cols > 0) {
		separate(c);
		fail_if(c, table_render(c->tbl, c->doc) == -1);
	}
	table_free(c->tbl);
	free(c->tbl);
	c->tbl = NULL;
	buf_reset(&c->line);
	c->hold--;
	block_edge(c);
}

enum why { KEPT, KEPT_CONTENT, DROP_RULE, DROP_GUESS };

/*
 * Should this element and all it holds be left out?  DROP_GUESS when
 * only the defaults say so (the words are counted and reported), not the
 * markup or the profile.
 */
static enum why
drop_why(struct conv *c, GumboNode *n)
{
	const struct profile	*p = c->prof;
	GumboTag		 t = n->v.element.tag;
	const char		*aria, *role = tree_attr(n, "role");

	if (TAG_IN(t, never))
		return DROP_RULE;
	if (t == GUMBO_TAG_FORM && !wraps_content(n))
		return DROP_RULE;
	if (tree_attr(n, "hidden") != NULL || ((aria = tree_attr(n,
	    "aria-hidden")) != NULL && strcmp(aria, "true") == 0))
		return DROP_RULE;
	if (selector_any(&p->drop, n) || selector_any(&p->disclaimer, n))
		return DROP_RULE;
	if (n == c->root)
		return KEPT;	/* a profile's content selector chose it */
	if (p->default_drops && (t == GUMBO_TAG_NAV ||
	    t == GUMBO_TAG_HEADER || t == GUMBO_TAG_FOOTER || (role != NULL &&
	    (strcmp(role, "navigation") == 0 || strcmp(role, "banner") == 0 ||
	    strcmp(role, "contentinfo") == 0))))
		return DROP_GUESS;
	if (c->use_density && c->in_article == 0 &&
	    TAG_IN(t, dense_candidates))
		switch (density_dense(&c->dens, n, p->link_density,
		    c->past_heading)) {
		case DENSE_NAV:
			return DROP_GUESS;
		case DENSE_CONTENT:
			return KEPT_CONTENT;
		case DENSE_NO:
			break;
		}
	return KEPT;
}

static bool
dropped(struct conv *c, GumboNode *n)
{
	enum why w = drop_why(c, n);

	return w == DROP_RULE || w == DROP_GUESS;
}

/*
 * Term lists.  Site builders wrote a list of terms as paragraphs that
 * each start with the term in bold and a dash or colon:
 *     <p><b>Relieves Stress</b> - by hanging upside down ...</p>
 * Two or more such paragraphs in a row become "* " items, word for word.
 */
#define TERM_MAX	80	/* bytes of a term */
#define TERM_LOOK	64	/* nodes searched for the bold term */

/* Inline elements that may wrap the bold term, such as <font>. */
static const GumboTag term_wrappers[] = {
	GUMBO_TAG_FONT, GUMBO_TAG_SPAN, GUMBO_TAG_EM, GUMBO_TAG_I,
	GUMBO_TAG_U, GUMBO_TAG_SMALL, GUMBO_TAG_BIG,
};

static bool
blank_text(const GumboNode *n)
{
	return n->type == GUMBO_NODE_WHITESPACE || n->type ==
	    GUMBO_NODE_COMMENT;
}

/* The bold element p starts with, or NULL. */
static const GumboNode *
term_bold(const GumboNode *p)
{
	GumboNode	*n;
	size_t		 seen = 0;

	for (n = tree_next(p, (GumboNode *)p, true); n != NULL &&
	    seen++ < TERM_LOOK; n = tree_next(p, n, true)) {
		if (blank_text(n))
			continue;
		if (n->type != GUMBO_NODE_ELEMENT)
			return NULL;
		if (n->v.element.tag == GUMBO_TAG_B ||
		    n->v.element.tag == GUMBO_TAG_STRONG)
			return n;
		if (!TAG_IN(n->v.element.tag, term_wrappers))
			return NULL;
	}
	return NULL;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Does p start with a bold term, then a dash or colon, then more text?
 * Out of memory, the conversion fails.
 */
static bool
term_para(struct conv *c, const GumboNode *p)
{
	static const char *const dashes[] = {
		"- ", "\xe2\x80\x93 ", "\xe2\x80\x94 ", ": ",
	};
	const GumboNode	*b;
	GumboNode	*n;
	struct buf	 term, rest;
	bool		 sp = false, ok = false;
	const char	*r;
	size_t		 i, seen = 0;

	if (p->type != GUMBO_NODE_ELEMENT || p->v.element.tag != GUMBO_TAG_P ||
	    (b = term_bold(p)) == NULL)
		return false;
	buf_init(&term);
	buf_init(&rest);
	if (tree_text(b, &term) == -1) {
		c->failed = true;
		goto out;
	}
	if (term.len == 0 || term.len > TERM_MAX)
		goto out;
	/* A few words of what follows the term say if a dash comes next. */
	for (n = tree_next(p, (GumboNode *)b, false); n != NULL && rest.len <
	    16 && seen++ < TERM_LOOK; n = tree_next(p, n, true))
		if ((n->type == GUMBO_NODE_TEXT || n->type ==
		    GUMBO_NODE_WHITESPACE) && !collapse_into(&rest, &sp,
		    n->v.text.text, strlen(n->v.text.text))) {
			c->failed = true;
			goto out;
		}
	r = rest.data ? rest.data : "";
	if (term.data[term.len - 1] == ':')
		ok = *r != '\0';	/* "<b>Term:</b> text" */
	for (i = 0; !ok && i < sizeof(dashes) / sizeof(dashes[0]); i++)
		ok = starts_with(r, dashes[i]) && r[strlen(dashes[i])] != '\0';
out:
	buf_free(&term);
	buf_free(&rest);
	return ok;
}

/* The next element of n's parent, if only blank text lies between. */
static GumboNode *
next_sibling(const GumboNode *n)
{
	const GumboVector	*kids;
	GumboNode		*k;
	size_t			 i;

	if (n->parent == NULL || (kids = tree_children(n->parent)) == NULL)
		return NULL;
	/* As tree.c does: trust index_within_parent only where it holds. */
	i = n->index_within_parent;
	if (i >= kids->length || kids->data[i] != n)
		for (i = 0; i < kids->length && kids->data[i] != n; i++)
			;
	for (i++; i < kids->length; i++) {
		k = kids->data[i];
		if (k->type == GUMBO_NODE_ELEMENT)
			return k;
		if (!blank_text(k))
			return NULL;
	}
	return NULL;
}

static bool dropped(struct conv *, GumboNode *);

/* Does the term run go on after n: is the next block a term paragraph? */
static bool
term_next(struct conv *c, const GumboNode *n)
{
	GumboNode *k = next_sibling(n);

	return k != NULL && !dropped(c, k) && term_para(c, k);
}

/* Enter a paragraph; true when it is an item of a term run. */
static bool
term_start(struct conv *c, struct frame *f)
{
	if (!c->prof->term_lists || c->tbl != NULL || c->kind != GMI_TEXT ||
	    !term_para(c, f->node))
		return false;
	if (!c->term_run) {
		/* One such paragraph alone is a paragraph. */
		if (c->hold > 0 || !term_next(c, f->node))
			return false;
		block_edge(c);
		c->hold++;
		c->term_run = true;
	} else
		flush_line(c);
	f->last = !term_next(c, f->node);
	f->kind = c->kind;
	c->kind = GMI_ITEM;
	f->act = ACT_TERM;
	return true;
}

static void
term_end(struct conv *c, struct frame *f)
{
	flush_line(c);
	c->kind = f->kind;
	if (f->last) {
		c->term_run = false;
		c->hold--;
		block_edge(c);
	}
}

/*
 * Entering an element of the page's structure: headings, lists, quotes,
 * preformatted text, data tables, rules, term runs.  1 when its children
 * are to be read, 0 when not, -1 when t is none of these.
 */
static int
enter_structure(struct conv *c, struct frame *f, struct frame *parent,
    GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_H1:
	case GUMBO_TAG_H2:
	case GUMBO_TAG_H3:
	case GUMBO_TAG_H4:
	case GUMBO_TAG_H5:
	case GUMBO_TAG_H6:
		block_edge(c);
		f->kind = c->kind;
		c->kind = t == GUMBO_TAG_H1 ? GMI_H1 : t == GUMBO_TAG_H2 ?
		    GMI_H2 : GMI_H3;
		f->act = ACT_HEADING;
		return 1;
	case GUMBO_TAG_UL:
	case GUMBO_TAG_OL:
	case GUMBO_TAG_MENU:
	case GUMBO_TAG_DIR:
		block_edge(c);
		c->hold++;
		list_start(f);
		f->act = ACT_LIST;
		return 1;
	case GUMBO_TAG_LI:
		block_edge(c);
		item_start(c, f, parent);
		f->act = ACT_ITEM;
		return 1;
	case GUMBO_TAG_BLOCKQUOTE:
		block_edge(c);
		c->hold++;
		f->kind = c->kind;
		c->kind = GMI_QUOTE;
		f->act = ACT_QUOTE;
		return 1;
	case GUMBO_TAG_PRE:
	case GUMBO_TAG_LISTING:
	case GUMBO_TAG_XMP:
	case GUMBO_TAG_PLAINTEXT:
		block_edge(c);
		c->pre++;
		f->act = ACT_PRE;
		return 1;
	case GUMBO_TAG_TABLE:
		if (c->tbl != NULL || !is_data_table(f->node))
			return -1;	/* layout: a block */
		table_start(c, f);
		return 1;
	case GUMBO_TAG_HR:
		block_edge(c);
		return 0;
	case GUMBO_TAG_NOFRAMES:
		block_edge(c);
		noframes(c, f->node);
		block_edge(c);
		return 0;
	case GUMBO_TAG_P:
		return term_start(c, f) ? 1 : -1;
	default:
		return -1;
	}
}

/*
 * Entering an element inside a line: breaks, images, links, quotations,
 * superscripts, frames.  As enter_structure returns.
 */
static int
enter_inline(struct conv *c, struct frame *f, GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_BR:
		if (c->tbl != NULL || c->kind == GMI_ITEM || c->kind == GMI_H1 ||
		    c->kind == GMI_H2 || c->kind == GMI_H3)
			add_text(c, " ", 1);
		else
			flush_line(c);
		return 0;
	case GUMBO_TAG_IMG:
	case GUMBO_TAG_IMAGE:
		image(c, f->node);
		return 0;
	case GUMBO_TAG_A:
		if (is_permalink(c, f->node))
			return 0;
		anchor_start(c, f);
		return 1;
	case GUMBO_TAG_Q:
		add_text(c, c->q_depth % 2 ? "\xe2\x80\x98" :
		    "\xe2\x80\x9c", 3);
		c->q_depth++;
		f->act = ACT_Q;
		return 1;
	case GUMBO_TAG_SUP:
		add_text(c, "^", 1);
		return 1;
	case GUMBO_TAG_SUB:
		add_text(c, "_", 1);
		return 1;
	case GUMBO_TAG_FRAME:
		frame(c, f->node);
		return 0;
	default:
		return -1;
	}
}

/* Enter an element; false when its children are to be skipped. */
static bool
enter(struct conv *c, struct frame *f, struct frame *parent)
{
	GumboNode	*n = f->node;
	GumboTag	 t = n->v.element.tag;
	int		 r;

	f->act = ACT_NONE;
	switch (drop_why(c, n)) {
	case DROP_GUESS:
		c->pg->dropped += density_words(&c->dens, n);
		return false;
	case DROP_RULE:
		return false;
	case KEPT_CONTENT:
		f->article = true;	/* walk() counts it */
		break;
	case KEPT:
		break;
	}
	if (c->pre > 0) {
		/* Preformatted: only line breaks and links count. */
		if (t == GUMBO_TAG_BR)
			add_text(c, "\n", 1);
		if (t == GUMBO_TAG_A) {
			anchor_start(c, f);
			return true;
		}
		return t != GUMBO_TAG_IMG;
	}
	if (c->tbl != NULL && enter_table_part(c, f, t))
		return true;
	if (c->tbl != NULL && TAG_IN(t, cell_blocks)) {
		add_text(c, " ", 1);	/* a cell's paragraphs, one line */
		return true;
	}
	if ((r = enter_structure(c, f, parent, t)) != -1 ||
	    (r = enter_inline(c, f, t)) != -1)
		return r == 1;
	if (TAG_IN(t, blocks) && c->tbl == NULL) {
		block_edge(c);
		f->act = ACT_BLOCK;
	}
	return true;
}

static void
leave(struct conv *c, struct frame *f)
{
	switch (f->act) {
	case ACT_HEADING:
		flush_line(c);
		c->kind = f->kind;
		block_edge(c);
		break;
	case ACT_LIST:
		flush_line(c);
		c->hold--;
		block_edge(c);
		break;
	case ACT_ITEM:
		flush_line(c);
		c->kind = f->kind;
		c->number[0] = '\0';
		block_edge(c);
		break;
	case ACT_QUOTE:
		flush_line(c);
		c->kind = f->kind;
		c->hold--;
		block_edge(c);
		break;
	case ACT_PRE:
		if (--c->pre == 0)
			pre_end(c);
		block_edge(c);
		break;
	case ACT_ANCHOR:
		anchor_end(c);
		break;
	case ACT_BLOCK:
		block_edge(c);
		break;
	case ACT_DTABLE:
		table_end(c);
		break;
	case ACT_ROW:
		if (c->tbl->rows == 1 && (c->thead || c->row_th))
			c->tbl->head = 1;
		break;
	case ACT_CELL:
		cell_end(c, f);
		break;
	case ACT_CAPTION:
		free(c->tbl->caption);
		fail_if(c, (c->tbl->caption = strdup(c->line.data ?
		    c->line.data : "")) == NULL);
		buf_reset(&c->line);
		c->space = false;
		break;
	case ACT_THEAD:
		c->thead = false;
		break;
	case ACT_TERM:
		term_end(c, f);
		break;
	case ACT_Q:
		c->q_depth--;
		add_text(c, c->q_depth % 2 ? "\xe2\x80\x99" :
		    "\xe2\x80\x9d", 3);
		break;
	case ACT_NONE:
		break;
	}
}

/* Convert the subtree at root, depth-first, on a heap stack of frames. */
static void
walk(struct conv *c, GumboNode *root)
{
	struct frame		*st = NULL, *f, *tmp;
	size_t			 len = 0, cap = 0;
	const GumboVector	*kids;
	GumboNode		*n;

	n = root;
	for (;;) {
		if (n != NULL && n->type == GUMBO_NODE_ELEMENT) {
			if (len == cap) {
				cap = cap ? cap * 2 : 64;
				if ((tmp = realloc(st, cap * sizeof(*st))) ==
				    NULL) {
					c->failed = true;
					break;
				}
				st = tmp;
			}
			f = &st[len];
			memset(f, 0, sizeof(*f));
			f->node = n;
			if (enter(c, f, len ? &st[len - 1] : NULL)) {
				if (c->use_density && n != c->root &&
				    density_article(&c->dens, n))
					f->article = true;
				if (f->article)
					c->in_article++;
				if (n == c->dens.heading)
					c->past_heading = true;
				len++;
			}
		} else if (n != NULL && (n->type == GUMBO_NODE_TEXT ||
		    n->type == GUMBO_NODE_WHITESPACE ||
		    n->type == GUMBO_NODE_CDATA))
			add_text(c, n->v.text.text, strlen(n->v.text.text));
		if (len == 0 || c->failed)
			break;
		/* Next: a child of the top frame, or leave it. */
		f = &st[len - 1];
		kids = &f->node->v.element.children;
		if (f->next < kids->length) {
			n = kids->data[f->next++];
			continue;
		}
		leave(c, f);
		if (f->article)
			c->in_article--;
		len--;
		n = NULL;
	}
	free(st);
}

/* Where the content is, when no profile names it. */
static GumboNode *
default_root(GumboOutput *out)
{
	GumboNode	*n, *body = NULL, *article = NULL;
	const char	*role;
	size_t		 articles = 0;

	for (n = out->root; n != NULL; n = tree_next(out->root, n, true)) {
		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		if (n->v.element.tag == GUMBO_TAG_MAIN ||
		    ((role = tree_attr(n, "role")) && strcmp(role, "main") == 0))
			return n;
		if (n->v.element.tag == GUMBO_TAG_BODY && body == NULL)
			body = n;
		if (n->v.element.tag == GUMBO_TAG_ARTICLE && articles++ == 0)
			article = n;
	}
	if (articles == 1)
		return article;
	return body ? body : out->root;
}

void
page_init(struct page *pg)
{
	memset(pg, 0, sizeof(*pg));
	gmi_init(&pg->doc);
}

void
page_free(struct page *pg)
{
	gmi_free(&pg->doc);
	free(pg->title);
	free(pg->summary);
	free(pg->date);
	free(pg->disclaimer);
	page_init(pg);
}

/*
 * The <noframes> of a frameset page that its author put in <head> (valid
 * in old HTML; the parser keeps it there): the page's only text for a
 * reader without frames, converted after the frames' links.
 */
static void
head_noframes(struct conv *c, GumboNode *html)
{
	GumboNode	*head, *k;
	size_t		 i, j;

	for (i = 0; i < html->v.element.children.length; i++) {
		head = html->v.element.children.data[i];
		if (head->type != GUMBO_NODE_ELEMENT ||
		    head->v.element.tag != GUMBO_TAG_HEAD)
			continue;
		for (j = 0; j < head->v.element.children.length; j++) {
			k = head->v.element.children.data[j];
			if (k->type != GUMBO_NODE_ELEMENT ||
			    k->v.element.tag != GUMBO_TAG_NOFRAMES)
				continue;
			block_edge(c);
			noframes(c, k);
			block_edge(c);
		}
	}
}

static void
conv_run(struct conv *c, GumboOutput *out)
{
	const struct profile	*p = c->prof;
	GumboNode		*n;
	bool			 found = false;

	if (p->content.len > 0) {
		for (n = out->root; n != NULL; n = tree_next(out->root, n,
		    !found)) {
			found = false;
			if (!selector_any(&p->content, n))
				continue;
			c->root = n;
			walk(c, n);
			found = true;	/* its inside was just converted */
		}
		if (c->root != NULL)
			return;
	}
	c->root = default_root(out);
	/* Counted even without the link test: for the words it drops. */
	fail_if(c, density_build(&c->dens, (GumboNode *)c->root) == -1);
	c->use_density = !c->failed && p->link_density > 0;
	walk(c, (GumboNode *)c->root);
	if (c->root == out->root && out->root->type == GUMBO_NODE_ELEMENT)
		head_noframes(c, out->root);	/* no <body>: a frameset */
}

/*
 * Convert n bytes of UTF-8 HTML into pg.  Returns 0, or -1 when out of
 * memory.
 */
int
convert_html(const char *s, size_t n, const struct profile *prof,
    const struct linkctx *lc, struct page *pg)
{
	GumboOutput	*out;
	struct conv	 c;
	struct arena	 mem;
	int		 r = -1;

	if ((out = parse(s, n, &mem)) == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.prof = prof;
	c.lc = lc;
	c.pg = pg;
	c.doc = &pg->doc;
	c.kind = GMI_TEXT;
	c.trail = SIZE_MAX;
	buf_init(&c.line);
	buf_init(&c.a_label);
	buf_init(&c.pretext);
	gather_init(&c.links);
	conv_run(&c, out);
	anchor_end(&c);
	block_edge(&c);
	while (pg->doc.len > 0 && last_blank(&pg->doc)) {
		pg->doc.len--;
		free(pg->doc.lines[pg->doc.len].text);
	}
	if (!c.failed)
		fail_if(&c, page_meta(pg, out, prof, c.had_h1) == -1);
	if (!c.failed)
		r = 0;
	if (c.tbl != NULL) {
		table_free(c.tbl);
		free(c.tbl);
	}
	free(c.a_url);
	free(c.a_alt);
	buf_free(&c.line);
	buf_free(&c.a_label);
	buf_free(&c.pretext);
	gather_free(&c.links);
	density_free(&c.dens);
	arena_free(&mem);
	return r;
}

