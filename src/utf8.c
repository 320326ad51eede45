/* utf8.c: decode, validate and repair UTF-8, the only text encoding inside lumbar. */
#include <string.h>

#include "lumbar.h"

/*
 * Decode one code point from s (n bytes available).  Returns the number of
 * bytes used, or -1 for an invalid sequence (overlong forms, surrogates and
 * values past U+10FFFF included), in which case *cp is U+FFFD.
 */
int
utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 c, min;
	int			 len, i;

	*cp = UTF8_REPLACEMENT;
	if (n == 0)
		return -1;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	} else if ((u[0] & 0xE0) == 0xC0) {
		len = 2; c = u[0] & 0x1F; min = 0x80;
	} else if ((u[0] & 0xF0) == 0xE0) {
		len = 3; c = u[0] & 0x0F; min = 0x800;
	} else if ((u[0] & 0xF8) == 0xF0) {
		len = 4; c = u[0] & 0x07; min = 0x10000;
	} else
		return -1;
	if ((size_t)len > n)
		return -1;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (u[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	return len;
}

/*
 * The code point at s (n > 0 bytes) into *cp, and its length: an invalid
 * sequence is its first byte alone, read as U+FFFD.  For the walks that
 * must always move on.
 */
int
utf8_next(const char *s, size_t n, uint32_t *cp)
{
	int k = utf8_decode(s, n, cp);

	return k < 1 ? 1 : k;
}

/* Encode cp into out; returns the length (1 to 4). */
int
utf8_encode(uint32_t cp, char out[4])
{
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = UTF8_REPLACEMENT;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

bool
utf8_valid(const char *s, size_t n)
{
	uint32_t	 cp;
	int		 k;

	while (n > 0) {
		if ((unsigned char)*s < 0x80) {
			s++;
			n--;
			continue;
		}
		if ((k = utf8_decode(s, n, &cp)) == -1)
			return false;
		s += k;
		n -= (size_t)k;
	}
	return true;
}

/*
 * Bytes of the invalid sequence at u that one U+FFFD stands for: the
 * longest start of a valid sequence (WHATWG's decoder, and Unicode's
 * "maximal subpart"), so a truncated E2 82 is one error, not two.
 */
static size_t
bad_len(const unsigned char *u, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xBF;
	size_t		need, i;

	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		need = 1;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		need = 2;
		if (u[0] == 0xE0)
			lo = 0xA0;
		if (u[0] == 0xED)
			hi = 0x9F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		need = 3;
		if (u[0] == 0xF0)
			lo = 0x90;
		if (u[0] == 0xF4)
			hi = 0x8F;
	} else
		return 1;
	for (i = 1; i <= need && i < n; i++) {
		if (u[i] < lo || u[i] > hi)
			break;
		lo = 0x80;
		hi = 0xBF;
	}
	return i;
}

/*
 * Append s to b, each invalid sequence replaced by one U+FFFD.  Valid
 * runs go in with one append each, ASCII skipped without decoding: this
 * pass sees every byte of a converted page, twice.
 */
int
utf8_repair(struct buf *b, const char *s, size_t n)
{
	static const char	 repl[] = "\xEF\xBF\xBD";
	uint32_t		 cp;
	int			 k;
	size_t			 i = 0, run = 0, bad;

	if (buf_reserve(b, n) == -1)
		return -1;
	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_decode(s + i, n - i, &cp)) != -1) {
			i += (size_t)k;
			continue;
		}
		buf_append(b, s + run, i - run);
		buf_append(b, repl, 3);
		bad = bad_len((const unsigned char *)s + i, n - i);
		i += bad;
		run = i;
	}
	buf_append(b, s + run, n - run);
	return buf_status(b);
}

/* Number of code points in s; an invalid byte counts as one. */
size_t
utf8_chars(const char *s, size_t n)
{
	size_t		 count = 0;
	uint32_t	 cp;
	int		 k;

	while (n > 0) {
		k = utf8_next(s, n, &cp);
		s += k;
		n -= (size_t)k;
		count++;
	}
	return count;
}

/*
 * Terminal columns a code point takes: 0 for combining marks and
 * zero-width characters, 2 for East Asian wide ranges, else 1.  A small
 * table, not wcwidth(3), so that the result does not depend on the locale.
 */
int
utf8_width(uint32_t cp)
{
	if (cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0xFEFF ||
	    (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
	    (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE20 && cp <= 0xFE2F))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
	    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
	    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
	    (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
		return 2;
	return 1;
}

/* Terminal columns n bytes of UTF-8 take; an invalid byte counts as one. */
size_t
utf8_columns(const char *s, size_t n)
{
	size_t		 w = 0;
	uint32_t	 cp;
	int		 k;

	while (n > 0) {
		k = utf8_next(s, n, &cp);	/* U+FFFD: one column */
		w += (size_t)utf8_width(cp);
		s += k;
		n -= (size_t)k;
	}
	return w;
}
