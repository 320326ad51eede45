/* test_buf.c: the growable byte buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lumbar.h"

static void
test_append(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	assert_int_equal(buf_puts(&b, "cd"), 0);
	assert_int_equal(buf_putc(&b, 'e'), 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "abcde");
	assert_true(b.cap > b.len);
	/* binary data, NUL included, and still terminated */
	assert_int_equal(buf_append(&b, "x\0y", 3), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcdex\0y", 8);
	assert_int_equal(b.data[8], '\0');
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_reset(&b);		/* on an empty buffer: no crash */
	buf_free(&b);
}

static void
test_grow(void **state)
{
	struct buf	 b;
	char		*big;

	buf_init(&b);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, 'a' + i % 26), 0);
	assert_int_equal(b.len, 100000);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	assert_int_equal(b.data[b.len], '\0');
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 'z', 1 << 20);
	assert_int_equal(buf_append(&b, big, 1 << 20), 0);
	assert_int_equal(b.len, 100000 + (1 << 20));
	assert_int_equal(b.data[b.len - 1], 'z');
	assert_int_equal(b.data[b.len], '\0');
	free(big);
	/* a request past SIZE_MAX fails without harm */
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(buf_reserve(&b, SIZE_MAX - b.len), -1);
	assert_int_equal(b.len, 100000 + (1 << 20));
	buf_free(&b);
}

static void
test_printf(void **state)
{
	struct buf	 b;
	char		 longs[5000];

	buf_init(&b);
	assert_int_equal(buf_printf(&b, "%d %s %02X", 42, "x", 0xAB), 0);
	assert_string_equal(b.data, "42 x AB");
	assert_int_equal(b.len, 7);
	memset(longs, 'q', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	assert_int_equal(buf_printf(&b, "[%s]", longs), 0);
	assert_int_equal(b.len, 7 + 2 + sizeof(longs) - 1);
	assert_int_equal(b.data[7], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 7 + 2 + sizeof(longs) - 1);
	buf_free(&b);
}

static void
test_steal(void **state)
{
	struct buf	 b;
	char		*s;

	buf_init(&b);
	s = buf_steal(&b);		/* empty: still a string */
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(buf_puts(&b, "mine"), 0);
	s = buf_steal(&b);
	assert_string_equal(s, "mine");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(s);
	buf_free(&b);
}

/* A blob lives while anyone holds it: the last release frees it. */
static void
test_blob(void **state)
{
	struct buf	 b;
	struct blob	*bl;

	buf_init(&b);
	assert_int_equal(buf_puts(&b, "a menu"), 0);
	bl = blob_from(&b);
	assert_non_null(bl);
	assert_null(b.data);		/* taken over, not copied */
	assert_int_equal(bl->len, 6);
	assert_string_equal(bl->data, "a menu");
	assert_ptr_equal(blob_ref(bl), bl);
	assert_int_equal(bl->refs, 2);
	blob_release(bl);		/* the cache lets go ... */
	assert_string_equal(bl->data, "a menu");	/* ... still sent */
	blob_release(bl);		/* ASan: freed here, once */
	blob_release(NULL);
	assert_null(blob_ref(NULL));
}

/* A failed write sticks: later ones do nothing, one check at the end. */
static void
test_failure_sticks(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(buf_puts(&b, "kept"), 0);
	assert_int_equal(buf_status(&b), 0);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);	/* cannot be */
	assert_int_equal(buf_status(&b), -1);
	assert_int_equal(buf_puts(&b, "more"), -1);
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_int_equal(buf_reserve(&b, 1), -1);
	assert_int_equal(b.len, 4);
	assert_null(buf_steal(&b));
	assert_int_equal(buf_status(&b), 0);	/* steal emptied it */
	buf_fail(&b);
	buf_reset(&b);				/* so does a reset */
	assert_int_equal(buf_status(&b), 0);
	assert_int_equal(buf_puts(&b, "x"), 0);
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "new"), 0);
	buf_fail(&b);
	assert_int_equal(buf_status(&b), -1);
	buf_free(&b);
	assert_int_equal(buf_status(&b), 0);
	assert_int_equal(buf_puts(&b, "ok"), 0);
	assert_string_equal(b.data, "ok");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_failure_sticks),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_blob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
