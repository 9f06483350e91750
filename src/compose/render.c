/*
 * render - load, check and apply the message templates and the words of
 * each language; contract in render.h.
 *
 * A string with {{name}} tags in it is compiled twice into a set of its
 * own: as written for HTML (the values escaped) and with every tag made
 * {{{name}}} for the text and the subject.  Before each part is rendered
 * it is rendered against the message's data from the top, and the part's
 * t holds the result; a string without tags is in t as it is, shared by
 * every rendering.  The words are plain text (no < > & "), so the
 * templates put {{{t.x}}} unescaped into HTML as well and the HTML is
 * byte for byte what a template with the words written in would make.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "tmpl.h"
#include "util.h"
#include "wrap.h"

static const char *const kinds[] = { "bulletin", "reminder", "announcement", "confirm", "welcome" };
static const char *const langs[] = { "fi", "sv", "en" };

enum part { P_SUBJECT, P_TEXT, P_HTML, P_N };
enum form { F_HTML, F_TEXT, F_N };

#define WORDS_FILE	"strings.json"
#define WORD_KEY_MAX	64
#define PATH_MAX_LEN	1024

/* the words of one language */
struct words {
	char	*path;		/* dir/fi/strings.json, for messages */
	json_t	*all;		/* the file's object, every key */
	json_t	*plain;		/* the strings without tags, in every t */
	json_t	*underline;	/* key -> "=" as wide as the plain string */
	struct tagged {
		const char *key;	/* borrowed from all */
		const tmpl_t *t[F_N];
	} *tagged;
	size_t	 ntagged;
};

struct render {
	tmpl_set_t *set;	/* the templates */
	tmpl_set_t *wset;	/* the strings with tags */
	struct words w[NELEM(langs)];
	const tmpl_t *t[NELEM(kinds)][NELEM(langs)][P_N];
	int	 refs;		/* render_hold() / render_close(), atomic */
};

/* the process's published set (render_publish()) and its epoch */
static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static render_t *current;
static unsigned current_epoch;

/* ---- loading the templates ---- */

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
lang_index(const char *s)
{
	for (size_t l = 0; l < NELEM(langs); l++)
		if (strcmp(s, langs[l]) == 0)
			return (int)l;
	return -1;
}

/*
 * load_folder - the templates in path, named prefix + file name: the
 * shared ones at the top (prefix ""), each language's in its folder
 * (prefix "fi/"), where strings.json is the words and not a template.
 * At the top only language folders may be folders; below them none.
 */
static int
load_folder(render_t *r, const char *path, const char *prefix, buf_t *err)
{
	struct dirent **ents = NULL;
	char file[PATH_MAX_LEN], name[PATH_MAX_LEN];
	struct stat st;
	int i, n, rc = -1;

	if ((n = scandir(path, &ents, skip_dot, alphasort)) < 0) {
		buf_notef(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;

		if ((size_t)snprintf(file, sizeof file, "%s/%s", path, e) >= sizeof file ||
		    (size_t)snprintf(name, sizeof name, "%s%s", prefix, e) >= sizeof name) {
			buf_notef(err, "%s/%.100s...: path too long", path, e);
			goto out;
		}
		if (stat(file, &st) < 0) {
			buf_notef(err, "%s: %s", file, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (*prefix || lang_index(e) < 0) {
				buf_notef(err, "%s: a folder where only templates%s can be (the"
				    " languages are fi, sv, en)", file, *prefix ? "" :
				    " and language folders");
				goto out;
			}
			if ((size_t)snprintf(name, sizeof name, "%s/", e) >= sizeof name ||
			    load_folder(r, file, name, err) < 0)
				goto out;
		} else if (S_ISREG(st.st_mode) && !(*prefix && strcmp(e, WORDS_FILE) == 0)) {
			if (tmpl_set_load_file(r->set, name, file, err) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

/* ---- loading the words ---- */

/* word_check - 0 when s is a string the templates can take: plain text
 * on one line, tags only {{name}} with a name of the data; else -1 after
 * saying why.  *tags is set when s has a tag */
static int
word_check(const char *path, const char *key, const char *s, int *tags, buf_t *err)
{
	const char *p, *e;
	size_t n = strlen(s);

	*tags = 0;
	if (n == 0) {
		buf_notef(err, "%s: \"%s\" is empty", path, key);
		return -1;
	}
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || strchr("<>&\"", c) != NULL ||
		    utf8_bidi_control(p, n - (size_t)(p - s)) != 0) {
			buf_notef(err, "%s: \"%s\": %s at byte %zu: the words are plain text"
			    " on one line, without < > & \" or bidi controls (the templates"
			    " add the markup)", path, key, c < 0x20 ? "a control character" :
			    "a character that is not allowed", (size_t)(p - s) + 1);
			return -1;
		}
		if (p[0] != '{' || p[1] != '{')
			continue;
		/* {{name}}: letters, digits, _ in dotted parts */
		for (e = p + 2; *e && (e[0] != '}' || e[1] != '}'); e++)
			if (!(*e == '_' || *e == '.' || (*e >= '0' && *e <= '9') ||
			    (*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z')))
				break;
		if (e[0] != '}' || e[1] != '}' || e == p + 2 || p[2] == '.' || e[-1] == '.' ||
		    memmem(p + 2, (size_t)(e - p - 2), "..", 2) != NULL ||
		    (e - p - 2 >= 2 && memcmp(p + 2, "t.", 2) == 0) ||
		    (e - p - 2 >= 10 && memcmp(p + 2, "underline.", 10) == 0)) {
			buf_notef(err, "%s: \"%s\": a tag at byte %zu that is not {{name}} with"
			    " a name of the message's data (docs/templates.md)", path, key,
			    (size_t)(p - s) + 1);
			return -1;
		}
		*tags = 1;
		p = e + 1;
	}
	return 0;
}

/* text_form - s with every {{name}} made {{{name}}}, in out */
static int
text_form(const char *s, buf_t *out)
{
	for (; *s; s++) {
		if (s[0] == '{' && s[1] == '{') {
			const char *e = strstr(s, "}}");

			if (buf_adds(out, "{{{") < 0 || buf_add(out, s + 2, (size_t)(e - s - 2)) < 0 ||
			    buf_adds(out, "}}}") < 0)
				return -1;
			s = e + 1;
		} else if (buf_addc(out, *s) < 0)
			return -1;
	}
	return 0;
}

/* load_words - dir/LANG/strings.json into w: absent is no words (then no
 * language may have any, which check_words() sees) */
static int
load_words(render_t *r, const char *dir, size_t l, buf_t *err)
{
	struct words *w = &r->w[l];
	json_error_t je;
	const char *key;
	json_t *v;
	buf_t src, name, rule;
	int tags, rc = -1;

	buf_init(&src, TMPL_MAX_SIZE);
	buf_init(&name, PATH_MAX_LEN);
	buf_init(&rule, 4096);
	if (buf_printf(&src, "%s/%s/%s", dir, langs[l], WORDS_FILE) < 0) {
		buf_notef(err, "%s/%s/%s: path too long", dir, langs[l], WORDS_FILE);
		goto out;
	}
	w->path = buf_take(&src);
	w->plain = json_object();
	w->underline = json_object();
	if (access(w->path, F_OK) < 0 && errno == ENOENT) {
		w->all = json_object();
		rc = 0;
		goto out;
	}
	if ((w->all = json_load_file(w->path, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		buf_notef(err, "%s:%d:%d: %s", w->path, je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(w->all)) {
		buf_notef(err, "%s: not a JSON object of strings", w->path);
		goto out;
	}
	w->tagged = xcalloc(json_object_size(w->all) + 1, sizeof *w->tagged);
	json_object_foreach(w->all, key, v) {
		const char *k;

		for (k = key; *k && (*k == '_' || (*k >= 'a' && *k <= 'z') ||
		    (*k >= '0' && *k <= '9')); k++)
			;
		if (*k || k == key || k - key > WORD_KEY_MAX) {
			buf_notef(err, "%s: \"%.100s\": a key is a name of a-z, 0-9 and _ (at most"
			    " %d)", w->path, key, WORD_KEY_MAX);
			goto out;
		}
		if (!json_is_string(v)) {
			buf_notef(err, "%s: \"%s\" is not a string", w->path, key);
			goto out;
		}
		if (word_check(w->path, key, json_string_value(v), &tags, err) < 0)
			goto out;
		if (!tags) {
			size_t cols = wrap_columns(json_string_value(v), json_string_length(v));

			json_object_set(w->plain, key, v);
			buf_reset(&rule);
			for (size_t c = 0; c < cols; c++)
				if (buf_addc(&rule, '=') < 0) {
					buf_notef(err, "%s: \"%s\" is too long", w->path, key);
					goto out;
				}
			json_object_set_new(w->underline, key, json_string(buf_str(&rule)));
			continue;
		}
		/* compiled in both forms; the names are the set's own */
		struct tagged *tg = &w->tagged[w->ntagged++];

		tg->key = key;
		for (int f = 0; f < F_N; f++) {
			buf_reset(&name);
			buf_reset(&rule);
			if (buf_printf(&name, "%s: \"%s\"%s", w->path, key,
			    f == F_TEXT ? " (text)" : "") < 0 ||
			    (f == F_HTML ? buf_adds(&rule, json_string_value(v)) :
			    text_form(json_string_value(v), &rule)) < 0 ||
			    tmpl_set_add(r->wset, buf_str(&name), buf_str(&rule), rule.len, err) < 0 ||
			    (tg->t[f] = tmpl_set_get(r->wset, buf_str(&name))) == NULL) {
				if (err->len == 0)
					buf_notef(err, "%s: \"%s\" is too long", w->path, key);
				goto out;
			}
		}
	}
	rc = 0;
out:
	buf_free(&src);
	buf_free(&name);
	buf_free(&rule);
	return rc;
}

/* check_words - every language has every key another has */
static int
check_words(render_t *r, buf_t *err)
{
	const char *key;
	json_t *v;

	for (size_t a = 0; a < NELEM(langs); a++)
		json_object_foreach(r->w[a].all, key, v)
			for (size_t b = 0; b < NELEM(langs); b++)
				if (json_object_get(r->w[b].all, key) == NULL) {
					buf_notef(err, "%s: no string \"%s\" (%s has it)%s",
					    r->w[b].path, key, r->w[a].path,
					    json_object_size(r->w[b].all) ? "" :
					    ": the file is missing or empty");
					return -1;
				}
	return 0;
}

/* the names a template looks up: every t.x and underline.x must exist */
struct uses {
	render_t *r;
	const char *tmpl;
	buf_t	*err;
};

static int
check_use(const char *name, void *arg)
{
	struct uses *u = arg;
	const char *key;
	int under;

	if (strncmp(name, "t.", 2) == 0)
		under = 0;
	else if (strncmp(name, "underline.", 10) == 0)
		under = 1;
	else
		return 0;
	key = strchr(name, '.') + 1;
	for (size_t l = 0; l < NELEM(langs); l++) {
		const struct words *w = &u->r->w[l];

		if (strchr(key, '.') == NULL &&
		    json_object_get(under ? w->underline : w->all, key) != NULL)
			continue;
		buf_notef(u->err, "%s: {{%s}}: no such string in %s%s", u->tmpl, name,
		    w->path, under && json_object_get(w->all, key) ? " without tags (an"
		    " underline is made only for those)" : "");
		return -1;
	}
	return 0;
}

/* check_uses - the strings every template of the folder names exist */
static int
check_uses(render_t *r, const char *dir, buf_t *err)
{
	struct dirent **ents = NULL;
	const tmpl_t *t;
	char name[PATH_MAX_LEN];
	int n, rc = 0;

	/* the shared templates, and each language's own */
	for (int pass = -1; pass < (int)NELEM(langs) && rc == 0; pass++) {
		char path[PATH_MAX_LEN];

		snprintf(path, sizeof path, "%s%s%s", dir, pass < 0 ? "" : "/",
		    pass < 0 ? "" : langs[pass]);
		if ((n = scandir(path, &ents, skip_dot, alphasort)) < 0)
			continue;	/* a language without a folder of its own */
		for (int i = 0; i < n; i++) {
			snprintf(name, sizeof name, "%s%s%s", pass < 0 ? "" : langs[pass],
			    pass < 0 ? "" : "/", ents[i]->d_name);
			if (rc == 0 && (t = tmpl_set_get(r->set, name)) != NULL) {
				struct uses u = { r, name, err };
				char shown[PATH_MAX_LEN * 2];

				snprintf(shown, sizeof shown, "%s/%s", dir, name);
				u.tmpl = shown;
				rc = tmpl_vars(t, check_use, &u);
			}
			free(ents[i]);
		}
		free(ents);
		ents = NULL;
	}
	return rc;
}

render_t *
render_open(const char *dir, buf_t *err)
{
	render_t *r = xcalloc(1, sizeof *r);
	char name[128];

	r->refs = 1;
	r->set = tmpl_set_new();
	r->wset = tmpl_set_new();
	if (load_folder(r, dir, "", err) < 0)
		goto fail;
	for (size_t l = 0; l < NELEM(langs); l++)
		if (load_words(r, dir, l, err) < 0)
			goto fail;
	if (check_words(r, err) < 0 || check_uses(r, dir, err) < 0)
		goto fail;
	/* a language's own template, else the shared one */
	for (size_t k = 0; k < NELEM(kinds); k++)
		for (size_t l = 0; l < NELEM(langs); l++)
			for (int p = 0; p < P_N; p++) {
				if (p == P_SUBJECT)
					snprintf(name, sizeof name, "%s/subject-%s.txt", langs[l], kinds[k]);
				else
					snprintf(name, sizeof name, "%s/%s.%s", langs[l], kinds[k],
					    p == P_TEXT ? "txt" : "html");
				if ((r->t[k][l][p] = tmpl_set_get(r->set, name)) == NULL &&
				    (r->t[k][l][p] = tmpl_set_get(r->set, name + strlen(langs[l]) + 1))
				    == NULL) {
					buf_notef(err, "%s/%s: missing template (nor %s/%s)", dir,
					    name + strlen(langs[l]) + 1, dir, name);
					goto fail;
				}
			}
	return r;
fail:
	render_close(r);
	return NULL;
}

render_t *
render_hold(render_t *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void
render_publish(render_t *r)
{
	render_t *old;

	render_hold(r);
	pthread_mutex_lock(&current_mu);
	old = current;
	current = r;
	current_epoch++;
	pthread_mutex_unlock(&current_mu);
	render_close(old);
}

render_t *
render_current(unsigned *epoch)
{
	render_t *r = NULL;

	pthread_mutex_lock(&current_mu);
	if (current && current_epoch != *epoch) {
		r = render_hold(current);
		*epoch = current_epoch;
	}
	pthread_mutex_unlock(&current_mu);
	return r;
}

void
render_close(render_t *r)
{
	/* the last holder frees: acquire-release orders every reader's use
	 * before the free */
	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t l = 0; l < NELEM(langs); l++) {
		struct words *w = &r->w[l];

		free(w->path);
		json_decref(w->all);
		json_decref(w->plain);
		json_decref(w->underline);
		free(w->tagged);
	}
	tmpl_set_free(r->wset);
	tmpl_set_free(r->set);
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

/* ---- rendering ---- */

/* job - one message being rendered: the caller's data with t (and, for
 * text, underline) added, in a shallow copy of its own */
struct job {
	render_t *r;
	const tmpl_t *const *t;
	const struct words *w;
	json_t	*data;
	buf_t	 scratch;	/* the job's own: a set is shared by threads */
};

static int
job_start(struct job *j, render_t *r, const char *kind, const char *lang, json_t *data,
    buf_t *err)
{
	memset(j, 0, sizeof *j);
	j->r = r;
	buf_init(&j->scratch, 0);
	for (size_t k = 0; k < NELEM(kinds); k++)
		for (size_t l = 0; l < NELEM(langs); l++)
			if (strcmp(kind, kinds[k]) == 0 && strcmp(lang, langs[l]) == 0) {
				j->t = r->t[k][l];
				j->w = &r->w[l];
			}
	if (j->t == NULL) {
		buf_notef(err, "no template for %s in language %s", kind, lang);
		return -1;
	}
	j->data = data && json_is_object(data) ? json_copy(data) : json_object();
	return 0;
}

/* job_form - t for HTML or for text: the strings with tags rendered
 * against the data as it came */
static int
job_form(struct job *j, enum form f, buf_t *err)
{
	json_t *t = json_copy(j->w->plain);
	int rc = 0;

	json_object_del(j->data, "t");
	json_object_del(j->data, "underline");
	for (size_t i = 0; i < j->w->ntagged && rc == 0; i++) {
		buf_reset(&j->scratch);
		if ((rc = tmpl_render(j->r->wset, j->w->tagged[i].t[f], j->data, &j->scratch,
		    err)) == 0)
			json_object_set_new(t, j->w->tagged[i].key,
			    json_stringn(buf_str(&j->scratch), j->scratch.len));
	}
	json_object_set_new(j->data, "t", t);
	if (f == F_TEXT)
		json_object_set(j->data, "underline", j->w->underline);
	return rc;
}

static void
job_end(struct job *j)
{
	json_decref(j->data);
	buf_free(&j->scratch);
}

int
render_message(render_t *r, const char *kind, const char *lang, json_t *data,
    buf_t *subject, buf_t *text, buf_t *html, buf_t *err)
{
	struct job j;
	int rc = -1;

	if (job_start(&j, r, kind, lang, data, err) < 0)
		return -1;
	if (job_form(&j, F_TEXT, err) < 0)
		goto out;
	buf_reset(&j.scratch);
	if (tmpl_render(r->set, j.t[P_SUBJECT], j.data, &j.scratch, err) < 0 ||
	    render_one_line(subject, buf_str(&j.scratch), j.scratch.len) < 0)
		goto out;
	buf_reset(&j.scratch);
	if (tmpl_render(r->set, j.t[P_TEXT], j.data, &j.scratch, err) < 0 ||
	    wrap_text(text, buf_str(&j.scratch), j.scratch.len, WRAP_WIDTH_DEFAULT) < 0)
		goto out;
	if (job_form(&j, F_HTML, err) < 0 ||
	    tmpl_render(r->set, j.t[P_HTML], j.data, html, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && err->len == 0)
		buf_notef(err, "%s/%s: message larger than the buffer's ceiling", lang, kind);
	job_end(&j);
	return rc;
}

int
render_raw(render_t *r, const char *kind, const char *lang, json_t *data,
    buf_t *subject, buf_t *text, buf_t *html, buf_t *err)
{
	struct job j;
	int rc = -1;

	if (job_start(&j, r, kind, lang, data, err) < 0)
		return -1;
	if (job_form(&j, F_TEXT, err) < 0 ||
	    tmpl_render(r->set, j.t[P_SUBJECT], j.data, subject, err) < 0 ||
	    tmpl_render(r->set, j.t[P_TEXT], j.data, text, err) < 0 ||
	    job_form(&j, F_HTML, err) < 0 ||
	    tmpl_render(r->set, j.t[P_HTML], j.data, html, err) < 0) {
		if (err->len == 0)
			buf_notef(err, "%s/%s: message larger than the buffer's ceiling",
			    lang, kind);
		goto out;
	}
	rc = 0;
out:
	job_end(&j);
	return rc;
}

int
render_page(render_t *r, const char *name, const char *lang, json_t *data, buf_t *html,
    buf_t *err)
{
	char own[PATH_MAX_LEN];
	const tmpl_t *t;
	struct job j;
	int l = lang_index(lang), rc = -1;

	if (l < 0) {
		buf_notef(err, "no language %s", lang);
		return -1;
	}
	snprintf(own, sizeof own, "%s/%s", lang, name);
	if ((t = tmpl_set_get(r->set, own)) == NULL && (t = tmpl_set_get(r->set, name)) == NULL) {
		buf_notef(err, "no template %s", name);
		return -1;
	}
	memset(&j, 0, sizeof j);
	j.r = r;
	j.w = &r->w[l];
	buf_init(&j.scratch, 0);
	j.data = data && json_is_object(data) ? json_copy(data) : json_object();
	if (job_form(&j, F_HTML, err) == 0 && tmpl_render(r->set, t, j.data, html, err) == 0)
		rc = 0;
	else if (err->len == 0)
		buf_notef(err, "%s/%s: page larger than the buffer's ceiling", lang, name);
	job_end(&j);
	return rc;
}
