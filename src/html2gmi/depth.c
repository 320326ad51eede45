/*
 * depth.c: cap how deep the page nests before gumbo reads it.
 *
 * gumbo's tree builder looks through its stack of open elements for most
 * tags, so a page of 200,000 unclosed <div> costs time quadratic in its
 * depth (minutes for a megabyte).  Browsers cap the depth of the tree they
 * build (Blink and WebKit at 512); html2gmi does the equivalent on the
 * bytes: a light tokenizer follows the open elements the way the HTML
 * tree builder would in the common cases (implied ends of p, li, dd, dt,
 * cells and rows; end tags that stop at special elements and scope
 * markers; tags a table or select ignores; SVG and MathML), and a start
 * tag that would open an element deeper than H2G_DEPTH_MAX is left out,
 * as is, past half that depth, an end tag that closes nothing (the tree
 * builder would search its whole stack for it).  Text stays; only that
 * nesting goes.  The model need not be exact: where it guesses deeper
 * than gumbo, a few tags of an absurdly deep page are left out; where
 * shallower, gumbo could nest deeper than the cap, so those cases are
 * the ones to model (tests/test_html2gmi.py holds the ones found).
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

#define NAME_MAX_LEN	32	/* bytes of a tag name looked up */

enum {
	K_VOID = 1,		/* never open: br, img ... */
	K_SPECIAL = 2,		/* the tree builder's "special" category */
	K_MARKER = 4,		/* bounds the default scope */
	K_FORMAT = 8,		/* closed by the adoption agency */
	K_CLOSES_P = 16,	/* its start tag closes an open p */
	K_RAW = 32,		/* its text runs to its end tag */
	K_NONE = 64,		/* html, head, body: merged, never nested */
};

static int
kind(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_AREA: case GUMBO_TAG_BASE: case GUMBO_TAG_BR:
	case GUMBO_TAG_COL: case GUMBO_TAG_EMBED: case GUMBO_TAG_HR:
	case GUMBO_TAG_IMG: case GUMBO_TAG_INPUT: case GUMBO_TAG_KEYGEN:
	case GUMBO_TAG_LINK: case GUMBO_TAG_META: case GUMBO_TAG_PARAM:
	case GUMBO_TAG_SOURCE: case GUMBO_TAG_TRACK: case GUMBO_TAG_WBR:
	case GUMBO_TAG_IMAGE: case GUMBO_TAG_BASEFONT: case GUMBO_TAG_BGSOUND:
	case GUMBO_TAG_FRAME: case GUMBO_TAG_MENUITEM:
		return K_VOID;
	case GUMBO_TAG_HTML: case GUMBO_TAG_HEAD: case GUMBO_TAG_BODY:
	case GUMBO_TAG_FRAMESET:
		return K_NONE;
	case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_TITLE:
	case GUMBO_TAG_TEXTAREA: case GUMBO_TAG_IFRAME: case GUMBO_TAG_NOEMBED:
	case GUMBO_TAG_NOFRAMES:
		return K_RAW;
	case GUMBO_TAG_NOSCRIPT:	/* gumbo parses its markup */
		return K_SPECIAL;
	case GUMBO_TAG_XMP:
		return K_RAW | K_CLOSES_P;
	case GUMBO_TAG_APPLET: case GUMBO_TAG_MARQUEE: case GUMBO_TAG_OBJECT:
	case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_CAPTION: case GUMBO_TAG_TD:
	case GUMBO_TAG_TH:
		return K_SPECIAL | K_MARKER;
	case GUMBO_TAG_TABLE:
		return K_SPECIAL | K_MARKER | K_CLOSES_P;
	case GUMBO_TAG_A: case GUMBO_TAG_B: case GUMBO_TAG_BIG:
	case GUMBO_TAG_CODE: case GUMBO_TAG_EM: case GUMBO_TAG_FONT:
	case GUMBO_TAG_I: case GUMBO_TAG_NOBR: case GUMBO_TAG_S:
	case GUMBO_TAG_SMALL: case GUMBO_TAG_STRIKE: case GUMBO_TAG_STRONG:
	case GUMBO_TAG_TT: case GUMBO_TAG_U:
		return K_FORMAT;
	case GUMBO_TAG_ADDRESS: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_ASIDE:
	case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_CENTER:
	case GUMBO_TAG_DETAILS: case GUMBO_TAG_DIR:
	case GUMBO_TAG_DIV: case GUMBO_TAG_DL: case GUMBO_TAG_FIELDSET:
	case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_FIGURE:
	case GUMBO_TAG_FOOTER: case GUMBO_TAG_HEADER: case GUMBO_TAG_HGROUP:
	case GUMBO_TAG_MAIN: case GUMBO_TAG_MENU: case GUMBO_TAG_NAV:
	case GUMBO_TAG_OL: case GUMBO_TAG_P: case GUMBO_TAG_SECTION:
	case GUMBO_TAG_SUMMARY: case GUMBO_TAG_UL: case GUMBO_TAG_H1:
	case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
	case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_PRE:
	case GUMBO_TAG_LISTING: case GUMBO_TAG_FORM: case GUMBO_TAG_DD:
	case GUMBO_TAG_DT: case GUMBO_TAG_LI:
		return K_SPECIAL | K_CLOSES_P;
	case GUMBO_TAG_BUTTON: case GUMBO_TAG_COLGROUP:
	case GUMBO_TAG_SELECT: case GUMBO_TAG_TBODY: case GUMBO_TAG_TFOOT:
	case GUMBO_TAG_THEAD: case GUMBO_TAG_TR:
		return K_SPECIAL;
	default:
		return 0;
	}
}

/* An open element: its tag, and for tags gumbo does not know a hash. */
struct open {
	GumboTag	tag;
	uint32_t	name;
	bool		foreign;	/* of SVG or MathML */
};

struct model {
	struct open	 v[H2G_DEPTH_MAX];
	size_t		 len;
	/* How many of each tag are open: most searches need not start. */
	uint32_t	 count[GUMBO_TAG_LAST + 1];
};

/* Where SVG and MathML let HTML in again. */
static bool
integration_point(GumboTag t)
{
	return t == GUMBO_TAG_FOREIGNOBJECT || t == GUMBO_TAG_DESC ||
	    t == GUMBO_TAG_TITLE || t == GUMBO_TAG_MI || t == GUMBO_TAG_MO ||
	    t == GUMBO_TAG_MN || t == GUMBO_TAG_MS || t == GUMBO_TAG_MTEXT ||
	    t == GUMBO_TAG_ANNOTATION_XML;
}

/* Is the next tag read as SVG or MathML: no raw text, "/>" closes? */
static bool
in_foreign(const struct model *m)
{
	return m->len > 0 && m->v[m->len - 1].foreign &&
	    !integration_point(m->v[m->len - 1].tag);
}

/* HTML start tags that end foreign content (the tree builder's list). */
static bool
breaks_out(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_B: case GUMBO_TAG_BIG: case GUMBO_TAG_BLOCKQUOTE:
	case GUMBO_TAG_BODY: case GUMBO_TAG_BR: case GUMBO_TAG_CENTER:
	case GUMBO_TAG_CODE: case GUMBO_TAG_DD: case GUMBO_TAG_DIV:
	case GUMBO_TAG_DL: case GUMBO_TAG_DT: case GUMBO_TAG_EM:
	case GUMBO_TAG_EMBED: case GUMBO_TAG_H1: case GUMBO_TAG_H2:
	case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5:
	case GUMBO_TAG_H6: case GUMBO_TAG_HEAD: case GUMBO_TAG_HR:
	case GUMBO_TAG_I: case GUMBO_TAG_IMG: case GUMBO_TAG_LI:
	case GUMBO_TAG_LISTING: case GUMBO_TAG_MENU: case GUMBO_TAG_META:
	case GUMBO_TAG_NOBR: case GUMBO_TAG_OL: case GUMBO_TAG_P:
	case GUMBO_TAG_PRE: case GUMBO_TAG_RUBY: case GUMBO_TAG_S:
	case GUMBO_TAG_SMALL: case GUMBO_TAG_SPAN: case GUMBO_TAG_STRONG:
	case GUMBO_TAG_STRIKE: case GUMBO_TAG_SUB: case GUMBO_TAG_SUP:
	case GUMBO_TAG_TABLE: case GUMBO_TAG_TT: case GUMBO_TAG_U:
	case GUMBO_TAG_UL: case GUMBO_TAG_VAR: case GUMBO_TAG_FONT:
		return true;
	default:
		return false;
	}
}

static bool
same(const struct open *o, GumboTag t, uint32_t name)
{
	return o->tag == t && o->name == name;
}

/* Where the nearest open t is, above any scope marker; -1 when none. */
static long
in_scope(const struct model *m, GumboTag t, bool button)
{
	size_t i;

	if (m->count[t] == 0)
		return -1;
	for (i = m->len; i-- > 0;) {
		if (m->v[i].tag == t)
			return (long)i;
		if ((kind(m->v[i].tag) & K_MARKER) ||
		    (button && m->v[i].tag == GUMBO_TAG_BUTTON))
			return -1;
	}
	return -1;
}

static void
pop_to(struct model *m, size_t i)
{
	while (m->len > i) {
		m->len--;
		m->count[m->v[m->len].tag]--;
	}
}

/* li closes an open li unless a special element other than address, div
 * and p stands between; dd and dt alike. */
static void
close_item(struct model *m, GumboTag a, GumboTag b)
{
	size_t	 i;
	GumboTag t;

	if (m->count[a] == 0 && m->count[b] == 0)
		return;
	for (i = m->len; i-- > 0;) {
		t = m->v[i].tag;
		if (t == a || t == b) {
			pop_to(m, i);
			return;
		}
		if ((kind(t) & K_SPECIAL) && t != GUMBO_TAG_ADDRESS &&
		    t != GUMBO_TAG_DIV && t != GUMBO_TAG_P)
			return;
	}
}

/* What a start tag closes before it opens. */
static void
implied_ends(struct model *m, GumboTag t)
{
	long i;

	if ((kind(t) & K_CLOSES_P) && (i = in_scope(m, GUMBO_TAG_P, true)) >= 0)
		pop_to(m, (size_t)i);
	switch (t) {
	case GUMBO_TAG_LI:
		close_item(m, GUMBO_TAG_LI, GUMBO_TAG_LI);
		break;
	case GUMBO_TAG_DD:
	case GUMBO_TAG_DT:
		close_item(m, GUMBO_TAG_DD, GUMBO_TAG_DT);
		break;
	case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
	case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
		if (m->len > 0 && m->v[m->len - 1].tag >= GUMBO_TAG_H1 &&
		    m->v[m->len - 1].tag <= GUMBO_TAG_H6)
			pop_to(m, m->len - 1);
		break;
	case GUMBO_TAG_A:
	case GUMBO_TAG_NOBR:
		/* The adoption agency closes it only if nothing special is
		 * open above it; else it moves, but keeps, what is. */
		for (i = (long)m->len - 1; m->count[t] > 0 && i >= 0; i--) {
			if (m->v[i].tag == t) {
				pop_to(m, (size_t)i);
				break;
			}
			if (kind(m->v[i].tag) & K_SPECIAL)
				break;
		}
		break;
	case GUMBO_TAG_BUTTON:
	case GUMBO_TAG_SELECT:
		if ((i = in_scope(m, t, false)) >= 0)
			pop_to(m, (size_t)i);
		break;
	case GUMBO_TAG_OPTION:
	case GUMBO_TAG_OPTGROUP:
		if (m->len > 0 && (m->v[m->len - 1].tag == GUMBO_TAG_OPTION))
			pop_to(m, m->len - 1);
		break;
	case GUMBO_TAG_TD:
	case GUMBO_TAG_TH:
		if ((i = in_scope(m, GUMBO_TAG_TD, false)) >= 0 ||
		    (i = in_scope(m, GUMBO_TAG_TH, false)) >= 0)
			pop_to(m, (size_t)i);
		break;
	case GUMBO_TAG_TR:
		/* A new row ends the open one, within its table. */
		if ((i = in_scope(m, GUMBO_TAG_TR, false)) >= 0)
			pop_to(m, (size_t)i);
		break;
	case GUMBO_TAG_TBODY:
	case GUMBO_TAG_THEAD:
	case GUMBO_TAG_TFOOT:
		/* A new section ends all that is open in its table. */
		if ((i = in_scope(m, GUMBO_TAG_TABLE, false)) >= 0)
			pop_to(m, (size_t)i + 1);
		break;
	default:
		break;
	}
}

/* Tags a <select> takes; it ignores all others. */
static bool
in_select(GumboTag t)
{
	return t == GUMBO_TAG_OPTION || t == GUMBO_TAG_OPTGROUP ||
	    t == GUMBO_TAG_SELECT || t == GUMBO_TAG_INPUT ||
	    t == GUMBO_TAG_KEYGEN || t == GUMBO_TAG_TEXTAREA ||
	    t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_TEMPLATE ||
	    t == GUMBO_TAG_HR;
}

/* Parts of a table, which mean nothing outside one. */
static bool
table_part(GumboTag t)
{
	return t == GUMBO_TAG_TR || t == GUMBO_TAG_TD || t == GUMBO_TAG_TH ||
	    t == GUMBO_TAG_TBODY || t == GUMBO_TAG_THEAD ||
	    t == GUMBO_TAG_TFOOT || t == GUMBO_TAG_CAPTION ||
	    t == GUMBO_TAG_COLGROUP || t == GUMBO_TAG_COL;
}

/*
 * The end tag t: pop what the tree builder would pop, roughly.  False
 * when it closes nothing: the tree builder would search its stack for
 * it, then ignore it.
 */
static bool
end_tag(struct model *m, GumboTag t, uint32_t name)
{
	int	 k = kind(t), ki;
	size_t	 i;

	if ((k & (K_VOID | K_NONE)) && !in_foreign(m))
		return true;	/* </br>, </body>: not a search */
	if (m->count[t] == 0)
		return false;
	for (i = m->len; i-- > 0;) {
		if (same(&m->v[i], t, name)) {
			pop_to(m, i);
			return true;
		}
		ki = kind(m->v[i].tag);
		/* The adoption agency moves, but keeps, what lies above. */
		if ((k & K_FORMAT) && (ki & K_SPECIAL))
			return false;
		if ((k & K_SPECIAL) && (ki & K_MARKER))
			return false;
		if (!(k & (K_SPECIAL | K_FORMAT)) && (ki & K_SPECIAL))
			return false;
	}
	return false;
}

static uint32_t
hash_name(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t	 i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Past a tag's attributes to just after its '>'; *self for "/>". */
static size_t
skip_attrs(const char *s, size_t n, size_t i, bool *self)
{
	char q;

	*self = false;
	while (i < n && s[i] != '>') {
		if (s[i] == '=') {
			for (i++; i < n && isspace((unsigned char)s[i]); i++)
				;
			if (i < n && (s[i] == '"' || s[i] == '\'')) {
				q = s[i++];
				while (i < n && s[i] != q)
					i++;
				if (i < n)
					i++;
			}
			*self = false;
			continue;
		}
		*self = s[i] == '/';
		i++;
	}
	return i < n ? i + 1 : n;
}

/* After the start tag of a raw text element: past its end tag's '<'. */
static size_t
skip_raw(const char *s, size_t n, size_t i, const char *name, size_t len)
{
	for (; i + 2 + len <= n; i++)
		if (s[i] == '<' && s[i + 1] == '/' &&
		    strncasecmp(s + i + 2, name, len) == 0)
			return i;
	return n;
}

/* One tag of the page, as the scan reads it. */
struct tag {
	bool		 found;		/* false: what was passed is no tag */
	size_t		 start;		/* its '<' */
	bool		 end;		/* an end tag */
	bool		 self;		/* ends in "/>" */
	GumboTag	 t;
	uint32_t	 name;		/* an unknown tag's name, hashed */
	char		 lower[NAME_MAX_LEN];	/* the name, lower case */
	size_t		 nl;		/* bytes of the name, all of it */
};

/*
 * Read the tag at the first '<' from i into tg (comments, doctypes and a
 * '<' before no letter are passed over, tg->found false); returns where
 * the scan goes on, n when no '<' is left.
 */
static size_t
next_tag(const char *s, size_t n, size_t i, struct tag *tg)
{
	const char	*lt = memchr(s + i, '<', n - i), *e;
	size_t		 nl;

	tg->found = false;
	if (lt == NULL)
		return n;
	tg->start = (size_t)(lt - s);
	i = tg->start + 1;
	if (i + 2 < n && memcmp(s + i, "!--", 3) == 0) {
		e = memmem(s + i + 3, n - i - 3, "-->", 3);
		return e ? (size_t)(e - s) + 3 : n;
	}
	if (i < n && (s[i] == '!' || s[i] == '?')) {
		e = memchr(s + i, '>', n - i);
		return e ? (size_t)(e - s) + 1 : n;
	}
	tg->end = i < n && s[i] == '/';
	if (tg->end)
		i++;
	if (i >= n || !isalpha((unsigned char)s[i]))
		return i;
	for (nl = 0; i < n && !isspace((unsigned char)s[i]) &&
	    s[i] != '/' && s[i] != '>'; i++, nl++)
		if (nl < sizeof(tg->lower))
			tg->lower[nl] = (char)tolower((unsigned char)s[i]);
	tg->nl = nl;
	tg->t = nl <= sizeof(tg->lower) ? gumbo_tagn_enum(tg->lower,
	    (unsigned int)nl) : GUMBO_TAG_UNKNOWN;
	tg->name = tg->t == GUMBO_TAG_UNKNOWN ? hash_name(tg->lower, nl <
	    sizeof(tg->lower) ? nl : sizeof(tg->lower)) : 0;
	tg->found = true;
	return skip_attrs(s, n, i, &tg->self);
}

enum step {
	STEP_ON,	/* the tag stays */
	STEP_CUT,	/* it would nest too deep: left out */
	STEP_TEXT,	/* <plaintext>: all the rest is text */
};

/*
 * A start tag into the model, as the tree builder would open it; *i
 * moves past a raw text element's text (i is just past the tag).
 */
static enum step
start_tag(struct model *m, const struct tag *tg, const char *s, size_t n,
    size_t *i)
{
	GumboTag	 t = tg->t;
	int		 k = kind(t);
	bool		 fx;
	long		 j;

	if ((fx = in_foreign(m)) && breaks_out(t)) {
		while (m->len > 0 && m->v[m->len - 1].foreign)
			pop_to(m, m->len - 1);
		fx = false;
	}
	if (fx && tg->self)
		return STEP_ON;		/* <path/> */
	if (!fx && t == GUMBO_TAG_PLAINTEXT)
		return STEP_TEXT;
	if (!fx && (k & K_RAW)) {
		if (tg->nl <= sizeof(tg->lower))
			*i = skip_raw(s, n, *i, tg->lower, tg->nl);
		return STEP_ON;
	}
	if (!fx && (k & (K_VOID | K_NONE)))
		return STEP_ON;
	if (!fx && table_part(t) && m->count[GUMBO_TAG_TABLE] == 0)
		return STEP_ON;		/* the tree builder ignores it too */
	if (!fx && m->count[GUMBO_TAG_SELECT] > 0 && !in_select(t))
		return STEP_ON;		/* likewise */
	if (!fx && t == GUMBO_TAG_SELECT && (j = in_scope(m, t, false)) >= 0) {
		pop_to(m, (size_t)j);	/* ends the open one */
		return STEP_ON;
	}
	if (!fx)
		implied_ends(m, t);
	if (m->len >= H2G_DEPTH_MAX)
		return STEP_CUT;
	m->v[m->len].tag = t;
	m->v[m->len].name = tg->name;
	m->v[m->len++].foreign = fx || t == GUMBO_TAG_SVG ||
	    t == GUMBO_TAG_MATH;
	m->count[t]++;
	return STEP_ON;
}

/*
 * Copy s to out, less the start tags that would nest deeper than
 * H2G_DEPTH_MAX.  Returns 0 when nothing needs leaving out (out is
 * untouched), 1 when out holds the capped page, -1 when out of memory.
 */
int
depth_cap(const char *s, size_t n, struct buf *out)
{
	struct model	 m;
	struct tag	 tg;
	size_t		 i = 0, copied = 0;
	enum step	 st;
	bool		 cut = false;

	memset(&m, 0, sizeof(m));
	while (i < n) {
		i = next_tag(s, n, i, &tg);
		if (!tg.found)
			continue;
		/*
		 * Deep in, an end tag that closes nothing costs the tree
		 * builder a search of its whole stack: leave it out.
		 */
		if (tg.end) {
			if (end_tag(&m, tg.t, tg.name) ||
			    m.len < H2G_DEPTH_MAX / 2)
				continue;
		} else if ((st = start_tag(&m, &tg, s, n, &i)) == STEP_ON)
			continue;
		else if (st == STEP_TEXT)
			break;
		/* Too deep: keep what came before, leave the tag out. */
		if (buf_append(out, s + copied, tg.start - copied) == -1)
			return -1;
		copied = i;
		cut = true;
	}
	if (!cut)
		return 0;
	if (buf_append(out, s + copied, n - copied) == -1)
		return -1;
	return 1;
}
