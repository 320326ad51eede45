/*
 * fuzz_gopher: the whole Gopher request handler (selectors, search words
 * after a TAB, Gopher+ probes, URL: redirects, the generated .txt forms
 * and caps.txt) against the small capsule of common.c.  Whatever the line,
 * nothing from outside the capsule or under a hidden name is served, a
 * refusal is exactly one error item and the end line (for Gopher+, one
 * error line: "--1", a code and the reason), and a generated
 * answer is UTF-8 whose only line ends are CRLF.
 *
 * Input: the request line without its CRLF.
 */
#include <string.h>

#include "fuzz.h"

/* "3<message>\t\terror.host\t1\r\n.\r\n" and nothing else. */
static void
check_refusal(const struct buf *b)
{
	const char	*nl;
	size_t		 i, tabs = 0;

	FUZZ_ASSERT(b->len > 5 && b->data[0] == '3');
	nl = memchr(b->data, '\n', b->len);
	FUZZ_ASSERT(nl != NULL && nl[-1] == '\r');
	for (i = 0; b->data + i < nl; i++)
		tabs += b->data[i] == '\t';
	FUZZ_ASSERT(tabs == 3);
	FUZZ_ASSERT(strcmp(nl + 1, ".\r\n") == 0);
}

/* A Gopher+ refusal: "--1\r\n<code> <reason>\r\n.\r\n", one line. */
static void
check_plus_refusal(const struct buf *b)
{
	const char	*nl;
	size_t		 i;

	FUZZ_ASSERT(b->len > 10 && memcmp(b->data, "--1\r\n", 5) == 0);
	FUZZ_ASSERT((b->data[5] == '1' || b->data[5] == '2') &&
	    b->data[6] == ' ');
	nl = memchr(b->data + 5, '\n', b->len - 5);
	FUZZ_ASSERT(nl != NULL && nl[-1] == '\r');
	for (i = 7; b->data + i < nl - 1; i++)
		FUZZ_ASSERT((unsigned char)b->data[i] >= 0x20);
	FUZZ_ASSERT(strcmp(nl + 1, ".\r\n") == 0);
}

/* The URL: page: the URL may not open or close a tag or an attribute. */
static void
check_url_page(const struct buf *b)
{
	struct buf	 empty;
	size_t		 i, want = 0, got = 0;

	buf_init(&empty);
	FUZZ_ASSERT(gopher_url_page(&empty, "") == 0);
	for (i = 0; i < empty.len; i++)
		want += empty.data[i] == '<' || empty.data[i] == '"';
	for (i = 0; i < b->len; i++)
		got += b->data[i] == '<' || b->data[i] == '"';
	FUZZ_ASSERT(got == want);
	buf_free(&empty);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct response	 r;
	struct buf	 body, shared;

	fuzz_capsule();
	response_init(&r);
	gopher_handle((const char *)data, n, &r);
	fuzz_check_response(&r, (const char *)data, n);
	FUZZ_ASSERT(r.status == 20 || r.status == 40 || r.status == 51 ||
	    r.status == 59);
	/* A Gopher+ request gets the plain answer behind a length line. */
	body = r.out;
	if (memchr(data, '\t', n) != NULL && body.len >= 5 &&
	    (memcmp(body.data, "+-1\r\n", 5) == 0 ||
	    memcmp(body.data, "+-2\r\n", 5) == 0)) {
		body.data += 5;
		body.len -= 5;
	}
	if (r.status != 20) {
		FUZZ_ASSERT(r.file == NULL && r.fd == -1);
		FUZZ_ASSERT(r.kind == RESP_REFUSAL && r.reason != NULL);
		if (body.len >= 5 && memcmp(body.data, "--1\r\n", 5) == 0)
			check_plus_refusal(&body);
		else
			check_refusal(&body);
	} else if (r.blob != NULL) {	/* a page's render, shared */
		FUZZ_ASSERT(r.file == NULL && r.fd == -1 && body.len == 0);
		shared.data = r.blob->data;
		shared.len = r.blob->len;
		fuzz_check_text(&shared, true);
	} else if (r.file == NULL && r.fd == -1) {
		FUZZ_ASSERT(body.len > 0);
		if (n >= 4 && memcmp(data, "URL:", 4) == 0 &&
		    memchr(data, '\t', n) == NULL)
			check_url_page(&body);
		else
			fuzz_check_text(&body, true);
	} else
		FUZZ_ASSERT(body.len == 0);
	response_clear(&r);
	/* No cache carried over: an input replays alone as it ran here. */
	hosts_flush();
	return 0;
}
