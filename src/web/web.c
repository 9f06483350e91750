/*
 * web - the HTTP daemon, routing, limits and the security headers of the
 * subscriber pages; contract in web.h, pages in docs/web.md.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "client.h"
#include "clock.h"
#include "log.h"
#include "region.h"
#include "util.h"
#include "web_int.h"

#define PAGE_MAX	((size_t)4 << 20)	/* a response body */
#define FORM_KEYS_MAX	32			/* fields in one form */

/* no script, no frame, nothing from elsewhere: the one stylesheet */
static const char csp_pages[] = "default-src 'none'; style-src 'self'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/* --- configuration -------------------------------------------------------- */

/* parse_listen - "ADDR:PORT" or "[ADDR6]:PORT", numeric only */
static int
parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *len, buf_t *err)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	    .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char host[64];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	int rc;

	if (colon == NULL || colon[1] == '\0')
		goto bad;
	hl = (size_t)(colon - s);
	if (*s == '[') {
		if (hl < 2 || s[hl - 1] != ']')
			goto bad;
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof host)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0)
		goto bad;
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	buf_notef(err, "web.listen: \"%.100s\" is not ADDRESS:PORT with a numeric address"
	    " (127.0.0.1:8080, [::1]:8080)", s);
	return -1;
}

/* proxy_list - web.trusted_proxies as a NULL-terminated array of numeric
 * addresses in canonical form (so "::0001" matches "::1") */
static char **
proxy_list(const char *s, buf_t *err)
{
	char **v = xcalloc(strlen(s) / 2 + 2, sizeof *v), *copy = xstrdup(s), *tok, *save;
	size_t n = 0;

	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		unsigned char bin[16];
		char canon[INET6_ADDRSTRLEN];
		int fam = strchr(tok, ':') ? AF_INET6 : AF_INET;

		if (inet_pton(fam, tok, bin) != 1 || inet_ntop(fam, bin, canon, sizeof canon) == NULL) {
			buf_notef(err, "web.trusted_proxies: \"%.100s\" is not an IP address", tok);
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			free(copy);
			return NULL;
		}
		v[n++] = xstrdup(canon);
	}
	free(copy);
	return v;
}

static void
proxy_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int
web_conf_check(const conf_t *c, buf_t *err)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char **p;

	if (*c->web_listen && parse_listen(c->web_listen, &sa, &len, err) < 0)
		return -1;
	if ((p = proxy_list(c->web_trusted_proxies, err)) == NULL)
		return -1;
	proxy_free(p);
	return 0;
}

/* --- helpers for the pages ------------------------------------------------- */

json_t *
web_common(web_t *w, const char *lang)
{
	buf_t b;
	json_t *d;

	buf_init(&b, 4096);
	buf_note(&b, w->conf->base_url);
	d = json_pack("{s:s, s:s, s:s}", "lang", lang, "programme", message_programme(lang),
	    "base", buf_str(&b));
	buf_free(&b);
	return d;
}

void
web_choices(json_t *data, const char *lang, unsigned regions)
{
	static const char *const langs[][2] = { { "fi", "suomi" }, { "sv", "svenska" },
	    { "en", "English" } };
	json_t *l = json_array(), *r = json_array();

	for (size_t i = 0; i < NELEM(langs); i++)
		json_array_append_new(l, json_pack("{s:s, s:s, s:b}", "code", langs[i][0],
		    "name", langs[i][1], "selected", strcmp(lang, langs[i][0]) == 0));
	for (int i = 0; i < 5; i++)
		json_array_append_new(r, json_pack("{s:s, s:b}", "name", region_name(i),
		    "checked", regions != REGION_ALL && (regions & (1u << i))));
	json_object_set_new(data, "langs", l);
	json_object_set_new(data, "regions", r);
	json_object_set_new(data, "all", json_boolean(regions == REGION_ALL));
}

void
web_page(web_req_t *q, unsigned status, const char *name, const char *lang, json_t *data)
{
	buf_t err;

	buf_init(&err, 4096);
	buf_reset(&q->body);
	q->status = status;
	q->type = "text/html; charset=utf-8";
	if (render_page(message_render(q->w->msg), name, lang, data, &q->body, &err) < 0) {
		log_error("web: %s: %s", name, buf_str(&err));
		buf_reset(&q->body);
		buf_note(&q->body, "<!DOCTYPE html><title>500</title><p>Internal error.</p>");
		q->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	json_decref(data);
	buf_free(&err);
}

void
web_message(web_req_t *q, unsigned status, const char *lang, const char *say)
{
	json_t *d = web_common(q->w, lang);

	json_object_set_new(d, "say", json_pack("{s:b}", say, 1));
	web_page(q, status, "page-message.html", lang, d);
}

/* qvalue - an Accept-Language weight (RFC 9110 12.4.2: "0" to "1", three
 * decimals at most), by hand: strtod() follows the locale's decimal point */
static double
qvalue(const char *p)
{
	double v = 0, f = 0.1;

	if (*p == '1')
		return 1;
	if (*p++ != '0')
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, f /= 10)
			v += (*p - '0') * f;
	return v;
}

const char *
web_lang(const web_req_t *q)
{
	const char *a = q->accept_lang, *l, *best = NULL;
	double best_w = 0;

	if (q->query_lang && (l = web_form_lang(q->query_lang)) != NULL)
		return l;
	/* RFC 9110 12.5.4: of ours, the one of the highest weight, the first
	 * named of equal ones; q=0 is "not this one"; "fi-FI" is fi, "fil"
	 * is not */
	while (a && *a) {
		const char *end, *semi;
		double w = 1;

		a += strspn(a, " \t,");
		end = a + strcspn(a, ",");
		if ((semi = memchr(a, ';', (size_t)(end - a))) != NULL) {
			semi += 1 + strspn(semi + 1, " \t");
			w = (semi[0] == 'q' || semi[0] == 'Q') && semi[1] == '=' ? qvalue(semi + 2) : 0;
		}
		if (strcspn(a, "-; \t,") == 2) {
			char two[3] = { (char)(a[0] | 0x20), (char)(a[1] | 0x20), 0 };

			if ((l = web_form_lang(two)) != NULL && w > best_w) {
				best = l;
				best_w = w;
			}
		}
		a = end;
	}
	return best ? best : "fi";
}

const char *
web_field(const web_req_t *q, const char *name)
{
	const char *v = json_string_value(json_object_get(q->form, name));

	return v ? v : "";
}

void
web_reader(sqlite3_stmt *st, buf_t *email, char lang[3])
{
	const char *l = web_form_lang((const char *)sqlite3_column_text(st, 1));

	buf_note(email, (const char *)sqlite3_column_text(st, 0));
	memcpy(lang, l ? l : "fi", 3);
}

void
web_link(web_t *w, const char *path, const char *token, buf_t *out)
{
	buf_notef(out, "%s%s%s", w->conf->base_url, path, token ? token : "");
}

void
web_prefs_link(web_t *w, const char *token, buf_t *out)
{
	buf_notef(out, "%s/u/%s/preferences", w->conf->base_url, token);
}

int64_t
web_token(web_t *w, enum token_purpose p, const char *token)
{
	int64_t id;

	if (strlen(token) > 64 || strchr(token, '/') ||
	    token_check(w->key, p, token, &id) < 0 || id < 0)
		return -1;
	return id;
}

int
web_admin(web_req_t *q, json_t *req, json_t **reply)
{
	char *text = json_dumps(req, JSON_COMPACT);
	buf_t got;
	int rc = -1;

	buf_init(&got, (size_t)1 << 20);
	json_decref(req);
	*reply = NULL;
	if (text == NULL || client_request(q->w->client, text, strlen(text), &got) < 0 ||
	    (*reply = json_loads(buf_str(&got), 0, NULL)) == NULL) {
		/* the request may be in the worker's queue yet, to be committed
		 * later: the page cannot say that nothing was changed */
		log_warn("web: the worker did not answer within %d ms", WEB_WORKER_WAIT_MS);
		web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, web_lang(q), "late");
		goto out;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		const char *code = json_string_value(json_object_get(*reply, "error"));

		log_warn("web: the worker refused: %s", code ? code : "?");
		if (code && strcmp(code, "unavailable") == 0)
			web_message(q, MHD_HTTP_SERVICE_UNAVAILABLE, web_lang(q), "busy");
		else
			web_message(q, MHD_HTTP_BAD_REQUEST, web_lang(q), "bad_link");
		json_decref(*reply);
		*reply = NULL;
		goto out;
	}
	rc = 0;
out:
	free(text);
	buf_free(&got);
	return rc;
}

/* rate_key - the client as the POST limit counts it: an IPv4 address
 * whole, an IPv6 one by its /64 (one host's share; it can use any
 * address in it) */
static void
rate_key(const char *ip, char out[RATE_KEY_MAX])
{
	char prefix[INET6_ADDRSTRLEN];
	unsigned char a[16];

	snprintf(out, RATE_KEY_MAX, "%s", ip);
	if (strchr(ip, ':') == NULL || inet_pton(AF_INET6, ip, a) != 1 ||
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a))
		return;
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, prefix, sizeof prefix) != NULL)
		snprintf(out, RATE_KEY_MAX, "%s/64", prefix);
}

int
web_post_allowed(web_req_t *q, const char *lang)
{
	web_t *w = q->w;
	int64_t hour = clock_now() / 3600;
	unsigned char h[crypto_shorthash_BYTES];
	struct rate_slot *b, *s = NULL;
	char key[RATE_KEY_MAX];
	uint64_t at;

	rate_key(q->ip, key);
	crypto_shorthash(h, (const unsigned char *)key, strlen(key), w->rate_key);
	memcpy(&at, h, sizeof at);
	b = &w->rate[at % (WEB_RATE_SLOTS / WEB_RATE_WAYS) * WEB_RATE_WAYS];
	/* its own slot; else one unused this hour; else the bucket's
	 * smallest count goes (web.h BUGS): forgetting a client that POSTed
	 * least lets the fewest POSTs through again */
	for (int i = 0; i < WEB_RATE_WAYS && s == NULL; i++)
		if (b[i].hour == hour && strcmp(b[i].ip, key) == 0)
			s = &b[i];
	for (int i = 0; i < WEB_RATE_WAYS && s == NULL; i++)
		if (b[i].hour != hour)
			s = &b[i];
	if (s == NULL) {
		s = &b[0];
		for (int i = 1; i < WEB_RATE_WAYS; i++)
			if (b[i].count < s->count)
				s = &b[i];
	}
	if (s->hour != hour || strcmp(s->ip, key) != 0) {
		snprintf(s->ip, sizeof s->ip, "%s", key);
		s->hour = hour;
		s->count = 0;
	}
	if (++s->count <= w->conf->web_posts_per_ip_hour)
		return 0;
	log_warn("web: %s: over web.posts_per_ip_hour (%ld)", key, w->conf->web_posts_per_ip_hour);
	web_message(q, MHD_HTTP_TOO_MANY_REQUESTS, lang, "too_many");
	return -1;
}

void
web_csrf(web_t *w, const char *scope, int64_t hour, char out[64])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char msg[128];
	int n = snprintf(msg, sizeof msg, "csrf\n%lld\n%.100s", (long long)hour, scope);

	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (size_t)n, w->key);
	sodium_bin2base64(out, 64, mac, 24, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
web_csrf_ok(web_req_t *q, const char *scope)
{
	const char *got = web_field(q, "csrf");
	int64_t hour = clock_now() / 3600;
	char want[64];

	/* the value is the same for every client (a page anyone can fetch),
	 * so another site could put a fresh one in a form its visitors'
	 * browsers post here (a subscription flood from many addresses): a
	 * browser that says the form came from another site is refused.
	 * Origin cannot tell: under Referrer-Policy no-referrer a browser
	 * sends "Origin: null" for our own forms too */
	if (q->fetch_site && (strcasecmp(q->fetch_site, "cross-site") == 0 ||
	    strcasecmp(q->fetch_site, "same-site") == 0))
		return 0;

	for (int i = 0; i < WEB_CSRF_HOURS; i++) {
		web_csrf(q->w, scope, hour - i, want);
		if (strlen(got) == strlen(want) && sodium_memcmp(got, want, strlen(want)) == 0)
			return 1;
	}
	return 0;
}

/* --- the daemon ------------------------------------------------------------ */

struct conn {
	web_req_t q;
	buf_t	 raw;		/* the request body */
	int	 over;		/* the body is over WEB_BODY_MAX */
	size_t	 dropped;	/* bytes of it read past that */
	int	 bad_form;	/* a field too long, too many, not UTF-8 */
	char	 ip[INET6_ADDRSTRLEN];
};

/* xff_line - MHD_get_connection_values()' callback: every
 * X-Forwarded-For line, in order, joined by commas (RFC 9110 5.3), so
 * that a forged first line cannot hide the one the proxy appended */
struct xff {
	buf_t	 lines;
	int	 over;	/* too long: no address is taken from them */
};

static enum MHD_Result
xff_line(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct xff *x = cls;

	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") == 0 && value &&
	    ((x->lines.len && buf_addc(&x->lines, ',') < 0) ||
	    buf_adds(&x->lines, value) < 0))
		x->over = 1;
	return MHD_YES;
}

/* client_ip - the peer, or for a trusted proxy the last address in
 * X-Forwarded-For that is not itself a trusted proxy */
static void
client_ip(web_t *w, struct MHD_Connection *c, char *out)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char copy[1024], *tok, *save;
	struct xff xff = { .over = 0 };

	strcpy(out, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
		    INET6_ADDRSTRLEN);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		    INET6_ADDRSTRLEN);
	for (;;) {
		int trusted = 0;

		for (size_t i = 0; w->proxies[i]; i++)
			trusted |= strcmp(w->proxies[i], out) == 0;
		if (!trusted)
			return;
		/* the right-most entry is the one the trusted proxy added */
		buf_init(&xff.lines, sizeof copy - 1);
		MHD_get_connection_values(c, MHD_HEADER_KIND, xff_line, &xff);
		snprintf(copy, sizeof copy, "%s", xff.over ? "" : buf_str(&xff.lines));
		buf_free(&xff.lines);
		for (char *p = copy + strlen(copy); ; ) {
			unsigned char bin[16];

			while (p > copy && (p[-1] == ' ' || p[-1] == ','))
				*--p = '\0';
			tok = p;
			while (tok > copy && tok[-1] != ',' && tok[-1] != ' ')
				tok--;
			if (*tok == '\0')
				return;
			if (inet_pton(strchr(tok, ':') ? AF_INET6 : AF_INET, tok, bin) != 1)
				return;	/* not an address: keep the proxy's */
			inet_ntop(strchr(tok, ':') ? AF_INET6 : AF_INET, bin, out, INET6_ADDRSTRLEN);
			save = tok;
			trusted = 0;
			for (size_t i = 0; w->proxies[i]; i++)
				trusted |= strcmp(w->proxies[i], out) == 0;
			if (!trusted)
				return;
			*save = '\0';
			p = save;
		}
	}
}

/* field - MHD's post processor hands the form's fields here in pieces */
static enum MHD_Result
field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
    const char *ctype, const char *enc, const char *data, uint64_t off, size_t size)
{
	struct conn *c = cls;
	json_t *form = c->q.form, *cur = json_object_get(form, key), *v;
	int many = strcmp(key, "regions") == 0;
	buf_t b;

	(void)kind, (void)filename, (void)ctype, (void)enc;
	if (off == 0 && !many && cur == NULL && json_object_size(form) >= FORM_KEYS_MAX)
		goto bad;
	buf_init(&b, WEB_FIELD_MAX);
	if (many) {
		if (cur == NULL)
			json_object_set_new(form, key, cur = json_array());
		if (off == 0 && json_array_size(cur) >= 16) {
			buf_free(&b);
			goto bad;
		}
		if (off > 0 && json_array_size(cur) > 0)
			buf_note(&b, json_string_value(json_array_get(cur, json_array_size(cur) - 1)));
	} else if (off > 0 && cur)
		buf_note(&b, json_string_value(cur));
	if (buf_add(&b, data, size) < 0 || memchr(b.data, '\0', b.len) ||
	    (v = json_stringn(b.data, b.len)) == NULL) {
		buf_free(&b);
		goto bad;
	}
	buf_free(&b);
	if (many) {
		if (off > 0 && json_array_size(cur) > 0)
			json_array_set_new(cur, json_array_size(cur) - 1, v);
		else
			json_array_append_new(cur, v);
	} else
		json_object_set_new(form, key, v);
	return MHD_YES;
bad:
	c->bad_form = 1;
	return MHD_NO;
}

/* route - the page for q->path */
static void
route(web_req_t *q)
{
	const char *p = q->path;

	if (strncmp(p, "/u/", 3) == 0 && strchr(p + 3, '/') == NULL)
		web_unsubscribe(q, 0, p + 3);
	else if (strncmp(p, "/p/", 3) == 0)
		web_unsubscribe(q, 1, p + 3);
	else if (strncmp(p, "/c/", 3) == 0)
		web_confirm(q, p + 3);
	else if (strncmp(p, "/u/", 3) == 0 && strlen(p) > 15 &&
	    strcmp(p + strlen(p) - 12, "/preferences") == 0) {
		char token[80];

		snprintf(token, sizeof token, "%.*s", (int)(strlen(p) - 15), p + 3);
		web_prefs(q, token);
	}
	else if (strcmp(p, "/subscribe") == 0 || strcmp(p, "/") == 0)
		web_subscribe(q);
	else if (strncmp(p, "/issues/", 8) == 0 && !q->post)
		web_issues(q, p + 8);
	else if (strcmp(p, "/static/page.css") == 0 && !q->post) {
		web_page(q, MHD_HTTP_OK, "page.css", "fi", NULL);
		q->type = "text/css; charset=utf-8";
		q->cache = 1;
	} else
		web_message(q, MHD_HTTP_NOT_FOUND, web_lang(q), "not_found");
}

/* logged_path - the path with any token cut off: tokens never reach a log */
static void
logged_path(const char *path, char *out, size_t size)
{
	const char *second = strchr(path + 1, '/');

	if (strncmp(path, "/issues/", 8) == 0 || second == NULL)
		snprintf(out, size, "%.200s", path);
	else
		snprintf(out, size, "%.*s/…", (int)(second - path), path);
}

static enum MHD_Result
respond(struct MHD_Connection *mc, struct conn *c)
{
	web_req_t *q = &c->q;
	struct MHD_Response *r;
	enum MHD_Result rc;
	char shown[256];

	r = MHD_create_response_from_buffer(q->body.len, q->body.data, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, q->type ? q->type :
	    "text/html; charset=utf-8");
	MHD_add_response_header(r, "Content-Security-Policy", q->csp ? q->csp : csp_pages);
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	/* only a page that was made may be kept: a 500 from a render that
	 * failed after the page asked to be cached must not be served for
	 * five minutes by every cache on the way */
	if (q->status != MHD_HTTP_OK)
		q->cache = 0;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, q->cache ?
	    "public, max-age=300" : "no-store");
	if (q->cache && q->vary_lang)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
	if (q->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	rc = MHD_queue_response(mc, q->status, r);
	MHD_destroy_response(r);
	logged_path(q->path ? q->path : "?", shown, sizeof shown);
	log_msg(q->status >= 500 ? LOG_WARNING : LOG_INFO, "web: %s %s %s %u", c->ip,
	    q->post ? "POST" : "GET", shown, q->status);
	return rc;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	web_t *w = cls;
	struct conn *c = *con_cls;
	const char *len;

	(void)version;
	if (c == NULL) {
		clock_refresh();	/* the test clock's changes, as the loop sees them */
		c = xcalloc(1, sizeof *c);
		c->q.w = w;
		buf_init(&c->q.body, PAGE_MAX);
		buf_init(&c->raw, WEB_BODY_MAX);
		client_ip(w, mc, c->ip);
		c->q.ip = c->ip;
		c->q.post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
		c->q.status = MHD_HTTP_OK;
		*con_cls = c;
		/* pages live under base_url's path */
		if (strncmp(url, w->base_path, strlen(w->base_path)) == 0 &&
		    url[strlen(w->base_path)] == '/')
			c->q.path = url + strlen(w->base_path);
		c->q.query_lang = MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "lang");
		c->q.accept_lang = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
		c->q.fetch_site = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
		    "Sec-Fetch-Site");
		if (!c->q.post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			web_message(&c->q, MHD_HTTP_METHOD_NOT_ALLOWED, web_lang(&c->q), "not_found");
			return respond(mc, c);
		}
		len = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (len && strtoull(len, NULL, 10) > WEB_BODY_MAX) {
			c->q.path = c->q.path ? c->q.path : url;
			web_message(&c->q, MHD_HTTP_CONTENT_TOO_LARGE, web_lang(&c->q), "bad_link");
			return respond(mc, c);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* a body over WEB_BODY_MAX without a Content-Length (chunked)
		 * is read to its end and dropped, and answered 413 then: a
		 * response queued mid-body has MHD close with the body unread,
		 * and the client's TCP stack, reset, loses the answer with it.
		 * Past WEB_DISCARD_MAX the answer goes at once, for what it is
		 * worth, and the connection closes */
		if (!c->over && buf_add(&c->raw, upload, *upload_size) < 0)
			c->over = 1;
		if (c->over)
			c->dropped += *upload_size;
		*upload_size = 0;
		if (c->dropped <= WEB_DISCARD_MAX)
			return MHD_YES;
	}
	if (c->over) {
		c->q.path = c->q.path ? c->q.path : url;
		web_message(&c->q, MHD_HTTP_CONTENT_TOO_LARGE, web_lang(&c->q), "bad_link");
		return respond(mc, c);
	}
	if (c->q.path == NULL) {
		c->q.path = url;
		web_message(&c->q, MHD_HTTP_NOT_FOUND, web_lang(&c->q), "not_found");
		return respond(mc, c);
	}
	if (c->q.post) {
		struct MHD_PostProcessor *pp;

		c->q.form = json_object();
		if (c->raw.len) {
			/* urlencoded or multipart, as MHD understands them; no
			 * Content-Type it knows leaves the form empty */
			if ((pp = MHD_create_post_processor(mc, 4096, field, c)) != NULL) {
				if (MHD_post_process(pp, c->raw.data, c->raw.len) != MHD_YES)
					c->bad_form = 1;
				MHD_destroy_post_processor(pp);
			}
		}
		if (c->bad_form) {
			web_message(&c->q, MHD_HTTP_BAD_REQUEST, web_lang(&c->q), "bad_link");
			return respond(mc, c);
		}
	}
	route(&c->q);
	return respond(mc, c);
}

static void
completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *c = *con_cls;

	(void)cls, (void)mc, (void)toe;
	if (c == NULL)
		return;
	json_decref(c->q.form);
	buf_free(&c->q.body);
	buf_free(&c->raw);
	free(c);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	log_vmsg(LOG_NOTICE, fmt, ap);
}

web_t *
web_start(const conf_t *conf, const char *control_endpoint, buf_t *err)
{
	web_t *w = xcalloc(1, sizeof *w);
	struct sockaddr_storage sa;
	socklen_t salen;
	const char *p;

	w->conf = conf;
	if (parse_listen(conf->web_listen, &sa, &salen, err) < 0 ||
	    (w->proxies = proxy_list(conf->web_trusted_proxies, err)) == NULL)
		goto fail;
	/* https://host/x -> "/x" */
	p = strstr(conf->base_url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	w->base_path = xstrdup(p ? p : "");
	if (store_open(conf, &w->store, err) < 0 || store_query_only(w->store) < 0 ||
	    (w->msg = message_open(conf, w->store, err)) == NULL ||
	    token_key(w->store, w->key, err) < 0)
		goto fail;
	w->rate = xcalloc(WEB_RATE_SLOTS, sizeof *w->rate);
	randombytes_buf(w->rate_key, sizeof w->rate_key);
	/* one try: a page's write is not resent behind the reader's back */
	w->client = client_new(control_endpoint, WEB_WORKER_WAIT_MS, WEB_WORKER_WAIT_MS);
	w->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG | (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, handler, w,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, w,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)conf->web_max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)conf->web_per_ip_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->web_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_MEMORY_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, w,
	    MHD_OPTION_END);
	if (w->mhd == NULL) {
		buf_notef(err, "web.listen %s: cannot listen (in use, or not an address of this"
		    " machine)", conf->web_listen);
		goto fail;
	}
	log_info("web: listening on %s, pages under %s", conf->web_listen, conf->base_url);
	return w;
fail:
	web_stop(w);
	return NULL;
}

void
web_stop(web_t *w)
{
	if (w == NULL)
		return;
	if (w->mhd)
		MHD_stop_daemon(w->mhd);
	if (w->client)
		client_free(w->client);
	message_close(w->msg);
	store_close(w->store);
	proxy_free(w->proxies);
	free(w->base_path);
	free(w->rate);
	sodium_memzero(w->key, sizeof w->key);
	free(w);
}
