/*
 * relay - the relay's circuit breaker; contract in relay.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "relay.h"

void
relay_init(relay_t *r)
{
	memset(r, 0, sizeof *r);
	r->state = RELAY_CLOSED;
	r->same_code = -1;
}

const char *
relay_state_name(relay_state_t s)
{
	switch (s) {
	case RELAY_CLOSED: return "closed";
	case RELAY_OPEN: return "open";
	case RELAY_PROBING: return "probing";
	}
	return "?";
}

/* about_sender - a refusal of our envelope sender that the relay gave
 * at RCPT (Postfix's smtpd_delay_reject, the default: "Sender address
 * rejected"): RFC 3463's X.1.7 and X.1.8, or words about the sender in
 * a reply that does not name the recipient.  It is no reader's doing;
 * charged to each, a bounce domain gone from the DNS would fail (or with
 * 5.1.0, suppress) every address in turn */
static int
about_sender(const smtp_result_t *res, const char *rcpt)
{
	static const char *const words[] = { "sender address", "sender verif",
	    "sender domain", "sender rejected", "bad sender", "unknown sender",
	    "invalid sender" };
	const char *e = res->enhanced;

	if (e[0] && e[1] == '.' && e[2] == '1' && e[3] == '.' && (e[4] == '7' || e[4] == '8') &&
	    e[5] == '\0')
		return 1;
	if (rcpt && *rcpt && strcasestr(res->text, rcpt))
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strcasestr(res->text, words[i]))
			return 1;
	return 0;
}

relay_scope_t
relay_scope(const smtp_result_t *res, const char *rcpt)
{
	if (res->stage == SMTP_STAGE_DONE && res->code >= 200 && res->code < 300)
		return RELAY_SCOPE_OK;
	if (res->out_of_step)
		return RELAY_SCOPE_SEQUENCE;
	/* no reply (refused, dropped, timed out, TLS), or "closing
	 * transmission channel": the relay's state, whatever the command */
	if (res->code == 0 || res->code == 421)
		return RELAY_SCOPE_RELAY;
	if (res->stage == SMTP_STAGE_CONNECT || res->stage == SMTP_STAGE_MAIL)
		return RELAY_SCOPE_RELAY;
	/* bad sequence, or a reply no failed RCPT or "." can have */
	if (res->code == 503 || res->code < 400)
		return RELAY_SCOPE_SEQUENCE;
	if (res->stage == SMTP_STAGE_RCPT)
		return about_sender(res, rcpt) ? RELAY_SCOPE_RELAY : RELAY_SCOPE_RECIPIENT;
	return rcpt && *rcpt && strcasestr(res->text, rcpt) ? RELAY_SCOPE_RECIPIENT :
	    RELAY_SCOPE_MESSAGE;
}

/* about_address - an enhanced status of the address or mailbox class
 * (RFC 3463 X.1.*, X.2.*): one reader's, however many share it */
static int
about_address(const char *enhanced)
{
	return enhanced[0] && enhanced[1] == '.' && (enhanced[2] == '1' || enhanced[2] == '2') &&
	    enhanced[3] == '.';
}

/* open_breaker - pause; code and status are what a probe must not meet
 * again (-1 and "" when the relay itself refused or was silent) */
static void
open_breaker(relay_t *r, int64_t now, const char *why, int code, const char *status)
{
	if (r->state == RELAY_CLOSED)
		r->probe_wait = RELAY_PROBE_FIRST_MS;
	else if ((r->probe_wait *= 2) > RELAY_PROBE_MAX_MS)
		r->probe_wait = RELAY_PROBE_MAX_MS;
	r->state = RELAY_OPEN;
	r->probe_at = now + r->probe_wait;
	r->opened++;
	r->timeouts = 0;
	r->sequences = 0;
	r->same = 0;
	r->same_code = code;
	snprintf(r->same_status, sizeof r->same_status, "%s", status);
	snprintf(r->reason, sizeof r->reason, "%s", why);
}

static void
close_breaker(relay_t *r)
{
	r->state = RELAY_CLOSED;
	r->timeouts = 0;
	r->opened = 0;
	r->probe_wait = 0;
	r->reason[0] = '\0';
	r->same_code = -1;
}

relay_verdict_t
relay_outcome(relay_t *r, const smtp_result_t *res, const char *rcpt, int64_t now,
    relay_held_t *held)
{
	char why[512];
	int after;	/* silent, or out of step, once the content had gone out */
	relay_scope_t scope;

	*held = RELAY_HELD_KEEP;
	scope = relay_scope(res, rcpt);
	if (scope != RELAY_SCOPE_SEQUENCE)
		r->sequences = 0;
	after = res->stage >= SMTP_STAGE_DATA && (res->out_of_step ? res->dot_sent :
	    res->code == 0);
	/* a failure of a message sent before it opened brings no news: the
	 * wait before the probe does not grow, and no reader is charged */
	if (r->state == RELAY_OPEN && scope != RELAY_SCOPE_OK)
		return after ? RELAY_RECORD : RELAY_REQUEUE;
	switch (scope) {
	case RELAY_SCOPE_OK:
		close_breaker(r);
		if (r->same > 0)
			*held = RELAY_HELD_RECORD;
		r->same = 0;
		return RELAY_RECORD;
	case RELAY_SCOPE_SEQUENCE:
		/* out of step: never the reader's; the relay's once it keeps
		 * happening */
		if (++r->sequences >= RELAY_SEQUENCE_RUN) {
			snprintf(why, sizeof why, "%d replies out of step in a row: %.400s",
			    r->sequences, res->text);
			if (r->same > 0)
				*held = RELAY_HELD_REQUEUE;	/* the run it ends */
			open_breaker(r, now, why, -1, "");
		} else if (r->state == RELAY_PROBING) {
			r->state = RELAY_OPEN;
			r->probe_at = now;
		}
		/* after the ".", the message may have arrived: deferred with
		 * backoff, not sent again at once */
		return after ? RELAY_RECORD : RELAY_REQUEUE;
	case RELAY_SCOPE_RELAY:
		if (res->code != 0 || r->state != RELAY_CLOSED ||
		    ++r->timeouts >= RELAY_TIMEOUT_RUN) {
			if (res->code == 0 && r->state == RELAY_CLOSED)
				snprintf(why, sizeof why, "%d timeouts or dropped sessions in a row: %.400s",
				    r->timeouts, res->text);
			else
				snprintf(why, sizeof why, "%s", res->text);
			if (r->same > 0)
				*held = RELAY_HELD_REQUEUE;
			open_breaker(r, now, why, -1, "");
			/* silence after the content went out: it may have been
			 * delivered, so it is not sent again at once */
			return after ? RELAY_RECORD : RELAY_REQUEUE;
		}
		/* one timeout or drop may be this message's doing (one the
		 * relay chokes on): deferred with backoff, not retried at once
		 * for ever; but not before any of it went out (a connection
		 * refused while the relay restarts): back uncharged, and the
		 * run of them opens the breaker */
		return res->stage == SMTP_STAGE_CONNECT ? RELAY_REQUEUE : RELAY_RECORD;
	case RELAY_SCOPE_RECIPIENT:
	case RELAY_SCOPE_MESSAGE:
		break;
	}
	/* a failure the relay answered with */
	r->timeouts = 0;
	if (r->state == RELAY_PROBING) {
		/* the probe met what opened the breaker: still the relay's */
		if (res->code == r->same_code && strcmp(res->enhanced, r->same_status) == 0) {
			snprintf(why, sizeof why, "%s", r->reason);
			open_breaker(r, now, why, res->code, res->enhanced);
			return RELAY_REQUEUE;
		}
		close_breaker(r);
	}
	if (about_address(res->enhanced)) {
		if (r->same > 0)
			*held = RELAY_HELD_RECORD;
		r->same = 0;
		return RELAY_RECORD;
	}
	if (r->same > 0 && res->code == r->same_code &&
	    strcmp(res->enhanced, r->same_status) == 0 && strcasecmp(rcpt, r->last_rcpt) != 0) {
		snprintf(r->last_rcpt, sizeof r->last_rcpt, "%s", rcpt);
		/* RELAY_HOLD_MS is counted from the run's last growth: a relay
		 * that answers slowly (a tarpit, smtp.rate_per_sec) must not see
		 * its run expire, and every reader charged, while it grows */
		r->held_since = now;
		if (++r->same < RELAY_SAME_RUN)
			return RELAY_HOLD;
		snprintf(why, sizeof why, "the same reply for %d recipients in a row: %.400s",
		    r->same, res->text);
		*held = RELAY_HELD_REQUEUE;
		open_breaker(r, now, why, res->code, res->enhanced);
		return RELAY_REQUEUE;
	}
	/* a new run begins with this one; an old one ends */
	if (r->same > 0)
		*held = RELAY_HELD_RECORD;
	r->same = 1;
	r->same_code = res->code;
	snprintf(r->same_status, sizeof r->same_status, "%s", res->enhanced);
	snprintf(r->last_rcpt, sizeof r->last_rcpt, "%s", rcpt);
	r->held_since = now;
	return RELAY_HOLD;
}

relay_held_t
relay_expire(relay_t *r, int64_t now)
{
	if (r->same == 0 || now - r->held_since < RELAY_HOLD_MS)
		return RELAY_HELD_KEEP;
	r->same = 0;
	return RELAY_HELD_RECORD;
}

int
relay_may_send(relay_t *r, int64_t now)
{
	switch (r->state) {
	case RELAY_CLOSED:
		return 1;
	case RELAY_OPEN:
		if (now < r->probe_at)
			return 0;
		r->state = RELAY_PROBING;
		return 1;
	case RELAY_PROBING:
		return 0;
	}
	return 0;
}

void
relay_unprobe(relay_t *r)
{
	if (r->state == RELAY_PROBING)
		r->state = RELAY_OPEN;
}
