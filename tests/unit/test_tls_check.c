/* test_tls_check.c: lumbar --check's look at the certificates says every
 * line through the caller's function, and counts only the problems. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

#define SAID_MAX	8

static char	 said[SAID_MAX][512];
static size_t	 nsaid;

static void	 say(const char *, ...) ATTR_PRINTF(1, 2);

static void
say(const char *fmt, ...)
{
	va_list ap;

	assert_true(nsaid < SAID_MAX);
	va_start(ap, fmt);
	vsnprintf(said[nsaid++], sizeof(said[0]), fmt, ap);
	va_end(ap);
}

/* A certificate directory of its own, with files as the test writes. */
static int
setup(void **state)
{
	static char	 dir[64];

	snprintf(dir, sizeof(dir), "/tmp/lumbar-tls-check-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	conf.certdir = dir;
	conf.hostnames[0] = "localhost";
	conf.nhostnames = 1;
	nsaid = 0;
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	char	 p[256];

	snprintf(p, sizeof(p), "%s/localhost.crt", (char *)*state);
	unlink(p);
	snprintf(p, sizeof(p), "%s/localhost.key", (char *)*state);
	unlink(p);
	return rmdir(*state);
}

/* No pair yet: not a problem, but said, and through say(). */
static void
missing_pair_is_said(void **state)
{
	assert_int_equal(tls_check(say), 0);
	assert_int_equal(nsaid, 1);
	assert_non_null(strstr(said[0], "no certificate for localhost in "));
	assert_non_null(strstr(said[0], (char *)*state));
}

/* A pair that does not load: one problem, said and counted. */
static void
broken_pair_is_a_problem(void **state)
{
	char	 p[256];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/localhost.crt", (char *)*state);
	assert_non_null(f = fopen(p, "w"));
	fputs("not a certificate\n", f);
	fclose(f);
	assert_int_equal(tls_check(say), 1);
	assert_int_equal(nsaid, 1);
	assert_non_null(strstr(said[0], "localhost.crt"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(missing_pair_is_said, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(broken_pair_is_a_problem, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
