/*
 * web_subscribe - /subscribe (the double opt-in form) and /c/TOKEN (its
 * confirmation); docs/web.md.
 *
 * The form's answer is the same page whatever the worker did (queued, or
 * not because the address had a confirmation within web.confirm_interval
 * or is suppressed): nobody learns from it whether an address is known.
 * Every POST counts against web.posts_per_ip_hour and carries the form's
 * anti-forgery value.
 *
 * Consent: the form carries the version of the consent text it showed
 * (templates/page-consent.html, rendered alone: the first 16 hex digits
 * of its SHA-256); the POST finds the text of that version among the
 * three languages and sends it, with the client (its keyed hash unless
 * web.consent_ip_hash is off), for the consent log.  A version that no
 * text has now (the templates changed since the form was loaded) gets the
 * form again: the log never records a text that was not shown.
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>
#include <microhttpd.h>

#include "clock.h"
#include "log.h"
#include "region.h"
#include "util.h"
#include "web_int.h"

#define WEB_CONSENT_MAX	(64 << 10)	/* bytes of the rendered consent text */
#define CONSENT_VERSION_HEX 16	/* the version: SHA-256's first 64 bits, in hex */

static const char conf_sql[] =
    "SELECT email, lang, expires, confirmed IS NOT NULL FROM confirmations WHERE id = ?1";
static const char sub_id_sql[] = "SELECT id FROM subscribers WHERE email = ?1";

/* consent - the consent text as the form shows it in lang (the partial
 * page-consent.html, rendered alone) into text, and its version; 0 or -1 */
static int
consent(web_t *w, const char *lang, buf_t *text, char version[CONSENT_VERSION_HEX + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	buf_t err;
	int rc;

	buf_init(&err, 1024);
	buf_reset(text);
	if ((rc = render_page(message_render(w->msg), "page-consent.html", lang,
	    web_common(w, lang), text, &err)) < 0)
		log_error("web: page-consent.html: %s", buf_str(&err));
	else {
		crypto_hash_sha256(h, (const unsigned char *)text->data, text->len);
		sodium_bin2hex(version, CONSENT_VERSION_HEX + 1, h, CONSENT_VERSION_HEX / 2);
	}
	buf_free(&err);
	return rc;
}

/* consent_shown - the text whose version the form carries, in any of our
 * languages (the page's may differ from the one chosen for mail): its
 * language, or NULL when none has it now (the text changed since) */
static const char *
consent_shown(web_req_t *q, buf_t *text)
{
	static const char *const langs[] = { "fi", "sv", "en" };
	const char *posted = web_field(q, "consent_version");
	char v[CONSENT_VERSION_HEX + 1];

	for (size_t i = 0; i < NELEM(langs); i++)
		if (consent(q->w, langs[i], text, v) == 0 && strcmp(v, posted) == 0)
			return langs[i];
	return NULL;
}

static void
form_page(web_req_t *q, unsigned status, const char *lang, json_t *errs)
{
	web_t *w = q->w;
	json_t *d = web_common(w, lang);
	char csrf[64], version[CONSENT_VERSION_HEX + 1] = "";
	unsigned mask = REGION_ALL;
	buf_t link, text;

	buf_init(&link, 2048);
	buf_init(&text, WEB_CONSENT_MAX);
	(void)consent(w, lang, &text, version);
	web_link(w, "/subscribe", NULL, &link);
	web_csrf(w, "/subscribe", clock_now() / 3600, csrf);
	if (q->post)
		(void)web_form_regions(q->form, &mask);
	json_object_set_new(d, "action", json_string(buf_str(&link)));
	json_object_set_new(d, "csrf", json_string(csrf));
	json_object_set_new(d, "consent_version", json_string(version));
	web_form_errors(d, errs);
	json_object_set_new(d, "form", json_pack("{s:s, s:s}", "email", q->post ?
	    web_field(q, "email") : "", "name", q->post ? web_field(q, "name") : ""));
	web_choices(d, lang, mask);
	web_page(q, status, "page-subscribe.html", lang, d);
	buf_free(&link);
	buf_free(&text);
}

void
web_subscribe(web_req_t *q)
{
	const char *lang = web_lang(q), *chosen, *shown = NULL;
	json_t *errs, *reply = NULL;
	unsigned mask;
	char ip[TOKEN_HASH_HEX + 8];
	buf_t regions, text;

	buf_init(&text, WEB_CONSENT_MAX);
	if (!q->post) {
		form_page(q, MHD_HTTP_OK, lang, NULL);
		goto out;
	}
	if ((chosen = web_form_lang(web_field(q, "lang"))) != NULL)
		lang = chosen;
	if (web_post_allowed(q, lang) < 0)
		goto out;
	errs = json_array();
	if (!web_csrf_ok(q, "/subscribe"))
		web_form_err(errs, "csrf");
	else if ((shown = consent_shown(q, &text)) == NULL)
		web_form_err(errs, "consent");
	if (web_form_subscribe(q->form, errs) < 0 || json_array_size(errs) > 0) {
		form_page(q, MHD_HTTP_BAD_REQUEST, lang, errs);
		goto out;
	}
	/* web.consent_ip_hash: the log proves a client without keeping it */
	if (q->w->conf->web_consent_ip_hash) {
		char hex[TOKEN_HASH_HEX];

		token_hash(q->w->key, "ip", q->ip, hex);
		snprintf(ip, sizeof ip, "hash:%s", hex);
	} else
		snprintf(ip, sizeof ip, "%s", q->ip);
	json_decref(errs);
	buf_init(&regions, 256);
	(void)web_form_regions(q->form, &mask);
	if (region_format(mask, &regions) == 0 &&
	    web_admin(q, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "op",
	    "web.subscribe", "email", web_field(q, "email"), "name", web_field(q, "name"),
	    "lang", lang, "regions", buf_str(&regions), "ip", ip, "consent_version",
	    web_field(q, "consent_version"), "consent_text", buf_str(&text), "consent_lang",
	    shown), &reply) == 0)
		/* the same page whatever the reply says */
		web_message(q, MHD_HTTP_OK, lang, "check_mail");
	json_decref(reply);
	buf_free(&regions);
out:
	buf_free(&text);
}

struct pending {
	buf_t	 email;
	char	 lang[3];
	int64_t	 expires;
	int	 confirmed;
};

static int
pending_row(sqlite3_stmt *st, void *arg)
{
	struct pending *p = arg;

	web_reader(st, &p->email, p->lang);
	p->expires = sqlite3_column_int64(st, 2);
	p->confirmed = sqlite3_column_int(st, 3);
	return 1;
}

/* confirmed - the confirmed page, with the subscriber's preferences link */
static void
confirmed(web_req_t *q, const struct pending *p)
{
	web_t *w = q->w;
	sqlite3_stmt *st = store_cached(w->store, sub_id_sql);
	json_t *d = web_common(w, p->lang);
	int64_t sid = 0;
	buf_t link;

	buf_init(&link, 2048);
	if (st) {
		sqlite3_bind_text(st, 1, buf_str(&p->email), -1, SQLITE_STATIC);
		(void)store_int(w->store, st, &sid);
	}
	if (sid > 0) {
		buf_t tok;

		buf_init(&tok, 128);
		if (token_make(w->key, TOKEN_UNSUBSCRIBE, sid, &tok) == 0) {
			web_prefs_link(w, buf_str(&tok), &link);
			json_object_set_new(d, "prefs", json_string(buf_str(&link)));
		}
		buf_free(&tok);
	}
	json_object_set_new(d, "email", json_string(buf_str(&p->email)));
	json_object_set_new(d, "say", json_pack("{s:b}", "confirmed", 1));
	web_page(q, MHD_HTTP_OK, "page-message.html", p->lang, d);
	buf_free(&link);
}

void
web_confirm(web_req_t *q, const char *token)
{
	web_t *w = q->w;
	int64_t id = web_token(w, TOKEN_CONFIRM, token);
	struct pending p = { .lang = "fi" };
	json_t *d, *reply = NULL;
	sqlite3_stmt *st;
	const char *result;
	char scope[128], csrf[64];
	int got;
	buf_t link;

	buf_init(&p.email, 1024);
	buf_init(&link, 2048);
	if (id < 0) {
		web_message(q, MHD_HTTP_NOT_FOUND, web_lang(q), "bad_link");
		goto out;
	}
	if ((st = store_cached(w->store, conf_sql)) == NULL) {
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, web_lang(q), "busy");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((got = store_rows(w->store, st, pending_row, &p)) <= 0) {
		/* gone: expired and dropped (a forged one never gets here) */
		web_message(q, got < 0 ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_GONE,
		    web_lang(q), got < 0 ? "busy" : "expired");
		goto out;
	}
	if (p.confirmed) {
		confirmed(q, &p);
		goto out;
	}
	if (p.expires < clock_now()) {
		web_message(q, MHD_HTTP_GONE, p.lang, "expired");
		goto out;
	}
	snprintf(scope, sizeof scope, "/c/%.100s", token);
	if (!q->post) {
		d = web_common(w, p.lang);
		web_link(w, "/c/", token, &link);
		web_csrf(w, scope, clock_now() / 3600, csrf);
		json_object_set_new(d, "action", json_string(buf_str(&link)));
		json_object_set_new(d, "csrf", json_string(csrf));
		json_object_set_new(d, "email", json_string(buf_str(&p.email)));
		web_page(q, MHD_HTTP_OK, "page-confirm.html", p.lang, d);
		goto out;
	}
	if (web_post_allowed(q, p.lang) < 0)
		goto out;
	if (!web_csrf_ok(q, scope)) {
		web_message(q, MHD_HTTP_FORBIDDEN, p.lang, "bad_link");
		goto out;
	}
	if (web_admin(q, json_pack("{s:s, s:I}", "op", "web.confirm", "id", (json_int_t)id),
	    &reply) < 0)
		goto out;
	result = json_string_value(json_object_get(reply, "result"));
	if (result && (strcmp(result, "confirmed") == 0 || strcmp(result, "already") == 0))
		confirmed(q, &p);
	else
		web_message(q, MHD_HTTP_GONE, p.lang, "expired");
out:
	json_decref(reply);
	buf_free(&p.email);
	buf_free(&link);
}
