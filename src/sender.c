/*
 * sender - outbox to relay; contract in sender.h.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "announce.h"
#include "bulletin.h"
#include "clock.h"
#include "compose.h"
#include "log.h"
#include "outbox.h"
#include "remind.h"
#include "sender.h"
#include "smtp.h"
#include "util.h"

/* a claimed row, waiting for a connection or in flight */
struct job {
	int64_t	 id, subscriber_id, contact_id, first_attempt;
	int	 attempts;
	unsigned regions;
	char	*kind, *ref, *recipient, *name, *lang, *project;
	int	 built;		/* 1: eml holds its message, -1: it ended unbuilt */
	int64_t	 built_at;	/* clock_now() when it was built */
	buf_t	 eml;
};

/* an outcome, waiting for the commit at the end of this loop turn */
struct result {
	int64_t	 id, next;
	const char *state;
	int	 code, suppress;
	char	 reply[512], addr[320];
};

#define WINDOW 64	/* rows claimed ahead of free connections */
/* the ceiling of one built message (MIME, attachments included): the
 * rendered text and HTML are capped at 8 MiB each (message.c's
 * MESSAGE_MAX); a message that would cross it fails to build and its row
 * fails, it never goes out cut.  A named limit, not a setting */
#define EML_MAX	((size_t)16 << 20)
#define AHEAD_MAX_S 2	/* a message built longer ago is built again:
				 * its Date says when it was built */

struct sender {
	const conf_t *conf;
	store_t	*store;
	message_ctx_t *msg;
	smtp_t	*smtp;
	struct job waiting[WINDOW], *inflight;
	int	 nwaiting, head, ninflight;
	struct result *results;
	int	 nresults;
	int64_t	 idle_until;	/* monotonic ms: no claim before, the queue was empty */
	int	 released;	/* sender_release() was called: no more claims */
	/* the issue being sent, loaded once for all its recipients */
	int64_t	 issue_id;
	bulletin_issue_t issue;
	compose_issue_t *items;
	buf_t	 env, err;
	size_t	 eml_hint;	/* the last message's size: one allocation each */
};

/* sender_classify - the state a reply leads to, and whether it suppresses
 * the address */
static const char *
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
job_free(struct job *j)
{
	free(j->kind);
	free(j->ref);
	free(j->recipient);
	free(j->name);
	free(j->lang);
	free(j->project);
	buf_free(&j->eml);
	memset(j, 0, sizeof *j);
}

/* done - the SMTP engine's verdict on one message, kept until the commit
 * at the end of sender_process() */
static void
done(void *arg, uint64_t id, const smtp_result_t *res)
{
	sender_t *s = arg;
	struct result *r = &s->results[s->nresults];
	struct job *j = NULL;
	int64_t now = clock_now();

	for (int i = 0; i < s->ninflight; i++)
		if (s->inflight[i].id == (int64_t)id)
			j = &s->inflight[i];
	if (j == NULL) {
		log_error("sender: result for unknown message %llu", (unsigned long long)id);
		return;
	}
	memset(r, 0, sizeof *r);
	r->id = j->id;
	r->code = res->code;
	snprintf(r->reply, sizeof r->reply, "%s", res->text);
	snprintf(r->addr, sizeof r->addr, "%s", j->recipient);
	r->state = sender_classify(res->code, res->enhanced, res->text, &r->suppress);
	if (strcmp(r->state, "deferred") == 0) {
		r->next = now + backoff(s->conf, j->attempts);
		if (r->next - (j->first_attempt ? j->first_attempt : now) >=
		    s->conf->max_age_hours * 3600) {
			r->state = "failed";
			r->next = 0;
		}
	}
	s->nresults++;
	job_free(j);
	*j = s->inflight[--s->ninflight];
}

/* flush - every outcome of this turn in one transaction: a crash can lose
 * at most the outcomes of one turn, which are messages that were in flight */
static void
flush(sender_t *s)
{
	int64_t now = clock_now();
	int i;

	if (s->nresults == 0)
		return;
	if (store_begin(s->store) < 0)
		goto fail;
	for (i = 0; i < s->nresults; i++) {
		struct result *r = &s->results[i];

		if (outbox_result(s->store, r->id, r->state, r->code, r->reply, r->next, now) < 0 ||
		    (r->suppress && outbox_suppress(s->store, r->addr, r->reply, now) < 0))
			goto fail;
	}
	if (store_commit(s->store) < 0)
		goto fail;
	for (i = 0; i < s->nresults; i++) {
		struct result *r = &s->results[i];

		if (strcmp(r->state, "sent") != 0)
			log_info("sender: message %lld to %s %s%s: %s", (long long)r->id, r->addr,
			    r->state, r->suppress ? " (address suppressed)" : "", r->reply);
	}
	s->nresults = 0;
	return;
fail:
	/* the rows stay "sending": the next start re-queues them */
	log_error("sender: recording %d outcomes: %s", s->nresults, store_errmsg(s->store));
	store_rollback(s->store);
	s->nresults = 0;
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
		.ca_file = *conf->smtp_ca_file ? conf->smtp_ca_file : NULL,
		.timeout_ms = conf->smtp_timeout_ms,
		.helo = *conf->smtp_helo ? conf->smtp_helo : NULL,
	};

	s->conf = conf;
	s->store = store;
	s->msg = msg;
	s->inflight = xcalloc((size_t)conf->smtp_connections + 1, sizeof *s->inflight);
	s->results = xcalloc((size_t)conf->smtp_connections + 1, sizeof *s->results);
	buf_init(&s->env, 1024);
	buf_init(&s->err, 4096);
	if (strcmp(conf->smtp_tls, "auto") != 0 && strcmp(conf->smtp_tls, "yes") != 0 &&
	    strcmp(conf->smtp_tls, "no") != 0) {
		buf_notef(err, "smtp.tls: \"%s\" is not auto, yes or no", conf->smtp_tls);
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
	for (int i = 0; i < s->nwaiting; i++)
		job_free(&s->waiting[(s->head + i) % WINDOW]);
	for (int i = 0; i < s->ninflight; i++)
		job_free(&s->inflight[i]);
	free(s->inflight);
	free(s->results);
	compose_issue_free(s->items);
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
		buf_notef(&s->err, "issue %lld is gone", (long long)id);
		return -1;
	}
	if (compose_issue_load(s->store, &cc, s->issue.number, s->issue.period_start,
	    s->issue.period_end, &s->items, &s->err) < 0)
		return -1;
	s->issue_id = id;
	return 0;
}

/* claim_cb - copy a claimed row into the waiting window */
static int
claim_cb(const outbox_row_t *row, void *arg)
{
	sender_t *s = arg;
	struct job *j = &s->waiting[(s->head + s->nwaiting++) % WINDOW];

	j->id = row->id;
	j->subscriber_id = row->subscriber_id;
	j->first_attempt = row->first_attempt;
	j->attempts = row->attempts;
	j->regions = row->regions;
	j->kind = xstrdup(row->kind);
	j->ref = xstrdup(row->ref);
	j->recipient = xstrdup(row->recipient);
	j->name = xstrdup(row->name);
	j->lang = xstrdup(row->lang);
	j->contact_id = row->contact_id;
	j->project = xstrdup(row->project);
	j->built = 0;
	buf_init(&j->eml, EML_MAX);
	return 0;
}

/* build - a waiting row's message into j->eml (built = 1); a row that
 * cannot be built is final at once (built = -1) */
static void
build(sender_t *s, struct job *j)
{
	message_rcpt_t r = { j->subscriber_id, j->recipient, j->name, j->lang, j->regions, 0, 0 };
	outbox_row_t row = { j->id, j->kind, j->ref, j->recipient, j->attempts, j->first_attempt,
	    j->subscriber_id, j->name, j->lang, j->regions, j->contact_id, j->project };
	int64_t now = clock_now();
	int got = -1;

	buf_reset(&s->err);
	buf_reserve(&j->eml, s->eml_hint);
	if (strcmp(j->kind, "bulletin") == 0 || strcmp(j->kind, "draft") == 0) {
		if (load_issue(s, strtoll(j->ref, NULL, 10)) == 0) {
			if (strcmp(j->kind, "draft") == 0)
				r = (message_rcpt_t){ 0, j->recipient, "", "fi", 0x1f, 1, 0 };
			got = message_bulletin(s->msg, s->items, s->issue.number, &r, now, NULL,
			    &j->eml, &s->err);
		}
	} else if (strcmp(j->kind, "reminder") == 0)
		got = remind_message(s->store, s->conf, s->msg, &row, now, &j->eml, &s->err);
	else if (strcmp(j->kind, "announcement") == 0)
		got = announce_message(s->store, s->conf, s->msg, &row, now, &j->eml, &s->err);
	else
		buf_notef(&s->err, "no message kind \"%s\"", j->kind);
	if (got == 0) {
		s->eml_hint = j->eml.len + 1024;
		j->built = 1;
		j->built_at = now;
		return;
	}
	/* 1: a bulletin with nothing for the recipient, or a notice whose
	 * reason is gone (cancelled, past, project removed) */
	if (got == 1 && s->err.len == 0)
		buf_note(&s->err, "nothing in this issue for the recipient");
	outbox_result(s->store, j->id, got < 0 ? "failed" : row.contact_id ||
	    strcmp(j->kind, "announcement") == 0 ? "cancelled" : "suppressed", 0,
	    buf_str(&s->err), 0, now);
	if (got < 0)
		log_error("sender: message %lld: %s", (long long)j->id, buf_str(&s->err));
	j->built = -1;
}

/* submit - hand one waiting row's message to SMTP, building it first if
 * that was not done ahead */
static void
submit(sender_t *s, struct job *j)
{
	int64_t now = clock_now();
	int bad;

	if (j->built > 0 && now - j->built_at > AHEAD_MAX_S) {
		log_debug("sender: message %lld held %lld s since it was built; building it again",
		    (long long)j->id, (long long)(now - j->built_at));
		buf_reset(&j->eml);	/* held back, by a rate limit say */
		j->built = 0;
	}
	if (!j->built)
		build(s, j);
	if (j->built < 0) {
		job_free(j);
		return;
	}
	buf_reset(&s->env);
	message_verp(s->msg, j->id, &s->env);
	if (smtp_submit(s->smtp, (uint64_t)j->id, buf_str(&s->env), j->recipient,
	    j->eml.data, j->eml.len) < 0) {
		/* EAGAIN cannot happen after smtp_ready(); retry it at once */
		bad = errno == EINVAL;
		outbox_result(s->store, j->id, bad ? "failed" : "deferred", 0, bad ?
		    "address unusable in SMTP" : "SMTP engine busy", bad ? 0 : now, now);
		log_error("sender: message %lld not accepted by the SMTP engine: %s",
		    (long long)j->id, strerror(errno));
		job_free(j);
		return;
	}
	(void)buf_take(&j->eml);	/* the engine owns it now */
	s->inflight[s->ninflight++] = *j;
	memset(j, 0, sizeof *j);
}

/* ahead - the next waiting row, among as many as there are connections,
 * whose message is not built yet; NULL when there is none */
static struct job *
ahead(sender_t *s)
{
	int n = s->nwaiting < (int)s->conf->smtp_connections ? s->nwaiting :
	    (int)s->conf->smtp_connections;

	if (s->released)
		return NULL;
	for (int i = 0; i < n; i++) {
		struct job *j = &s->waiting[(s->head + i) % WINDOW];

		if (!j->built)
			return j;
	}
	return NULL;
}

/* ahead_pending, ahead_run - the loop's idle work: build the message of
 * the next row that will go, so that a freed connection gets it at once */
static int
ahead_pending(void *arg)
{
	return ahead(arg) != NULL;
}

static void
ahead_run(void *arg)
{
	sender_t *s = arg;
	struct job *j = ahead(s);

	if (j == NULL)
		return;
	build(s, j);
	if (j->built > 0)
		log_debug("sender: message %lld built ahead", (long long)j->id);
}

static int
pump(sender_t *s, int64_t now)
{
	int ready = smtp_ready(s->smtp), n = 0;

	if (s->released)
		return 0;

	while (ready > 0) {
		if (s->nwaiting == 0) {
			/* an idle outbox is looked at 5 times a second, not at every
			 * turn of the loop, which the intake's events also drive */
			if (clock_mono_ms() < s->idle_until)
				break;
			s->head = 0;
			if (outbox_claim(s->store, now, WINDOW, claim_cb, s) < 0) {
				log_error("sender: claiming messages: %s", store_errmsg(s->store));
				break;
			}
			if (s->nwaiting == 0) {
				s->idle_until = clock_mono_ms() + 200;
				break;
			}
		}
		submit(s, &s->waiting[s->head]);
		s->head = (s->head + 1) % WINDOW;
		s->nwaiting--;
		ready = smtp_ready(s->smtp);
		n++;
	}
	return n;
}

void
sender_release(sender_t *s)
{
	int64_t now = clock_now();

	/* claimed, never handed to SMTP: back to the queue, not "in flight" */
	s->released = 1;
	while (s->nwaiting > 0) {
		struct job *j = &s->waiting[s->head];

		outbox_release(s->store, j->id, now);
		job_free(j);
		s->head = (s->head + 1) % WINDOW;
		s->nwaiting--;
	}
}

int
sender_inflight(sender_t *s)
{
	return smtp_inflight(s->smtp);
}

static int
source_items(void *arg, zmq_pollitem_t *items, int max)
{
	sender_t *s = arg;

	return smtp_pollitems(s->smtp, items, max);
}

static long
source_timeout(void *arg)
{
	sender_t *s = arg;

	return smtp_timeout_ms(s->smtp);
}

static void
source_process(void *arg, const zmq_pollitem_t *items, int n)
{
	sender_t *s = arg;

	smtp_process(s->smtp, items, n);
	/* The connections the results freed take their next messages before
	 * the results are committed, so that the commit is not between a
	 * connection and its next message.  That can repeat no more after a
	 * crash: a new message is only offered to the relay (MAIL, RCPT,
	 * DATA) until its content goes out, and that waits for the 354,
	 * which smtp_process() reads in a later turn, after this commit. */
	if (s->nresults > 0)
		pump(s, clock_now());
	flush(s);
}

/* before_sleep - claim and submit what the connections can take */
static void
before_sleep(loop_t *l, void *arg)
{
	(void)l;
	pump(arg, clock_now());
}

int
sender_attach(sender_t *s, loop_t *l)
{
	static const loop_source_t ops = { source_items, source_timeout, source_process };

	loop_before_sleep(l, before_sleep, s);
	loop_idle(l, ahead_pending, ahead_run, s);
	return loop_add_source(l, &ops, s) < 0 ? -1 : 0;
}
