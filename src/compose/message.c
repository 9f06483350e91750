/*
 * message - assemble one recipient's message; contract in message.h.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "bcache.h"
#include "datefmt.h"
#include "event.h"
#include "ical.h"
#include "log.h"
#include "message.h"
#include "mime.h"
#include "region.h"
#include "render.h"
#include "token.h"
#include "util.h"

#define MESSAGE_MAX ((size_t)8 << 20)
#define LINK_MAX	4096	/* a link or address built from the configuration */

/* FITS - an append message_conf_check()'s limits make fit: the links and
 * addresses here are built from values it bounded, and crossing a
 * ceiling can only be a bug */
#define FITS(x) do {							\
	if ((x) < 0)							\
		fatal("message: %s crossed its ceiling", #x);		\
} while (0)
#define CAL_SLOTS 96	/* 3 languages x 31 region sets */
#define CAL_ITEMS 256

struct message_ctx {
	const conf_t *conf;
	render_t *render;
	unsigned render_epoch;	/* render_current()'s, of the set in use */
	unsigned char key[TOKEN_KEYBYTES];
	char	*list_id;	/* "Ajankohtaistiedote <list.id>" */
	message_parts_t scratch;
	/* the bulletin's calendar file depends only on (issue, language,
	 * regions): built once for each */
	struct calendar {
		char	 key[64];
		buf_t	 ics;
	} cal[CAL_SLOTS];
	int	 ncal;
	bcache_t *bcache;	/* bulletins rendered once per language and regions */
};

static const char *const programme[][2] = {
	{ "fi", "Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma" },
	{ "sv", "Programmet Framtidens social- och hälsocentral" },
	{ "en", "Health and Social Services Centres of the Future programme" },
};

void
message_parts_init(message_parts_t *p)
{
	buf_init(&p->subject, 4096);
	buf_init(&p->text, MESSAGE_MAX);
	buf_init(&p->html, MESSAGE_MAX);
}

void
message_parts_reset(message_parts_t *p)
{
	buf_reset(&p->subject);
	buf_reset(&p->text);
	buf_reset(&p->html);
}

void
message_parts_free(message_parts_t *p)
{
	buf_free(&p->subject);
	buf_free(&p->text);
	buf_free(&p->html);
}

const char *
message_templates(const conf_t *c)
{
	struct stat st;

	/* only the default falls back: a directory given is the one used */
	if (strcmp(c->templates, MESSAGE_TEMPLATES_DEFAULT) == 0 &&
	    stat(c->templates, &st) < 0 && errno == ENOENT)
		return TIEDOTE_DATADIR "/templates";
	return c->templates;
}

/* message_conf_values - the message.* values message_open() builds links
 * and headers from, within the limits its appends rely on (FITS) */
static int
message_conf_values(const conf_t *c, buf_t *err)
{
	const char *addrs[][2] = {
		{ "message.from_address", c->from_address },
		{ "message.unsubscribe_address", c->unsubscribe_address },
		{ "message.reply_to", *c->reply_to ? c->reply_to : NULL },
		{ "smtp.envelope_from", *c->envelope_from ? c->envelope_from : NULL },
	};
	const char *why, *p;
	event_err_t e = { 0 };

	if (strlen(c->base_url) > MESSAGE_BASE_URL_MAX || event_url_check(c->base_url, &e) < 0 ||
	    c->base_url[strlen(c->base_url) - 1] == '/') {
		buf_notef(err, "message.base_url: \"%.100s\" is not an http(s) URL of at most %d"
		    " bytes without a final '/'%s%s", c->base_url, MESSAGE_BASE_URL_MAX,
		    e.code ? ": " : "", e.code ? e.message + strlen("url: ") : "");
		return -1;
	}
	for (p = c->list_id; *p && (isalnum((unsigned char)*p) || strchr(".-_", *p)); p++)
		;
	/* a dot-atom (RFC 5322): the Message-ID's right-hand side and the
	 * List-Id are made of it */
	if (*p || p == c->list_id || p - c->list_id > MESSAGE_LIST_ID_MAX ||
	    strchr(c->list_id, '.') == NULL || *c->list_id == '.' || p[-1] == '.' ||
	    strstr(c->list_id, "..")) {
		buf_notef(err, "message.list_id: \"%.100s\" is not a domain-like id (letters, digits,"
		    " . - _, a dot, none first, last or twice, at most %d bytes)", c->list_id,
		    MESSAGE_LIST_ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < NELEM(addrs); i++)
		if (addrs[i][1] && addr_check(addrs[i][1], &why) < 0) {
			buf_notef(err, "%s: \"%.100s\": %s", addrs[i][0], addrs[i][1], why);
			return -1;
		}
	/* the addresses that go out as local+TOKEN@domain: that form must be
	 * an address too (a local part of at most 64 octets), or every
	 * message would fail at its build, after a start that looked fine */
	for (size_t i = 0; i < 2; i++) {
		const char *a = i == 0 ? c->unsubscribe_address : c->verp && *c->envelope_from ?
		    c->envelope_from : NULL, *at = a ? strchr(a, '@') : NULL;
		char tagged[512];

		if (at == NULL)
			continue;
		snprintf(tagged, sizeof tagged, "%.*s+%0*d%s", (int)(at - a), a, TOKEN_LOCAL_CHARS,
		    0, at);
		if (addr_check(tagged, &why) < 0) {
			buf_notef(err, "%s: \"%.100s\": with its token (local+%d characters@) %s: at"
			    " most %d octets before the @", i == 0 ? "message.unsubscribe_address" :
			    "smtp.envelope_from (smtp.verp)", a, TOKEN_LOCAL_CHARS, why,
			    64 - 1 - TOKEN_LOCAL_CHARS);
			return -1;
		}
	}
	if (addr_name_check(c->from_name, &why) < 0) {
		buf_notef(err, "message.from_name: %s", why);
		return -1;
	}
	return 0;
}

int
message_conf_check(const conf_t *c, buf_t *err)
{
	const char *dir = message_templates(c);
	render_t *r;

	if (message_conf_values(c, err) < 0)
		return -1;
	if (!datefmt_zone_valid(c->time_zone)) {
		buf_notef(err, "message.time_zone: \"%.100s\" is not a zone of the tz database",
		    c->time_zone);
		return -1;
	}
	if (access(dir, R_OK | X_OK) < 0) {
		if (dir == c->templates)
			buf_notef(err, "message.templates: %s: %s; set message.templates to the"
			    " template directory", dir, strerror(errno));
		else
			buf_notef(err, "message.templates: neither %s nor the installed %s: %s;"
			    " set message.templates to the template directory", c->templates, dir,
			    strerror(errno));
		return -1;
	}
	if ((r = render_open(dir, err)) == NULL) {
		buf_note(err, " (message.templates)");
		return -1;
	}
	render_close(r);
	return 0;
}

message_ctx_t *
message_open(const conf_t *conf, store_t *store, buf_t *err)
{
	message_ctx_t *m = xcalloc(1, sizeof *m);
	buf_t id;

	m->conf = conf;
	message_parts_init(&m->scratch);
	m->bcache = bcache_new();
	/* the process's published set when there is one (render.h) */
	if (message_conf_values(conf, err) < 0 ||
	    ((m->render = render_current(&m->render_epoch)) == NULL &&
	    (m->render = render_open(message_templates(conf), err)) == NULL) ||
	    token_key(store, m->key, err) < 0)
		goto fail;
	buf_init(&id, LINK_MAX);
	FITS(buf_printf(&id, "Ajankohtaistiedote <%s>", conf->list_id));
	m->list_id = buf_take(&id);
	return m;
fail:
	message_close(m);
	return NULL;
}

void
message_close(message_ctx_t *m)
{
	if (m == NULL)
		return;
	render_close(m->render);
	message_parts_free(&m->scratch);
	for (int i = 0; i < m->ncal; i++)
		buf_free(&m->cal[i].ics);
	bcache_free(m->bcache);
	free(m->list_id);
	sodium_memzero(m->key, sizeof m->key);
	free(m);
}

/* refresh - the published template set when it is newer than the one in
 * use (render.h): what was rendered with the old one is dropped */
static void
refresh(message_ctx_t *m)
{
	render_t *r = render_current(&m->render_epoch);

	if (r == NULL)
		return;
	render_close(m->render);
	m->render = r;
	bcache_free(m->bcache);
	m->bcache = bcache_new();
}

int
message_verp(message_ctx_t *m, int64_t id, buf_t *out)
{
	const char *from = m->conf->envelope_from, *at = strchr(from, '@');

	if (!m->conf->verp || at == NULL)
		return buf_adds(out, from);
	if (buf_printf(out, "%.*s+", (int)(at - from), from) < 0 ||
	    token_make_local(m->key, TOKEN_BOUNCE, id, out) < 0)
		return -1;
	return buf_adds(out, at);
}

/* common_data - sender, recipient and links, shared by every message.
 * A bulletin's copy is rendered once per (issue, language, regions) and
 * reused (bulletin_cached()): any value here that differs between
 * recipients with that key must be one of its markers (bcache.h) or go
 * into its key, or every one of them gets the first one's */
static json_t *
common_data(message_ctx_t *m, const message_rcpt_t *r, const char *number, buf_t *unsub)
{
	const conf_t *c = m->conf;
	const char *prog = programme[0][1];
	json_t *data, *links;
	buf_t b;

	for (size_t i = 0; i < NELEM(programme); i++)
		if (strcmp(r->lang, programme[i][0]) == 0)
			prog = programme[i][1];
	FITS(buf_printf(unsub, "%s/%c/", c->base_url, r->contact ? TOKEN_CONTACT :
	    TOKEN_UNSUBSCRIBE));
	FITS(token_make(m->key, r->contact ? TOKEN_CONTACT : TOKEN_UNSUBSCRIBE, r->id, unsub));
	buf_init(&b, LINK_MAX);
	FITS(region_format(r->regions, &b));
	data = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}",
	    "lang", r->lang, "programme", prog,
	    "sender", "name", c->from_name, "address", c->from_address,
	    "recipient", "name", r->name ? r->name : "", "email", r->email,
	    "regions", buf_str(&b));
	links = json_pack("{s:s, s:s}", "unsubscribe", buf_str(unsub), "home", c->base_url);
	/* an editors' draft has no archive copy yet (its number may still be
	 * the slot's, "slot-END-ID") */
	if (number && !r->draft) {
		/* the archive copy of the issue: 2020/09 -> /issues/2020-09/fi */
		buf_reset(&b);
		FITS(buf_printf(&b, "%s/issues/%.4s-%s/%s", c->base_url, number,
		    strlen(number) > 5 ? number + 5 : "", r->lang));
		json_object_set_new(links, "browser", json_string(buf_str(&b)));
	}
	json_object_set_new(data, "links", links);
	/* a subscriber's messages carry the preferences link beside the
	 * unsubscribe link: links.unsubscribe + "/preferences" (docs/web.md) */
	if (!r->contact)
		json_object_set_new(data, "subscriber", json_true());
	buf_free(&b);
	return data;
}

/* address_hash - keyed, so a Message-ID reveals no hash of the address */
static void
address_hash(message_ctx_t *m, const char *email, char hex[21])
{
	unsigned char h[10];
	char lower[256];
	size_t n = strlen(email);

	if (n >= sizeof lower)
		n = sizeof lower - 1;
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	lower[n] = '\0';
	crypto_generichash(h, sizeof h, (const unsigned char *)lower, n, m->key, sizeof m->key);
	sodium_bin2hex(hex, 21, h, sizeof h);
}

/* message_id - stable per (issue, recipient) */
static void
message_id(message_ctx_t *m, const char *number, const char *email, buf_t *out)
{
	char hex[21];

	address_hash(m, email, hex);
	FITS(buf_printf(out, "%.4s-%s.%s@%s", number, strlen(number) > 5 ? number + 5 : "",
	    hex, m->conf->list_id));
}

/* notice_id - stable per (ref, recipient) */
static void
notice_id(message_ctx_t *m, const char *ref, const char *email, buf_t *out)
{
	char hex[21];

	address_hash(m, email, hex);
	FITS(buf_printf(out, "%.200s.%s@%s", ref, hex, m->conf->list_id));
}

/* calendar - the .ics of what this issue holds for the recipient, in
 * base64 (mime_base64): NULL
 * when it holds no deadline or event, or on error (said in err) */
static const buf_t *
calendar(message_ctx_t *m, const compose_issue_t *issue, const char *number,
    const message_rcpt_t *r, int64_t date, buf_t *err)
{
	ical_item_t items[CAL_ITEMS];
	struct calendar *c;
	char key[64];
	size_t n;

	snprintf(key, sizeof key, "%s|%s|%u", number, r->lang, r->regions);
	for (int i = 0; i < m->ncal; i++)
		if (strcmp(m->cal[i].key, key) == 0)
			return m->cal[i].ics.len ? &m->cal[i].ics : NULL;
	if (m->ncal == CAL_SLOTS) {
		for (int i = 0; i < m->ncal; i++)
			buf_free(&m->cal[i].ics);
		m->ncal = 0;
	}
	c = &m->cal[m->ncal];
	memcpy(c->key, key, sizeof key);
	buf_init(&c->ics, MESSAGE_MAX);
	n = compose_calendar(issue, r->regions, items, CAL_ITEMS);
	if (n > 0) {
		buf_t raw;
		int rc;

		/* kept encoded: each message then only copies it */
		buf_init(&raw, MESSAGE_MAX);
		rc = ical_build(items, n, r->lang, m->conf->time_zone, m->conf->list_id, date,
		    &raw, err);
		if (rc == 0 && mime_base64(raw.data, raw.len, &c->ics) < 0) {
			buf_note(err, "calendar: too large");
			rc = -1;
		}
		buf_free(&raw);
		if (rc < 0) {
			buf_free(&c->ics);
			return NULL;
		}
	}
	m->ncal++;
	return c->ics.len ? &c->ics : NULL;
}

/*
 * bulletin_cached - the recipient's parts from the cache of rendered
 * bulletins (bcache.h), rendered into it first on a miss, and the
 * unsubscribe link in unsub; 0, or 1 with unsub empty when the copy must
 * be rendered whole: a draft, values that cannot stand in for markers, a
 * template error or a ceiling hit (which the whole rendering reports)
 */
static int
bulletin_cached(message_ctx_t *m, const compose_issue_t *issue, const char *number,
    const message_rcpt_t *r, buf_t *unsub, message_parts_t *p)
{
	const char *v[BCACHE_NVALUES];
	const bcache_entry_t *e;
	bcache_key_t key = { 0 };
	message_rcpt_t mr;
	json_t *data = NULL, *bulletin = NULL;
	buf_t subject, text, html, tmp;
	int rc = 1;

	buf_init(&subject, 0);
	buf_init(&text, 0);
	buf_init(&html, MESSAGE_MAX);
	buf_init(&tmp, 4096);
	FITS(buf_printf(unsub, "%s/u/", m->conf->base_url));
	FITS(token_make(m->key, TOKEN_UNSUBSCRIBE, r->id, unsub));
	v[BCACHE_EMAIL] = r->email;
	v[BCACHE_NAME] = r->name ? r->name : "";
	v[BCACHE_UNSUBSCRIBE] = buf_str(unsub);
	if (r->draft || strlen(r->lang) >= sizeof key.lang)
		goto out;
	key.issue = compose_issue_serial(issue);
	memcpy(key.lang, r->lang, strlen(r->lang) + 1);
	key.regions = r->regions;
	for (int k = 0; k < BCACHE_NVALUES; k++) {
		if (!bcache_plain(v[k]))
			goto out;
		if (*v[k] == '\0')
			key.empty |= 1u << k;
	}
	if ((e = bcache_get(m->bcache, &key)) == NULL) {
		mr = *r;
		mr.email = *v[BCACHE_EMAIL] ? bcache_marker(m->bcache, BCACHE_EMAIL) : "";
		mr.name = *v[BCACHE_NAME] ? bcache_marker(m->bcache, BCACHE_NAME) : "";
		data = common_data(m, &mr, number, &tmp);
		json_object_set_new(json_object_get(data, "links"), "unsubscribe",
		    json_string(*v[BCACHE_UNSUBSCRIBE] ?
		    bcache_marker(m->bcache, BCACHE_UNSUBSCRIBE) : ""));
		bulletin = compose_bulletin(issue, r->lang, r->regions);
		json_object_update(data, bulletin);
		buf_reset(&tmp);
		if (render_raw(m->render, "bulletin", r->lang, data, &subject, &text, &html,
		    &tmp) < 0 || (e = bcache_put(m->bcache, &key, &subject, &text, &html)) == NULL)
			goto out;
	}
	message_parts_reset(p);
	if (bcache_fill(m->bcache, e, v, &p->subject, &p->text, &p->html) == 0)
		rc = 0;
out:
	if (rc != 0)
		buf_reset(unsub);
	json_decref(bulletin);
	json_decref(data);
	buf_free(&subject);
	buf_free(&text);
	buf_free(&html);
	buf_free(&tmp);
	return rc;
}

/* envelop - the rendered parts as r's MIME message: sender, recipient,
 * List-Unsubscribe (URL and a local+TOKEN@domain mailto, so a reply to it
 * needs no lookup table), attachments */
static int
envelop(message_ctx_t *m, const message_rcpt_t *r, const message_parts_t *p,
    const char *msgid, const char *list_id, const char *unsub,
    const mime_attachment_t *att, size_t natt, int64_t date, buf_t *eml, buf_t *err)
{
	const conf_t *c = m->conf;
	const char *at = strchr(c->unsubscribe_address, '@');
	mime_msg_t msg = { 0 };
	buf_t mailto;
	int rc;

	buf_init(&mailto, LINK_MAX);
	FITS(buf_printf(&mailto, "%.*s+", (int)(at ? at - c->unsubscribe_address : 0),
	    c->unsubscribe_address));
	FITS(token_make_local(m->key, r->contact ? TOKEN_CONTACT : TOKEN_UNSUBSCRIBE, r->id,
	    &mailto));
	FITS(buf_adds(&mailto, at ? at : ""));
	msg.from_name = c->from_name;
	msg.from_addr = c->from_address;
	msg.to_name = r->name;
	msg.to_addr = r->email;
	msg.reply_to = *c->reply_to ? c->reply_to : NULL;
	msg.subject = buf_str(&p->subject);
	msg.date = date;
	msg.message_id = msgid;
	msg.list_id = list_id;
	/* an editors' draft is no list mail to them: nothing to unsubscribe
	 * from (its token would name no reader) */
	msg.unsubscribe_url = r->draft ? NULL : unsub;
	msg.unsubscribe_mailto = r->draft ? NULL : buf_str(&mailto);
	msg.text = buf_str(&p->text);
	msg.text_len = p->text.len;
	msg.html = buf_str(&p->html);
	msg.html_len = p->html.len;
	msg.attachments = att;
	msg.nattachments = natt;
	rc = mime_build(&msg, eml, err);
	buf_free(&mailto);
	return rc;
}

int
message_bulletin(message_ctx_t *m, const compose_issue_t *issue, const char *number,
    const message_rcpt_t *r, int64_t date, message_parts_t *parts, buf_t *eml, buf_t *err)
{
	const conf_t *c = m->conf;
	message_parts_t *p = parts ? parts : &m->scratch;
	json_t *data = NULL, *bulletin = NULL;
	buf_t unsub, msgid;
	int rc = -1;

	refresh(m);	/* one template set for the whole message */
	buf_init(&unsub, LINK_MAX);
	buf_init(&msgid, LINK_MAX);
	if (!c->send_empty && compose_issue_count(issue, r->regions) == 0) {
		rc = 1;
		goto out;
	}
	if (bulletin_cached(m, issue, number, r, &unsub, p) == 0)
		goto mime;
	data = common_data(m, r, number, &unsub);
	bulletin = compose_bulletin(issue, r->lang, r->regions);
	json_object_update(data, bulletin);
	message_parts_reset(p);
	if (r->draft && buf_adds(&p->subject, "[LUONNOS / DRAFT] ") < 0)
		goto out;	/* cannot be: the parts were just reset */
	if (render_message(m->render, "bulletin", r->lang, data, &p->subject, &p->text,
	    &p->html, err) < 0)
		goto out;
mime:
	if (eml) {
		mime_attachment_t att = { 0 };
		const buf_t *ics = NULL;
		size_t errlen = err->len;

		message_id(m, number, r->email, &msgid);
		if (c->bulletin_calendar && (ics = calendar(m, issue, number, r, date, err)) != NULL)
			att = (mime_attachment_t){ strcmp(r->lang, "sv") == 0 ? "kalender.ics" :
			    strcmp(r->lang, "en") == 0 ? "calendar.ics" : "kalenteri.ics",
			    ICAL_CONTENT_TYPE, ics->data, ics->len, 1 };
		else if (err->len != errlen)
			goto out;
		if (envelop(m, r, p, buf_str(&msgid), m->list_id, buf_str(&unsub), ics ? &att : NULL,
		    ics ? 1 : 0, date, eml, err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(bulletin);
	json_decref(data);
	buf_free(&unsub);
	buf_free(&msgid);
	return rc;
}

int
message_notice(message_ctx_t *m, const char *tmpl, const char *ref, const message_rcpt_t *r,
    json_t *own, const mime_attachment_t *att, size_t natt, int64_t date,
    message_parts_t *parts, buf_t *eml, buf_t *err)
{
	message_parts_t *p = parts ? parts : &m->scratch;
	json_t *data;
	buf_t unsub, msgid;
	int rc = -1;

	refresh(m);
	buf_init(&unsub, LINK_MAX);
	buf_init(&msgid, LINK_MAX);
	data = common_data(m, r, NULL, &unsub);
	/* the kind's own links join the common ones (a confirmation's
	 * links.confirm beside links.unsubscribe) */
	if (json_is_object(json_object_get(own, "links"))) {
		json_object_update(json_object_get(data, "links"), json_object_get(own, "links"));
		json_object_del(own, "links");
	}
	json_object_update(data, own);
	message_parts_reset(p);
	if (render_message(m->render, tmpl, r->lang, data, &p->subject, &p->text,
	    &p->html, err) < 0)
		goto out;
	if (eml) {
		notice_id(m, ref, r->email, &msgid);
		/* bulk mail like the bulletin: the same List-Id, and the
		 * recipient's own opt-out link (a contact's /p/, a
		 * subscriber's /u/) as URL and mailto (RFC 2369, 2919, 8058) */
		if (envelop(m, r, p, buf_str(&msgid), m->list_id, buf_str(&unsub), att, natt,
		    date, eml, err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(data);
	buf_free(&unsub);
	buf_free(&msgid);
	return rc;
}

int
message_link(message_ctx_t *m, enum token_purpose purpose, int64_t subject, buf_t *out)
{
	if (buf_printf(out, "%s/%c/", m->conf->base_url, (char)purpose) < 0)
		return -1;
	return token_make(m->key, purpose, subject, out);
}

const char *
message_programme(const char *lang)
{
	for (size_t i = 0; i < NELEM(programme); i++)
		if (strcmp(lang, programme[i][0]) == 0)
			return programme[i][1];
	return programme[0][1];
}

render_t *
message_render(message_ctx_t *m)
{
	refresh(m);
	return m->render;
}

int
message_web(message_ctx_t *m, const compose_issue_t *issue, const char *lang,
    message_parts_t *p, buf_t *err)
{
	message_rcpt_t r = { 0, "", "", lang, REGION_ALL, 0, 0 };
	json_t *data, *bulletin, *links;
	buf_t unsub, b;
	int rc;

	refresh(m);
	buf_init(&unsub, LINK_MAX);
	buf_init(&b, LINK_MAX);
	data = common_data(m, &r, NULL, &unsub);
	/* no reader: no address, no personal link, none to the copy itself */
	json_object_del(data, "recipient");
	links = json_object_get(data, "links");
	json_object_del(links, "unsubscribe");
	FITS(buf_printf(&b, "%s/subscribe?lang=%s", m->conf->base_url, lang));
	json_object_set_new(links, "subscribe", json_string(buf_str(&b)));
	buf_reset(&b);
	FITS(buf_printf(&b, "%s/issues/", m->conf->base_url));
	json_object_set_new(links, "archive", json_string(buf_str(&b)));
	json_object_set_new(data, "web", json_true());
	bulletin = compose_bulletin(issue, lang, REGION_ALL);
	json_object_update(data, bulletin);
	message_parts_reset(p);
	rc = render_message(m->render, "bulletin", lang, data, &p->subject, &p->text, &p->html,
	    err);
	json_decref(bulletin);
	json_decref(data);
	buf_free(&unsub);
	buf_free(&b);
	return rc;
}
