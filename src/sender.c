/*
 * sender - outbox to relay; contract in sender.h.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bulletin.h"
#include "clock.h"
#include "compose.h"
#include "log.h"
#include "outbox.h"
#include "sender.h"
#include "smtp.h"
#include "util.h"

struct sender {
	const conf_t *conf;
	store_t	*store;
	message_ctx_t *msg;
	smtp_t	*smtp;
	/* the issue being sent, loaded once for all its recipients */
	int64_t	 issue_id;
	bulletin_issue_t issue;
	compose_issue_t *items;
	buf_t	 eml, env, err;
};

const char *
sender_classify(int code, const char *enhanced, const char *text, int *suppress)
{
	/* "user unknown" and kin: the address itself is bad (RFC 3463) */
	static const char *const unknown[] = { "5.1.0", "5.1.1", "5.1.2", "5.1.3",
	    "5.1.6", "5.1.10" };
	static const char *const words[] = { "user unknown", "unknown user", "no such user",
	    "mailbox unavailable", "does not exist", "recipient unknown", "unknown recipient" };

	*suppress = 0;
	if (code >= 200 && code < 300)
		return "sent";
	if (code >= 500) {
		for (size_t i = 0; i < NELEM(unknown); i++)
			*suppress |= strcmp(enhanced, unknown[i]) == 0;
		if (*enhanced == '\0' && (code == 550 || code == 551 || code == 553))
			for (size_t i = 0; i < NELEM(words); i++)
				*suppress |= strcasestr(text, words[i]) != NULL;
		return "failed";
	}
	return "deferred";
}

/* backoff - seconds before attempt n+1 after n failed ones */
static int64_t
backoff(const conf_t *c, int attempts)
{
	int64_t wait = c->retry_base_s;

	for (int i = 1; i < attempts && wait < c->retry_max_s; i++)
		wait *= 2;
	if (wait > c->retry_max_s)
		wait = c->retry_max_s;
	/* +-20% so that a relay's outage does not bring every retry back at
	 * the same second */
	return wait * (80 + (int64_t)randombytes_uniform(41)) / 100;
}

static void
done(void *arg, uint64_t id, const smtp_result_t *res)
{
	sender_t *s = arg;
	int64_t now = clock_now(), first = 0, next = 0;
	const char *state;
	sqlite3_stmt *st = NULL;
	int suppress, attempts = 1;
	char addr[320] = "";

	state = sender_classify(res->code, res->enhanced, res->text, &suppress);
	if (strcmp(state, "deferred") == 0 || suppress) {
		/* the row's history decides between retry and giving up */
		if (store_prepare(s->store, "SELECT attempts, coalesce(first_attempt, 0),"
		    " recipient FROM outbox WHERE id = ?1", &st) == 0) {
			sqlite3_bind_int64(st, 1, (int64_t)id);
			if (store_step(s->store, st) == SQLITE_ROW) {
				attempts = sqlite3_column_int(st, 0);
				first = sqlite3_column_int64(st, 1);
				snprintf(addr, sizeof addr, "%s", sqlite3_column_text(st, 2));
			}
		}
		sqlite3_finalize(st);
	}
	if (strcmp(state, "deferred") == 0) {
		next = now + backoff(s->conf, attempts);
		if (first && next - first >= s->conf->max_age_hours * 3600) {
			state = "failed";
			next = 0;
		}
	}
	if (store_begin(s->store) < 0 ||
	    outbox_result(s->store, (int64_t)id, state, res->code, res->text, next, now) < 0 ||
	    (suppress && *addr && outbox_suppress(s->store, addr, res->text, now) < 0) ||
	    store_commit(s->store) < 0) {
		/* the row stays "sending": the next start re-queues it */
		log_error("sender: recording message %llu: %s", (unsigned long long)id,
		    store_errmsg(s->store));
		store_rollback(s->store);
		return;
	}
	if (strcmp(state, "sent") != 0)
		log_info("sender: message %llu %s%s: %s", (unsigned long long)id, state,
		    suppress ? " (address suppressed)" : "", res->text);
}

sender_t *
sender_new(const conf_t *conf, store_t *store, message_ctx_t *msg, buf_t *err)
{
	sender_t *s = xcalloc(1, sizeof *s);
	smtp_conf_t sc = {
		.url = conf->smtp_url,
		.connections = (int)conf->smtp_connections,
		.rate_per_sec = (double)conf->smtp_rate_per_sec,
		.rate_per_hour = conf->smtp_rate_per_hour,
		.tls = strcmp(conf->smtp_tls, "yes") == 0 ? 1 : strcmp(conf->smtp_tls, "no") == 0 ? -1 : 0,
		.auth_file = *conf->smtp_auth_file ? conf->smtp_auth_file : NULL,
		.timeout_ms = conf->smtp_timeout_ms,
		.helo = *conf->smtp_helo ? conf->smtp_helo : NULL,
	};

	s->conf = conf;
	s->store = store;
	s->msg = msg;
	buf_init(&s->eml, (size_t)16 << 20);
	buf_init(&s->env, 1024);
	buf_init(&s->err, 4096);
	if (strcmp(conf->smtp_tls, "auto") != 0 && strcmp(conf->smtp_tls, "yes") != 0 &&
	    strcmp(conf->smtp_tls, "no") != 0) {
		buf_printf(err, "smtp.tls: \"%s\" is not auto, yes or no", conf->smtp_tls);
		goto fail;
	}
	if (smtp_conf_check(&sc, err) < 0 || (s->smtp = smtp_new(&sc, done, s, err)) == NULL)
		goto fail;
	return s;
fail:
	sender_free(s);
	return NULL;
}

void
sender_free(sender_t *s)
{
	if (s == NULL)
		return;
	smtp_free(s->smtp);
	compose_issue_free(s->items);
	buf_free(&s->eml);
	buf_free(&s->env);
	buf_free(&s->err);
	free(s);
}

/* load_issue - the issue behind an outbox row's ref, cached */
static int
load_issue(sender_t *s, int64_t id)
{
	compose_conf_t cc = { s->conf->time_zone, (int)s->conf->deadline_days,
	    (int)s->conf->event_days };

	if (s->items && s->issue_id == id)
		return 0;
	compose_issue_free(s->items);
	s->items = NULL;
	if (bulletin_get(s->store, id, &s->issue) != 0) {
		buf_printf(&s->err, "issue %lld is gone", (long long)id);
		return -1;
	}
	if (compose_issue_load(s->store, &cc, s->issue.number, s->issue.period_start,
	    s->issue.period_end, &s->items, &s->err) < 0)
		return -1;
	s->issue_id = id;
	return 0;
}

static int
submit_row(const outbox_row_t *row, void *arg)
{
	sender_t *s = arg;
	message_rcpt_t r = { row->subscriber_id, row->recipient, row->name, row->lang,
	    row->regions, 0 };
	int64_t now = clock_now();
	int got = -1;

	buf_reset(&s->eml);
	buf_reset(&s->env);
	buf_reset(&s->err);
	if (strcmp(row->kind, "bulletin") == 0 || strcmp(row->kind, "draft") == 0) {
		if (load_issue(s, strtoll(row->ref, NULL, 10)) == 0) {
			if (strcmp(row->kind, "draft") == 0) {
				r = (message_rcpt_t){ 0, row->recipient, "", "fi", 0x1f, 1 };
				/* the draft shows the number the issue will most likely get */
			}
			got = message_bulletin(s->msg, s->items, s->issue.number, &r, now, NULL,
			    &s->eml, &s->err);
		}
	} else
		buf_printf(&s->err, "no message kind \"%s\"", row->kind);
	if (got != 0) {
		/* nothing to send, or it cannot be built: final, with the reason */
		outbox_result(s->store, row->id, got == 1 ? "suppressed" : "failed", 0,
		    got == 1 ? "nothing in this issue for the recipient" : buf_str(&s->err),
		    0, now);
		if (got < 0)
			log_error("sender: message %lld: %s", (long long)row->id, buf_str(&s->err));
		return 0;
	}
	message_verp(s->msg, row->id, &s->env);
	if (smtp_submit(s->smtp, (uint64_t)row->id, buf_str(&s->env), row->recipient,
	    s->eml.data, s->eml.len) < 0) {
		int bad = errno == EINVAL;

		/* EAGAIN cannot happen after smtp_ready(); retry it at once */
		outbox_result(s->store, row->id, bad ? "failed" : "deferred", 0, bad ?
		    "address unusable in SMTP" : "SMTP engine busy", bad ? 0 : now, now);
		log_error("sender: message %lld not accepted by the SMTP engine: %s",
		    (long long)row->id, strerror(errno));
		return 0;
	}
	s->eml.data = NULL;	/* the engine owns it now */
	s->eml.len = s->eml.cap = 0;
	return 0;
}

int
sender_pump(sender_t *s, int64_t now)
{
	int ready = smtp_ready(s->smtp), n;

	if (ready <= 0)
		return 0;
	if ((n = outbox_claim(s->store, now, ready, submit_row, s)) < 0)
		log_error("sender: claiming messages: %s", store_errmsg(s->store));
	return n;
}

int
sender_inflight(sender_t *s)
{
	return smtp_inflight(s->smtp);
}

int
sender_pollitems(sender_t *s, zmq_pollitem_t *items, int max)
{
	return smtp_pollitems(s->smtp, items, max);
}

long
sender_timeout_ms(sender_t *s)
{
	return smtp_timeout_ms(s->smtp);
}

void
sender_process(sender_t *s, const zmq_pollitem_t *items, int n)
{
	smtp_process(s->smtp, items, n);
}
