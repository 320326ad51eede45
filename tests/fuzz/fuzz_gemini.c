/*
 * fuzz_gemini: the whole Gemini request handler, from the request line to
 * the response, against a small real capsule (common.c).  Whatever the
 * request, the answer is one well-formed header (a known status, a meta
 * of at most 1024 bytes with no line break), never anything from outside
 * the capsule or under a hidden name, and a redirect never leaves the
 * host.  The request is also escaped for the log, which must keep it on
 * one line and lose nothing.
 *
 * Input: the request line without its CRLF.  Bytes before a first LF, if
 * there is one, are the TLS server name the client sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define META_MAX	1024

static void
check_header(const struct response *r)
{
	static const int known[] = { 20, 31, 40, 50, 51, 53, 59 };
	const char	*crlf, *meta;
	char		 code[4];
	size_t		 i, mlen;
	bool		 ok = false;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok = ok || r->status == known[i];
	FUZZ_ASSERT(ok);
	FUZZ_ASSERT(r->out.len >= 5);
	snprintf(code, sizeof(code), "%d ", r->status);
	FUZZ_ASSERT(memcmp(r->out.data, code, 3) == 0);
	crlf = memmem(r->out.data, r->out.len, "\r\n", 2);
	FUZZ_ASSERT(crlf != NULL);
	meta = r->out.data + 3;
	mlen = (size_t)(crlf - meta);
	FUZZ_ASSERT(mlen <= META_MAX);
	for (i = 0; i < mlen; i++)
		FUZZ_ASSERT((unsigned char)meta[i] >= 0x20 && meta[i] != 0x7F);
	FUZZ_ASSERT(utf8_valid(meta, mlen));
	if (r->status == 31) {
		/* "//x/" would send the client to the host x. */
		FUZZ_ASSERT(meta[0] == '/' && (mlen < 2 || meta[1] != '/'));
	}
	/* Only a success has a body. */
	if (r->status != 20)
		FUZZ_ASSERT(crlf + 2 == r->out.data + r->out.len &&
		    r->file == NULL && r->fd == -1);
}

static int
unhex(int c)
{
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* The log's escaping keeps a request on one line and can be undone. */
static void
check_log_escape(const char *s, size_t n)
{
	struct buf	 b;
	size_t		 i, o = 0;
	char		*back;

	buf_init(&b);
	log_escape(&b, s, n);
	FUZZ_ASSERT(utf8_valid(b.data ? b.data : "", b.len));
	back = malloc(b.len + 1);
	for (i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		FUZZ_ASSERT(c >= 0x20 && c != 0x7F && c != '"');
		if (c == '\\') {
			FUZZ_ASSERT(i + 3 < b.len);
			FUZZ_ASSERT(b.data[i + 1] == 'x');
			back[o++] = (char)(unhex(b.data[i + 2]) << 4 |
			    unhex(b.data[i + 3]));
			i += 3;
		} else
			back[o++] = (char)c;
	}
	FUZZ_ASSERT(o == n && (n == 0 || memcmp(back, s, n) == 0));
	free(back);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct response	 r;
	const uint8_t	*nl;
	char		*sni = NULL;
	const char	*line = (const char *)data;
	size_t		 len = n;

	fuzz_capsule();
	if ((nl = memchr(data, '\n', n)) != NULL) {
		sni = fuzz_strndup(data, (size_t)(nl - data));
		line = (const char *)nl + 1;
		len = n - (size_t)(nl - data) - 1;
	}
	response_init(&r);
	gemini_handle(line, len, sni, &r);
	check_header(&r);
	fuzz_check_response(&r, line, len);
	response_clear(&r);
	check_log_escape(line, len);
	free(sni);
	/* No cache carried over: an input replays alone as it ran here. */
	hosts_flush();
	return 0;
}
