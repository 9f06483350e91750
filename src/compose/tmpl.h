/*
 * tmpl - Mustache templates, parsed once and rendered many times.
 *
 * A tmpl_set_t owns named templates and all their memory; tmpl_set_free()
 * releases everything, and tmpl_t pointers borrowed from tmpl_set_get()
 * stay valid until then.  A template is immutable once added; rendering
 * only reads the set and the data, so threads may render from one set at
 * once while nobody adds to it.  The language is the Mustache spec with
 * its optional inheritance (parents {{<p}}, blocks {{$b}}); data is
 * jansson.  No lambdas, no dynamic names.  Errors are appended to the
 * caller's err buffer (may be NULL) as one line; load errors read
 * "FILE:LINE:COL: what is wrong" (1-based, columns in bytes).  Hostile
 * templates fail cleanly: nesting, partial recursion and the work of one
 * render are bounded.
 */
#ifndef TIEDOTE_TMPL_H
#define TIEDOTE_TMPL_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

typedef struct tmpl tmpl_t;
typedef struct tmpl_set tmpl_set_t;

#define TMPL_MAX_SIZE		((size_t)4 << 20)	/* one template's source */
#define TMPL_MAX_NEST		100	/* sections and blocks, at load time */
#define TMPL_DEPTH_DEFAULT	64	/* nested partials and parents */
#define TMPL_STEPS_DEFAULT	((size_t)20 * 1000 * 1000)	/* work per render */

tmpl_set_t	*tmpl_set_new(void);
void		 tmpl_set_free(tmpl_set_t *);

/* tmpl_set_limits - bound partial/parent nesting and the work of one
 * render, counted in node visits and lookups (0 keeps the default); a
 * render over either fails with -1 */
void		 tmpl_set_limits(tmpl_set_t *, unsigned depth, size_t steps);

/* tmpl_set_add - parse src[0..len) as template `name` (copied); -1 with
 * the error in err on bad syntax, a duplicate name or an oversized source */
int		 tmpl_set_add(tmpl_set_t *, const char *name, const char *src,
		    size_t len, buf_t *err);

/* tmpl_set_load_dir - add every regular file below dir (dot files skipped),
 * named by its path relative to dir ("fi/layout.html"); stops at the first
 * error, which names the file by its path on disk */
int		 tmpl_set_load_dir(tmpl_set_t *, const char *dir, buf_t *err);

/* tmpl_set_load_file - add the file at path as template `name`; errors
 * name the file by path */
int		 tmpl_set_load_file(tmpl_set_t *, const char *name,
		    const char *path, buf_t *err);

/* tmpl_set_get - the template called name, or NULL; borrowed from the set */
const tmpl_t	*tmpl_set_get(const tmpl_set_t *, const char *name);
const char	*tmpl_name(const tmpl_t *);

/* tmpl_vars - call fn(name, arg) for every name t looks up in the data:
 * {{x}}, {{{x}}}, {{&x}}, {{#x}}, {{^x}}, in the order they stand, dotted
 * names as written ("links.home"), "." left out; stops at fn's first
 * non-zero return and returns it, else 0.  Partials are not followed */
int		 tmpl_vars(const tmpl_t *, int (*fn)(const char *name, void *arg),
		    void *arg);

/*
 * tmpl_render - append t rendered against data (NULL acts as {}) to out.
 * {{>x}} and {{<x}} in template "fi/a.html" name the first of "fi/x",
 * "fi/x.html", "x", "x.html" in the set (the including template's
 * extension is added only when x has none; a leading '/' skips the "fi/"
 * tries); a name that resolves to nothing renders as the empty string.
 * Returns 0, or -1 when out's ceiling or a limit was hit; then err says
 * why and out is left as it was.
 */
int		 tmpl_render(const tmpl_set_t *, const tmpl_t *, json_t *data,
		    buf_t *out, buf_t *err);

#endif
