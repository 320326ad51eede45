/*
 * charset.c: decide which encoding an HTML file is in (BOM, <meta>,
 * else the HTML5 default) and turn its bytes into valid UTF-8, because
 * gumbo only parses UTF-8.  Also tells an HTML file from other bytes.
 */
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

static const char repl[] = "\xEF\xBF\xBD";	/* U+FFFD */

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: does p (n bytes left) start with word? */
static bool
has_prefix(const char *p, size_t n, const char *word)
{
	size_t i, k = strlen(word);

	if (n < k)
		return false;
	for (i = 0; i < k; i++)
		if (lower((unsigned char)p[i]) != word[i])
			return false;
	return true;
}

/* Copy a label, trimmed and lower-cased, into out. */
static void
put_label(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i = 0;

	while (n > 0 && is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	for (; i < n && i + 1 < outsz; i++)
		out[i] = (char)lower((unsigned char)s[i]);
	out[i] = '\0';
}

/* The charset= parameter of a Content-Type value, as HTML5 extracts it. */
static bool
charset_param(const char *v, size_t n, char *out, size_t outsz)
{
	size_t i, start;
	char q;

	for (i = 0; i + 7 <= n; i++) {
		if (!has_prefix(v + i, n - i, "charset"))
			continue;
		i += 7;
		while (i < n && is_space((unsigned char)v[i]))
			i++;
		if (i >= n || v[i] != '=')
			continue;
		i++;
		while (i < n && is_space((unsigned char)v[i]))
			i++;
		if (i < n && (v[i] == '"' || v[i] == '\'')) {
			q = v[i++];
			for (start = i; i < n && v[i] != q; i++)
				;
		} else
			for (start = i; i < n && !is_space((unsigned char)v[i])
			    && v[i] != ';'; i++)
				;
		put_label(v + start, i - start, out, outsz);
		return out[0] != '\0';
	}
	return false;
}

/*
 * Read one attribute of a tag at p; returns the position after it, or
 * NULL at the tag's end.  The shape follows HTML5's prescan, which only
 * needs names and values, never a tree.
 */
static const char *
next_attr(const char *p, const char *end, const char **name, size_t *nlen,
    const char **val, size_t *vlen)
{
	char q;

	while (p < end && (is_space((unsigned char)*p) || *p == '/'))
		p++;
	if (p >= end || *p == '>')
		return NULL;
	*name = p;
	while (p < end && !is_space((unsigned char)*p) && *p != '=' &&
	    *p != '>' && *p != '/')
		p++;
	*nlen = (size_t)(p - *name);
	*val = p;
	*vlen = 0;
	while (p < end && is_space((unsigned char)*p))
		p++;
	if (p >= end || *p != '=')
		return p;
	p++;
	while (p < end && is_space((unsigned char)*p))
		p++;
	if (p < end && (*p == '"' || *p == '\'')) {
		q = *p++;
		*val = p;
		while (p < end && *p != q)
			p++;
		*vlen = (size_t)(p - *val);
		return p < end ? p + 1 : p;
	}
	*val = p;
	while (p < end && !is_space((unsigned char)*p) && *p != '>')
		p++;
	*vlen = (size_t)(p - *val);
	return p;
}

/* The charset a <meta> tag at p declares, if any. */
static bool
meta_charset(const char *p, const char *end, char *out, size_t outsz)
{
	const char	*name, *val, *content = NULL;
	size_t		 nlen, vlen, clen = 0;
	bool		 http_equiv = false;

	while ((p = next_attr(p, end, &name, &nlen, &val, &vlen)) != NULL) {
		if (nlen == 7 && has_prefix(name, nlen, "charset")) {
			put_label(val, vlen, out, outsz);
			if (out[0] != '\0')
				return true;
		} else if (nlen == 10 && has_prefix(name, nlen, "http-equiv"))
			http_equiv = vlen == 12 &&
			    has_prefix(val, vlen, "content-type");
		else if (nlen == 7 && has_prefix(name, nlen, "content")) {
			content = val;
			clen = vlen;
		}
	}
	return http_equiv && content != NULL &&
	    charset_param(content, clen, out, outsz);
}

/* HTML5's prescan of the first bytes for a <meta> naming the charset. */
static bool
prescan(const char *s, size_t n, char *out, size_t outsz)
{
	const char *p = s, *end = s + (n < H2G_SNIFF_LEN ? n : H2G_SNIFF_LEN);
	const char *q;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if (has_prefix(p, (size_t)(end - p), "<!--")) {
			q = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
			if (q == NULL)
				return false;
			p = q + 3;
			continue;
		}
		if (has_prefix(p, (size_t)(end - p), "<meta") &&
		    p + 5 < end && (is_space((unsigned char)p[5]) ||
		    p[5] == '/') && meta_charset(p + 5, end, out, outsz))
			return true;
		p++;
	}
	return false;
}

/*
 * WHATWG maps the Latin-1 labels to windows-1252, and a page that says
 * UTF-16 in its own ASCII bytes cannot be UTF-16: it is read as UTF-8.
 */
static const char *
iconv_name(const char *label)
{
	static const char *const w1252[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1",
		"ascii", "us-ascii", "cp1252", "x-cp1252", "windows-1252",
		"cp819", "ibm819", "iso-ir-100", "csisolatin1", "iso88591",
		"iso_8859-1:1987", "ansi_x3.4-1968",
	};
	size_t i;

	/* WHATWG's UTF-16 labels too, not only those starting "utf-16". */
	static const char *const utf16[] = {
		"unicode", "ucs-2", "csunicode", "iso-10646-ucs-2",
		"unicodefeff", "unicodefffe",
	};

	if (strcmp(label, "utf-8") == 0 || strcmp(label, "utf8") == 0 ||
	    strcmp(label, "unicode-1-1-utf-8") == 0 ||
	    strncmp(label, "utf-16", 6) == 0)
		return "UTF-8";
	for (i = 0; i < sizeof(utf16) / sizeof(utf16[0]); i++)
		if (strcmp(label, utf16[i]) == 0)
			return "UTF-8";
	for (i = 0; i < sizeof(w1252) / sizeof(w1252[0]); i++)
		if (strcmp(label, w1252[i]) == 0)
			return "WINDOWS-1252";
	return label;
}

/*
 * UTF-16 without a byte order mark, as some Windows tools save HTML:
 * markup is ASCII, so in the first bytes nearly every other byte is NUL
 * (the high byte), at odd offsets for little endian, at even ones for big
 * endian, and the others are not.  Such bytes are never a page in an
 * 8-bit encoding, so the guess is safe; NULL when it is not UTF-16.
 */
#define UTF16_SNIFF	512	/* bytes looked at */

static const char *
utf16_unmarked(const char *s, size_t n)
{
	size_t	i, zero[2] = { 0, 0 }, pairs;

	if (n > UTF16_SNIFF)
		n = UTF16_SNIFF;
	pairs = n / 2;
	if (pairs < 4)
		return NULL;
	for (i = 0; i < pairs * 2; i++)
		if (s[i] == '\0')
			zero[i % 2]++;
	if (zero[1] * 10 >= pairs * 9 && zero[0] * 10 < pairs)
		return "UTF-16LE";
	if (zero[0] * 10 >= pairs * 9 && zero[1] * 10 < pairs)
		return "UTF-16BE";
	return NULL;
}

/* Convert with iconv; a byte it cannot map becomes U+FFFD, never an error. */
static int
via_iconv(iconv_t cd, const char *s, size_t n, size_t unit, struct buf *out)
{
	char	*in = (char *)s, *o;
	size_t	 left = n, room, r;

	while (left > 0) {
		if (buf_reserve(out, left * 4 + 16) == -1)
			return -1;
		o = out->data + out->len;
		room = out->cap - out->len - 1;
		r = iconv(cd, &in, &left, &o, &room);
		out->len = (size_t)(o - out->data);
		out->data[out->len] = '\0';
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/*
		 * EILSEQ, or EINVAL for a sequence cut at the end.  Skip one
		 * code unit, not one byte: a lone UTF-16 surrogate must not
		 * shift every later character by a byte.
		 */
		if (buf_append(out, repl, 3) == -1)
			return -1;
		in += left < unit ? left : unit;
		left -= left < unit ? left : unit;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	return 0;
}

/*
 * Append the UTF-8 form of n bytes of HTML at s to out.  label receives
 * the encoding that was used.  Returns 1 when the declared encoding is
 * unknown to iconv (windows-1252 was used instead), 0 on success, -1 when
 * out of memory.
 */
int
charset_to_utf8(const char *s, size_t n, struct buf *out, char *label,
    size_t labelsz)
{
	const char	*name;
	char		 decl[H2G_CHARSET_MAX];
	iconv_t		 cd;
	size_t		 start;
	int		 unknown = 0, r;

	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		put_label("utf-8", 5, label, labelsz);
		return utf8_repair(out, s + 3, n - 3);
	}
	if (n >= 2 && (memcmp(s, "\xFE\xFF", 2) == 0 ||
	    memcmp(s, "\xFF\xFE", 2) == 0)) {
		name = s[0] == '\xFE' ? "UTF-16BE" : "UTF-16LE";
		s += 2;
		n -= 2;
	} else if ((name = utf16_unmarked(s, n)) != NULL)
		;
	else if (prescan(s, n, decl, sizeof(decl)))
		name = iconv_name(decl);
	else
		name = utf8_valid(s, n) ? "UTF-8" : "WINDOWS-1252";
	if (strcmp(name, "UTF-8") == 0) {
		put_label("utf-8", 5, label, labelsz);
		return utf8_repair(out, s, n);
	}
	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1) {
		unknown = 1;
		name = "WINDOWS-1252";
		if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
			return -1;
	}
	put_label(name, strlen(name), label, labelsz);
	start = out->len;
	r = via_iconv(cd, s, n, strncmp(name, "UTF-16", 6) == 0 ? 2 : 1, out);
	iconv_close(cd);
	if (r == 0 && out->len > start &&
	    !utf8_valid(out->data + start, out->len - start)) {
		/*
		 * glibc reads a label such as "utf\x13-8" as UTF-8 and then
		 * copies the bytes unchecked: repair what it let through.
		 */
		struct buf raw;

		buf_init(&raw);
		r = buf_append(&raw, out->data + start, out->len - start);
		out->len = start;
		out->data[start] = '\0';
		if (r == 0)
			r = utf8_repair(out, raw.data, raw.len);
		buf_free(&raw);
	}
	return r == -1 ? -1 : unknown;
}

/* WHATWG's "binary data byte": no text format uses these. */
static bool
is_binary(unsigned char c)
{
	return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1A) ||
	    (c >= 0x1C && c <= 0x1F);
}

/*
 * Is this UTF-8 text an HTML document?  NULL if it is, else why not.
 * It must hold markup (a tag, comment or doctype) before any binary
 * byte, so a stray NUL inside a page is fine but an image is refused.
 */
const char *
html_sniff(const char *s, size_t n)
{
	size_t		 i;
	unsigned char	 c, d;
	bool		 blank = true;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (is_binary(c))
			return "binary data, not an HTML document";
		if (!is_space(c))
			blank = false;
		if (c != '<' || i + 1 >= n)
			continue;
		d = (unsigned char)s[i + 1];
		if ((lower(d) >= 'a' && lower(d) <= 'z') || d == '!' ||
		    d == '/' || d == '?')
			return NULL;
	}
	return blank ? "empty input, not an HTML document" :
	    "no HTML markup found, not an HTML document";
}
