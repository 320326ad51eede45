/*
 * table.c: lay out a data table's cells as a preformatted text table,
 * because gemtext has no tables and a fenced block keeps the columns.
 */
#include <stdlib.h>
#include <string.h>

#include "html2gmi.h"

void
table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
}

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->rows * H2G_TABLE_COLS; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->caption);
	table_init(t);
}

/* Start a new row; cells are stored in rows of H2G_TABLE_COLS slots. */
int
table_add_row(struct table *t)
{
	char	**c;
	size_t	  cap;

	if (t->rows == t->cap) {
		cap = t->cap ? t->cap * 2 : 8;
		if (cap > SIZE_MAX / (H2G_TABLE_COLS * sizeof(*c)))
			return -1;
		if ((c = realloc(t->cells, cap * H2G_TABLE_COLS *
		    sizeof(*c))) == NULL)
			return -1;
		memset(c + t->cap * H2G_TABLE_COLS, 0, (cap - t->cap) *
		    H2G_TABLE_COLS * sizeof(*c));
		t->cells = c;
		t->cap = cap;
	}
	t->rows++;
	return 0;
}

/* Put text into the last row's column col; columns past the limit go. */
int
table_set(struct table *t, size_t col, const char *text)
{
	char **slot;

	if (t->rows == 0 || col >= H2G_TABLE_COLS)
		return 0;
	slot = &t->cells[(t->rows - 1) * H2G_TABLE_COLS + col];
	free(*slot);
	if ((*slot = strdup(text)) == NULL)
		return -1;
	if (col + 1 > t->cols)
		t->cols = col + 1;
	return 0;
}

static void
pad(struct buf *b, size_t n, char c)
{
	while (n-- > 0)
		buf_putc(b, c);
}

static void
add_row(const struct table *t, size_t r, const size_t *w, struct buf *b,
    struct gmi_doc *doc)
{
	const char	*s;
	size_t		 c;

	buf_reset(b);
	for (c = 0; c < t->cols; c++) {
		s = t->cells[r * H2G_TABLE_COLS + c];
		if (s == NULL)
			s = "";
		if (c > 0)
			buf_puts(b, " | ");
		buf_puts(b, s);
		if (c + 1 < t->cols)
			pad(b, w[c] - utf8_columns(s, strlen(s)), ' ');
	}
	while (b->len > 0 && b->data[b->len - 1] == ' ')
		b->len--;
	gmi_add_buf(doc, GMI_PRE, b);
}

/*
 * The table as ```caption, one line per row with the columns padded to
 * the same width and separated by " | ", and a rule under the header.
 */
int
table_render(const struct table *t, struct gmi_doc *doc)
{
	size_t		 w[H2G_TABLE_COLS] = { 0 }, r, c, k;
	struct buf	 b;
	const char	*s;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++)
			if ((s = t->cells[r * H2G_TABLE_COLS + c]) != NULL &&
			    (k = utf8_columns(s, strlen(s))) > w[c])
				w[c] = k;
	buf_init(&b);
	s = t->caption ? t->caption : "";
	gmi_add(doc, GMI_PRE_START, s, strlen(s));
	for (r = 0; r < t->rows && gmi_status(doc) == 0; r++) {
		add_row(t, r, w, &b, doc);
		if (r + 1 != t->head || r + 1 == t->rows)
			continue;
		buf_reset(&b);
		for (c = 0; c < t->cols; c++) {
			if (c > 0)
				buf_puts(&b, "-+-");
			pad(&b, w[c], '-');
		}
		gmi_add_buf(doc, GMI_PRE, &b);
	}
	gmi_add(doc, GMI_PRE_END, "", 0);
	buf_free(&b);
	return gmi_status(doc);
}
