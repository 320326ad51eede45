/*
 * response.c: what a protocol handler hands back to the event loop, and
 * its life cycle.  Below the protocols: gemini.c and gopher.c fill a
 * response, server.c sends and clears it, and none of them owns the
 * bytes another holds.  Every byte a response sends is its own (out) or
 * held by a reference (a cached file, a shared blob, a descriptor) until
 * it is cleared, whatever other requests do meanwhile.
 */
#include <unistd.h>

#include "lumbar.h"

void
response_init(struct response *r)
{
	r->kind = RESP_PLAIN;
	r->status = 0;
	r->reason = NULL;
	buf_init(&r->out);
	r->file = NULL;
	r->blob = NULL;
	r->body = NULL;
	r->bodylen = 0;
	r->fd = -1;
	r->left = 0;
	r->logfd = -1;
	r->hostslot = -1;
}

/*
 * The body is the file a lookup found: its cached bytes, which the
 * response holds by a reference of its own, or the descriptor to stream
 * a large one from, which it takes over.  The caller still releases the
 * lookup.
 */
void
response_take(struct response *r, struct lookup *lk)
{
	if (cfile_data(lk->file) != NULL) {
		r->file = cfile_ref(lk->file);
		r->body = cfile_data(r->file);
		r->bodylen = cfile_size(r->file);
		return;
	}
	r->fd = lk->fd;
	r->left = lk->size;
	lk->fd = -1;
}

/* The body is a blob shared with the cache: the response takes over the
 * reference it is given. */
void
response_blob(struct response *r, struct blob *b)
{
	r->blob = b;
	r->body = b->data;
	r->bodylen = b->len;
}

/*
 * The answer has ended, sent or given up: its host's place is free,
 * though the connection may linger a moment to drain what the client
 * still sends.
 */
void
response_ended(struct response *r)
{
	limit_host_give(r->hostslot);
	r->hostslot = -1;
}

void
response_clear(struct response *r)
{
	buf_free(&r->out);
	cfile_release(r->file);
	r->file = NULL;
	blob_release(r->blob);
	r->blob = NULL;
	r->body = NULL;
	r->bodylen = 0;
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	response_ended(r);
}
