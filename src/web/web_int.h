/*
 * web_int - what web.c shares with the page groups (web_unsub.c,
 * web_subscribe.c, web_prefs.c, web_archive.c); not for other modules.
 *
 * A page handler gets the request (method, the path after the base,
 * the form of a POST already parsed into req->form: a JSON object of
 * strings, "regions" an array) and fills the response: status, body,
 * content type.  web.c adds the security headers, sends it, and logs one
 * line without the path's token.  Every handler runs on MHD's one thread.
 * Forms: web_form_* judge values (also the fuzz target's entry); a value
 * refused gets the form back with the reason, never a partial write.
 */
#ifndef TIEDOTE_WEB_INT_H
#define TIEDOTE_WEB_INT_H

#include <netinet/in.h>
#include <stdint.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "buf.h"
#include "conf.h"
#include "message.h"
#include "render.h"
#include "store.h"
#include "token.h"
#include "web.h"

typedef struct client client_t;

/* an IPv6 text form (45) and "/64" with its NUL */
#define RATE_KEY_MAX	(INET6_ADDRSTRLEN + 4)

struct rate_slot {
	char	 ip[RATE_KEY_MAX];	/* rate_key(): an address, or an IPv6 /64 */
	int64_t	 hour;		/* clock_now() / 3600 of the count */
	long	 count;
};

struct web {
	const conf_t *conf;
	struct MHD_Daemon *mhd;
	store_t	*store;			/* query-only */
	render_t *render;
	message_ctx_t *msg;		/* the archive's web view */
	unsigned char key[TOKEN_KEYBYTES];
	client_t *client;		/* to the control socket */
	char	*base_path;		/* base_url's path: "" or "/x" */
	char	**proxies;		/* trusted, NULL-terminated */
	struct rate_slot *rate;		/* WEB_RATE_SLOTS, in buckets of WEB_RATE_WAYS */
	unsigned char rate_key[crypto_shorthash_KEYBYTES];	/* random, per process */
};

typedef struct web_req {
	web_t	*w;
	int	 post;
	const char *path;		/* after base_path, from "/" */
	const char *query_lang;		/* ?lang=, or NULL */
	const char *accept_lang;	/* Accept-Language, or NULL */
	const char *fetch_site;		/* Sec-Fetch-Site, or NULL */
	const char *ip;			/* the client (X-Forwarded-For judged) */
	json_t	*form;			/* a POST's fields; never NULL for a POST */
	/* the response */
	unsigned status;
	const char *type;		/* Content-Type */
	const char *csp;		/* NULL: the pages' default */
	int	 cache;			/* may be cached (the archive) */
	int	 vary_lang;		/* cached, its language from Accept-Language */
	buf_t	 body;
} web_req_t;

/* web.c */
/* web_page - render template name in lang with data (stolen) into the
 * response; status as given; 500 when rendering fails */
void	 web_page(web_req_t *, unsigned status, const char *name, const char *lang,
	    json_t *data);
/* web_message - page-message.html saying `say` (bad_link, expired, ...) */
void	 web_message(web_req_t *, unsigned status, const char *lang, const char *say);
/* web_lang - ?lang=, else the first of Accept-Language we have, else fi */
const char *web_lang(const web_req_t *);
/* web_admin - send req (stolen) to the worker: 0 with *reply (new), or
 * -1 after answering 503 (nothing changed, or not known: the page says
 * try again); an error reply is answered 400 with a bad-link page */
int	 web_admin(web_req_t *, json_t *req, json_t **reply);
/* web_post_allowed - count one POST of the client; 0, or -1 after
 * answering 429 */
int	 web_post_allowed(web_req_t *, const char *lang);
/* web_csrf - the form's anti-forgery value for scope (a path) and hour
 * into out; web_csrf_ok - whether the form's "csrf" is one of the last
 * WEB_CSRF_HOURS hours' for scope, and the browser does not say the form
 * came from another site (Sec-Fetch-Site cross-site or same-site) */
void	 web_csrf(web_t *, const char *scope, int64_t hour, char out[64]);
int	 web_csrf_ok(web_req_t *, const char *scope);
/* web_field - the form's string field, or "" */
const char *web_field(const web_req_t *, const char *name);
/* web_link - base_url + path (+ token) into out */
void	 web_link(web_t *, const char *path, const char *token, buf_t *out);
/* web_prefs_link - base_url/u/TOKEN/preferences into out */
void	 web_prefs_link(web_t *, const char *token, buf_t *out);
/* web_token - the token after a path's prefix ("/u/"): its subject, or -1
 * (forged, other purpose, malformed) */
int64_t	 web_token(web_t *, enum token_purpose, const char *token);
/* web_reader - a row's reader: column 0 the address (appended to email),
 * column 1 the language (fi when not one of ours) */
void	 web_reader(sqlite3_stmt *, buf_t *email, char lang[3]);
/* web_common - the data every page has: lang, programme, base (stolen by
 * web_page) */
json_t	*web_common(web_t *, const char *lang);
/* web_choices - langs and regions of a form, selected as given */
void	 web_choices(json_t *data, const char *lang, unsigned regions);

/* the form's values (web_form.c) */
/* web_form_regions - the "regions" checkboxes: a mask, "all" or none
 * meaning all; -1 on a name that is not a region */
int	 web_form_regions(const json_t *form, unsigned *mask);
/* web_form_lang - fi, sv or en, else NULL */
const char *web_form_lang(const char *);
/* web_form_date - "YYYY-MM-DD" (a real day) as the start of that day in
 * the configured zone: 0 with *t, 1 for "", -1 otherwise */
int	 web_form_date(const char *, int64_t *t);
/* web_form_err - append the reason what (email, name, lang, regions,
 * csrf, consent, pause) to errs as {"err_WHAT": true}: the template
 * page-errors.html says it in the page's language */
void	 web_form_err(json_t *errs, const char *what);
/* web_form_errors - errs (stolen; NULL: none) into a page's data as
 * "errors", and "has_errors" for the block around them */
void	 web_form_errors(json_t *data, json_t *errs);
/* web_form_subscribe - the subscribe form judged: 0, or -1 with every
 * reason (web_form_err) appended to errs (a JSON array) */
int	 web_form_subscribe(const json_t *form, json_t *errs);

/* the page groups */
void	 web_unsubscribe(web_req_t *, int contact, const char *token);
void	 web_subscribe(web_req_t *);
void	 web_confirm(web_req_t *, const char *token);
void	 web_prefs(web_req_t *, const char *token);
void	 web_issues(web_req_t *, const char *rest);

#endif
