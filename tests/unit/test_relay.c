/*
 * test_relay - the relay's circuit breaker: whose fault a reply is, when
 * sending pauses and resumes, and that no reader is charged for the
 * relay's refusals.  Times are passed in, so every step is exact.
 */
#include <stdio.h>
#include <string.h>

#include "relay.h"
#include "test.h"

static smtp_result_t
res(int stage, int code, const char *enhanced, const char *text)
{
	smtp_result_t r;

	memset(&r, 0, sizeof r);
	r.stage = stage;
	r.code = code;
	snprintf(r.enhanced, sizeof r.enhanced, "%s", enhanced);
	snprintf(r.text, sizeof r.text, "%s", text);
	return r;
}

TEST(scopes)
{
	smtp_result_t r;

	r = res(SMTP_STAGE_DONE, 250, "2.0.0", "250 2.0.0 Ok: queued");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_OK);
	r = res(SMTP_STAGE_CONNECT, 554, "", "554 go away");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RELAY);
	r = res(SMTP_STAGE_CONNECT, 0, "", "Failed to connect");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RELAY);
	r = res(SMTP_STAGE_MAIL, 553, "5.7.1", "553 5.7.1 sender rejected");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RELAY);
	r = res(SMTP_STAGE_RCPT, 421, "4.3.2", "421 4.3.2 shutting down");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RELAY);
	r = res(SMTP_STAGE_RCPT, 0, "", "Operation timed out");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RELAY);
	r = res(SMTP_STAGE_RCPT, 550, "5.1.1", "550 5.1.1 <a@x.fi>: user unknown");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RECIPIENT);
	r = res(SMTP_STAGE_RCPT, 451, "4.7.1", "451 4.7.1 greylisted");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RECIPIENT);
	r = res(SMTP_STAGE_RCPT, 503, "5.5.1", "503 5.5.1 Error: need RCPT command");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_SEQUENCE);
	r = res(SMTP_STAGE_RCPT, 354, "", "354 End data with <CR><LF>.<CR><LF>");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_SEQUENCE);
	/* as the engine reports one: no code, marked out of step */
	r = res(SMTP_STAGE_RCPT, 0, "", "unexpected reply: 250 2.1.0 Ok");
	r.out_of_step = 1;
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_SEQUENCE);
	r = res(SMTP_STAGE_DATA, 552, "5.2.2", "552 5.2.2 <A@X.fi>: mailbox full");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_RECIPIENT);
	r = res(SMTP_STAGE_DATA, 554, "5.7.1", "554 5.7.1 message content rejected");
	CHECK(relay_scope(&r, "a@x.fi") == RELAY_SCOPE_MESSAGE);
	/* our sender refused at RCPT (Postfix's smtpd_delay_reject): the
	 * relay's, never the reader's, whatever the status says; words about
	 * a sender in a reply naming the recipient: the reader's */
	static const struct {
		int code;
		const char *enhanced, *text;
		relay_scope_t want;
	} at_rcpt[] = {
		{ 550, "5.1.0", "550 5.1.0 <bounces+x@tiedote.fi>: Sender address rejected:"
		  " User unknown in local recipient table", RELAY_SCOPE_RELAY },
		{ 450, "4.1.8", "450 4.1.8 <bounces+x@tiedote.fi>: Sender address rejected:"
		  " Domain not found", RELAY_SCOPE_RELAY },
		{ 553, "5.1.7", "553 5.1.7 bad syntax", RELAY_SCOPE_RELAY },
		{ 550, "", "550 Sender verify failed", RELAY_SCOPE_RELAY },
		{ 550, "5.7.1", "550 5.7.1 <a@x.fi>: does not accept mail from this sender"
		  " address", RELAY_SCOPE_RECIPIENT },
		{ 550, "5.1.18", "550 5.1.18 x", RELAY_SCOPE_RECIPIENT },
	};
	for (size_t i = 0; i < sizeof at_rcpt / sizeof *at_rcpt; i++) {
		r = res(SMTP_STAGE_RCPT, at_rcpt[i].code, at_rcpt[i].enhanced, at_rcpt[i].text);
		CHECK(relay_scope(&r, "a@x.fi") == at_rcpt[i].want);
	}
}

TEST(a_sender_refused_at_rcpt_charges_no_reader)
{
	smtp_result_t no = res(SMTP_STAGE_RCPT, 550, "5.1.0", "550 5.1.0 <b@tiedote.fi>: Sender"
	    " address rejected: User unknown in local recipient table");
	relay_held_t held = RELAY_HELD_KEEP;
	relay_t r;

	relay_init(&r);
	CHECK(relay_outcome(&r, &no, "a@x.fi", 0, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_OPEN && strstr(r.reason, "Sender address") != NULL);
}

TEST(refusal_pauses_and_a_probe_resumes)
{
	smtp_result_t no = res(SMTP_STAGE_CONNECT, 554, "", "554 5.3.2 not now");
	smtp_result_t ok = res(SMTP_STAGE_DONE, 250, "2.0.0", "250 Ok");
	relay_held_t held;
	relay_t r;

	relay_init(&r);
	CHECK(relay_may_send(&r, 0) == 1);
	CHECK(relay_outcome(&r, &no, "a@x.fi", 100, &held) == RELAY_REQUEUE);
	CHECK(held == RELAY_HELD_KEEP);
	CHECK(r.state == RELAY_OPEN);
	CHECK(strstr(r.reason, "554 5.3.2 not now") != NULL);
	CHECK(relay_may_send(&r, 100 + RELAY_PROBE_FIRST_MS - 1) == 0);
	CHECK(relay_may_send(&r, 100 + RELAY_PROBE_FIRST_MS) == 1);
	CHECK(r.state == RELAY_PROBING);
	CHECK(relay_may_send(&r, 100 + RELAY_PROBE_FIRST_MS) == 0);	/* one probe */
	/* the probe is refused too: a longer wait */
	CHECK(relay_outcome(&r, &no, "b@x.fi", 2000, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_OPEN && r.probe_at == 2000 + 2 * RELAY_PROBE_FIRST_MS);
	for (int i = 0; i < 20; i++) {		/* doubling, to the cap */
		CHECK(relay_may_send(&r, r.probe_at) == 1);
		relay_outcome(&r, &no, "b@x.fi", r.probe_at, &held);
	}
	CHECK(r.probe_wait == RELAY_PROBE_MAX_MS);
	CHECK(relay_may_send(&r, r.probe_at) == 1);
	CHECK(relay_outcome(&r, &ok, "b@x.fi", r.probe_at, &held) == RELAY_RECORD);
	CHECK(r.state == RELAY_CLOSED && relay_may_send(&r, 0) == 1);
	/* closed again: the next refusal starts from the first wait */
	relay_outcome(&r, &no, "c@x.fi", 5000, &held);
	CHECK(r.probe_at == 5000 + RELAY_PROBE_FIRST_MS);
}

TEST(timeouts_open_after_a_run)
{
	smtp_result_t to = res(SMTP_STAGE_DATA, 0, "", "Operation timed out");
	smtp_result_t ok = res(SMTP_STAGE_DONE, 250, "", "250 Ok");
	relay_held_t held;
	relay_t r;

	relay_init(&r);
	for (int i = 1; i < RELAY_TIMEOUT_RUN; i++) {
		/* not yet a run: the message's own, deferred */
		CHECK(relay_outcome(&r, &to, "a@x.fi", i, &held) == RELAY_RECORD);
		CHECK(r.state == RELAY_CLOSED);
	}
	relay_outcome(&r, &ok, "a@x.fi", 10, &held);	/* the run is broken */
	for (int i = 1; i < RELAY_TIMEOUT_RUN; i++)
		relay_outcome(&r, &to, "a@x.fi", 10 + i, &held);
	CHECK(r.state == RELAY_CLOSED);
	/* the content had gone out: it may have arrived, not again at once */
	CHECK(relay_outcome(&r, &to, "a@x.fi", 20, &held) == RELAY_RECORD);
	CHECK(r.state == RELAY_OPEN);
	CHECK(strstr(r.reason, "timeouts") != NULL);
	/* a connection refused opens it the same way; before the message
	 * began, none of the run is charged */
	relay_init(&r);
	to.stage = SMTP_STAGE_CONNECT;
	for (int i = 1; i < RELAY_TIMEOUT_RUN; i++)
		CHECK(relay_outcome(&r, &to, "a@x.fi", i, &held) == RELAY_REQUEUE);
	CHECK(relay_outcome(&r, &to, "a@x.fi", 20, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_OPEN);
	/* a message that was in flight when it opened brings no news: the
	 * wait before the probe does not grow */
	CHECK(relay_outcome(&r, &to, "b@x.fi", 21, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_OPEN && r.probe_at == 20 + RELAY_PROBE_FIRST_MS);
}

TEST(the_same_failure_for_many_is_the_relays)
{
	smtp_result_t deny = res(SMTP_STAGE_RCPT, 554, "5.7.1", "554 5.7.1 Relay access denied");
	smtp_result_t ok = res(SMTP_STAGE_DONE, 250, "", "250 Ok");
	relay_held_t held;
	char rcpt[32];
	relay_t r;

	relay_init(&r);
	/* a run that ends with a delivery: its rows are recorded as they were */
	CHECK(relay_outcome(&r, &deny, "a@x.fi", 0, &held) == RELAY_HOLD);
	CHECK(relay_outcome(&r, &deny, "b@x.fi", 1, &held) == RELAY_HOLD);
	CHECK(held == RELAY_HELD_KEEP);
	CHECK(relay_outcome(&r, &ok, "c@x.fi", 2, &held) == RELAY_RECORD);
	CHECK(held == RELAY_HELD_RECORD);
	/* the same recipient twice is not two recipients */
	CHECK(relay_outcome(&r, &deny, "d@x.fi", 3, &held) == RELAY_HOLD);
	CHECK(relay_outcome(&r, &deny, "d@x.fi", 4, &held) == RELAY_HOLD);
	CHECK(held == RELAY_HELD_RECORD && r.same == 1);
	/* RELAY_SAME_RUN different ones (d the first): every row of the run
	 * back, uncharged */
	for (int i = 2; i < RELAY_SAME_RUN; i++) {
		snprintf(rcpt, sizeof rcpt, "r%d@x.fi", i);
		CHECK(relay_outcome(&r, &deny, rcpt, 10 + i, &held) == RELAY_HOLD);
		CHECK(held == RELAY_HELD_KEEP);
	}
	CHECK(r.state == RELAY_CLOSED);
	CHECK(relay_outcome(&r, &deny, "last@x.fi", 20, &held) == RELAY_REQUEUE);
	CHECK(held == RELAY_HELD_REQUEUE);
	CHECK(r.state == RELAY_OPEN);
	CHECK(strstr(r.reason, "Relay access denied") != NULL);
	/* the probe meets it again: still open */
	CHECK(relay_may_send(&r, r.probe_at) == 1);
	CHECK(relay_outcome(&r, &deny, "p@x.fi", r.probe_at, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_OPEN);
}

TEST(unknown_users_are_each_readers)
{
	smtp_result_t unknown = res(SMTP_STAGE_RCPT, 550, "5.1.1", "550 5.1.1 user unknown");
	relay_held_t held;
	char rcpt[32];
	relay_t r;

	relay_init(&r);
	for (int i = 0; i < 3 * RELAY_SAME_RUN; i++) {
		snprintf(rcpt, sizeof rcpt, "u%d@x.fi", i);
		CHECK(relay_outcome(&r, &unknown, rcpt, i, &held) == RELAY_RECORD);
	}
	CHECK(r.state == RELAY_CLOSED);
}

TEST(a_run_that_stops_growing_is_recorded)
{
	smtp_result_t busy = res(SMTP_STAGE_RCPT, 451, "4.3.0", "451 4.3.0 try later");
	relay_held_t held;
	relay_t r;

	relay_init(&r);
	CHECK(relay_outcome(&r, &busy, "a@x.fi", 1000, &held) == RELAY_HOLD);
	CHECK(relay_expire(&r, 1000 + RELAY_HOLD_MS - 1) == RELAY_HELD_KEEP);
	CHECK(relay_expire(&r, 1000 + RELAY_HOLD_MS) == RELAY_HELD_RECORD);
	CHECK(relay_expire(&r, 1000 + RELAY_HOLD_MS) == RELAY_HELD_KEEP);
	CHECK(r.same == 0);
}

TEST(a_slow_run_that_grows_is_kept)
{
	/* one refusal every 1.5 s (a tarpit, smtp.rate_per_sec=1): the run
	 * grows before RELAY_HOLD_MS passes each time, and opens the breaker */
	smtp_result_t deny = res(SMTP_STAGE_RCPT, 554, "5.7.1", "554 5.7.1 Relay access denied");
	int64_t step = RELAY_HOLD_MS * 3 / 4, now = 0;
	relay_held_t held;
	char rcpt[32];
	relay_t r;

	relay_init(&r);
	for (int i = 0; i < RELAY_SAME_RUN - 1; i++, now += step) {
		snprintf(rcpt, sizeof rcpt, "s%d@x.fi", i);
		CHECK(relay_outcome(&r, &deny, rcpt, now, &held) == RELAY_HOLD);
		CHECK(relay_expire(&r, now + step - 1) == RELAY_HELD_KEEP);
	}
	CHECK(relay_outcome(&r, &deny, "last@x.fi", now, &held) == RELAY_REQUEUE);
	CHECK(held == RELAY_HELD_REQUEUE && r.state == RELAY_OPEN);
}

TEST(out_of_step_is_nobodys)
{
	smtp_result_t seq = res(SMTP_STAGE_RCPT, 503, "5.5.1", "503 5.5.1 need RCPT command");
	smtp_result_t no = res(SMTP_STAGE_CONNECT, 554, "", "554 no");
	smtp_result_t ok = res(SMTP_STAGE_DONE, 250, "2.0.0", "250 2.0.0 ok");
	smtp_result_t busy = res(SMTP_STAGE_RCPT, 451, "4.3.0", "451 4.3.0 try later");
	smtp_result_t late = res(SMTP_STAGE_DATA, 503, "5.5.1", "503 5.5.1 out of order");
	relay_held_t held;
	relay_t r;

	late.out_of_step = late.dot_sent = 1;
	relay_init(&r);
	for (int i = 0; i < RELAY_SEQUENCE_RUN - 1; i++)
		CHECK(relay_outcome(&r, &seq, "a@x.fi", i, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_CLOSED);
	/* a delivery between starts the count again */
	CHECK(relay_outcome(&r, &ok, "a@x.fi", 20, &held) == RELAY_RECORD);
	for (int i = 0; i < RELAY_SEQUENCE_RUN - 1; i++)
		CHECK(relay_outcome(&r, &seq, "a@x.fi", 30 + i, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_CLOSED);
	/* a relay that keeps going out of step is the relay's: it pauses,
	 * and its rows do not come back at once for ever */
	CHECK(relay_outcome(&r, &seq, "a@x.fi", 50, &held) == RELAY_REQUEUE);
	CHECK(r.state == RELAY_OPEN && relay_may_send(&r, 50) == 0 &&
	    strstr(r.reason, "out of step in a row") != NULL);
	/* a probe that went out of step is repeated at once, until that too
	 * has happened RELAY_SEQUENCE_RUN times in a row: then the wait grows */
	relay_init(&r);
	relay_outcome(&r, &no, "a@x.fi", 0, &held);
	for (int i = 0; i < RELAY_SEQUENCE_RUN - 1; i++) {
		int64_t at = r.probe_at;

		CHECK(relay_may_send(&r, at) == 1);
		relay_outcome(&r, &seq, "a@x.fi", at, &held);
		CHECK(r.state == RELAY_OPEN && r.probe_at == at);
	}
	CHECK(relay_may_send(&r, r.probe_at) == 1);
	relay_outcome(&r, &seq, "a@x.fi", r.probe_at, &held);
	CHECK(r.state == RELAY_OPEN && r.probe_wait == 2 * RELAY_PROBE_FIRST_MS);
	/* a run of one failure held back when the out-of-step run opens
	 * the breaker goes back to the queue (it was left held for ever) */
	relay_init(&r);
	CHECK(relay_outcome(&r, &busy, "b@x.fi", 100, &held) == RELAY_HOLD && r.same == 1);
	for (int i = 0; i < RELAY_SEQUENCE_RUN - 1; i++)
		CHECK(relay_outcome(&r, &seq, "a@x.fi", 101, &held) == RELAY_REQUEUE &&
		    held == RELAY_HELD_KEEP);
	CHECK(relay_outcome(&r, &seq, "a@x.fi", 102, &held) == RELAY_REQUEUE &&
	    held == RELAY_HELD_REQUEUE && r.state == RELAY_OPEN);
	/* out of step after the ".": the message may have arrived, so it is
	 * recorded (deferred with backoff), not sent again at once */
	relay_init(&r);
	CHECK(relay_outcome(&r, &late, "a@x.fi", 200, &held) == RELAY_RECORD);
}

int
main(void)
{
	RUN(scopes);
	RUN(a_sender_refused_at_rcpt_charges_no_reader);
	RUN(refusal_pauses_and_a_probe_resumes);
	RUN(timeouts_open_after_a_run);
	RUN(the_same_failure_for_many_is_the_relays);
	RUN(unknown_users_are_each_readers);
	RUN(a_run_that_stops_growing_is_recorded);
	RUN(a_slow_run_that_grows_is_kept);
	RUN(out_of_step_is_nobodys);
	return TEST_DONE();
}
