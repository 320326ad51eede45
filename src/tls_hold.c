/*
 * tls_hold.c: the filter between a TLS connection and its socket that
 * holds what is written, while told to, and lets it out in one write(2).
 *
 * It exists for two things a Gemini exchange writes after the handshake:
 * the TLS 1.3 session ticket, which OpenSSL sends once the client's
 * Finished is read and flushes at once, and a small answer with the
 * close_notify after it.  Held together they leave in one system call and
 * one TCP segment instead of three, which spares the client two wake-ups.
 * BIO_f_buffer cannot do this: it writes out on every flush, and OpenSSL
 * flushes after the ticket.  So this filter ignores flushes while it holds.
 */
#include <openssl/bio.h>

#include "lumbar.h"
#include "tls.h"

/*
 * At most this much is held: a ticket and one record of answer are far
 * less.  What OpenSSL writes besides (a KeyUpdate answered while the
 * request is read) is bounded by OpenSSL; this bounds it here too.
 * Past it the filter stops holding, and the bytes go out in order.
 */
#define HOLD_MAX	(64 * 1024)

struct hold {
	struct buf	 data;		/* held bytes */
	size_t		 off;		/* of data, already written */
	bool		 holding;
};

static BIO_METHOD *hold_method;
static int	    hold_type;	/* its BIO type, to know a hold filter */

static int
hold_create(BIO *b)
{
	struct hold *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return 0;
	buf_init(&h->data);
	BIO_set_data(b, h);
	BIO_set_init(b, 1);
	return 1;
}

static int
hold_destroy(BIO *b)
{
	struct hold *h = BIO_get_data(b);

	if (h != NULL) {
		buf_free(&h->data);
		free(h);
		BIO_set_data(b, NULL);
	}
	return 1;
}

/* Write out what is held: 1 when all is out, else what BIO_write gave,
 * with the next BIO's retry flags copied (0 or -1). */
static int
hold_drain(BIO *b, struct hold *h)
{
	int r;

	while (h->off < h->data.len) {
		r = BIO_write(BIO_next(b), h->data.data + h->off,
		    (int)(h->data.len - h->off));
		if (r <= 0) {
			BIO_copy_next_retry(b);
			return r;
		}
		h->off += (size_t)r;
	}
	/* Let the memory go: a connection may live on for a long answer. */
	buf_free(&h->data);
	h->off = 0;
	return 1;
}

static int
hold_write(BIO *b, const char *in, int n)
{
	struct hold	*h = BIO_get_data(b);
	int		 r;

	BIO_clear_retry_flags(b);
	if (n <= 0)
		return 0;
	if (h->holding && h->data.len + (size_t)n > HOLD_MAX)
		h->holding = false;
	if (h->holding)
		return buf_append(&h->data, in, (size_t)n) == 0 ? n : -1;
	if ((r = hold_drain(b, h)) != 1)
		return r;
	r = BIO_write(BIO_next(b), in, n);
	BIO_copy_next_retry(b);
	return r;
}

static long
hold_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct hold	*h = BIO_get_data(b);
	long		 r;

	if (BIO_next(b) == NULL)
		return 0;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		if (h->holding)
			return 1;
		BIO_clear_retry_flags(b);
		if ((r = hold_drain(b, h)) != 1)
			return r;
		r = BIO_ctrl(BIO_next(b), cmd, num, ptr);
		BIO_copy_next_retry(b);
		return r;
	case BIO_CTRL_WPENDING:
		return (long)(h->data.len - h->off) +
		    BIO_ctrl(BIO_next(b), cmd, num, ptr);
	default:
		return BIO_ctrl(BIO_next(b), cmd, num, ptr);
	}
}

/* A hold filter in front of next (not holding yet), or NULL. */
BIO *
hold_new(BIO *next)
{
	BIO *b;

	if (hold_method == NULL) {
		hold_type = BIO_get_new_index() | BIO_TYPE_FILTER;
		if ((hold_method = BIO_meth_new(hold_type, "lumbar hold")) ==
		    NULL ||
		    BIO_meth_set_create(hold_method, hold_create) != 1 ||
		    BIO_meth_set_destroy(hold_method, hold_destroy) != 1 ||
		    BIO_meth_set_write(hold_method, hold_write) != 1 ||
		    BIO_meth_set_ctrl(hold_method, hold_ctrl) != 1) {
			BIO_meth_free(hold_method);
			hold_method = NULL;
			return NULL;
		}
	}
	if ((b = BIO_new(hold_method)) == NULL)
		return NULL;
	BIO_push(b, next);
	return b;
}

/* Start or stop holding; what is held goes out at the next write or
 * flush once stopped.  Any other BIO (a test's BIO pair) is left alone. */
void
hold_set(BIO *b, bool on)
{
	struct hold *h;

	if (b == NULL || hold_method == NULL || BIO_method_type(b) != hold_type)
		return;
	h = BIO_get_data(b);
	h->holding = on;
}
