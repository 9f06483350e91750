/*
 * web_prefs - /u/TOKEN/preferences: a subscriber's language, regions, a
 * pause until a date, and unsubscribe; docs/web.md.
 *
 * The token is the subscriber's unsubscribe token: every message carries
 * this link beside its unsubscribe link (layout.html, layout.txt), and
 * the link manages the subscription it names.  A change goes to
 * the worker as web.preferences; the next message built for the reader
 * reads it (the outbox keeps only the subscriber's id).
 */
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include <microhttpd.h>

#include "clock.h"
#include "region.h"
#include "web_int.h"

static const char prefs_sql[] =
    "SELECT email, lang, regions, coalesce(paused_until, 0), status = 'active'"
    " FROM subscribers WHERE id = ?1";

struct prefs {
	buf_t	 email;
	char	 lang[3];
	unsigned regions;
	int64_t	 paused_until;
	int	 active;
};

static int
prefs_row(sqlite3_stmt *st, void *arg)
{
	struct prefs *p = arg;

	web_reader(st, &p->email, p->lang);
	p->regions = (unsigned)sqlite3_column_int(st, 2);
	p->paused_until = sqlite3_column_int64(st, 3);
	p->active = sqlite3_column_int(st, 4);
	return 1;
}

static void
form_page(web_req_t *q, unsigned status, const char *token, const struct prefs *p,
    json_t *errs)
{
	web_t *w = q->w;
	json_t *d = web_common(w, p->lang);
	char scope[128], csrf[64], day[16] = "";
	time_t t = (time_t)p->paused_until;
	struct tm tm;
	buf_t link;

	buf_init(&link, 2048);
	snprintf(scope, sizeof scope, "/prefs/%.100s", token);
	web_csrf(w, scope, clock_now() / 3600, csrf);
	if (p->paused_until > clock_now() && localtime_r(&t, &tm))
		strftime(day, sizeof day, "%Y-%m-%d", &tm);
	web_prefs_link(w, token, &link);
	json_object_set_new(d, "action", json_string(buf_str(&link)));
	buf_reset(&link);
	web_link(w, "/u/", token, &link);
	json_object_set_new(d, "unsubscribe", json_string(buf_str(&link)));
	json_object_set_new(d, "csrf", json_string(csrf));
	json_object_set_new(d, "email", json_string(buf_str(&p->email)));
	json_object_set_new(d, "pause", json_string(day));
	web_form_errors(d, errs);
	web_choices(d, p->lang, p->regions);
	web_page(q, status, "page-prefs.html", p->lang, d);
	buf_free(&link);
}

void
web_prefs(web_req_t *q, const char *token)
{
	web_t *w = q->w;
	int64_t id = web_token(w, TOKEN_UNSUBSCRIBE, token), until = 0;
	struct prefs p = { .lang = "fi" };
	json_t *errs = NULL, *reply = NULL;
	sqlite3_stmt *st;
	const char *lang;
	char scope[128];
	buf_t regions, link;
	int got;

	buf_init(&p.email, 1024);
	buf_init(&regions, 256);
	buf_init(&link, 2048);
	if (id < 0) {
		web_message(q, MHD_HTTP_NOT_FOUND, web_lang(q), "bad_link");
		goto out;
	}
	if ((st = store_cached(w->store, prefs_sql)) == NULL) {
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, web_lang(q), "busy");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((got = store_rows(w->store, st, prefs_row, &p)) < 0) {
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, web_lang(q), "busy");
		goto out;
	}
	if (got == 0 || !p.active) {
		web_message(q, MHD_HTTP_OK, got ? p.lang : web_lang(q), "not_active");
		goto out;
	}
	if (!q->post) {
		form_page(q, MHD_HTTP_OK, token, &p, NULL);
		goto out;
	}
	if (web_post_allowed(q, p.lang) < 0)
		goto out;
	snprintf(scope, sizeof scope, "/prefs/%.100s", token);
	errs = json_array();
	if (!web_csrf_ok(q, scope))
		web_form_err(errs, "csrf");
	if ((lang = web_form_lang(web_field(q, "lang"))) == NULL)
		web_form_err(errs, "lang");
	if (web_form_regions(q->form, &p.regions) < 0)
		web_form_err(errs, "regions");
	if (web_form_date(web_field(q, "pause"), &until) < 0)
		web_form_err(errs, "pause");
	if (json_array_size(errs) > 0 || region_format(p.regions, &regions) < 0) {
		form_page(q, MHD_HTTP_BAD_REQUEST, token, &p, errs);
		errs = NULL;
		goto out;
	}
	if (web_admin(q, json_pack("{s:s, s:I, s:s, s:s, s:I}", "op", "web.preferences",
	    "id", (json_int_t)id, "lang", lang, "regions", buf_str(&regions),
	    "paused_until", (json_int_t)until), &reply) < 0)
		goto out;
	{
		json_t *d = web_common(w, lang);

		web_prefs_link(w, token, &link);
		json_object_set_new(d, "prefs", json_string(buf_str(&link)));
		json_object_set_new(d, "say", json_pack("{s:b}", "saved", 1));
		web_page(q, MHD_HTTP_OK, "page-message.html", lang, d);
	}
out:
	json_decref(errs);
	json_decref(reply);
	buf_free(&p.email);
	buf_free(&regions);
	buf_free(&link);
}
