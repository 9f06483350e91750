/*
 * render - load, check and apply the message templates; contract in
 * render.h.
 */
#include <string.h>

#include "render.h"
#include "tmpl.h"
#include "util.h"
#include "wrap.h"

static const char *const kinds[] = { "bulletin", "reminder", "announcement", "confirm", "welcome" };
static const char *const langs[] = { "fi", "sv", "en" };

enum part { P_SUBJECT, P_TEXT, P_HTML, P_N };

struct render {
	tmpl_set_t *set;
	const tmpl_t *t[NELEM(kinds)][NELEM(langs)][P_N];
	buf_t	 scratch;
};

render_t *
render_open(const char *dir, buf_t *err)
{
	render_t *r = xcalloc(1, sizeof *r);
	char name[128];

	buf_init(&r->scratch, 0);
	r->set = tmpl_set_new();
	if (tmpl_set_load_dir(r->set, dir, err) < 0)
		goto fail;
	for (size_t k = 0; k < NELEM(kinds); k++)
		for (size_t l = 0; l < NELEM(langs); l++)
			for (int p = 0; p < P_N; p++) {
				if (p == P_SUBJECT)
					snprintf(name, sizeof name, "%s/subject-%s.txt", langs[l], kinds[k]);
				else
					snprintf(name, sizeof name, "%s/%s.%s", langs[l], kinds[k],
					    p == P_TEXT ? "txt" : "html");
				if ((r->t[k][l][p] = tmpl_set_get(r->set, name)) == NULL) {
					buf_notef(err, "%s/%s: missing template", dir, name);
					goto fail;
				}
			}
	return r;
fail:
	render_close(r);
	return NULL;
}

void
render_close(render_t *r)
{
	if (r == NULL)
		return;
	tmpl_set_free(r->set);
	buf_free(&r->scratch);
	free(r);
}

int
render_one_line(buf_t *out, const char *s, size_t len)
{
	int space = 0, any = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = any;
			continue;
		}
		if ((space && buf_addc(out, ' ') < 0) || buf_addc(out, (char)c) < 0)
			return -1;
		space = 0;
		any = 1;
	}
	return 0;
}

/* templates - the kind's three templates in lang, or NULL after saying
 * why */
static const tmpl_t *const *
templates(render_t *r, const char *kind, const char *lang, buf_t *err)
{
	const tmpl_t *const *t = NULL;

	for (size_t k = 0; k < NELEM(kinds); k++)
		for (size_t l = 0; l < NELEM(langs); l++)
			if (strcmp(kind, kinds[k]) == 0 && strcmp(lang, langs[l]) == 0)
				t = r->t[k][l];
	if (t == NULL)
		buf_notef(err, "no template for %s in language %s", kind, lang);
	return t;
}

int
render_message(render_t *r, const char *kind, const char *lang, json_t *data,
    buf_t *subject, buf_t *text, buf_t *html, buf_t *err)
{
	const tmpl_t *const *t;
	int rc = -1;

	if ((t = templates(r, kind, lang, err)) == NULL)
		return -1;
	buf_reset(&r->scratch);
	if (tmpl_render(r->set, t[P_SUBJECT], data, &r->scratch, err) < 0 ||
	    render_one_line(subject, r->scratch.data ? r->scratch.data : "", r->scratch.len) < 0)
		goto out;
	buf_reset(&r->scratch);
	if (tmpl_render(r->set, t[P_TEXT], data, &r->scratch, err) < 0 ||
	    wrap_text(text, buf_str(&r->scratch), r->scratch.len, WRAP_WIDTH_DEFAULT) < 0)
		goto out;
	if (tmpl_render(r->set, t[P_HTML], data, html, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && err->len == 0)
		buf_notef(err, "%s/%s: message larger than the buffer's ceiling", lang, kind);
	return rc;
}

int
render_raw(render_t *r, const char *kind, const char *lang, json_t *data,
    buf_t *subject, buf_t *text, buf_t *html, buf_t *err)
{
	const tmpl_t *const *t;

	if ((t = templates(r, kind, lang, err)) == NULL)
		return -1;
	if (tmpl_render(r->set, t[P_SUBJECT], data, subject, err) < 0 ||
	    tmpl_render(r->set, t[P_TEXT], data, text, err) < 0 ||
	    tmpl_render(r->set, t[P_HTML], data, html, err) < 0) {
		if (err->len == 0)
			buf_notef(err, "%s/%s: message larger than the buffer's ceiling",
			    lang, kind);
		return -1;
	}
	return 0;
}
