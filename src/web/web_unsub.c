/*
 * web_unsub - /u/TOKEN (a subscriber leaves) and /p/TOKEN (a project
 * contact stops the reminders): GET shows, POST with
 * List-Unsubscribe=One-Click does it (RFC 8058); docs/web.md.
 *
 * GET never changes anything (link scanners fetch every URL of a
 * message).  The POST is exactly what a mailbox provider sends: no
 * cookie, no anti-forgery value (the token is the authority), no
 * redirect; 200 once the worker has committed.  Repeating either is
 * harmless: an address already out is shown as out.
 */
#include <string.h>
#include <microhttpd.h>

#include "web_int.h"

static const char sub_sql[] =
    "SELECT email, lang, status = 'active' FROM subscribers WHERE id = ?1";
static const char contact_sql[] =
    "SELECT c.email, p.lang, c.email NOT IN (SELECT email FROM contact_optouts)"
    " FROM contacts c JOIN projects p ON p.id = c.project_id WHERE c.id = ?1";

struct who {
	buf_t	 email;
	char	 lang[3];
	int	 active;
};

static int
who_row(sqlite3_stmt *st, void *arg)
{
	struct who *o = arg;

	web_reader(st, &o->email, o->lang);
	o->active = sqlite3_column_int(st, 2);
	return 1;
}

/* who - the token's subscriber or contact: 1 found, 0 gone, -1 error */
static int
who(web_t *w, int contact, int64_t id, struct who *o)
{
	sqlite3_stmt *st = store_cached(w->store, contact ? contact_sql : sub_sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_rows(w->store, st, who_row, o);
}

void
web_unsubscribe(web_req_t *q, int contact, const char *token)
{
	web_t *w = q->w;
	int64_t id = web_token(w, contact ? TOKEN_CONTACT : TOKEN_UNSUBSCRIBE, token);
	struct who o = { .lang = "fi" };
	json_t *d, *reply = NULL;
	int got;
	buf_t link;

	buf_init(&o.email, 1024);
	buf_init(&link, 2048);
	if (id < 0) {
		web_message(q, MHD_HTTP_NOT_FOUND, web_lang(q), "bad_link");
		goto out;
	}
	if (q->post && strcmp(web_field(q, "List-Unsubscribe"), "One-Click") != 0) {
		/* RFC 8058: the POST names what it is; anything else is not it */
		web_message(q, MHD_HTTP_BAD_REQUEST, web_lang(q), "bad_link");
		goto out;
	}
	if ((got = who(w, contact, id, &o)) < 0) {
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, web_lang(q), "busy");
		goto out;
	}
	if (got == 0) {
		/* purged, or a project removed: nothing is sent to it any more */
		web_message(q, MHD_HTTP_OK, web_lang(q), "not_active");
		goto out;
	}
	if (q->post && o.active) {
		if (web_admin(q, json_pack("{s:s, s:I}", "op", contact ? "web.contact_optout" :
		    "web.unsubscribe", "id", (json_int_t)id), &reply) < 0)
			goto out;
		o.active = 0;
	}
	d = web_common(w, o.lang);
	json_object_set_new(d, "email", json_string(buf_str(&o.email)));
	json_object_set_new(d, "contact", json_boolean(contact));
	json_object_set_new(d, "done", json_boolean(!o.active));
	web_link(w, contact ? "/p/" : "/u/", token, &link);
	json_object_set_new(d, "action", json_string(buf_str(&link)));
	if (!contact) {
		buf_reset(&link);
		web_prefs_link(w, token, &link);
		json_object_set_new(d, "prefs", json_string(buf_str(&link)));
	}
	web_page(q, MHD_HTTP_OK, "page-unsubscribe.html", o.lang, d);
out:
	json_decref(reply);
	buf_free(&o.email);
	buf_free(&link);
}
