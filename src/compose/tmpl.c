/*
 * tmpl - Mustache templates; contract in tmpl.h.
 *
 * Loading is a few passes over one token array, because whether a tag owns
 * the whitespace of its line depends on both neighbours and, for parents
 * and blocks, on the partner tag; all of it is decided on the untouched
 * source before anything is copied:
 *
 *   tokenize	split text from tags; set-delimiter tags take effect here
 *   match	pair every {{#}} {{^}} {{<}} {{$}} with its {{/}}
 *   standalone	decide which tags swallow their line's whitespace
 *   dedent	strip each block's intrinsic indentation from its lines
 *   build	copy surviving text and names into one string pool and emit a
 *		flat node array; a container's body is the range [i + 1, end)
 *
 * Deleted whitespace is marked in a byte mask over the source and skipped
 * when text is copied.
 *
 * Rendering keeps the context stack and the stack of parent arguments in
 * fixed arrays inside one struct allocated per render, so a lookup
 * allocates nothing.  Indentation (standalone partials, parents, blocks) is written
 * lazily: a newline in template text makes it pending and the next output
 * byte writes it first, so newlines inside interpolated values are never
 * indented, as the spec asks, and nothing trails the last line.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tmpl.h"
#include "util.h"

#define TMPL_RENDER_NEST	512	/* bodies nested during one render */
#define TMPL_DIR_NEST		32	/* directories below load_dir's root */
#define TMPL_PATH_MAX		1024	/* longest partial candidate name */

enum {
	N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT,
	N_BLOCK
};

struct node {
	uint8_t		 type;
	uint8_t		 nseg;		/* N_VAR..N_INVERTED: 0 means "." */
	uint32_t	 str;		/* pool: text, or name ("a\0b\0c\0") */
	uint32_t	 len;		/* bytes of text or name */
	uint32_t	 ind;		/* pool: indentation to add */
	uint32_t	 indlen;
	uint32_t	 end;		/* index past the body of a container */
};

struct tmpl {
	char		*name;
	size_t		 namelen;
	size_t		 dirlen;	/* name[0..dirlen) is "dir/" */
	const char	*ext;		/* ".html" inside name, or "" */
	size_t		 extlen;
	struct node	*nodes;
	uint32_t	 nnodes;
	char		*pool;
};

struct tmpl_set {
	tmpl_t		**tab;		/* open addressing, power of two */
	size_t		  cap;
	size_t		  n;
	unsigned	  depth;
	size_t		  steps;
};

/* ---- loading ---- */

#define TK_TEXT		0

#define F_LCLEAR	0x01	/* only blanks since the line's start */
#define F_RCLEAR	0x02	/* only blanks up to the line's end */
#define F_TRIM_L	0x04	/* delete [ls, start) */
#define F_TRIM_R	0x08	/* delete [end, re) */
#define F_INDENT	0x10	/* [ls, start) is this tag's indentation */
#define F_BOL		0x20	/* block content starts on a fresh line */
#define F_ARG		0x40	/* block directly inside a parent */

struct tok {
	uint8_t		 type;		/* TK_TEXT, or the sigil; 'v' plain */
	uint8_t		 flags;
	uint32_t	 start, end;	/* whole token, delimiters included */
	uint32_t	 nstart, nend;	/* trimmed name */
	uint32_t	 match;		/* partner of an open or close tag */
	uint32_t	 ls, re;	/* line start before, line end after */
	uint32_t	 ind, indlen;	/* pool: indentation */
};

struct parser {
	const char	*src;
	size_t		 len;
	const char	*ename;		/* file name for messages */
	buf_t		*err;
	struct tok	*toks;
	uint32_t	 ntok, captok;
	unsigned char	*del;
	buf_t		 pool;
	struct node	*nodes;
	uint32_t	 nnodes, capnodes;
};

static int	perr(struct parser *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* perr - append "FILE:LINE:COL: message" for source offset off */
static int
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;
	size_t i, line = 1, bol = 0;

	if (p->err == NULL)
		return -1;
	for (i = 0; i < off && i < p->len; i++)
		if (p->src[i] == '\n') {
			line++;
			bol = i + 1;
		}
	buf_notef(p->err, "%s:%zu:%zu: ", p->ename, line, off - bol + 1);
	va_start(ap, fmt);
	buf_vnotef(p->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static struct tok *
add_tok(struct parser *p, int type, size_t start, size_t end)
{
	struct tok *tk;

	if (p->ntok == p->captok) {
		p->captok = p->captok ? p->captok * 2 : 64;
		p->toks = xrealloc(p->toks, p->captok * sizeof(*p->toks));
	}
	tk = &p->toks[p->ntok++];
	memset(tk, 0, sizeof(*tk));
	tk->type = type;
	tk->start = start;
	tk->end = end;
	return tk;
}

/* find_close - offset of the closing delimiter at or after from, which must
 * follow `lead` when lead is not 0; (size_t)-1 when there is none */
static size_t
find_close(struct parser *p, size_t from, const char *ctag, size_t clen,
    char lead)
{
	const char *hit;
	size_t pos = from;

	for (;;) {
		if (pos > p->len)
			return (size_t)-1;
		hit = memmem(p->src + pos, p->len - pos, ctag, clen);
		if (hit == NULL)
			return (size_t)-1;
		if (lead == 0 || (hit > p->src + from && hit[-1] == lead))
			return hit - p->src;
		pos = hit - p->src + 1;
	}
}

static const char *
kind_name(int type)
{
	switch (type) {
	case '#':
		return "section";
	case '^':
		return "inverted section";
	case '<':
		return "parent";
	case '$':
		return "block";
	default:
		return "tag";
	}
}

/* check_name - trim a tag's name in place and reject what cannot match
 * anything: empty names, inner blanks, and dotted names with empty parts */
static int
check_name(struct parser *p, struct tok *tk)
{
	size_t a = tk->nstart, b = tk->nend, i, nseg = 1;
	int dotted;

	while (a < b && is_space(p->src[a]))
		a++;
	while (b > a && is_space(p->src[b - 1]))
		b--;
	tk->nstart = a;
	tk->nend = b;
	if (a == b)
		return perr(p, tk->start, "tag has no name");
	for (i = a; i < b; i++)
		if (is_space(p->src[i]))
			return perr(p, tk->start, "blank inside tag name \"%.*s\"",
			    (int)(b - a), p->src + a);
	dotted = strchr("v&{#^/", tk->type) != NULL;
	if (!dotted || (b - a == 1 && p->src[a] == '.'))
		return 0;
	for (i = a; i < b; i++)
		if (p->src[i] == '.') {
			if (i == a || i + 1 == b || p->src[i + 1] == '.')
				return perr(p, tk->start,
				    "empty part in dotted name \"%.*s\"",
				    (int)(b - a), p->src + a);
			nseg++;
		}
	if (nseg > 255)
		return perr(p, tk->start, "name has more than 255 parts");
	return 0;
}

/* set_delims - parse the body of {{=open close=}} into new delimiters */
static int
set_delims(struct parser *p, size_t tagpos, size_t a, size_t b,
    const char **otag, size_t *olen, const char **ctag, size_t *clen)
{
	size_t o0, o1, c0, c1, i;

	while (a < b && is_space(p->src[a]))
		a++;
	while (b > a && is_space(p->src[b - 1]))
		b--;
	o0 = a;
	for (o1 = o0; o1 < b && !is_space(p->src[o1]); o1++)
		;
	for (c0 = o1; c0 < b && is_space(p->src[c0]); c0++)
		;
	c1 = b;
	if (o1 == o0 || c0 == c1 || o1 == c0)
		return perr(p, tagpos, "set-delimiter tag needs two delimiters");
	for (i = o0; i < c1; i++) {
		if (i >= o1 && i < c0)
			continue;
		if (is_space(p->src[i]) || p->src[i] == '=')
			return perr(p, tagpos,
			    "bad delimiter in set-delimiter tag");
	}
	*otag = p->src + o0;
	*olen = o1 - o0;
	*ctag = p->src + c0;
	*clen = c1 - c0;
	return 0;
}

/* tokenize - split the source into text and tags */
static int
tokenize(struct parser *p)
{
	const char *otag = "{{", *ctag = "}}", *hit;
	size_t olen = 2, clen = 2, pos = 0, t, q, e;
	struct tok *tk = NULL;
	int type;

	while (pos < p->len) {
		hit = memmem(p->src + pos, p->len - pos, otag, olen);
		if (hit == NULL) {
			add_tok(p, TK_TEXT, pos, p->len);
			break;
		}
		t = hit - p->src;
		if (t > pos)
			add_tok(p, TK_TEXT, pos, t);
		q = t + olen;
		type = q < p->len ? (unsigned char)p->src[q] : 'v';
		switch (type) {
		case '=':
			e = find_close(p, q + 1, ctag, clen, '=');
			if (e == (size_t)-1)
				return perr(p, t, "unclosed set-delimiter tag");
			tk = add_tok(p, '=', t, e + clen);
			if (set_delims(p, t, q + 1, e - 1, &otag, &olen,
			    &ctag, &clen) < 0)
				return -1;
			break;
		case '{':
			e = find_close(p, q + 1, ctag, clen, '}');
			if (e == (size_t)-1)
				return perr(p, t, "unclosed tag");
			tk = add_tok(p, '{', t, e + clen);
			tk->nstart = q + 1;
			tk->nend = e - 1;
			break;
		case '!':
			e = find_close(p, q + 1, ctag, clen, 0);
			if (e == (size_t)-1)
				return perr(p, t, "unclosed comment");
			add_tok(p, '!', t, e + clen);
			break;
		case '#': case '^': case '/': case '>': case '&': case '<':
		case '$':
			q++;
			/* FALLTHROUGH */
		default:
			if (q == t + olen)
				type = 'v';
			e = find_close(p, q, ctag, clen, 0);
			if (e == (size_t)-1)
				return perr(p, t, "unclosed tag");
			tk = add_tok(p, type, t, e + clen);
			tk->nstart = q;
			tk->nend = e;
			break;
		}
		if (type != '=' && type != '!' && check_name(p, tk) < 0)
			return -1;
		pos = p->toks[p->ntok - 1].end;
	}
	return 0;
}

static int
same_name(struct parser *p, const struct tok *a, const struct tok *b)
{
	return a->nend - a->nstart == b->nend - b->nstart &&
	    memcmp(p->src + a->nstart, p->src + b->nstart,
	    a->nend - a->nstart) == 0;
}

/* match - pair open and close tags; mark blocks that are parent arguments */
static int
match(struct parser *p)
{
	uint32_t stack[TMPL_MAX_NEST], depth = 0, i;
	struct tok *tk, *o;

	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		switch (tk->type) {
		case '#': case '^': case '<': case '$':
			if (depth == TMPL_MAX_NEST)
				return perr(p, tk->start,
				    "sections nested deeper than %d",
				    TMPL_MAX_NEST);
			if (tk->type == '$' && depth > 0 &&
			    p->toks[stack[depth - 1]].type == '<')
				tk->flags |= F_ARG;
			stack[depth++] = i;
			break;
		case '/':
			if (depth == 0)
				return perr(p, tk->start,
				    "closing tag \"%.*s\" without an opening tag",
				    (int)(tk->nend - tk->nstart),
				    p->src + tk->nstart);
			o = &p->toks[stack[--depth]];
			if (!same_name(p, o, tk))
				return perr(p, tk->start,
				    "closing tag \"%.*s\" does not match %s \"%.*s\"",
				    (int)(tk->nend - tk->nstart),
				    p->src + tk->nstart, kind_name(o->type),
				    (int)(o->nend - o->nstart), p->src + o->nstart);
			o->match = i;
			tk->match = stack[depth];
			break;
		}
	}
	if (depth > 0) {
		o = &p->toks[stack[depth - 1]];
		return perr(p, o->start, "unclosed %s \"%.*s\"",
		    kind_name(o->type), (int)(o->nend - o->nstart),
		    p->src + o->nstart);
	}
	return 0;
}

/* clearance - note, for every tag, whether only blanks separate it from
 * the start and from the end of its line, and where those lie */
static void
clearance(struct parser *p)
{
	const char *s = p->src;
	struct tok *tk, *nb;
	uint32_t i, q;

	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		if (tk->type == TK_TEXT)
			continue;
		tk->ls = tk->start;
		tk->re = tk->end;
		if (i == 0)
			tk->flags |= F_LCLEAR;
		else if ((nb = &p->toks[i - 1])->type == TK_TEXT) {
			for (q = nb->end; q > nb->start && is_blank(s[q - 1]); q--)
				;
			if (q == nb->start ? i == 1 : s[q - 1] == '\n') {
				tk->flags |= F_LCLEAR;
				tk->ls = q;
			}
		}
		if (i + 1 == p->ntok)
			tk->flags |= F_RCLEAR;
		else if ((nb = &p->toks[i + 1])->type == TK_TEXT) {
			for (q = nb->start; q < nb->end && is_blank(s[q]); q++)
				;
			if (q == nb->end) {
				if (i + 2 == p->ntok) {
					tk->flags |= F_RCLEAR;
					tk->re = q;
				}
			} else if (s[q] == '\n') {
				tk->flags |= F_RCLEAR;
				tk->re = q + 1;
			} else if (s[q] == '\r' && q + 1 < nb->end &&
			    s[q + 1] == '\n') {
				tk->flags |= F_RCLEAR;
				tk->re = q + 2;
			}
		}
	}
}

/*
 * standalone - decide which tags own their line's whitespace.
 *
 * The usual rule: a non-interpolation tag alone on its line takes the
 * line's leading blanks and its line end with it.  Inheritance bends it
 * (the spec's ~inheritance tests, after mustache/spec#131):
 *  - a parent pair is standalone when its open tag begins a line and its
 *    close tag ends one, whatever lies between (that text is ignored);
 *    the open's leading blanks become the parent's indentation;
 *  - a block directly inside a parent is an argument, an inline template:
 *    its open tag owns the line end after it if the line ends there, and
 *    its close tag owns the blanks before it if they begin the line;
 *  - any other block follows the usual rule tag by tag, and the pair, if
 *    it begins and ends a line, lends the open's blanks as indentation.
 */
static void
standalone(struct parser *p)
{
	struct tok *tk, *c;
	uint32_t i;
	int alone;

	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		alone = (tk->flags & (F_LCLEAR | F_RCLEAR)) ==
		    (F_LCLEAR | F_RCLEAR);
		switch (tk->type) {
		case '#': case '^': case '!': case '=':
			if (alone)
				tk->flags |= F_TRIM_L | F_TRIM_R;
			break;
		case '>':
			if (alone)
				tk->flags |= F_TRIM_L | F_TRIM_R | F_INDENT;
			break;
		case '/':
			c = &p->toks[tk->match];
			if (alone && (c->type == '#' || c->type == '^'))
				tk->flags |= F_TRIM_L | F_TRIM_R;
			break;
		case '<':
			c = &p->toks[tk->match];
			if ((tk->flags & F_LCLEAR) && (c->flags & F_RCLEAR)) {
				tk->flags |= F_TRIM_L | F_INDENT;
				c->flags |= F_TRIM_R;
			}
			break;
		case '$':
			c = &p->toks[tk->match];
			if (tk->flags & F_ARG) {
				if (tk->flags & F_RCLEAR)
					tk->flags |= F_TRIM_R | F_BOL;
				if (c->flags & F_LCLEAR)
					c->flags |= F_TRIM_L;
				break;
			}
			if (alone)
				tk->flags |= F_TRIM_L | F_TRIM_R | F_BOL;
			if ((c->flags & (F_LCLEAR | F_RCLEAR)) ==
			    (F_LCLEAR | F_RCLEAR))
				c->flags |= F_TRIM_L | F_TRIM_R;
			if ((tk->flags & F_LCLEAR) && (c->flags & F_RCLEAR))
				tk->flags |= F_TRIM_L | F_INDENT;
			break;
		}
	}
}

/* strip_line - delete up to n leading bytes of the line at pos that match
 * ind, skipping bytes an outer block already deleted */
static void
strip_line(struct parser *p, size_t pos, size_t end, const char *ind,
    size_t n)
{
	size_t k = 0;

	while (pos < end && k < n) {
		if (!p->del[pos]) {
			if (p->src[pos] != ind[k])
				break;
			p->del[pos] = 1;
			k++;
		}
		pos++;
	}
}

/*
 * dedent - give each block whose content starts on a fresh line its
 * intrinsic indentation (the blanks that begin its first line, counted
 * after any outer block's dedent) and strip it from every line of the
 * content.  Tokens are in source order, so outer blocks go first.
 */
static int
dedent(struct parser *p)
{
	struct tok *tk, *tx;
	uint32_t i, j, q;
	size_t mark, n;
	int blankline;

	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		if (tk->type != '$' || !(tk->flags & F_BOL) ||
		    p->toks[i + 1].type != TK_TEXT)
			continue;
		tx = &p->toks[i + 1];
		mark = p->pool.len;
		blankline = 0;
		for (q = tk->re; q < tx->end; q++) {
			if (p->del[q])
				continue;
			if (!is_blank(p->src[q])) {
				blankline = p->src[q] == '\n' || p->src[q] == '\r';
				break;
			}
			if (buf_addc(&p->pool, p->src[q]) < 0)
				return perr(p, 0, "template too large");
		}
		n = p->pool.len - mark;
		if (blankline || (q == tx->end && i + 2 == tk->match) || n == 0) {
			buf_truncate(&p->pool, mark);
			continue;
		}
		if (buf_addc(&p->pool, '\0') < 0)
			return perr(p, 0, "template too large");
		tk->ind = mark;
		tk->indlen = n;
		for (j = i + 1; j < tk->match; j++) {
			tx = &p->toks[j];
			if (tx->type != TK_TEXT)
				continue;
			if (j == i + 1)
				strip_line(p, tk->re, tx->end,
				    p->pool.data + mark, n);
			for (q = j == i + 1 ? tk->re : tx->start; q < tx->end; q++)
				if (p->src[q] == '\n')
					strip_line(p, q + 1, tx->end,
					    p->pool.data + mark, n);
		}
	}
	return 0;
}

/* trim - compute indentation strings, then delete standalone whitespace */
static int
trim(struct parser *p)
{
	struct tok *tk;
	uint32_t i, q;

	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		if (!(tk->flags & F_INDENT) || tk->indlen > 0)
			continue;
		tk->ind = p->pool.len;
		for (q = tk->ls; q < tk->start; q++)
			if (!p->del[q] && buf_addc(&p->pool, p->src[q]) < 0)
				return perr(p, 0, "template too large");
		tk->indlen = p->pool.len - tk->ind;
		if (buf_addc(&p->pool, '\0') < 0)
			return perr(p, 0, "template too large");
	}
	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		if (tk->flags & F_TRIM_L)
			memset(p->del + tk->ls, 1, tk->start - tk->ls);
		if (tk->flags & F_TRIM_R)
			memset(p->del + tk->end, 1, tk->re - tk->end);
	}
	return 0;
}

static struct node *
add_node(struct parser *p, int type)
{
	struct node *n;

	if (p->nnodes == p->capnodes) {
		p->capnodes = p->capnodes ? p->capnodes * 2 : 32;
		p->nodes = xrealloc(p->nodes, p->capnodes * sizeof(*p->nodes));
	}
	n = &p->nodes[p->nnodes++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/* pool_name - copy a tag's name into the pool; with dotted, as
 * NUL-separated parts, counted in nseg ("." has none) */
static int
pool_name(struct parser *p, const struct tok *tk, struct node *n, int dotted)
{
	size_t i, len = tk->nend - tk->nstart;
	const char *s = p->src + tk->nstart;

	n->str = p->pool.len;
	n->len = len;
	if (dotted && len == 1 && s[0] == '.') {
		n->nseg = 0;
		return buf_addc(&p->pool, '\0');
	}
	if (buf_add(&p->pool, s, len) < 0 || buf_addc(&p->pool, '\0') < 0)
		return -1;
	n->nseg = 1;
	if (dotted)
		for (i = 0; i < len; i++)
			if (p->pool.data[n->str + i] == '.') {
				p->pool.data[n->str + i] = '\0';
				n->nseg++;
			}
	return 0;
}

/* build - emit the node array from the tokens and the deletion mask */
static int
build(struct parser *p)
{
	uint32_t nstack[TMPL_MAX_NEST], tstack[TMPL_MAX_NEST];
	uint32_t depth = 0, i, q, merge = UINT32_MAX;
	struct node *n;
	struct tok *tk;
	size_t mark;
	int type;

	for (i = 0; i < p->ntok; i++) {
		tk = &p->toks[i];
		if (depth > 0 && p->nodes[nstack[depth - 1]].type == N_PARENT &&
		    tk->type != '$' && tk->type != '/') {
			/* only a parent's blocks count; skip all else */
			if (strchr("#^<", tk->type) != NULL && tk->type)
				i = tk->match;
			continue;
		}
		switch (tk->type) {
		case TK_TEXT:
			mark = p->pool.len;
			for (q = tk->start; q < tk->end; q++)
				if (!p->del[q] &&
				    buf_addc(&p->pool, p->src[q]) < 0)
					goto toolarge;
			if (p->pool.len == mark)
				continue;
			if (merge != UINT32_MAX && merge + 1 == p->nnodes &&
			    p->nodes[merge].str +
			    p->nodes[merge].len == mark) {
				p->nodes[merge].len += p->pool.len - mark;
				continue;
			}
			n = add_node(p, N_TEXT);
			n->str = mark;
			n->len = p->pool.len - mark;
			merge = p->nnodes - 1;
			continue;
		case 'v': case '&': case '{':
			n = add_node(p, tk->type == 'v' ? N_VAR : N_RAW);
			if (pool_name(p, tk, n, 1) < 0)
				goto toolarge;
			break;
		case '>':
			n = add_node(p, N_PARTIAL);
			if (pool_name(p, tk, n, 0) < 0)
				goto toolarge;
			n->ind = tk->ind;
			n->indlen = tk->indlen;
			break;
		case '#': case '^': case '<': case '$':
			type = tk->type == '#' ? N_SECTION :
			    tk->type == '^' ? N_INVERTED :
			    tk->type == '<' ? N_PARENT : N_BLOCK;
			n = add_node(p, type);
			if (pool_name(p, tk, n, type == N_SECTION ||
			    type == N_INVERTED) < 0)
				goto toolarge;
			n->ind = tk->ind;
			n->indlen = tk->indlen;
			nstack[depth] = p->nnodes - 1;
			tstack[depth++] = i;
			break;
		case '/':
			if (depth > 0 && tstack[depth - 1] == tk->match)
				p->nodes[nstack[--depth]].end = p->nnodes;
			break;
		default:	/* comments and set-delimiter tags */
			continue;
		}
		merge = UINT32_MAX;
	}
	/* nodes and their pool text are addressed with 32 bits */
	if (p->pool.len >= UINT32_MAX)
		goto toolarge;
	return 0;
toolarge:
	return perr(p, 0, "template too large");
}

static void
tmpl_free(tmpl_t *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->nodes);
	free(t->pool);
	free(t);
}

/* parse - compile src into a new template named name; NULL on error */
static tmpl_t *
parse(const char *name, const char *ename, const char *src, size_t len,
    buf_t *err)
{
	struct parser p;
	tmpl_t *t = NULL;
	const char *base, *dot;

	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.ename = ename;
	p.err = err;
	buf_init(&p.pool, TMPL_MAX_SIZE * 4);
	if (len > TMPL_MAX_SIZE) {
		perr(&p, 0, "template larger than %zu bytes", TMPL_MAX_SIZE);
		goto out;
	}
	p.del = xcalloc(len + 1, 1);
	if (tokenize(&p) < 0 || match(&p) < 0)
		goto out;
	clearance(&p);
	standalone(&p);
	if (dedent(&p) < 0 || trim(&p) < 0 || build(&p) < 0)
		goto out;

	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->namelen = strlen(name);
	base = strrchr(t->name, '/');
	base = base ? base + 1 : t->name;
	t->dirlen = base - t->name;
	dot = strrchr(base, '.');
	t->ext = dot && dot > base ? dot : "";
	t->extlen = strlen(t->ext);
	t->nodes = p.nodes;
	t->nnodes = p.nnodes;
	t->pool = buf_take(&p.pool);
	p.nodes = NULL;
out:
	free(p.toks);
	free(p.del);
	free(p.nodes);
	buf_free(&p.pool);
	return t;
}

/* ---- the set ---- */

static size_t
hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return (size_t)h;
}

/* find - the template called s[0..n) */
static const tmpl_t *
find(const tmpl_set_t *set, const char *s, size_t n)
{
	size_t i;
	tmpl_t *t;

	if (set->cap == 0)
		return NULL;
	for (i = hash(s, n) & (set->cap - 1); (t = set->tab[i]) != NULL;
	    i = (i + 1) & (set->cap - 1))
		if (t->namelen == n && memcmp(t->name, s, n) == 0)
			return t;
	return NULL;
}

static void
insert(tmpl_set_t *set, tmpl_t *t)
{
	size_t i, cap, old = set->cap;
	tmpl_t **tab = set->tab;

	if ((set->n + 1) * 2 > set->cap) {
		cap = set->cap ? set->cap * 2 : 16;
		set->tab = xcalloc(cap, sizeof(*set->tab));
		set->cap = cap;
		set->n = 0;
		for (i = 0; i < old; i++)
			if (tab[i] != NULL)
				insert(set, tab[i]);
		free(tab);
	}
	for (i = hash(t->name, t->namelen) & (set->cap - 1);
	    set->tab[i] != NULL; i = (i + 1) & (set->cap - 1))
		;
	set->tab[i] = t;
	set->n++;
}

tmpl_set_t *
tmpl_set_new(void)
{
	tmpl_set_t *set = xcalloc(1, sizeof(*set));

	set->depth = TMPL_DEPTH_DEFAULT;
	set->steps = TMPL_STEPS_DEFAULT;
	return set;
}

void
tmpl_set_free(tmpl_set_t *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->cap; i++)
		tmpl_free(set->tab[i]);
	free(set->tab);
	free(set);
}

void
tmpl_set_limits(tmpl_set_t *set, unsigned depth, size_t steps)
{
	set->depth = depth == 0 ? TMPL_DEPTH_DEFAULT :
	    depth > TMPL_RENDER_NEST ? TMPL_RENDER_NEST : depth;
	set->steps = steps ? steps : TMPL_STEPS_DEFAULT;
}

/* add - parse and insert; ename names the source in messages */
static int
add(tmpl_set_t *set, const char *name, const char *ename, const char *src,
    size_t len, buf_t *err)
{
	tmpl_t *t;

	if (find(set, name, strlen(name)) != NULL) {
		if (err)
			buf_notef(err, "%s: template \"%s\" already loaded",
			    ename, name);
		return -1;
	}
	if ((t = parse(name, ename, src, len, err)) == NULL)
		return -1;
	insert(set, t);
	return 0;
}

int
tmpl_set_add(tmpl_set_t *set, const char *name, const char *src, size_t len,
    buf_t *err)
{
	return add(set, name, name, src, len, err);
}

/* read_file - slurp path into b, at most TMPL_MAX_SIZE bytes */
static int
read_file(const char *path, buf_t *b, buf_t *err)
{
	char chunk[16384];
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (err)
			buf_notef(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (err)
				buf_notef(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_add(b, chunk, n) < 0) {
			if (err)
				buf_notef(err, "%s: larger than %zu bytes",
				    path, TMPL_MAX_SIZE);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* load_tree - add the files below path; path[0..root) is load_dir's dir */
static int
load_tree(tmpl_set_t *set, buf_t *path, size_t root, int level, buf_t *err)
{
	struct dirent **ents = NULL;
	struct stat st;
	size_t plen = path->len;
	buf_t src;
	int i, n = 0, rc = -1;

	buf_init(&src, TMPL_MAX_SIZE);
	if (level > TMPL_DIR_NEST) {
		if (err)
			buf_notef(err, "%s: directories nested too deep",
			    buf_str(path));
		goto out;
	}
	if ((n = scandir(buf_str(path), &ents, skip_dot, alphasort)) < 0) {
		if (err)
			buf_notef(err, "%s: %s", buf_str(path), strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		buf_truncate(path, plen);
		if (buf_printf(path, "/%s", ents[i]->d_name) < 0) {
			if (err)
				buf_notef(err, "%s: path too long", buf_str(path));
			goto out;
		}
		if (stat(buf_str(path), &st) < 0) {
			if (err)
				buf_notef(err, "%s: %s", buf_str(path),
				    strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (load_tree(set, path, root, level + 1, err) < 0)
				goto out;
		} else if (S_ISREG(st.st_mode)) {
			buf_reset(&src);
			if (read_file(buf_str(path), &src, err) < 0 ||
			    add(set, buf_str(path) + root + 1, buf_str(path),
			    buf_str(&src), src.len, err) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	buf_truncate(path, plen);
	if (ents != NULL) {
		for (i = 0; i < n; i++)
			free(ents[i]);
		free(ents);
	}
	buf_free(&src);
	return rc;
}

int
tmpl_set_load_file(tmpl_set_t *set, const char *name, const char *path,
    buf_t *err)
{
	buf_t src;
	int rc;

	buf_init(&src, TMPL_MAX_SIZE);
	rc = read_file(path, &src, err) < 0 ||
	    add(set, name, path, buf_str(&src), src.len, err) < 0 ? -1 : 0;
	buf_free(&src);
	return rc;
}

int
tmpl_set_load_dir(tmpl_set_t *set, const char *dir, buf_t *err)
{
	buf_t path;
	int rc;

	buf_init(&path, 0);
	if (buf_adds(&path, dir) < 0) {
		buf_notef(err, "%.100s...: template directory name too long", dir);
		buf_free(&path);
		return -1;
	}
	while (path.len > 1 && path.data[path.len - 1] == '/')
		buf_truncate(&path, path.len - 1);
	rc = load_tree(set, &path, path.len, 0, err);
	buf_free(&path);
	return rc;
}

const tmpl_t *
tmpl_set_get(const tmpl_set_t *set, const char *name)
{
	return find(set, name, strlen(name));
}

const char *
tmpl_name(const tmpl_t *t)
{
	return t->name;
}

int
tmpl_vars(const tmpl_t *t, int (*fn)(const char *, void *), void *arg)
{
	const struct node *n;
	const char *seg;
	buf_t name;
	uint32_t i;
	int rc = 0;

	buf_init(&name, 0);
	for (i = 0; i < t->nnodes && rc == 0; i++) {
		n = &t->nodes[i];
		if (n->type != N_VAR && n->type != N_RAW &&
		    n->type != N_SECTION && n->type != N_INVERTED)
			continue;
		if (n->nseg == 0)
			continue;
		buf_reset(&name);
		seg = t->pool + n->str;
		for (unsigned k = 0; k < n->nseg; k++, seg += strlen(seg) + 1)
			if ((k > 0 && buf_addc(&name, '.') < 0) ||
			    buf_adds(&name, seg) < 0)
				fatal("tmpl_vars: name too long");
		rc = fn(buf_str(&name), arg);
	}
	buf_free(&name);
	return rc;
}

/* ---- rendering ---- */

struct frame {			/* the arguments of one parent call */
	const tmpl_t	*t;
	uint32_t	 node;
};

struct render {
	const tmpl_set_t *set;
	buf_t		*out;
	buf_t		*err;
	const tmpl_t	*top;
	buf_t		 indent;	/* the current line prefix */
	int		 pending;	/* at a line start, prefix not written */
	size_t		 steps;
	unsigned	 depth;		/* nested bodies */
	unsigned	 pdepth;	/* nested partials and parents */
	unsigned	 nctx;
	unsigned	 nargs;
	json_t		*ctx[TMPL_RENDER_NEST + 1];
	struct frame	 args[TMPL_RENDER_NEST];
};

static int	rfail(struct render *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	render_body(struct render *, const tmpl_t *, uint32_t,
		    uint32_t);

static int
rfail(struct render *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err == NULL)
		return -1;
	buf_notef(r->err, "%s: ", r->top->name);
	va_start(ap, fmt);
	buf_vnotef(r->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int
full(struct render *r)
{
	return rfail(r, "output larger than %zu bytes", r->out->max);
}

/* flush - write the pending indentation before non-empty output */
static int
flush(struct render *r)
{
	if (r->pending) {
		r->pending = 0;
		if (r->indent.len > 0 &&
		    buf_add(r->out, r->indent.data, r->indent.len) < 0)
			return full(r);
	}
	return 0;
}

/* emit_text - template text: indent each line it starts */
static int
emit_text(struct render *r, const char *s, size_t n)
{
	const char *nl;
	size_t k;

	if (r->indent.len == 0) {
		if (buf_add(r->out, s, n) < 0)
			return full(r);
		r->pending = s[n - 1] == '\n';
		return 0;
	}
	while (n > 0) {
		if (flush(r) < 0)
			return -1;
		nl = memchr(s, '\n', n);
		k = nl ? (size_t)(nl - s) + 1 : n;
		if (buf_add(r->out, s, k) < 0)
			return full(r);
		s += k;
		n -= k;
		r->pending = nl != NULL;
	}
	return 0;
}

static int
emit_escaped(struct render *r, const char *s, size_t n)
{
	const char *run = s, *end = s + n, *rep;
	buf_t *out = r->out;

	for (; s < end; s++) {
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (buf_add(out, run, s - run) < 0 || buf_adds(out, rep) < 0)
			return full(r);
		run = s + 1;
	}
	if (buf_add(out, run, end - run) < 0)
		return full(r);
	return 0;
}

/* emit_value - interpolate v; strings escaped unless raw, numbers in
 * their shortest round-tripping form, null and containers as nothing */
static int
emit_value(struct render *r, json_t *v, int raw)
{
	char tmp[64];
	const char *s;
	size_t n;
	double d;
	int prec;

	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = tmp;
		n = strlen(tmp);
		break;
	case JSON_REAL:
		d = json_real_value(v);
		for (prec = 15; prec < 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
		if (prec == 17)
			snprintf(tmp, sizeof(tmp), "%.17g", d);
		s = tmp;
		n = strlen(tmp);
		break;
	case JSON_TRUE:
		s = "true";
		n = 4;
		break;
	case JSON_FALSE:
		s = "false";
		n = 5;
		break;
	default:
		return 0;
	}
	if (n == 0)
		return 0;
	if (flush(r) < 0)
		return -1;
	if (raw) {
		if (buf_add(r->out, s, n) < 0)
			return full(r);
		return 0;
	}
	return emit_escaped(r, s, n);
}

/* lookup - resolve a name against the context stack: the first part in
 * the innermost object that has it, the rest strictly inside that */
static json_t *
lookup(struct render *r, const tmpl_t *t, const struct node *n)
{
	const char *name = t->pool + n->str;
	json_t *v = NULL;
	unsigned i;

	if (n->nseg == 0)
		return r->ctx[r->nctx - 1];
	/* charge the work to the step budget: hostile names can be long */
	r->steps += n->nseg + (n->len >> 6);
	for (i = r->nctx; i-- > 0;) {
		r->steps++;
		if (json_is_object(r->ctx[i]) &&
		    (v = json_object_get(r->ctx[i], name)) != NULL)
			break;
	}
	for (i = 1; v != NULL && i < n->nseg; i++) {
		name += strlen(name) + 1;
		v = json_is_object(v) ? json_object_get(v, name) : NULL;
	}
	return v;
}

static int
falsey(const json_t *v)
{
	return v == NULL || json_is_null(v) || json_is_false(v) ||
	    (json_is_array(v) && json_array_size(v) == 0);
}

/* resolve - find the partial called name from template t (rule in tmpl.h) */
static const tmpl_t *
resolve(const tmpl_set_t *set, const tmpl_t *t, const char *name, size_t len)
{
	char path[TMPL_PATH_MAX];
	const tmpl_t *pt;
	const char *base;
	size_t n;
	int addext;

	if (len > 0 && name[0] == '/') {
		name++;
		len--;
		n = 0;
	} else
		n = t->dirlen;
	base = memrchr(name, '/', len);
	base = base ? base + 1 : name;
	addext = t->extlen > 0 && memchr(base, '.', len - (base - name)) == NULL;
	if (n + len + t->extlen > sizeof(path))
		return NULL;
	memcpy(path, t->name, n);
	memcpy(path + n, name, len);
	memcpy(path + n + len, t->ext, t->extlen);
	if (n > 0 && ((pt = find(set, path, n + len)) != NULL ||
	    (addext && (pt = find(set, path, n + len + t->extlen)) != NULL)))
		return pt;
	if ((pt = find(set, path + n, len)) != NULL ||
	    (addext && (pt = find(set, path + n, len + t->extlen)) != NULL))
		return pt;
	return NULL;
}

/* expand - render nodes [from, to) of t with ind added to the line prefix */
static int
expand(struct render *r, const tmpl_t *t, uint32_t from, uint32_t to,
    const tmpl_t *it, const struct node *n)
{
	size_t old = r->indent.len;
	int rc;

	if (n->indlen > 0 &&
	    buf_add(&r->indent, it->pool + n->ind, n->indlen) < 0)
		return rfail(r, "indentation too deep");
	rc = render_body(r, t, from, to);
	buf_truncate(&r->indent, old);
	return rc;
}

/* block - expand a block: the outermost parent call's argument of that
 * name wins (top-level substitutions take precedence), else the default */
static int
block(struct render *r, const tmpl_t *t, uint32_t i)
{
	const struct node *n = &t->nodes[i], *pn, *a;
	const char *name = t->pool + n->str;
	unsigned f;
	uint32_t j;

	for (f = 0; f < r->nargs; f++) {
		const tmpl_t *ft = r->args[f].t;

		pn = &ft->nodes[r->args[f].node];
		for (j = r->args[f].node + 1; j < pn->end; j = a->end) {
			a = &ft->nodes[j];
			r->steps += 1 + (a->len == n->len ? n->len >> 6 : 0);
			if (a->len == n->len &&
			    memcmp(ft->pool + a->str, name, n->len) == 0)
				return expand(r, ft, j + 1, a->end, t, n);
		}
	}
	return expand(r, t, i + 1, n->end, t, n);
}

/* include - expand a partial or, with its arguments pushed, a parent */
static int
include(struct render *r, const tmpl_t *t, uint32_t i)
{
	const struct node *n = &t->nodes[i];
	const tmpl_t *pt;
	int rc;

	if (r->pdepth >= r->set->depth)
		return rfail(r, "partials nested deeper than %u at \"%s\"",
		    r->set->depth, t->pool + n->str);
	if ((pt = resolve(r->set, t, t->pool + n->str, n->len)) == NULL)
		return 0;
	if (n->type == N_PARENT) {
		r->args[r->nargs].t = t;
		r->args[r->nargs].node = i;
		r->nargs++;
	}
	r->pdepth++;
	rc = expand(r, pt, 0, pt->nnodes, t, n);
	r->pdepth--;
	if (n->type == N_PARENT)
		r->nargs--;
	return rc;
}

static int
section(struct render *r, const tmpl_t *t, uint32_t i)
{
	const struct node *n = &t->nodes[i];
	json_t *v = lookup(r, t, n);
	size_t k, cnt;

	if (n->type == N_INVERTED)
		return falsey(v) ? render_body(r, t, i + 1, n->end) : 0;
	if (falsey(v))
		return 0;
	if (!json_is_array(v)) {
		r->ctx[r->nctx++] = v;
		if (render_body(r, t, i + 1, n->end) < 0)
			return -1;
		r->nctx--;
		return 0;
	}
	cnt = json_array_size(v);
	for (k = 0; k < cnt; k++) {
		if (++r->steps > r->set->steps)
			return rfail(r, "rendering takes more than %zu steps",
			    r->set->steps);
		r->ctx[r->nctx++] = json_array_get(v, k);
		if (render_body(r, t, i + 1, n->end) < 0)
			return -1;
		r->nctx--;
	}
	return 0;
}

/* render_body - render nodes [from, to) of t, one nesting level deeper */
static int
render_body(struct render *r, const tmpl_t *t, uint32_t from, uint32_t to)
{
	const struct node *n;
	uint32_t i;
	int rc = 0;

	if (r->depth >= TMPL_RENDER_NEST)
		return rfail(r, "templates nested deeper than %d",
		    TMPL_RENDER_NEST);
	r->depth++;
	for (i = from; i < to && rc == 0; i++) {
		n = &t->nodes[i];
		if (++r->steps > r->set->steps) {
			rc = rfail(r, "rendering takes more than %zu steps",
			    r->set->steps);
			break;
		}
		switch (n->type) {
		case N_TEXT:
			rc = emit_text(r, t->pool + n->str, n->len);
			break;
		case N_VAR:
		case N_RAW:
			rc = emit_value(r, lookup(r, t, n), n->type == N_RAW);
			break;
		case N_SECTION:
		case N_INVERTED:
			rc = section(r, t, i);
			i = n->end - 1;
			break;
		case N_PARTIAL:
			rc = include(r, t, i);
			break;
		case N_PARENT:
			rc = include(r, t, i);
			i = n->end - 1;
			break;
		case N_BLOCK:
			rc = block(r, t, i);
			i = n->end - 1;
			break;
		}
	}
	r->depth--;
	return rc;
}

int
tmpl_render(const tmpl_set_t *set, const tmpl_t *t, json_t *data, buf_t *out,
    buf_t *err)
{
	struct render *r;
	size_t mark = out->len;
	json_t *empty = NULL;
	int rc;

	/* ~12 KiB of stacks: on the heap, not on a caller's thread stack,
	 * which may be small */
	r = xmalloc(sizeof(*r));
	r->set = set;
	r->out = out;
	r->err = err;
	r->top = t;
	buf_init(&r->indent, 0);
	r->pending = 1;
	r->steps = 0;
	r->depth = r->pdepth = 0;
	r->nargs = 0;
	if (data == NULL)
		data = empty = json_object();
	r->ctx[0] = data;
	r->nctx = 1;
	rc = render_body(r, t, 0, t->nnodes);
	if (rc < 0)
		buf_truncate(out, mark);
	buf_free(&r->indent);
	json_decref(empty);
	free(r);
	return rc;
}
