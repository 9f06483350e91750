/*
 * sender - outbox to relay; contract in sender.h.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>

#include "build.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "relay.h"
#include "sender.h"
#include "signq.h"
#include "smtp.h"
#include "util.h"

/* a claimed row, waiting for a connection or in flight */
struct job {
	int64_t	 id, subscriber_id, contact_id, first_attempt, paused_until;
	int	 attempts;
	unsigned regions;
	outbox_kind_t kind;
	outbox_stop_t stopped;
	char	*ref, *recipient, *name, *lang, *project;
	int	 built;		/* 1: eml holds its message, -1: it ended unbuilt */
	int	 signing;	/* built, its message with the signing threads */
	uint64_t sign_tag;	/* which result of signq is this job's */
	int64_t	 built_at;	/* clock_now() when it was built */
	buf_t	 eml;
};

/* an outcome, kept until a commit has made it durable */
struct outcome {
	int64_t	 id, next;
	outbox_state_t state;	/* OUTBOX_QUEUED: back to the queue, uncharged */
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
/* a commit of outcomes that failed (a full disk, a lock held outside) is
 * tried again after this, doubling to the maximum; the loop never waits
 * in SQLite longer than SENDER_BUSY_MS */
#define RECORD_RETRY_FIRST_MS	50
#define RECORD_RETRY_MAX_MS	2000
#define SENDER_BUSY_MS		5
#define IDLE_MS		200	/* an empty queue is looked at again after this */

struct sender {
	const conf_t *conf;
	store_t	*store;
	message_ctx_t *msg;
	build_t	*build;
	signq_t	*signq;		/* NULL: dkim.domain is empty, nothing is signed */
	uint64_t sign_seq;	/* the last job's sign_tag */
	smtp_t	*smtp;
	relay_t	 relay;
	relay_state_t relay_known;	/* the state last logged and recorded */
	int64_t	 relay_opens;		/* times opened since start */
	int	 relay_dirty;		/* its state is to be recorded */
	struct job waiting[WINDOW], *inflight;
	int	 nwaiting, head, ninflight;
	/* outcomes to commit: at most a window's rows, those in flight and
	 * those held back, since nothing new is claimed or submitted while
	 * some wait (stalled) */
	struct outcome *outcomes, held[RELAY_SAME_RUN];
	int	 noutcomes, nheld, maxoutcomes;
	int	 stalled;		/* a commit failed: retry at retry_at */
	int64_t	 retry_at, retry_wait;	/* monotonic ms */
	int	 tries;			/* commits tried for the waiting outcomes */
	int64_t	 idle_until;	/* monotonic ms: no claim before, the queue was empty */
	int	 claim_failing;	/* the last claim failed (logged once) */
	int	 released;	/* sender_release() was called: no more claims */
	int	 recheck;	/* sender_recheck(): the window goes back to the queue */
	int	 paused;	/* sender_pause(): no more claims until resumed */
	buf_t	 env, err;
	metrics_t *metrics;	/* borrowed; NULL: not counted */
	void	(*settled)(void *);	/* sender_on_settled() */
	void	*settled_arg;
	size_t	 eml_hint;	/* the last message's size: one allocation each */
};

/* sender_classify - the state a reply leads to, and whether it suppresses
 * the address */
static outbox_state_t
sender_classify(int code, const char *enhanced, const char *text, int *suppress)
{
	/* "user unknown" and kin: the address itself is bad (RFC 3463) */
	static const char *const unknown[] = { "5.1.0", "5.1.1", "5.1.2", "5.1.3",
	    "5.1.6", "5.1.10" };
	static const char *const words[] = { "user unknown", "unknown user", "no such user",
	    "mailbox unavailable", "does not exist", "recipient unknown", "unknown recipient" };

	*suppress = 0;
	if (code >= 200 && code < 300)
		return OUTBOX_SENT;
	if (code >= 500) {
		for (size_t i = 0; i < NELEM(unknown); i++)
			*suppress |= strcmp(enhanced, unknown[i]) == 0;
		if (*enhanced == '\0' && (code == 550 || code == 551 || code == 553))
			for (size_t i = 0; i < NELEM(words); i++)
				*suppress |= strcasestr(text, words[i]) != NULL;
		return *suppress ? OUTBOX_SUPPRESSED : OUTBOX_FAILED;
	}
	return OUTBOX_DEFERRED;
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
	free(j->ref);
	free(j->recipient);
	free(j->name);
	free(j->lang);
	free(j->project);
	buf_free(&j->eml);
	memset(j, 0, sizeof *j);
}

/* outcome - a new outcome for row id at the end of the queue */
static struct outcome *
outcome(sender_t *s, int64_t id, const char *addr, outbox_state_t state, int code,
    const char *reply)
{
	struct outcome *o;

	/* cannot happen: see maxoutcomes in sender_new() */
	if (s->noutcomes == s->maxoutcomes)
		fatal("sender: %d outcomes wait for a commit", s->noutcomes);
	o = &s->outcomes[s->noutcomes++];
	memset(o, 0, sizeof *o);
	o->id = id;
	o->state = state;
	o->code = code;
	snprintf(o->reply, sizeof o->reply, "%s", reply);
	snprintf(o->addr, sizeof o->addr, "%s", addr);
	return o;
}

/* held - what the breaker says of the rows it held back: recorded as they
 * were classified, or back to the queue uncharged */
static void
held(sender_t *s, relay_held_t what)
{
	if (what == RELAY_HELD_KEEP)
		return;
	for (int i = 0; i < s->nheld; i++) {
		struct outcome *o = outcome(s, 0, "", OUTBOX_QUEUED, 0, "");

		*o = s->held[i];
		if (what == RELAY_HELD_REQUEUE) {
			o->state = OUTBOX_QUEUED;
			o->suppress = 0;
		}
	}
	s->nheld = 0;
}

/* requeue - the rows claimed and never handed to SMTP back to the queue
 * at the next commit, uncharged; a row whose build ended it has its
 * outcome already.  A message being signed is dropped when it comes back
 * (signed_() finds no job with its tag) */
static void
requeue(sender_t *s)
{
	for (; s->nwaiting > 0; s->nwaiting--, s->head = (s->head + 1) % WINDOW) {
		struct job *j = &s->waiting[s->head];

		if (j->built >= 0)
			outcome(s, j->id, j->recipient, OUTBOX_QUEUED, 0, "");
		job_free(j);
	}
}

/* relay_note - one log line, and the state recorded for `issue status` and
 * `status`, when the breaker changes state */
static void
relay_note(sender_t *s)
{
	const relay_t *r = &s->relay;

	if (r->state == s->relay_known)
		return;
	if (r->state == RELAY_OPEN && s->relay_known == RELAY_CLOSED) {
		s->relay_opens++;
		log_error("sender: relay refusing, sending paused: %s", r->reason);
	} else if (r->state == RELAY_OPEN)
		log_warn("sender: relay still refusing, next probe in %lld ms: %s",
		    (long long)r->probe_wait, r->reason);
	else if (r->state == RELAY_CLOSED)
		log_info("sender: relay answers again, sending resumed");
	else
		log_info("sender: probing the relay with one message");
	/* the rows claimed for later go back to the queue while it refuses */
	if (r->state == RELAY_OPEN)
		requeue(s);
	s->relay_known = r->state;
	s->relay_dirty = 1;
	metrics_relay(s->metrics, (int)r->state);
}

/* done - the SMTP engine's verdict on one message, kept until a commit */
static void
done(void *arg, uint64_t id, const smtp_result_t *res)
{
	sender_t *s = arg;
	struct job *j = NULL;
	struct outcome *o, tmp;
	relay_verdict_t verdict;
	relay_held_t what;
	int64_t now = clock_now();

	for (int i = 0; i < s->ninflight; i++)
		if (s->inflight[i].id == (int64_t)id)
			j = &s->inflight[i];
	if (j == NULL) {
		log_error("sender: result for unknown message %llu", (unsigned long long)id);
		return;
	}
	metrics_delivery(s->metrics, res->code);
	verdict = relay_outcome(&s->relay, res, j->recipient, clock_mono_ms(), &what);
	held(s, what);
	if (verdict == RELAY_REQUEUE) {
		/* the relay's fault or out of step: the reader is charged nothing */
		outcome(s, j->id, j->recipient, OUTBOX_QUEUED, 0, "");
		goto out;
	}
	o = verdict == RELAY_HOLD ? memset(&tmp, 0, sizeof tmp) :
	    outcome(s, j->id, j->recipient, OUTBOX_SENT, 0, "");
	o->id = j->id;
	o->code = res->code;
	snprintf(o->reply, sizeof o->reply, "%s", res->text);
	snprintf(o->addr, sizeof o->addr, "%s", j->recipient);
	/* a reply out of step says nothing of the reader: at most deferred */
	o->suppress = 0;
	o->state = res->out_of_step ? OUTBOX_DEFERRED :
	    sender_classify(res->code, res->enhanced, res->text, &o->suppress);
	if (o->state == OUTBOX_DEFERRED) {
		o->next = now + backoff(s->conf, j->attempts);
		if (o->next - (j->first_attempt ? j->first_attempt : now) >=
		    s->conf->max_age_hours * 3600) {
			o->state = OUTBOX_FAILED;
			o->next = 0;
		}
	}
	if (verdict == RELAY_HOLD)
		s->held[s->nheld++] = tmp;	/* relay.h: fewer than RELAY_SAME_RUN */
out:
	relay_note(s);
	job_free(j);
	*j = s->inflight[--s->ninflight];
}

/* record - the relay's state as meta "relay" (JSON), read by status */
static int
record_relay(sender_t *s, int64_t now)
{
	const relay_t *r = &s->relay;
	json_t *v = json_pack("{s:s, s:I, s:I, s:s}", "state", relay_state_name(r->state),
	    "since", (json_int_t)now, "opened", (json_int_t)s->relay_opens,
	    "reply", r->state == RELAY_CLOSED ? "" : r->reason);
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	int rc = text ? store_meta_set(s->store, "relay", text) : -1;

	free(text);
	json_decref(v);
	return rc;
}

/* flush - every outcome waiting, in one transaction.  A crash loses at
 * most the outcomes of one turn, messages that were in flight.  When the
 * commit fails (a full disk, the database locked from outside) the
 * outcomes stay here and are committed again, with backoff, until they
 * are durable; meanwhile nothing is claimed or submitted, so a row whose
 * message was delivered is never left "sending" while the worker runs */
static void
flush(sender_t *s)
{
	int64_t now = clock_now(), mono = clock_mono_ms();
	int i, settled;

	if (s->noutcomes == 0 && !s->relay_dirty)
		return;
	if (s->stalled && mono < s->retry_at)
		return;
	s->tries++;
	if (store_begin(s->store) < 0)
		goto fail;
	for (i = 0; i < s->noutcomes; i++) {
		struct outcome *o = &s->outcomes[i];
		int erased = 0;

		if (o->state == OUTBOX_QUEUED) {
			if (outbox_release(s->store, o->id, now) < 0)
				goto fail;
			continue;
		}
		if (outbox_result(s->store, o->id, o->state, o->code, o->reply, o->next, now) < 0)
			goto fail;
		/* an address erased while its message was in flight is not
		 * written back as a suppression */
		if (o->suppress && ((erased = outbox_erased(s->store, o->id)) < 0 ||
		    (!erased && outbox_suppress(s->store, o->addr, o->reply, now) < 0)))
			goto fail;
	}
	if (s->relay_dirty && record_relay(s, now) < 0)
		goto fail;
	if (store_commit(s->store) < 0)
		goto fail;
	for (i = 0; i < s->noutcomes; i++) {
		struct outcome *o = &s->outcomes[i];

		metrics_sent(s->metrics, o->state == OUTBOX_SENT);
		if (o->state != OUTBOX_SENT && o->state != OUTBOX_QUEUED)
			log_ids(LOG_INFO, &(log_ids_t){ .recipient = o->addr },
			    "sender: message %lld to %s %s%s: %s", (long long)o->id, o->addr,
			    outbox_state_name(o->state), o->suppress ? " (address suppressed)" : "",
			    o->reply);
	}
	if (s->stalled)
		log_info("sender: %d outcomes recorded at the %d. try; sending again",
		    s->noutcomes, s->tries);
	settled = s->noutcomes > 0 && s->nwaiting == 0 && s->ninflight == 0;
	s->noutcomes = 0;
	s->relay_dirty = 0;
	s->stalled = 0;
	s->tries = 0;
	/* the last outcomes of what was claimed are durable: an issue whose
	 * last row this was is marked sent now, not at the scheduler's tick */
	if (settled && s->settled)
		s->settled(s->settled_arg);
	return;
fail:
	if (!s->stalled)
		log_error("sender: recording %d outcomes: %s; kept, and tried again until"
		    " they are recorded; no new message meanwhile", s->noutcomes,
		    store_errmsg(s->store));
	store_rollback(s->store);
	s->retry_wait = !s->stalled ? RECORD_RETRY_FIRST_MS :
	    s->retry_wait * 2 > RECORD_RETRY_MAX_MS ? RECORD_RETRY_MAX_MS : s->retry_wait * 2;
	s->retry_at = mono + s->retry_wait;
	s->stalled = 1;
}

/* engine_conf - the SMTP engine's settings in conf; -1 with err for a
 * smtp.tls that is none of its three words */
static int
engine_conf(const conf_t *conf, smtp_conf_t *sc, buf_t *err)
{
	*sc = (smtp_conf_t){
		.url = conf->smtp_url,
		.connections = (int)conf->smtp_connections,
		.max_per_session = (int)conf->smtp_max_per_session,
		.rate_per_sec = (double)conf->smtp_rate_per_sec,
		.rate_per_hour = conf->smtp_rate_per_hour,
		.tls = strcmp(conf->smtp_tls, "yes") == 0 ? 1 : strcmp(conf->smtp_tls, "no") == 0 ? -1 : 0,
		.auth_file = *conf->smtp_auth_file ? conf->smtp_auth_file : NULL,
		.ca_file = *conf->smtp_ca_file ? conf->smtp_ca_file : NULL,
		.timeout_ms = conf->smtp_timeout_ms,
		.dot_timeout_ms = conf->smtp_dot_timeout_ms,
		.helo = *conf->smtp_helo ? conf->smtp_helo : NULL,
	};
	if (strcmp(conf->smtp_tls, "auto") != 0 && strcmp(conf->smtp_tls, "yes") != 0 &&
	    strcmp(conf->smtp_tls, "no") != 0) {
		buf_notef(err, "smtp.tls: \"%s\" is not auto, yes or no", conf->smtp_tls);
		return -1;
	}
	return 0;
}

int
sender_conf_check(const conf_t *conf, buf_t *err)
{
	smtp_conf_t sc;

	return engine_conf(conf, &sc, err) < 0 ? -1 : smtp_conf_check(&sc, err);
}

sender_t *
sender_new(const conf_t *conf, store_t *store, message_ctx_t *msg, buf_t *err)
{
	sender_t *s = xcalloc(1, sizeof *s);
	smtp_conf_t sc;

	s->conf = conf;
	s->store = store;
	s->msg = msg;
	if (signq_open(conf, &s->signq, err) < 0)
		goto fail;
	s->build = build_new(store, conf, msg);
	relay_init(&s->relay);
	s->relay_known = RELAY_CLOSED;
	s->inflight = xcalloc((size_t)conf->smtp_connections + 1, sizeof *s->inflight);
	/* the window (built or released), those in flight and those held */
	s->maxoutcomes = WINDOW + (int)conf->smtp_connections + RELAY_SAME_RUN;
	s->outcomes = xcalloc((size_t)s->maxoutcomes, sizeof *s->outcomes);
	buf_init(&s->env, 1024);
	buf_init(&s->err, 4096);
	store_busy(store, SENDER_BUSY_MS);
	if (engine_conf(conf, &sc, err) < 0 || smtp_conf_check(&sc, err) < 0 ||
	    (s->smtp = smtp_new(&sc, done, s, err)) == NULL)
		goto fail;
	return s;
fail:
	sender_free(s);
	return NULL;
}

int
sender_dkim_reload(sender_t *s, const conf_t *conf, buf_t *err)
{
	if (s->signq == NULL)
		return 0;	/* not signing: dkim.domain needs a restart */
	return signq_reload(s->signq, conf, err);
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
	free(s->outcomes);
	build_free(s->build);
	signq_close(s->signq);
	buf_free(&s->env);
	buf_free(&s->err);
	free(s);
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
	j->kind = row->kind;
	j->ref = xstrdup(row->ref);
	j->recipient = xstrdup(row->recipient);
	j->name = xstrdup(row->name);
	j->lang = xstrdup(row->lang);
	j->contact_id = row->contact_id;
	j->project = xstrdup(row->project);
	j->paused_until = row->paused_until;
	j->stopped = row->stopped;
	j->built = 0;
	buf_init(&j->eml, EML_MAX);
	return 0;
}

/* build - a waiting row's message into j->eml (built = 1), or to the
 * signing threads (signing = 1; signed() makes it built); a row that
 * cannot be built is final at the next commit (built = -1).  This is the
 * one place every message passes on its way from its kind's builder to
 * SMTP, so with dkim.domain set none goes out unsigned, of any kind */
static void
build(sender_t *s, struct job *j)
{
	outbox_row_t row = { j->id, j->kind, j->ref, j->recipient, j->attempts, j->first_attempt,
	    j->subscriber_id, j->name, j->lang, j->regions, j->contact_id, j->project,
	    j->paused_until, j->stopped };
	outbox_state_t empty;
	int64_t now = clock_now();
	int got;

	buf_reset(&s->err);
	buf_reserve(&j->eml, s->eml_hint);
	if ((got = build_row(s->build, &row, now, &j->eml, &empty, &s->err)) == 0) {
		s->eml_hint = j->eml.len + 1024;
		j->built_at = now;
		if (s->signq == NULL) {
			j->built = 1;
			return;
		}
		j->sign_tag = ++s->sign_seq;
		if (signq_put(s->signq, j->sign_tag, &j->eml, now) == 0) {
			j->signing = 1;
			return;
		}
		/* the queue holds more than the window, but the messages of
		 * rows given back (sender_recheck()) stay in it until signed:
		 * this row goes back too, uncharged, not failed */
		outcome(s, j->id, j->recipient, OUTBOX_QUEUED, 0, "");
		j->built = -1;
		return;
	}
	/* 1: nothing in it for the reader, or its reason is gone */
	if (got == 1 && s->err.len == 0)
		buf_note(&s->err, "nothing in this issue for the recipient");
	outcome(s, j->id, j->recipient, got < 0 ? OUTBOX_FAILED : empty, 0, buf_str(&s->err));
	if (got < 0)
		log_error("sender: message %lld: %s", (long long)j->id, buf_str(&s->err));
	j->built = -1;
}

/* submit - hand the next waiting row's message to SMTP, building it first
 * if that was not done ahead; 0 when the relay may not take it now (the
 * row stays first in the window), 1 when the row is done with */
static int
submit(sender_t *s)
{
	struct job *j = &s->waiting[s->head];
	int64_t now = clock_now();
	int bad;

	if (j->built > 0 && now - j->built_at > AHEAD_MAX_S) {
		log_debug("sender: message %lld held %lld s since it was built; building it again",
		    (long long)j->id, (long long)(now - j->built_at));
		buf_reset(&j->eml);	/* held back, by a rate limit say */
		j->built = 0;
	}
	if (!j->built && !j->signing)
		build(s, j);
	if (j->signing)
		return 0;	/* signed() will bring it back */
	if (j->built > 0 && !relay_may_send(&s->relay, clock_mono_ms()))
		return 0;
	relay_note(s);
	s->head = (s->head + 1) % WINDOW;
	s->nwaiting--;
	if (j->built < 0) {
		job_free(j);
		return 1;
	}
	buf_reset(&s->env);
	if (message_verp(s->msg, j->id, &s->env) < 0 ||
	    smtp_submit(s->smtp, (uint64_t)j->id, buf_str(&s->env), j->recipient,
	    j->eml.data, j->eml.len) < 0) {
		/* EAGAIN cannot happen after smtp_ready(); retry it at once */
		bad = errno == EINVAL;
		outcome(s, j->id, j->recipient, bad ? OUTBOX_FAILED : OUTBOX_DEFERRED, 0, bad ?
		    "address unusable in SMTP" : "SMTP engine busy")->next = bad ? 0 : now;
		log_error("sender: message %lld not accepted by the SMTP engine: %s",
		    (long long)j->id, strerror(errno));
		relay_unprobe(&s->relay);	/* that probe never went */
		job_free(j);
		return 1;
	}
	(void)buf_take(&j->eml);	/* the engine owns it now */
	s->inflight[s->ninflight++] = *j;
	memset(j, 0, sizeof *j);
	return 1;
}

/* ahead - the next waiting row, among as many as there are connections,
 * whose message is not built yet; NULL when there is none */
static struct job *
ahead(sender_t *s)
{
	int n = s->nwaiting < (int)s->conf->smtp_connections ? s->nwaiting :
	    (int)s->conf->smtp_connections;

	if (s->released || s->stalled)
		return NULL;
	for (int i = 0; i < n; i++) {
		struct job *j = &s->waiting[(s->head + i) % WINDOW];

		if (!j->built && !j->signing)
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
	if (j->built > 0 || j->signing)
		log_debug("sender: message %lld built ahead", (long long)j->id);
}

/* signed_ - the signing threads' results: each to its job in the window,
 * which is then built (or failed); a result whose job was released or
 * built again meanwhile is dropped */
static void
signed_(loop_t *l, void *arg, short revents)
{
	sender_t *s = arg;
	uint64_t tag;
	int ok;
	buf_t eml;

	(void)l;
	(void)revents;
	buf_init(&eml, EML_MAX);
	buf_reset(&s->err);
	while (signq_get(s->signq, &tag, &ok, &eml, &s->err) > 0) {
		struct job *j = NULL;

		for (int i = 0; i < s->nwaiting && j == NULL; i++) {
			struct job *w = &s->waiting[(s->head + i) % WINDOW];

			if (w->signing && w->sign_tag == tag)
				j = w;
		}
		if (j && ok) {
			buf_free(&j->eml);
			j->eml = eml;
			buf_init(&eml, EML_MAX);
			j->built = 1;
			/* counted from here: a signing slower than AHEAD_MAX_S
			 * must not send the message back to be built forever */
			j->built_at = clock_now();
		} else if (j) {
			outcome(s, j->id, j->recipient, OUTBOX_FAILED, 0, buf_str(&s->err));
			log_error("sender: message %lld: %s", (long long)j->id, buf_str(&s->err));
			j->built = -1;
		}
		if (j)
			j->signing = 0;
		buf_reset(&eml);
		buf_reset(&s->err);
	}
	buf_free(&eml);
}

/* pump - claim and submit what the connections can take.  Nothing while
 * outcomes wait for a commit, while paused, or while the relay refuses
 * (but for its probe: then one row is claimed) */
static void
pump(sender_t *s, int64_t now)
{
	int64_t mono = clock_mono_ms();
	int max = s->relay.state == RELAY_CLOSED ? WINDOW : 1;

	/* a write may have stopped rows in the window: none goes before
	 * before_sleep() has given them back (sender_recheck()) */
	if (s->released || s->stalled || s->recheck)
		return;
	while (smtp_ready(s->smtp) > 0) {
		if (s->nwaiting == 0) {
			/* an idle outbox is looked at 5 times a second, not at every
			 * turn of the loop, which the intake's events also drive */
			if (s->paused || mono < s->idle_until ||
			    (s->relay.state != RELAY_CLOSED && mono < s->relay.probe_at))
				break;
			/* a new window's outcomes must fit beside those waiting
			 * (maxoutcomes): rows that ended without a connection
			 * (nothing for the reader, stopped) are committed first */
			if (s->noutcomes > 0) {
				flush(s);
				if (s->noutcomes > 0)
					break;
			}
			s->head = 0;
			if (outbox_claim(s->store, now, max, claim_cb, s) < 0) {
				if (!s->claim_failing)
					log_error("sender: claiming messages: %s; tried again every %d ms",
					    store_errmsg(s->store), IDLE_MS);
				s->claim_failing = 1;
				s->idle_until = mono + IDLE_MS;
				break;
			}
			if (s->claim_failing)
				log_info("sender: claiming messages again");
			s->claim_failing = 0;
			if (s->nwaiting == 0) {
				s->idle_until = mono + IDLE_MS;
				break;
			}
		}
		if (!submit(s))
			break;
	}
}

void
sender_release(sender_t *s)
{
	s->released = 1;
	requeue(s);
}

void
sender_recheck(sender_t *s)
{
	s->recheck = 1;
}

void
sender_wake(sender_t *s)
{
	s->idle_until = 0;
}

void
sender_on_settled(sender_t *s, void (*fn)(void *), void *arg)
{
	s->settled = fn;
	s->settled_arg = arg;
}

void
sender_pause(sender_t *s, int on)
{
	s->paused = on;
}

int
sender_inflight(sender_t *s)
{
	return smtp_inflight(s->smtp);
}

int
sender_pending(sender_t *s)
{
	return s->noutcomes + s->nheld + (s->relay_dirty ? 1 : 0);
}

void
sender_finish(sender_t *s)
{
	held(s, RELAY_HELD_RECORD);
}

static int
source_items(void *arg, zmq_pollitem_t *items, int max)
{
	sender_t *s = arg;

	return smtp_pollitems(s->smtp, items, max);
}

/* source_timeout - the engine's, or sooner: the next try of a commit, the
 * relay's next probe, the end of a held run */
static long
source_timeout(void *arg)
{
	sender_t *s = arg;
	long t = smtp_timeout_ms(s->smtp);
	int64_t mono = clock_mono_ms(), at[3] = { -1, -1, -1 };

	if (s->stalled)
		at[0] = s->retry_at;
	if (s->relay.state == RELAY_OPEN)
		at[1] = s->relay.probe_at;
	if (s->nheld > 0)
		at[2] = s->relay.held_since + RELAY_HOLD_MS;
	for (int i = 0; i < 3; i++) {
		long w = at[i] < 0 ? -1 : at[i] > mono ? (long)(at[i] - mono) : 0;

		if (w >= 0 && (t < 0 || w < t))
			t = w;
	}
	return t;
}

static void
source_process(void *arg, const zmq_pollitem_t *items, int n)
{
	sender_t *s = arg;

	smtp_process(s->smtp, items, n);
	held(s, relay_expire(&s->relay, clock_mono_ms()));
	/* The connections the results freed take their next messages before
	 * the results are committed, so that the commit is not between a
	 * connection and its next message (measured: half the rate when it
	 * is).  That can repeat no more after a crash: a new message is only
	 * offered to the relay (MAIL, RCPT, DATA) until its content goes out,
	 * and that waits for the 354, which smtp_process() reads in a later
	 * turn, after this commit.  Only when this commit fails can those
	 * messages complete before their predecessors are recorded: a crash
	 * during such a stall repeats at most 2 x smtp.connections */
	if (s->noutcomes > 0)
		pump(s, clock_now());
	flush(s);
}

/* before_sleep - claim and submit what the connections can take */
static void
before_sleep(loop_t *l, void *arg)
{
	sender_t *s = arg;

	(void)l;
	flush(s);	/* the rows a build ended, the waiting ones released */
	/* claimed before a write that may stop them: claimed again, and so
	 * judged again (outbox_claim()), once the release is committed */
	if (s->recheck && !s->stalled) {
		requeue(s);
		s->recheck = 0;
		flush(s);
	}
	pump(s, clock_now());
}

int
sender_attach(sender_t *s, loop_t *l)
{
	static const loop_source_t ops = { source_items, source_timeout, source_process };

	if (loop_before_sleep(l, before_sleep, s) < 0)
		return -1;
	loop_idle(l, ahead_pending, ahead_run, s);
	if (s->signq && loop_add_fd(l, signq_fd(s->signq), ZMQ_POLLIN, signed_, s) < 0)
		return -1;
	return loop_add_source(l, &ops, s) < 0 ? -1 : 0;
}

void
sender_metrics(sender_t *s, metrics_t *m)
{
	s->metrics = m;
}
