/*
 * bcache - rendered bulletins, personalised by substitution; contract in
 * bcache.h.
 *
 * A stored part is a list of operations over the entry's bytes: copy a
 * run, put in a value, and for the text, wrap what lies between a
 * WRAP_BEGIN and its WRAP_END (one line that held a marker).  Filling is
 * then a few memcpy()s and the wrapping of those lines only.
 */
#include <sodium.h>
#include <string.h>

#include "bcache.h"
#include "render.h"
#include "util.h"
#include "wrap.h"

/* "\x01" + 16 hex digits, then the value's digit and "\x01" */
#define MARK_PREFIX	17
#define MARK_LEN	(MARK_PREFIX + 2)

enum { OP_COPY, OP_VALUE, OP_WRAP_BEGIN, OP_WRAP_END };

struct op {
	int	 kind;
	size_t	 off, len;	/* OP_COPY: the run; OP_VALUE: len is k */
};

struct part {
	buf_t	 bytes;
	struct op *ops;
	size_t	 nops, cap;
};

struct bcache_entry {
	bcache_key_t key;
	struct part subject, text, html;
};

struct bcache {
	char	 marker[BCACHE_NVALUES][MARK_LEN + 1];
	bcache_entry_t *e[BCACHE_MAX];
	int	 n;
	buf_t	 line;		/* a line with its values, to be wrapped */
	buf_t	 subject;	/* the subject with its values, to be made one line */
};

bcache_t *
bcache_new(void)
{
	bcache_t *c = xcalloc(1, sizeof *c);
	unsigned char nonce[8];
	char hex[sizeof nonce * 2 + 1];

	randombytes_buf(nonce, sizeof nonce);
	sodium_bin2hex(hex, sizeof hex, nonce, sizeof nonce);
	for (int k = 0; k < BCACHE_NVALUES; k++)
		snprintf(c->marker[k], sizeof c->marker[k], "\x01%s%d\x01", hex, k);
	buf_init(&c->line, 0);
	buf_init(&c->subject, 0);
	return c;
}

static void
part_free(struct part *p)
{
	buf_free(&p->bytes);
	free(p->ops);
}

static void
entries_free(bcache_t *c)
{
	for (int i = 0; i < c->n; i++) {
		part_free(&c->e[i]->subject);
		part_free(&c->e[i]->text);
		part_free(&c->e[i]->html);
		free(c->e[i]);
	}
	c->n = 0;
}

void
bcache_free(bcache_t *c)
{
	if (c == NULL)
		return;
	entries_free(c);
	buf_free(&c->line);
	buf_free(&c->subject);
	free(c);
}

int
bcache_plain(const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch < 0x20 || ch == 0x7f || strchr("&<>\"'", ch) != NULL)
			return 0;
		/* C1 controls, U+0080-U+009F, which the MIME layer cleans */
		if (ch == 0xc2 && (unsigned char)v[1] >= 0x80 && (unsigned char)v[1] <= 0x9f)
			return 0;
	}
	return 1;
}

const char *
bcache_marker(const bcache_t *c, int k)
{
	return c->marker[k];
}

const bcache_entry_t *
bcache_get(const bcache_t *c, const bcache_key_t *key)
{
	for (int i = 0; i < c->n; i++) {
		const bcache_key_t *k = &c->e[i]->key;

		if (k->issue == key->issue && k->regions == key->regions &&
		    k->empty == key->empty && strcmp(k->lang, key->lang) == 0)
			return c->e[i];
	}
	return NULL;
}

static void
op_add(struct part *p, int kind, size_t off, size_t len)
{
	struct op *last = p->nops ? &p->ops[p->nops - 1] : NULL;

	/* runs stored one after the other are one copy */
	if (kind == OP_COPY && last && last->kind == OP_COPY && last->off + last->len == off) {
		last->len += len;
		return;
	}
	if (kind == OP_COPY && len == 0)
		return;
	if (p->nops == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->ops = xrealloc(p->ops, p->cap * sizeof *p->ops);
	}
	p->ops[p->nops++] = (struct op){ kind, off, len };
}

/* next_marker - where the first marker in s[0..n) starts and which value
 * it stands for, or NULL */
static const char *
next_marker(const bcache_t *c, const char *s, size_t n, int *k)
{
	const char *m, *end = s + n;

	while ((m = memmem(s, (size_t)(end - s), c->marker[0], MARK_PREFIX)) != NULL) {
		for (*k = 0; (size_t)(end - m) >= MARK_LEN && *k < BCACHE_NVALUES; (*k)++)
			if (memcmp(m, c->marker[*k], MARK_LEN) == 0)
				return m;
		s = m + 1;
	}
	return NULL;
}

/* compile - s[0..n) as copies and values; -1 over the ceiling */
static int
compile(const bcache_t *c, struct part *p, const char *s, size_t n)
{
	const char *m;
	size_t run;
	int k;

	while ((m = next_marker(c, s, n, &k)) != NULL) {
		run = (size_t)(m - s);
		op_add(p, OP_COPY, p->bytes.len, run);
		if (buf_add(&p->bytes, s, run) < 0)
			return -1;
		op_add(p, OP_VALUE, 0, (size_t)k);
		s += run + MARK_LEN;
		n -= run + MARK_LEN;
	}
	op_add(p, OP_COPY, p->bytes.len, n);
	return buf_add(&p->bytes, s, n);
}

/* compile_text - line by line: wrapped now when it holds no marker, else
 * kept to be wrapped with the values in it */
static int
compile_text(const bcache_t *c, struct part *p, const char *s, size_t n)
{
	const char *end = s + n, *nl;
	size_t len, at;
	int k;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		len = nl ? (size_t)(nl + 1 - s) : (size_t)(end - s);
		if (next_marker(c, s, len, &k) != NULL) {
			op_add(p, OP_WRAP_BEGIN, 0, 0);
			if (compile(c, p, s, len) < 0)
				return -1;
			op_add(p, OP_WRAP_END, 0, 0);
		} else {
			at = p->bytes.len;
			if (wrap_text(&p->bytes, s, len, WRAP_WIDTH_DEFAULT) < 0)
				return -1;
			op_add(p, OP_COPY, at, p->bytes.len - at);
		}
		s += len;
	}
	return 0;
}

const bcache_entry_t *
bcache_put(bcache_t *c, const bcache_key_t *key, const buf_t *subject, const buf_t *text,
    const buf_t *html)
{
	bcache_entry_t *e = xcalloc(1, sizeof *e);

	if (c->n == BCACHE_MAX || (c->n > 0 && c->e[0]->key.issue != key->issue))
		entries_free(c);
	e->key = *key;
	buf_init(&e->subject.bytes, subject->max);
	buf_init(&e->text.bytes, text->max);
	buf_init(&e->html.bytes, html->max);
	if (compile(c, &e->subject, buf_str(subject), subject->len) < 0 ||
	    compile_text(c, &e->text, buf_str(text), text->len) < 0 ||
	    compile(c, &e->html, buf_str(html), html->len) < 0) {
		part_free(&e->subject);
		part_free(&e->text);
		part_free(&e->html);
		free(e);
		return NULL;
	}
	c->e[c->n++] = e;
	return e;
}

/* run - the part's operations into out (a wrapped line through line) */
static int
run(const struct part *p, const char *const *v, const size_t *vlen, buf_t *out,
    buf_t *line)
{
	buf_t *to = out;

	for (size_t i = 0; i < p->nops; i++) {
		const struct op *o = &p->ops[i];

		switch (o->kind) {
		case OP_COPY:
			if (buf_add(to, p->bytes.data + o->off, o->len) < 0)
				return -1;
			break;
		case OP_VALUE:
			if (buf_add(to, v[o->len], vlen[o->len]) < 0)
				return -1;
			break;
		case OP_WRAP_BEGIN:
			buf_reset(line);
			to = line;
			break;
		case OP_WRAP_END:
			if (wrap_text(out, buf_str(line), line->len, WRAP_WIDTH_DEFAULT) < 0)
				return -1;
			to = out;
			break;
		}
	}
	return 0;
}

int
bcache_fill(bcache_t *c, const bcache_entry_t *e, const char *const values[BCACHE_NVALUES],
    buf_t *subject, buf_t *text, buf_t *html)
{
	size_t len[BCACHE_NVALUES];

	for (int k = 0; k < BCACHE_NVALUES; k++)
		len[k] = strlen(values[k]);
	buf_reset(&c->subject);
	if (run(&e->subject, values, len, &c->subject, NULL) < 0 ||
	    render_one_line(subject, buf_str(&c->subject), c->subject.len) < 0 ||
	    run(&e->text, values, len, text, &c->line) < 0 ||
	    run(&e->html, values, len, html, NULL) < 0)
		return -1;
	return 0;
}
