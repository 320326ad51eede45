/* test_tls_hold.c: the hold filter keeps what is written while it holds,
 * ignores flushes then, lets all out in order when told, and never holds
 * more than its bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/bio.h>

#include "lumbar.h"
#include "tls.h"

/* A hold filter over a memory BIO standing in for the socket. */
static BIO *
chain(BIO **sink)
{
	BIO *b;

	assert_non_null(*sink = BIO_new(BIO_s_mem()));
	assert_non_null(b = hold_new(*sink));
	return b;
}

/* What reached the sink, as a NUL-terminated string. */
static const char *
sunk(BIO *sink)
{
	static char	 out[128];
	int		 n;

	n = BIO_read(sink, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static void
passes_through_when_not_holding(void **state)
{
	BIO *sink, *b = chain(&sink);

	(void)state;
	assert_int_equal(BIO_write(b, "abc", 3), 3);
	assert_string_equal(sunk(sink), "abc");
	BIO_free_all(b);
}

static void
holds_through_flushes_then_lets_go_in_order(void **state)
{
	BIO *sink, *b = chain(&sink);

	(void)state;
	hold_set(b, true);
	assert_int_equal(BIO_write(b, "ticket,", 7), 7);
	assert_int_equal(BIO_flush(b), 1);	/* OpenSSL's, after a ticket */
	assert_int_equal(BIO_write(b, "answer,", 7), 7);
	assert_string_equal(sunk(sink), "");
	assert_int_equal(BIO_wpending(b), 14);
	hold_set(b, false);
	assert_int_equal(BIO_write(b, "more", 4), 4);	/* held bytes first */
	assert_string_equal(sunk(sink), "ticket,answer,more");
	assert_int_equal(BIO_wpending(b), 0);
	hold_set(b, true);
	assert_int_equal(BIO_write(b, "close", 5), 5);
	hold_set(b, false);
	assert_int_equal(BIO_flush(b), 1);
	assert_string_equal(sunk(sink), "close");
	BIO_free_all(b);
}

static void
holds_no_more_than_its_bound(void **state)
{
	static char	 big[40 * 1024];
	BIO		*sink, *b = chain(&sink);

	(void)state;
	memset(big, 'x', sizeof(big));
	hold_set(b, true);
	assert_int_equal(BIO_write(b, big, sizeof(big)), (int)sizeof(big));
	assert_int_equal(BIO_ctrl_pending(sink), 0);
	/* Past the bound: everything goes out, in order, held part first. */
	assert_int_equal(BIO_write(b, big, sizeof(big)), (int)sizeof(big));
	assert_int_equal(BIO_ctrl_pending(sink), 2 * sizeof(big));
	assert_int_equal(BIO_wpending(b), 0);
	BIO_free_all(b);
}

static void
other_bios_are_left_alone(void **state)
{
	BIO *mem = BIO_new(BIO_s_mem());

	(void)state;
	hold_set(mem, true);		/* must not touch a memory BIO's data */
	assert_int_equal(BIO_write(mem, "x", 1), 1);
	assert_int_equal(BIO_ctrl_pending(mem), 1);
	hold_set(NULL, true);
	BIO_free(mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passes_through_when_not_holding),
		cmocka_unit_test(holds_through_flushes_then_lets_go_in_order),
		cmocka_unit_test(holds_no_more_than_its_bound),
		cmocka_unit_test(other_bios_are_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
