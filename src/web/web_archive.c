/*
 * web_archive - /issues/ (the sent issues per language), /issues/YYYY-NN/LANG
 * (an issue's web view: all regions, no reader) and /issues/LANG.atom (an
 * Atom feed, RFC 4287); docs/web.md.
 *
 * Public means sending or sent: a draft, a held, a cancelled or an empty
 * issue is never shown, whatever its number (404, as for no issue).  The
 * view is the bulletin's own template (message_web()), so the archive
 * looks as the mail does; its CSP lets only inline styles through (the
 * message's markup is styled inline for mail clients), never a script.
 */
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <microhttpd.h>

#include "clock.h"
#include "compose.h"
#include "datefmt.h"
#include "log.h"
#include "web_int.h"

static const char list_sql[] =
    "SELECT number, period_start, period_end FROM issues"
    " WHERE state IN ('sending', 'sent') ORDER BY period_end DESC, id DESC LIMIT ?1";
static const char one_sql[] =
    "SELECT number, period_start, period_end FROM issues"
    " WHERE number = ?1 AND state IN ('sending', 'sent')";

static const char csp_view[] = "default-src 'none'; style-src 'unsafe-inline';"
    " img-src 'self' https:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

#define LIST_MAX 500	/* issues on the list page: twenty years of them */

struct issue {
	char	 number[16];	/* 2020/09 */
	int64_t	 start, end;
};

struct issues {
	struct issue *v;
	size_t	 n, max;
};

static int
issue_row(sqlite3_stmt *st, void *arg)
{
	struct issues *is = arg;
	struct issue *i;

	if (is->n == is->max)
		return 1;
	i = &is->v[is->n++];
	snprintf(i->number, sizeof i->number, "%.15s", (const char *)sqlite3_column_text(st, 0));
	i->start = sqlite3_column_int64(st, 1);
	i->end = sqlite3_column_int64(st, 2);
	return 0;
}

/* slug - "2020/09" -> "2020-09" */
static void
slug(const char *number, char *out)
{
	snprintf(out, 16, "%.15s", number);
	if (strlen(out) > 4 && out[4] == '/')
		out[4] = '-';
}

static int
load(web_t *w, const char *sql, const char *number, int limit, struct issues *is)
{
	sqlite3_stmt *st = store_cached(w->store, sql);

	if (st == NULL)
		return -1;
	if (number)
		sqlite3_bind_text(st, 1, number, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int(st, 1, limit);
	return store_rows(w->store, st, issue_row, is) < 0 ? -1 : 0;
}

/* render - the web view of issue i in lang into p */
static int
render(web_t *w, const struct issue *i, const char *lang, message_parts_t *p, buf_t *err)
{
	compose_conf_t cc = { w->conf->time_zone, (int)w->conf->deadline_days,
	    (int)w->conf->event_days };
	compose_issue_t *issue = NULL;
	int rc;

	if (compose_issue_load(w->store, &cc, i->number, i->start, i->end, &issue, err) < 0)
		return -1;
	rc = message_web(w->msg, issue, lang, p, err);
	compose_issue_free(issue);
	return rc;
}

static void
list(web_req_t *q)
{
	web_t *w = q->w;
	const char *lang = web_lang(q);
	static const char *const langs[][2] = { { "fi", "suomeksi" }, { "sv", "på svenska" },
	    { "en", "in English" } };
	struct issue v[LIST_MAX];
	struct issues is = { v, 0, LIST_MAX };
	json_t *d, *ls = json_array();
	char sl[16];
	buf_t b;

	if (load(w, list_sql, NULL, LIST_MAX, &is) < 0) {
		json_decref(ls);
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, lang, "busy");
		return;
	}
	buf_init(&b, 4096);
	for (size_t l = 0; l < 3; l++) {
		json_t *items = json_array();

		for (size_t k = 0; k < is.n; k++) {
			json_t *it = json_object();

			slug(v[k].number, sl);
			buf_reset(&b);
			buf_notef(&b, "%s/issues/%s/%s", w->conf->base_url, sl, langs[l][0]);
			json_object_set_new(it, "url", json_string(buf_str(&b)));
			json_object_set_new(it, "number", json_string(v[k].number));
			json_object_set_new(it, "code", json_string(langs[l][0]));
			buf_reset(&b);
			if (datefmt_date(&b, v[k].end, langs[l][0], w->conf->time_zone) == 0)
				json_object_set_new(it, "date", json_string(buf_str(&b)));
			json_array_append_new(items, it);
		}
		buf_reset(&b);
		buf_notef(&b, "%s/issues/%s.atom", w->conf->base_url, langs[l][0]);
		json_array_append_new(ls, json_pack("{s:s, s:s, s:s, s:o}", "code", langs[l][0],
		    "name", langs[l][1], "feed", buf_str(&b), "issues", items));
	}
	d = web_common(w, lang);
	json_object_set_new(d, "langs", ls);
	web_page(q, MHD_HTTP_OK, "page-issues.html", lang, d);
	q->cache = 1;
	q->vary_lang = 1;	/* a shared cache must not give one reader's to all */
	buf_free(&b);
}

static void
view(web_req_t *q, const char *number, const char *lang)
{
	web_t *w = q->w;
	struct issue one;
	struct issues is = { &one, 0, 1 };
	message_parts_t p;
	buf_t err;

	message_parts_init(&p);
	buf_init(&err, 4096);
	if (load(w, one_sql, number, 1, &is) < 0)
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, lang, "busy");
	else if (is.n == 0)
		web_message(q, MHD_HTTP_NOT_FOUND, lang, "not_found");
	else if (render(w, &one, lang, &p, &err) < 0) {
		log_error("web: issue %s/%s: %s", number, lang, buf_str(&err));
		web_message(q, MHD_HTTP_INTERNAL_SERVER_ERROR, lang, "busy");
	} else {
		buf_reset(&q->body);
		if (buf_add(&q->body, p.html.data, p.html.len) < 0)
			q->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		q->type = "text/html; charset=utf-8";
		q->csp = csp_view;
		q->cache = 1;
	}
	message_parts_free(&p);
	buf_free(&err);
}

/* xml - s escaped for XML text and attributes */
static void
xml(buf_t *out, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': buf_note(out, "&lt;"); break;
		case '>': buf_note(out, "&gt;"); break;
		case '&': buf_note(out, "&amp;"); break;
		case '"': buf_note(out, "&quot;"); break;
		default:
			/* XML 1.0 has no place for other C0 controls */
			if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
				buf_notef(out, "%c", *s);
		}
}

static void
feed(web_req_t *q, const char *lang)
{
	web_t *w = q->w;
	struct issue v[WEB_FEED_ENTRIES];
	struct issues is = { v, 0, WEB_FEED_ENTRIES };
	message_parts_t p;
	char when[32], sl[16];
	buf_t *o = &q->body, err, url;

	if (load(w, list_sql, NULL, WEB_FEED_ENTRIES, &is) < 0) {
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, lang, "busy");
		return;
	}
	message_parts_init(&p);
	buf_init(&err, 4096);
	buf_init(&url, 4096);
	buf_reset(o);
	clock_format(is.n ? v[0].end : 0, when);
	buf_notef(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"%s\">\n", lang);
	buf_notef(&url, "%s/issues/%s.atom", w->conf->base_url, lang);
	buf_note(o, "<id>"); xml(o, buf_str(&url)); buf_note(o, "</id>\n<title>");
	xml(o, message_programme(lang));
	buf_notef(o, "</title>\n<updated>%s</updated>\n<link rel=\"self\" href=\"", when);
	xml(o, buf_str(&url));
	buf_note(o, "\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"");
	buf_reset(&url);
	buf_notef(&url, "%s/issues/", w->conf->base_url);
	xml(o, buf_str(&url));
	buf_note(o, "\"/>\n<author><name>");
	xml(o, w->conf->from_name);
	buf_note(o, "</name></author>\n");
	for (size_t k = 0; k < is.n; k++) {
		buf_reset(&err);
		if (render(w, &v[k], lang, &p, &err) < 0) {
			log_error("web: feed %s, issue %s: %s", lang, v[k].number, buf_str(&err));
			continue;
		}
		slug(v[k].number, sl);
		buf_reset(&url);
		buf_notef(&url, "%s/issues/%s/%s", w->conf->base_url, sl, lang);
		clock_format(v[k].end, when);
		buf_note(o, "<entry>\n<id>"); xml(o, buf_str(&url));
		buf_note(o, "</id>\n<title>"); xml(o, buf_str(&p.subject));
		buf_notef(o, "</title>\n<updated>%s</updated>\n<link rel=\"alternate\""
		    " type=\"text/html\" href=\"", when);
		xml(o, buf_str(&url));
		buf_note(o, "\"/>\n<summary>"); xml(o, buf_str(&p.subject));
		buf_note(o, "</summary>\n</entry>\n");
	}
	buf_note(o, "</feed>\n");
	q->type = "application/atom+xml; charset=utf-8";
	q->cache = 1;
	message_parts_free(&p);
	buf_free(&err);
	buf_free(&url);
}

void
web_issues(web_req_t *q, const char *rest)
{
	char number[16], lang[3];
	const char *l;

	if (*rest == '\0') {
		list(q);
		return;
	}
	if (strlen(rest) == 7 && strcmp(rest + 2, ".atom") == 0) {
		memcpy(lang, rest, 2);
		lang[2] = '\0';
		if ((l = web_form_lang(lang)) != NULL) {
			feed(q, l);
			return;
		}
	}
	/* YYYY-NN/LANG */
	if (strlen(rest) == 10 && rest[4] == '-' && rest[7] == '/' &&
	    strspn(rest, "0123456789") == 4 && strspn(rest + 5, "0123456789") == 2 &&
	    (l = web_form_lang(rest + 8)) != NULL) {
		snprintf(number, sizeof number, "%.4s/%.2s", rest, rest + 5);
		view(q, number, l);
		return;
	}
	web_message(q, MHD_HTTP_NOT_FOUND, web_lang(q), "not_found");
}
