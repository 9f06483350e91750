/*
 * conf - the configuration file; contract in conf.h.  One table names
 * every key, its type, default and meaning, so parsing, defaults and the
 * printed reference can never disagree.
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "mdoc.h"
#include "util.h"

enum ckind { C_STR, C_LONG, C_LEVEL, C_BOOL };

static const struct ckey {
	const char *section, *key;
	enum ckind kind;
	size_t	off;
	const char *def;
	long	min, max;
	const char *doc;
	int	 live;		/* SIGHUP applies it (conf_reload): every reader
				 * of the key reads it at each use */
} ckeys[] = {
	{ "store", "path", C_STR, offsetof(conf_t, db_path), "./var/tiedote.db", 0, 0,
	  "SQLite database file; its directory is created if missing", 0 },
	{ "store", "busy_timeout_ms", C_LONG, offsetof(conf_t, busy_timeout_ms), "5000", 0, 600000,
	  "how long a writer waits for another one before giving up", 0 },
	{ "store", "max_size_mb", C_LONG, offsetof(conf_t, db_max_mb), "0", 0, 1 << 30,
	  "cap on the database with its WAL and shared-memory files, 0 = none; at the cap the worker "
	  "pauses: intake replies 'unavailable', sending waits", 0 },
	{ "store", "reserve_mb", C_LONG, offsetof(conf_t, db_reserve_mb), "64", 0, 1 << 30,
	  "free space kept on the database's file system; below it the worker pauses like at the cap "
	  "and resumes by itself when there is room again, 0 = none", 0 },
	{ "intake", "endpoint", C_STR, offsetof(conf_t, endpoint), "tcp://127.0.0.1:5570", 0, 0,
	  "ZeroMQ endpoint tiedoted binds and producers connect to (tcp:// or ipc://)", 0 },
	{ "intake", "max_event_size", C_LONG, offsetof(conf_t, max_event_size), "262144", 1024, 16 << 20,
	  "largest event accepted, bytes", 0 },
	{ "intake", "batch_max", C_LONG, offsetof(conf_t, batch_max), "256", 1, 100000,
	  "most events committed in one transaction (group commit)", 0 },
	{ "intake", "key_file", C_STR, offsetof(conf_t, intake_key_file), "", 0, 0,
	  "CurveZMQ: the worker's secret key file (tiedote keys generate); refused if group- or "
	  "world-readable; empty = no CURVE, producers unauthenticated", 0 },
	{ "intake", "producer_keys", C_STR, offsetof(conf_t, producer_keys), "", 0, 0,
	  "CurveZMQ: directory of the public key files (*.key) of the producers allowed in; "
	  "read at start and at SIGHUP", 0 },
	{ "intake", "allow_plain", C_BOOL, offsetof(conf_t, allow_plain), "no", 0, 1,
	  "let a tcp:// endpoint on a non-loopback address run without CURVE (yes/no)", 0 },
	{ "control", "endpoint", C_STR, offsetof(conf_t, control_endpoint), "", 0, 0,
	  "the worker's control socket, through which tiedote commands write (ipc:// only, mode "
	  "0660); empty = ipc://DIR/tiedote.control, DIR that of store.path", 0 },
	{ "client", "timeout_ms", C_LONG, offsetof(conf_t, client_timeout_ms), "2500", 10, 600000,
	  "the CLI's wait for one reply before it retries on a fresh socket", 0 },
	{ "client", "total_timeout_ms", C_LONG, offsetof(conf_t, client_total_ms), "30000", 10, 86400000,
	  "the CLI gives up on an unreachable worker after this long (exit 69)", 0 },
	{ "client", "key_file", C_STR, offsetof(conf_t, client_key_file), "", 0, 0,
	  "CurveZMQ: the CLI's own secret key file for enqueue; refused if group- or "
	  "world-readable; empty = plain", 0 },
	{ "client", "server_key_file", C_STR, offsetof(conf_t, client_server_key_file), "", 0, 0,
	  "CurveZMQ: the worker's public key file, which enqueue checks the worker against", 0 },
	{ "log", "level", C_LEVEL, offsetof(conf_t, log_level), "info", 0, 0,
	  "debug, info, notice, warning or error", 1 },
	{ "message", "templates", C_STR, offsetof(conf_t, templates), "./templates", 0, 0,
	  "template directory (fi/, sv/, en/), loaded and checked at start", 0 },
	{ "message", "time_zone", C_STR, offsetof(conf_t, time_zone), "Europe/Helsinki", 0, 0,
	  "IANA time zone of dates in messages and of schedules", 0 },
	{ "message", "from_name", C_STR, offsetof(conf_t, from_name),
	  "Tulevaisuuden sote-keskus -ohjelma", 0, 0, "display name in From", 0 },
	{ "message", "from_address", C_STR, offsetof(conf_t, from_address),
	  "tiedote@tiedote.example", 0, 0, "address in From", 0 },
	{ "message", "reply_to", C_STR, offsetof(conf_t, reply_to), "", 0, 0,
	  "Reply-To address, empty for none", 0 },
	{ "message", "base_url", C_STR, offsetof(conf_t, base_url), "https://tiedote.example", 0, 0,
	  "https base of unsubscribe, confirmation and view-in-browser links", 0 },
	{ "message", "list_id", C_STR, offsetof(conf_t, list_id),
	  "ajankohtaistiedote.tiedote.example", 0, 0,
	  "List-Id of the bulletin (RFC 2919); also the Message-ID domain", 0 },
	{ "message", "unsubscribe_address", C_STR, offsetof(conf_t, unsubscribe_address),
	  "unsubscribe@tiedote.example", 0, 0,
	  "mailto unsubscribe; sent as local+TOKEN@domain", 0 },
	{ "bulletin", "first", C_STR, offsetof(conf_t, bulletin_first),
	  "2020-01-07T09:00:00+02:00", 0, 0,
	  "the first issue's send time; later issues follow every interval_days at the same local time", 0 },
	{ "bulletin", "interval_days", C_LONG, offsetof(conf_t, bulletin_interval_days), "14", 1, 366,
	  "days between issues", 0 },
	{ "bulletin", "deadline_days", C_LONG, offsetof(conf_t, deadline_days), "60", 1, 3660,
	  "deadlines due within this many days are listed", 1 },
	{ "bulletin", "event_days", C_LONG, offsetof(conf_t, event_days), "90", 1, 3660,
	  "network days and events within this many days are listed", 1 },
	{ "bulletin", "send_empty", C_BOOL, offsetof(conf_t, send_empty), "no", 0, 1,
	  "send an issue that has no items for a recipient (yes/no)", 1 },
	{ "bulletin", "calendar", C_BOOL, offsetof(conf_t, bulletin_calendar), "yes", 0, 1,
	  "attach one iCalendar file with the issue's deadlines and events (yes/no)", 0 },
	{ "bulletin", "approval", C_BOOL, offsetof(conf_t, approval), "no", 0, 1,
	  "hold each issue until 'tiedote issue approve N'; the draft goes to the editors first", 1 },
	{ "bulletin", "draft_lead_hours", C_LONG, offsetof(conf_t, draft_lead_hours), "24", 1, 24 * 30,
	  "with approval: build and mail the draft this long before the send time", 1 },
	{ "bulletin", "editors", C_STR, offsetof(conf_t, editors), "", 0, 0,
	  "with approval: addresses that get the draft, separated by commas", 1 },
	{ "outbox", "keep_days", C_LONG, offsetof(conf_t, outbox_keep_days), "30", 1, 36500,
	  "a sent issue's delivered rows are folded into per-issue totals this many days after it "
	  "was sent; failures stay with their replies, and issue status shows the same", 0 },
	{ "reminders", "days", C_STR, offsetof(conf_t, remind_days), "14,7,1", 0, 0,
	  "days before a deadline that projects are reminded, when the event has no 'remind'", 0 },
	{ "reminders", "time", C_STR, offsetof(conf_t, remind_time), "09:00", 0, 0,
	  "local time of day (message.time_zone) reminders go out", 0 },
	{ "announcements", "max_late_hours", C_LONG, offsetof(conf_t, announce_max_late_hours),
	  "72", 1, 24 * 366, "an announcement found later than this after its send_at (it arrived "
	  "late, or the worker was down) is not sent but marked expired", 0 },
	{ "smtp", "url", C_STR, offsetof(conf_t, smtp_url), "smtp://127.0.0.1:2525", 0, 0,
	  "the relay: smtp://host:port (STARTTLS) or smtps://host:port", 0 },
	{ "smtp", "connections", C_LONG, offsetof(conf_t, smtp_connections), "4", 1, 64,
	  "parallel connections, each reused for many messages", 0 },
	{ "smtp", "max_messages_per_session", C_LONG, offsetof(conf_t, smtp_max_per_session), "100",
	  0, 1000000, "a session that has carried this many messages ends with QUIT and the next "
	  "message opens a new one (relays cap it: Exchange at 20 by default), 0 = no limit", 0 },
	{ "smtp", "rate_per_sec", C_LONG, offsetof(conf_t, smtp_rate_per_sec), "0", 0, 100000,
	  "at most this many messages a second, 0 = no limit", 0 },
	{ "smtp", "rate_per_hour", C_LONG, offsetof(conf_t, smtp_rate_per_hour), "0", 0, 100000000,
	  "at most this many messages an hour, 0 = no limit", 0 },
	{ "smtp", "tls", C_STR, offsetof(conf_t, smtp_tls), "auto", 0, 0,
	  "auto (STARTTLS required unless the relay is on loopback), yes, or no (explicitly allow plain text)", 0 },
	{ "smtp", "auth_file", C_STR, offsetof(conf_t, smtp_auth_file), "", 0, 0,
	  "file with user:password for AUTH; refused if group- or world-readable; empty = no AUTH", 0 },
	{ "smtp", "ca_file", C_STR, offsetof(conf_t, smtp_ca_file), "", 0, 0,
	  "PEM file of the CAs that may sign the relay's certificate (a private CA); empty = the system's", 0 },
	{ "smtp", "timeout_ms", C_LONG, offsetof(conf_t, smtp_timeout_ms), "60000", 1000, 3600000,
	  "one message's whole transaction", 0 },
	{ "smtp", "dot_timeout_ms", C_LONG, offsetof(conf_t, smtp_dot_timeout_ms), "600000", 1000,
	  3600000, "at least this for the reply to the final \".\", from the relay's 354 (RFC 5321: 10 min; a timeout there may send the message twice)", 0 },
	{ "smtp", "helo", C_STR, offsetof(conf_t, smtp_helo), "", 0, 0,
	  "EHLO name, empty = the host name", 0 },
	{ "smtp", "envelope_from", C_STR, offsetof(conf_t, envelope_from),
	  "bounces@tiedote.example", 0, 0, "envelope sender (MAIL FROM) where bounces go", 0 },
	{ "smtp", "verp", C_BOOL, offsetof(conf_t, verp), "yes", 0, 1,
	  "envelope sender as local+TOKEN@domain, so a bounce names its message and recipient", 0 },
	{ "smtp", "retry_base_s", C_LONG, offsetof(conf_t, retry_base_s), "300", 1, 86400,
	  "first retry after a temporary failure; doubles each time, with jitter", 1 },
	{ "smtp", "retry_max_s", C_LONG, offsetof(conf_t, retry_max_s), "14400", 1, 7 * 86400,
	  "longest wait between retries", 1 },
	{ "smtp", "max_age_hours", C_LONG, offsetof(conf_t, max_age_hours), "72", 1, 24 * 60,
	  "give up (failed) when the first attempt is this old", 1 },
	{ "metrics", "listen", C_STR, offsetof(conf_t, metrics_listen), "", 0, 0,
	  "Prometheus figures at /metrics: PORT or HOST:PORT, HOST 127.0.0.1, localhost or [::1] "
	  "(loopback only); empty = off", 0 },
	{ "inbound", "lmtp_listen", C_STR, offsetof(conf_t, lmtp_listen), "", 0, 0,
	  "LMTP listener for bounces, complaints and mailto unsubscribes: HOST:PORT (e.g. "
	  "127.0.0.1:2424, [::1]:2424) or a UNIX socket path; empty = none", 0 },
	{ "inbound", "max_message_kb", C_LONG, offsetof(conf_t, inbound_max_kb), "10240", 64,
	  1 << 20, "largest message the LMTP listener and 'tiedote inbound deliver' take; the "
	  "first 1024 KiB of each are kept and classified", 1 },
	{ "inbound", "keep_days", C_LONG, offsetof(conf_t, inbound_keep_days), "90", 1, 3660,
	  "raw inbound messages are kept this long for audit, then pruned (their outcomes stay)", 1 },
	{ "inbound", "soft_limit", C_LONG, offsetof(conf_t, inbound_soft_limit), "3", 1, 1000,
	  "soft bounces that suppress an address, within soft_days and with no delivery between", 1 },
	{ "inbound", "soft_days", C_LONG, offsetof(conf_t, inbound_soft_days), "30", 1, 3660,
	  "the window in which soft bounces are counted", 1 },
	{ "inbound", "mailbox", C_STR, offsetof(conf_t, mailbox), "", 0, 0,
	  "mailbox 'tiedote inbound poll' reads: maildir:/PATH, imaps://USER@HOST[:PORT][/FOLDER], "
	  "pop3s://USER@HOST[:PORT], or imap:// and pop3:// (the plain port, STARTTLS or STLS "
	  "first, never plain text); empty = none", 0 },
	{ "inbound", "mailbox_auth_file", C_STR, offsetof(conf_t, mailbox_auth_file), "", 0, 0,
	  "file with user:password for the IMAP or POP3 login; refused if group- or "
	  "world-readable", 0 },
	{ "inbound", "mailbox_done", C_STR, offsetof(conf_t, mailbox_done), "tiedote", 0, 0,
	  "IMAP, Maildir: folder processed messages are moved to (created if missing); empty = "
	  "marked read where they are (POP3: left on the server, recorded)", 0 },
	{ "inbound", "mailbox_delete", C_BOOL, offsetof(conf_t, mailbox_delete), "no", 0, 1,
	  "delete processed messages instead (yes/no); mail that is none of the kinds is never "
	  "touched", 0 },
	{ "inbound", "mailbox_ca_file", C_STR, offsetof(conf_t, mailbox_ca_file), "", 0, 0,
	  "PEM file of the CAs that may sign the IMAP or POP3 server's certificate; empty = the "
	  "system's", 0 },
	{ "inbound", "mailbox_tls_sha256", C_STR, offsetof(conf_t, mailbox_tls_sha256), "", 0, 0,
	  "SHA-256 (hex) of the IMAP or POP3 server's certificate, pinned instead of the CAs (a "
	  "self-signed one)", 0 },
	{ "inbound", "poll_s", C_LONG, offsetof(conf_t, poll_s), "60", 1, 86400,
	  "seconds between passes over the mailbox (IMAP IDLE wakes it sooner; POP3 has no "
	  "IDLE)", 0 },
	{ "dkim", "domain", C_STR, offsetof(conf_t, dkim_domain), "", 0, 0,
	  "DKIM: the signing domain (d=), that of message.from_address or a parent; "
	  "empty = messages are not signed", 0 },
	{ "dkim", "selector", C_STR, offsetof(conf_t, dkim_selector), "", 0, 0,
	  "DKIM: the RSA key's selector (s=): its TXT record is SELECTOR._domainkey.DOMAIN", 1 },
	{ "dkim", "key_file", C_STR, offsetof(conf_t, dkim_key_file), "", 0, 0,
	  "DKIM: the RSA private key (PEM, at least 2048 bits; tiedote dkim keygen); "
	  "refused if group- or world-readable", 1 },
	{ "dkim", "ed25519_selector", C_STR, offsetof(conf_t, dkim_ed25519_selector), "", 0, 0,
	  "DKIM: the Ed25519 key's selector, another than selector", 1 },
	{ "dkim", "ed25519_key_file", C_STR, offsetof(conf_t, dkim_ed25519_key_file), "", 0, 0,
	  "DKIM: an Ed25519 private key (PEM, RFC 8463) for a second signature beside the RSA one; "
	  "refused if group- or world-readable; empty = RSA only", 1 },
	{ "web", "listen", C_STR, offsetof(conf_t, web_listen), "", 0, 0,
	  "the subscriber pages' HTTP address, ADDRESS:PORT (127.0.0.1:8080, [::1]:8080); empty = "
	  "no web front.  Meant behind a TLS reverse proxy (docs/web.md)", 0 },
	{ "web", "trusted_proxies", C_STR, offsetof(conf_t, web_trusted_proxies), "", 0, 0,
	  "IP addresses, separated by commas, whose X-Forwarded-For names the client; empty = none", 0 },
	{ "web", "max_connections", C_LONG, offsetof(conf_t, web_max_connections), "256", 1, 65536,
	  "open HTTP connections at most; more wait in the kernel's backlog", 0 },
	{ "web", "per_ip_connections", C_LONG, offsetof(conf_t, web_per_ip_connections), "32", 1, 65536,
	  "open HTTP connections from one peer address at most (the proxy counts as one)", 0 },
	{ "web", "timeout_s", C_LONG, offsetof(conf_t, web_timeout_s), "15", 1, 3600,
	  "an idle or slow HTTP connection is closed after this many seconds", 0 },
	{ "web", "posts_per_ip_hour", C_LONG, offsetof(conf_t, web_posts_per_ip_hour), "30", 1, 1000000,
	  "subscription and preference forms one client address may send an hour (429 beyond)", 0 },
	{ "web", "confirm_interval", C_LONG, offsetof(conf_t, web_confirm_interval), "3600", 0, 30 * 86400,
	  "seconds: at most one confirmation message per address in this time, however often "
	  "the form is sent", 0 },
	{ "web", "confirmations_keep_days", C_LONG, offsetof(conf_t, web_confirmations_keep_days),
	  "30", 1, 3650,
	  "days a followed confirmation row (address, name, choices) is kept; the consent log "
	  "keeps the record of the consent.  Pending rows go when their link expires", 0 },
	{ "web", "consent_ip_hash", C_BOOL, offsetof(conf_t, web_consent_ip_hash), "yes", 0, 1,
	  "the consent log keeps the subscribing client's IP address as a keyed hash (yes: "
	  "provable with the key, not readable) or as it is (no)", 0 },
};

static int
conf_apply(conf_t *c, const struct ckey *k, const char *value, buf_t *err)
{
	char *p = (char *)c + k->off, *end;
	long v;

	switch (k->kind) {
	case C_LEVEL:
		if (log_level_parse(value) < 0) {
			buf_notef(err, "%s.%s: unknown level \"%s\"", k->section, k->key, value);
			return -1;
		}
		/* FALLTHROUGH */
	case C_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(value);
		return 0;
	case C_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
			*(long *)p = 1;
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
		    strcmp(value, "0") == 0)
			*(long *)p = 0;
		else {
			buf_notef(err, "%s.%s: \"%s\" is not yes or no", k->section, k->key, value);
			return -1;
		}
		return 0;
	case C_LONG:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < k->min || v > k->max) {
			buf_notef(err, "%s.%s: \"%s\" is not a whole number in %ld..%ld",
			    k->section, k->key, value, k->min, k->max);
			return -1;
		}
		*(long *)p = v;
		return 0;
	}
	return -1;
}

void
conf_init(conf_t *c)
{
	buf_t err;

	memset(c, 0, sizeof *c);
	buf_init(&err, 1024);
	for (size_t i = 0; i < NELEM(ckeys); i++)
		if (conf_apply(c, &ckeys[i], ckeys[i].def, &err) < 0)
			fatal("built-in default: %s", buf_str(&err));
	buf_free(&err);
}

void
conf_free(conf_t *c)
{
	for (size_t i = 0; i < NELEM(ckeys); i++)
		if (ckeys[i].kind != C_LONG && ckeys[i].kind != C_BOOL)
			free(*(char **)((char *)c + ckeys[i].off));
	memset(c, 0, sizeof *c);
}

int
conf_set(conf_t *c, const char *section, const char *key, const char *value, buf_t *err)
{
	for (size_t i = 0; i < NELEM(ckeys); i++)
		if (strcmp(ckeys[i].section, section) == 0 && strcmp(ckeys[i].key, key) == 0)
			return conf_apply(c, &ckeys[i], value, err);
	buf_notef(err, "unknown setting [%s] %s", section, key);
	return -1;
}

int
conf_override(conf_t *c, const char *arg, buf_t *err)
{
	char *copy = xstrdup(arg), *dot = strchr(copy, '.'), *eq = strchr(copy, '=');
	int rc = -1;

	if (dot == NULL || eq == NULL || eq < dot) {
		buf_notef(err, "-o %s: expected SECTION.KEY=VALUE", arg);
		goto out;
	}
	*dot = *eq = '\0';
	rc = conf_set(c, copy, dot + 1, eq + 1, err);
out:
	free(copy);
	return rc;
}

struct load_ctx {
	conf_t	*conf;
	buf_t	 msg;		/* the first error, without its line */
};

/* conf_handler - inih calls it per key; returning 0 makes ini_parse()
 * report the line of the first error */
static int
conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *ctx = user;

	if (ctx->msg.len)
		return 0;
	return conf_set(ctx->conf, section, key, value, &ctx->msg) == 0;
}

#define CONF_LINE_MAX	200	/* libinih's INI_MAX_LINE: a line and its NUL */

/* The lines are read here and handed to libinih one by one, since what
 * Debian's libinih reads itself it misreads: a line of INI_MAX_LINE (200)
 * bytes or more in pieces, each a line of its own (so the example file's
 * long comments were keys), and an indented line after a key as a
 * continuation of that key's value, which conf_set() then replaced with
 * it.  A comment of any length goes to inih as an empty line; a long or
 * an indented line stops the parse, and conf_load() names it. */
struct reader {
	FILE	*fp;
	char	*line;
	size_t	 cap, n;	/* n: lines read */
	size_t	 long_at, indented_at;
};

static char *
read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	ssize_t len = getline(&r->line, &r->cap, r->fp);
	const char *t;

	if (len < 0)
		return NULL;
	r->n++;
	while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
		r->line[--len] = '\0';
	t = r->line + strspn(r->line, " \t");
	if (*t == ';' || *t == '#' || *t == '\0') {
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	if (t != r->line) {
		r->indented_at = r->n;
		return NULL;
	}
	if (len >= num - 1) {
		r->long_at = r->n;
		return NULL;
	}
	snprintf(str, (size_t)num, "%s\n", r->line);
	return str;
}

int
conf_load(conf_t *c, const char *path, buf_t *err)
{
	struct load_ctx ctx = { c, { 0 } };
	struct reader rd = { 0 };
	int rc;

	if (path == NULL) {
		if (access(CONF_DEFAULT_PATH, F_OK) != 0)
			return 0;
		path = CONF_DEFAULT_PATH;
	}
	buf_init(&ctx.msg, 1024);
	if ((rd.fp = fopen(path, "r")) == NULL)
		rc = -1;
	else {
		rc = ini_parse_stream(read_line, &rd, conf_handler, &ctx);
		if (rc == 0 && ferror(rd.fp))
			rc = -2;
		fclose(rd.fp);
		free(rd.line);
	}
	if (rc == -1)
		buf_notef(err, "%s: cannot open: %s", path, strerror(errno));
	else if (rc == 0 && rd.long_at)
		buf_notef(err, "%s:%zu: longer than %d bytes", path, rd.long_at, CONF_LINE_MAX - 2);
	else if (rc == 0 && rd.indented_at)
		buf_notef(err, "%s:%zu: starts with a blank: a key and its value are one line,"
		    " at its start", path, rd.indented_at);
	else if (rc > 0)
		buf_notef(err, "%s:%d: %s", path, rc,
		    ctx.msg.len ? buf_str(&ctx.msg) : "not a \"key = value\" or [section] line");
	else if (rc < 0)
		buf_notef(err, "%s: cannot read", path);
	buf_free(&ctx.msg);
	return rc == 0 && !rd.long_at && !rd.indented_at ? 0 : -1;
}

int
conf_setup(conf_t *c, const char *path, const char *db, const char *endpoint,
    const char *log_level, char *const *overrides, size_t n, buf_t *err)
{
	if (conf_load(c, path, err) < 0 ||
	    (db && conf_set(c, "store", "path", db, err) < 0) ||
	    (endpoint && conf_set(c, "intake", "endpoint", endpoint, err) < 0) ||
	    (log_level && conf_set(c, "log", "level", log_level, err) < 0))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (conf_override(c, overrides[i], err) < 0)
			return -1;
	return 0;
}

void
conf_print(const conf_t *c, FILE *fp)
{
	const char *section = "";

	fprintf(fp, "# tiedote.conf - every key with its default (tiedoted --print-config)\n");
	for (size_t i = 0; i < NELEM(ckeys); i++) {
		const struct ckey *k = &ckeys[i];
		const char *p = (const char *)c + k->off;

		if (strcmp(section, k->section) != 0)
			fprintf(fp, "\n[%s]\n", section = k->section);
		fprintf(fp, "# %s\n", k->doc);
		if (k->kind == C_LONG)
			fprintf(fp, "%s = %ld\n", k->key, *(const long *)p);
		else if (k->kind == C_BOOL)
			fprintf(fp, "%s = %s\n", k->key, *(const long *)p ? "yes" : "no");
		else
			fprintf(fp, "%s = %s\n", k->key, *(char *const *)p);
	}
}

/* same - k's value is the same in a and b */
static int
same(const conf_t *a, const conf_t *b, const struct ckey *k)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

	if (k->kind == C_LONG || k->kind == C_BOOL)
		return *(const long *)pa == *(const long *)pb;
	return strcmp(*(char *const *)pa, *(char *const *)pb) == 0;
}

/* copy_value - key k of src into dst */
static void
copy_value(conf_t *dst, const conf_t *src, const struct ckey *k)
{
	char *p = (char *)dst + k->off;
	const char *q = (const char *)src + k->off;

	if (k->kind == C_LONG || k->kind == C_BOOL)
		*(long *)p = *(const long *)q;
	else {
		free(*(char **)p);
		*(char **)p = xstrdup(*(char *const *)q);
	}
}

void
conf_reload(conf_t *c, const conf_t *fresh, buf_t *changed, buf_t *restart)
{
	for (size_t i = 0; i < NELEM(ckeys); i++) {
		const struct ckey *k = &ckeys[i];
		buf_t *list = k->live ? changed : restart;

		if (same(c, fresh, k))
			continue;
		buf_notef(list, "%s%s.%s", list->len ? ", " : "", k->section, k->key);
		if (k->live)
			copy_value(c, fresh, k);
	}
}

void
conf_keep(conf_t *fresh, const conf_t *c, const char *section)
{
	for (size_t i = 0; i < NELEM(ckeys); i++) {
		if (strcmp(ckeys[i].section, section) == 0)
			copy_value(fresh, c, &ckeys[i]);
	}
}

void
conf_print_mdoc(FILE *fp)
{
	const char *section = "";

	for (size_t i = 0; i < NELEM(ckeys); i++) {
		const struct ckey *k = &ckeys[i];

		if (strcmp(section, k->section) != 0) {
			if (*section)
				fputs(".El\n", fp);
			/* \& keeps "]" from being read as a closing delimiter */
			fprintf(fp, ".Ss [%s]\\&\n.Bl -tag -width Ds\n", section = k->section);
		}
		fprintf(fp, ".It Cm %s.%s Pq default ", k->section, k->key);
		if (k->kind == C_BOOL)
			fputs(*k->def == 'y' ? "yes" : "no", fp);
		else
			mdoc_arg(fp, *k->def ? k->def : "empty");
		fputc('\n', fp);
		{
			char doc[1024];	/* the longest doc is a few hundred bytes */

			/* the table's docs are phrases; here they are sentences */
			snprintf(doc, sizeof doc, "%s.", k->doc);
			mdoc_text(fp, doc);
		}
		if (k->kind == C_LONG)
			fprintf(fp, "A whole number in %ld..%ld.\n", k->min, k->max);
		if (k->live)
			fputs("A reload\n.Pq Dv SIGHUP\napplies it.\n", fp);
	}
	fputs(".El\n", fp);
}
