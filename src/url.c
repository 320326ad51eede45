/*
 * url.c: parse a request URL into its parts, percent-decode its path and
 * refuse what a normalising client would never send; the tests on paths
 * and file names every module shares.  Pure functions with no I/O, so
 * that unit tests and fuzzers can link them alone.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "lumbar.h"

/* The value of a hexadecimal digit, or -1. */
int
url_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes into out (outsz bytes with the NUL). */
int
url_decode(const char *in, size_t n, char *out, size_t outsz, size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (o + 1 >= outsz)
			return -1;
		if (in[i] != '%') {
			out[o++] = in[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((hi = url_hexval((unsigned char)in[i + 1])) == -1 ||
		    (lo = url_hexval((unsigned char)in[i + 2])) == -1)
			return -1;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

/*
 * A name clients can write in a URL and the certificate can hold: an IP
 * literal, or DNS labels of letters, digits, '-' and '_' (UTF-8 allowed),
 * none empty, none starting or ending with '-'.  No port, no scheme.
 */
bool
url_valid_host(const char *h)
{
	unsigned char	 a[16];
	const char	*p;
	size_t		 label = 0;

	if (inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1)
		return true;
	if (*h == '\0' || strlen(h) > HOSTNAME_MAX || !utf8_valid(h, strlen(h)))
		return false;
	for (p = h; ; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (c == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '_' || c >= 0x80 ||
		    (c == '-' && label > 0)))
			return false;
		label++;
	}
}

/*
 * The ASCII form of host name h, as DNS, TLS SNI and certificates spell
 * it: an internationalised name becomes its A-labels (IDNA 2008 with
 * UTS #46 mapping, "bücher.example" -> "xn--bcher-kva.example"); an ASCII
 * name is copied unchanged.  -1 when h is not a valid name or out is short.
 */
int
url_host_ascii(const char *h, char *out, size_t outsz)
{
	const unsigned char	*p;
	char			*a = NULL;
	size_t			 n;

	for (p = (const unsigned char *)h; *p != '\0' && *p < 0x80; p++)
		;
	if (*p != '\0') {
		if (idn2_to_ascii_8z(h, &a,
		    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
			return -1;
		h = a;
	}
	n = strlen(h);
	if (n >= outsz) {
		idn2_free(a);
		return -1;
	}
	memcpy(out, h, n + 1);
	idn2_free(a);
	return 0;
}

/*
 * Do a and b name the same host?  Case aside, and a final dot: a client
 * may copy a URL's "example.org." into SNI, though RFC 6066 wants none.
 */
bool
url_host_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	while (na > 1 && a[na - 1] == '.')
		na--;
	while (nb > 1 && b[nb - 1] == '.')
		nb--;
	return na == nb && strncasecmp(a, b, na) == 0;
}

/*
 * Collapse runs of slashes in place: "//a//b" names the same file as
 * "/a/b", and must be one answer and one cache entry, not one per spelling.
 */
void
url_squeeze_slashes(char *path)
{
	const char	*s;
	char		*o = path;

	for (s = path; *s != '\0'; s++)
		if (*s != '/' || o == path || o[-1] != '/')
			*o++ = *s;
	*o = '\0';
}

/* Refuse "." and ".." segments: clients remove them before sending. */
int
path_check(const char *path, const char **err)
{
	const char	*seg = path, *end;
	size_t		 n;

	for (;;) {
		end = strchr(seg, '/');
		n = end ? (size_t)(end - seg) : strlen(seg);
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			*err = "dot segment in path";
			return -1;
		}
		if (end == NULL)
			return 0;
		seg = end + 1;
	}
}

/*
 * Can a request name this file name (one path segment, decoded)?  Not
 * when it holds a control character or invalid UTF-8: url_parse() and
 * the Gopher handler refuse those (59), so no listing or search result
 * may link to it.
 */
bool
path_segment_ok(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7F)
			return false;
	return utf8_valid(name, strlen(name));
}

/* Does path (a file name, a selector) end with suffix, as ".gmi"? */
bool
path_ends_with(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);

	return n >= k && memcmp(path + n - k, suffix, k) == 0;
}

static bool
valid_pct(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '%' && (i + 2 >= n ||
		    url_hexval((unsigned char)s[i + 1]) == -1 ||
		    url_hexval((unsigned char)s[i + 2]) == -1))
			return false;
	return true;
}

static int
parse_authority(const char *a, size_t n, struct url *u, const char **err)
{
	const char	*host = a, *hend, *colon = NULL;
	size_t		 i, hl;
	long		 port = 0;

	if (memchr(a, '@', n) != NULL) {
		*err = "userinfo in URL";
		return -1;
	}
	if (n > 0 && a[0] == '[') {
		if ((hend = memchr(a, ']', n)) == NULL) {
			*err = "unterminated IPv6 address";
			return -1;
		}
		host = a + 1;
		if (hend + 1 < a + n) {
			if (hend[1] != ':') {
				*err = "malformed host";
				return -1;
			}
			colon = hend + 1;
		}
	} else {
		colon = memchr(a, ':', n);
		hend = colon ? colon : a + n;
	}
	hl = (size_t)(hend - host);
	if (hl == 0) {
		*err = "missing host";
		return -1;
	}
	if (hl > HOSTNAME_MAX) {
		*err = "host name too long";
		return -1;
	}
	for (i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)host[i];

		/* DNS names, IP literals; UTF-8 for internationalised names. */
		if (!(isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == ':' || c >= 0x80)) {
			*err = "malformed host";
			return -1;
		}
		u->host[i] = (char)tolower(c);
	}
	u->host[hl] = '\0';
	while (hl > 1 && u->host[hl - 1] == '.')	/* FQDN form */
		u->host[--hl] = '\0';
	if (colon != NULL && colon + 1 < a + n) {
		/* RFC 3986, 3.2.3: port = *DIGIT, leading zeros and all. */
		for (i = 1; colon + i < a + n; i++) {
			if (!isdigit((unsigned char)colon[i])) {
				*err = "malformed port";
				return -1;
			}
			port = port * 10 + (colon[i] - '0');
			if (port > 65535) {
				*err = "malformed port";
				return -1;
			}
		}
		if (port < 1 || port > 65535) {
			*err = "malformed port";
			return -1;
		}
		u->port = (int)port;
	}
	return 0;
}

/* The request as a whole: length, no control byte or space, UTF-8. */
static int
check_request(const char *in, size_t n, const char **err)
{
	size_t	 i;

	if (n == 0) {
		*err = "empty request";
		return -1;
	}
	if (n > GEMINI_URL_MAX) {
		*err = "request too long";
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7F) {
			*err = "control character or space in request";
			return -1;
		}
	}
	if (!utf8_valid(in, n)) {
		*err = "invalid UTF-8";
		return -1;
	}
	if (memchr(in, '#', n) != NULL) {
		*err = "fragment in URL";
		return -1;
	}
	return 0;
}

/* scheme ":" at the start of in; returns what follows the colon. */
static const char *
parse_scheme(const char *in, const char *end, struct url *u,
    const char **err)
{
	const char	*p;
	size_t		 i;

	if (!isalpha((unsigned char)in[0])) {
		*err = "not an absolute URL";
		return NULL;
	}
	for (p = in; p < end && (isalnum((unsigned char)*p) || *p == '+' ||
	    *p == '-' || *p == '.'); p++)
		;
	if (p == end || *p != ':' || (size_t)(p - in) >= sizeof(u->scheme)) {
		*err = "not an absolute URL";
		return NULL;
	}
	for (i = 0; in + i < p; i++)
		u->scheme[i] = (char)tolower((unsigned char)in[i]);
	return p + 1;
}

/* The path's plen bytes, decoded into u->path and checked. */
static int
parse_path(const char *path, size_t plen, struct url *u, const char **err)
{
	size_t	 i;

	/*
	 * RFC 3986, 2.2 and 2.4: "%2F" is data, not the delimiter "/".
	 * Decoded into one, it would serve a/b at "a%2Fb", where every
	 * relative link of the page resolves against the wrong directory.
	 */
	for (i = 0; i + 2 < plen; i++)
		if (path[i] == '%' && path[i + 1] == '2' &&
		    (path[i + 2] == 'F' || path[i + 2] == 'f')) {
			*err = "encoded slash in path";
			return -1;
		}
	if (url_decode(path, plen, u->path, sizeof(u->path), &plen) == -1) {
		*err = "invalid percent-encoding";
		return -1;
	}
	if (memchr(u->path, '\0', plen) != NULL) {
		*err = "NUL in path";
		return -1;
	}
	for (i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)u->path[i];

		if (c < 0x20 || c == 0x7F) {
			*err = "control character in path";
			return -1;
		}
	}
	if (!utf8_valid(u->path, plen)) {
		*err = "invalid UTF-8 in path";
		return -1;
	}
	if (path_check(u->path, err) == -1)
		return -1;
	url_squeeze_slashes(u->path);
	return 0;
}

/*
 * Parse one request URL of n bytes (the CRLF already removed).  Returns 0,
 * or -1 with *err saying what is wrong: the caller answers 59.
 */
int
url_parse(const char *in, size_t n, struct url *u, const char **err)
{
	const char	*p, *end = in + n, *auth, *aend, *pend;

	memset(u, 0, sizeof(*u));
	u->port = -1;
	if (check_request(in, n, err) == -1 ||
	    (p = parse_scheme(in, end, u, err)) == NULL)
		return -1;

	/* "//" authority: required, since only hierarchical URLs name a host */
	if (end - p < 2 || p[0] != '/' || p[1] != '/') {
		*err = "URL without a host";
		return -1;
	}
	auth = p + 2;
	for (aend = auth; aend < end && *aend != '/' && *aend != '?'; aend++)
		;
	if (parse_authority(auth, (size_t)(aend - auth), u, err) == -1)
		return -1;

	for (pend = aend; pend < end && *pend != '?'; pend++)
		;
	if (parse_path(aend, (size_t)(pend - aend), u, err) == -1)
		return -1;

	if (pend < end) {
		pend++;
		if (!valid_pct(pend, (size_t)(end - pend))) {
			*err = "invalid percent-encoding";
			return -1;
		}
		memcpy(u->query, pend, (size_t)(end - pend));
		u->query[end - pend] = '\0';
		u->has_query = true;
	}
	return 0;
}

/* Is ref an absolute URL (it has a scheme)? */
bool
url_has_scheme(const char *ref)
{
	const char *p = ref;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.')
		p++;
	return *p == ':';
}

/*
 * Merge a path reference (n bytes of ref) with the base path and remove dot segments
 * (RFC 3986, 5.2.3 and 5.2.4), on the still-encoded path.  A ".." above
 * the root stays at the root, as the RFC says.
 */
int
url_merge_path(struct buf *out, const char *base, const char *ref, size_t n)
{
	struct buf	 in;
	const char	*seg, *end, *slash;
	size_t		 len, keep;
	bool		 dir = false;
	int		 r = -1;

	buf_init(&in);
	if (n > 0 && ref[0] == '/')
		r = buf_append(&in, ref, n);
	else if (n == 0)
		r = buf_puts(&in, base);
	else {
		slash = strrchr(base, '/');
		r = buf_append(&in, base, slash ? (size_t)(slash - base) + 1 :
		    0);
		if (r == 0 && slash == NULL)
			r = buf_putc(&in, '/');
		if (r == 0)
			r = buf_append(&in, ref, n);
	}
	if (r == 0)
		r = buf_reserve(&in, 0);
	if (r == -1)
		goto done;
	r = -1;		/* until the whole path is out */

	buf_reset(out);
	seg = in.data + 1;	/* in.data[0] is '/' */
	for (;;) {
		end = strchr(seg, '/');
		len = end ? (size_t)(end - seg) : strlen(seg);
		dir = end == NULL && ((len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'));
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			keep = out->len;
			while (keep > 0 && out->data[keep - 1] != '/')
				keep--;
			if (keep > 0)
				keep--;
			out->len = keep;
			if (out->data != NULL)
				out->data[keep] = '\0';
		} else if (!(len == 1 && seg[0] == '.')) {
			if (buf_putc(out, '/') == -1 ||
			    buf_append(out, seg, len) == -1)
				goto done;
		}
		if (end == NULL)
			break;
		seg = end + 1;
	}
	if ((dir || out->len == 0) && buf_putc(out, '/') == -1)
		goto done;
	r = 0;
done:
	buf_free(&in);
	return r;
}

/* Append path to b, percent-encoding what may not stand in a URL path. */
int
url_encode_path(struct buf *b, const char *path)
{
	static const char safe[] = "-._~/!$&'()*+,;=:@";
	const unsigned char *s;

	for (s = (const unsigned char *)path; *s != '\0'; s++) {
		if (isalnum(*s) || (*s != '\0' && strchr(safe, *s) != NULL)) {
			if (buf_putc(b, *s) == -1)
				return -1;
		} else if (buf_printf(b, "%%%02X", *s) == -1)
			return -1;
	}
	return 0;
}
