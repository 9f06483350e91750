/* test_classify - the inbound classifier on the kinds it must tell apart
 * (tests/data/inbound/) and on hostile input: a 50 MB message, 10,000
 * MIME parts, message/rfc822 nested 1,000 deep, broken headers; each
 * ends in bounded time with a real classification or "other"; the rule
 * families on reports made here */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "classify.h"
#include "test.h"

static const classify_opts_t opts = { "bounces", "unsubscribe", NULL };

static int
load(const char *name, buf_t *out)
{
	const char *root = getenv("TIEDOTE_ROOT");
	char path[1024], chunk[4096];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof path, "%s/tests/data/inbound/%s", root && *root ? root : ".",
	    name);
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		if (buf_add(out, chunk, n) < 0)
			break;
	fclose(fp);
	return 0;
}

struct want {
	const char *file;
	enum classify_kind kind;
	enum classify_to to;
	const char *addr, *status;
	enum classify_reason reason;
	int hard;
};

static const struct want wants[] = {
	{ "dsn-userunknown.eml", KIND_BOUNCE, TO_BOUNCE, "gone@example.net", "5.1.1",
	  R_USERUNKNOWN, 1 },
	{ "dsn-mailboxfull.eml", KIND_BOUNCE, TO_BOUNCE, "full@example.org", "4.2.2",
	  R_MAILBOXFULL, 0 },
	{ "exim-blocked.eml", KIND_BOUNCE, TO_BOUNCE, "reader@example.com", "5.7.1",
	  R_BLOCKED, 0 },
	{ "qmail-userunknown.eml", KIND_BOUNCE, TO_BOUNCE, "nobody@example.jp", "5.1.1",
	  R_USERUNKNOWN, 1 },
	{ "arf-abuse.eml", KIND_COMPLAINT, TO_BOUNCE, "complainer@example.com", "",
	  R_FEEDBACK, 0 },
	/* Outlook.com's feedback loop: no ARF, the original whole */
	{ "jmrp.eml", KIND_COMPLAINT, TO_BOUNCE, "reader@outlook.example", "", R_FEEDBACK, 0 },
	/* Apple Mail's unsubscribe by mail: its sender opts out */
	{ "apple-unsubscribe.eml", KIND_COMPLAINT, TO_BOUNCE, "reader@icloud.example", "",
	  R_FEEDBACK, 0 },
	{ "vacation.eml", KIND_AUTOREPLY, TO_BOUNCE, "reader@example.fi", "", R_VACATION, 0 },
	{ "unsubscribe.eml", KIND_UNSUBSCRIBE, TO_UNSUBSCRIBE, NULL, NULL, 0, 0 },
	{ "ses-bounce.eml", KIND_BOUNCE, TO_BOUNCE, "gone@example.com", "5.1.1",
	  R_USERUNKNOWN, 1 },
	{ "other.eml", KIND_OTHER, TO_BOUNCE, NULL, NULL, 0, 0 },
	/* Postfix's "host ... refused to talk to me: 554 ...": the greeting
	 * refused, the sender's (Sisimai's Postfix: HELO) */
	{ "postfix-refused-to-talk.eml", KIND_BOUNCE, TO_BOUNCE, "h.schmidt@t-online.de",
	  "5.0.0", R_BLOCKED, 0 },
	/* an out-of-office with no auto headers, its subject RFC 2047-encoded */
	{ "oof-sv-encoded-subject.eml", KIND_AUTOREPLY, TO_BOUNCE,
	  "anders.berg@example-webmail.se", "", R_VACATION, 0 },
	/* a mailbox full in Finnish and in Swedish, text only */
	{ "fi-mailbox-full.eml", KIND_BOUNCE, TO_BOUNCE, "aune@example-fi-webmail.fi",
	  "5.0.922", R_MAILBOXFULL, 0 },
	{ "sv-mailbox-full.eml", KIND_BOUNCE, TO_BOUNCE, "birgitta.l@example-telia.se",
	  "5.0.922", R_MAILBOXFULL, 0 },
	/* a feedback loop's fixed address, the addressee redacted: the token
	 * of the returned original's Return-Path */
	{ "arf-redacted.eml", KIND_COMPLAINT, TO_BOUNCE, "redacted@aol.com", "", R_FEEDBACK, 0 },
	/* a session transcript names the address in its header lines first;
	 * the diagnostic is the reply that names it */
	{ "mdaemon-transcript.eml", KIND_BOUNCE, TO_BOUNCE, "myynti@example-mdaemon.fi", "5.1.1",
	  R_USERUNKNOWN, 1 },
};

/* line_ends - the LF-ended message m with its lines ended as ends says
 * ("\n", "\r\n", or "\r" as archives of classic Mac OS mail keep them) */
static void
line_ends(buf_t *m, const char *ends)
{
	buf_t t;

	buf_init(&t, 1 << 21);
	for (size_t i = 0; i < m->len; i++)
		if (m->data[i] == '\n' ? buf_adds(&t, ends) < 0 : buf_addc(&t, m->data[i]) < 0)
			abort();
	buf_reset(m);
	if (buf_add(m, t.data, t.len) < 0)
		abort();
	buf_free(&t);
}

/* each fixture with its lines ended in LF, CRLF and CR alone: the same
 * judgement */
TEST(kinds)
{
	static const char *const ends[] = { "\n", "\r\n", "\r" };

	for (size_t i = 0; i < 3 * (sizeof wants / sizeof wants[0]); i++) {
		const struct want *w = &wants[i / 3];
		classify_report_t r;
		buf_t m;

		buf_init(&m, 1 << 21);
		CHECK(load(w->file, &m) == 0);
		line_ends(&m, ends[i % 3]);
		classify_message(buf_str(&m), m.len, &opts, &r);
		if (r.kind != w->kind)
			fprintf(stderr, "  %s (line ends %zu): %s\n", w->file, i % 3,
			    classify_kind_name(r.kind));
		CHECK(r.kind == w->kind);
		CHECK(r.to == w->to);
		CHECK_STR(r.token, "TOKEN");
		if (w->addr) {
			CHECK(r.nrcpt == 1);
			CHECK_STR(r.rcpt[0].address, w->addr);
			CHECK_STR(r.rcpt[0].status, w->status);
			CHECK_STR(classify_reason_name(r.rcpt[0].reason),
			    classify_reason_name(w->reason));
			CHECK(r.rcpt[0].hard == w->hard);
		}
		classify_free(&r);
		buf_free(&m);
	}
}

/* the envelope recipient decides, whatever the headers say; a lower-cased
 * local part still names the address */
TEST(envelope_and_case)
{
	classify_opts_t o = { "bounces", "unsubscribe", "UNSUBSCRIBE+abc234@tiedote.example" };
	classify_report_t r;
	buf_t m;
	char tok[64];

	buf_init(&m, 1 << 20);
	CHECK(load("vacation.eml", &m) == 0);
	classify_message(buf_str(&m), m.len, &o, &r);
	CHECK(r.kind == KIND_UNSUBSCRIBE && r.to == TO_UNSUBSCRIBE);
	CHECK_STR(r.token, "abc234");
	classify_free(&r);
	buf_free(&m);
	CHECK(classify_token_split("Bounces+AbC@x.example", "bounces", tok, sizeof tok) == 1);
	CHECK_STR(tok, "AbC");
	CHECK(classify_token_split("bouncesX+a@x.example", "bounces", tok, sizeof tok) == 0);
	CHECK(classify_token_split("bounces+a b@x.example", "bounces", tok, sizeof tok) == 0);
	CHECK(classify_token_split("bounces+@x.example", "bounces", tok, sizeof tok) == 0);
	CHECK(classify_sender_side(R_BLOCKED) && classify_sender_side(R_SPAMDETECTED) &&
	    classify_sender_side(R_POLICYVIOLATION) && !classify_sender_side(R_MAILBOXFULL) &&
	    !classify_sender_side(R_USERUNKNOWN));
	CHECK(classify_reason_parse("userunknown") == R_USERUNKNOWN);
	CHECK(classify_reason_parse("nonsense") == -1);
}

/*
 * The rule families, each on a DSN made here: the status's own name, the
 * SMTP command the refusal answered, a sender refused at MAIL FROM, a
 * "quota" before any mailbox was named, a block list that also says
 * "spam", words that name no reason, and hard or soft from the reason.
 */
struct rule_case {
	const char *status, *diag;
	enum classify_reason reason;
	int hard;
};

static const struct rule_case rule_cases[] = {
	/* status names, the diagnostic mute */
	{ "4.4.7", "", R_EXPIRED, 0 },
	{ "5.2.2", "", R_MAILBOXFULL, 0 },
	{ "5.1.10", "", R_NOTACCEPT, 1 },
	{ "5.7.25", "", R_REQUIREPTR, 0 },
	{ "5.1.1", "550 5.1.1 no such mailbox", R_USERUNKNOWN, 1 },
	/* the receiver's callout to our own bounce address failed: the
	 * sender's, not the reader's, though it says "User unknown" */
	{ "5.1.7", "550 5.1.7 <bounces+TOKEN@tiedote.example>: Sender address rejected: "
	  "undeliverable address: host mx.tiedote.example[192.0.2.8] said: 550 5.1.1 "
	  "<bounces+TOKEN@tiedote.example>: Recipient address rejected: User unknown in local "
	  "recipient table (in reply to RCPT TO command)", R_REJECTED, 0 },
	{ "5.1.1", "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown "
	  "(from <bounces+TOKEN@tiedote.example>)", R_USERUNKNOWN, 1 },
	/* a transcript naming our sender before the refusal of the reader */
	{ "5.1.1", "--> MAIL From:<bounces+TOKEN@tiedote.example> <-- 250 ok --> RCPT "
	  "To:<gone@example.net> <-- 550 5.1.1 <gone@example.net>: User unknown", R_USERUNKNOWN,
	  1 },
	/* the command: an unknown user at RCPT is gone; after DATA a filter */
	{ "5.0.0", "550 User unknown (in reply to RCPT TO command)", R_USERUNKNOWN, 1 },
	{ "5.0.0", "550 User unknown (in reply to end of DATA command)", R_FILTERED, 0 },
	/* refused at MAIL FROM: the unknown domain is the sender's */
	{ "5.0.0", "SMTP error from remote mail server after MAIL FROM:<s@example.org>: "
	  "550 domain does not exist", R_REJECTED, 0 },
	{ "5.1.0", "550 5.1.0 <s@example.org> sender rejected", R_REJECTED, 0 },
	/* no mailbox before RCPT: a quota at connection is the sender's */
	{ "5.0.0", "SMTP error from remote mail server after initial connection: 554 "
	  "You've reached your daily relay quota", R_BLOCKED, 0 },
	{ "5.0.0", "552 5.2.2 Mailbox quota exceeded", R_MAILBOXFULL, 0 },
	/* a block list beats the word spam */
	{ "5.7.1", "550 Client host blocked for spamming, listed in Spamhaus", R_BLOCKED, 0 },
	{ "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", R_SPAMDETECTED,
	  0 },
	/* the exact status beats vague words, vague status gives way to words */
	{ "5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
	  "zen.spamhaus.org", R_BLOCKED, 0 },
	{ "4.7.0", "421 4.7.0 temporarily deferred due to user complaints",
	  R_BADREPUTATION, 0 },
	/* words that name no reason: on hold, not undefined */
	{ "5.0.0", "550 Nyaan nyaan", R_ONHOLD, 0 },
	/* an unknown user with no command named and a status that does not
	 * name one: a filter's refusal (Sisimai's rule), not a missing user */
	{ "5.0.0", "550 User unknown", R_FILTERED, 0 },
	{ "5.3.0", "550 Unknown user reader@example.net", R_FILTERED, 0 },
	/* hard: an unknown user is gone even when the reply was 4xx; a
	 * domain with no MX only when the refusal was not temporary */
	{ "4.1.1", "450 4.1.1 User unknown (in reply to RCPT TO command)", R_USERUNKNOWN, 1 },
	{ "5.1.10", "550 5.1.10 null MX", R_NOTACCEPT, 1 },
	{ "4.0.0", "451 4.0.0 null MX, try again", R_NOTACCEPT, 0 },
	/* words only Sisimai's lists have; 'suspended' alone is Postfix's
	 * host deferral, not a suspended account */
	{ "5.0.0", "550 Host or domain name not found. Name service error for name=x.example "
	  "type=A: Host not found", R_HOSTUNKNOWN, 1 },
	{ "4.0.0", "delivery temporarily suspended: connect to mx.example[192.0.2.1]: server "
	  "refused to talk to me: 421 Service not available, closing transmission channel",
	  R_BLOCKED, 0 },
	{ "5.0.0", "552 Too many recipients", R_TOOMANYCONN, 0 },
	/* Sisimai's pairs: words in this order, anything between */
	{ "5.0.0", "SMTP error from remote mail server after end of data: 553 x.example does "
	  "not exist", R_HOSTUNKNOWN, 1 },
	{ "5.0.0", "550 domain [example.com] mismatches client ip 192.0.2.1.", R_REQUIREPTR, 0 },
	{ "5.0.0", "550 client ip 192.0.2.1 mismatches domain [example.com]", R_ONHOLD, 0 },
	/* a block list of the content's links is spam, not the sender's IP
	 * blocked; a trace's "HELO=" field is no command */
	{ "5.0.0", "550-REJECTED - Blacklisted URL in message. (example.com) in [black]. "
	  "H=mx.example [192.0.2.1] HELO=[mx.example]", R_SPAMDETECTED, 0 },
	/* an account closed is suspended; "enclosed" is not "closed"; a
	 * resource that is temporarily unavailable names no reason, the
	 * queue's timeout after it does */
	{ "5.0.0", "550 Account closed", R_SUSPEND, 0 },
	{ "5.0.0", "550 Nyaan, the message enclosed", R_ONHOLD, 0 },
	{ "4.1.9", "Resources temporarily unavailable, please try again later [#4.1.9]. "
	  "I'm not going to try again; this message has been in the queue too long.", R_EXPIRED,
	  0 },
};

static void
dsn_with(buf_t *m, const char *status, const char *diag)
{
	buf_reset(m);
	PUT(buf_printf(m, "From: MAILER-DAEMON@mx.example\nTo: bounces+TOKEN@tiedote.example\n"
	    "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\nDelivery failed.\n\n"
	    "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	    "Final-Recipient: rfc822; reader@example.net\nAction: failed\nStatus: %s\n%s%s%s\n"
	    "--B--\n", status, *diag ? "Diagnostic-Code: smtp; " : "", diag, *diag ? "\n" : ""));
}

TEST(rules)
{
	buf_t m;

	buf_init(&m, 1 << 16);
	for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
		const struct rule_case *c = &rule_cases[i];
		classify_report_t r;

		dsn_with(&m, c->status, c->diag);
		classify_message(buf_str(&m), m.len, &opts, &r);
		CHECK(r.kind == KIND_BOUNCE && r.nrcpt == 1);
		if (r.nrcpt == 1 && (r.rcpt[0].reason != c->reason || r.rcpt[0].hard != c->hard))
			fprintf(stderr, "  %s \"%s\": %s hard %d, want %s hard %d\n", c->status,
			    c->diag, classify_reason_name(r.rcpt[0].reason), r.rcpt[0].hard,
			    classify_reason_name(c->reason), c->hard);
		CHECK(r.nrcpt == 1 && r.rcpt[0].reason == c->reason);
		CHECK(r.nrcpt == 1 && r.rcpt[0].hard == c->hard);
		classify_free(&r);
	}
	buf_free(&m);
}

/*
 * What a reporting server's own words mean (known by its headers), a
 * receiving provider's codes, and the report's shapes the MIME parser
 * alone does not read: a session transcript's command, a text part in
 * ISO-2022-JP, a delivery-status part behind a rewritten boundary, a
 * multipart whose boundary was lost, an envelope quoted in the details.
 */
struct server_case {
	const char *name, *msg, *addr;
	enum classify_reason reason;
	int hard;
};

#define TO_US	"To: bounces+TOKEN@tiedote.example\n"

static const struct server_case server_cases[] = {
	{ "McAfee: 'No such user' is its unknown user",
	  "From: postmaster@mx.example\n" TO_US "Subject: Delivery Status\n"
	  "X-NAI-Header: Modified by McAfee Email Gateway\n\n"
	  "--- The following addresses had delivery problems ---\n"
	  "<reader@example.net>   (550 reader@example.net... No such user)\n",
	  "reader@example.net", R_USERUNKNOWN, 1 },
	{ "the same words from a server that does not say: a filter",
	  "From: postmaster@mx.example\n" TO_US "Subject: Delivery Status\n\n"
	  "--- The following addresses had delivery problems ---\n"
	  "<reader@example.net>   (550 reader@example.net... No such user)\n",
	  "reader@example.net", R_FILTERED, 0 },
	{ "PowerMTA: its bounce category",
	  "From: postmaster@mx.example\n" TO_US "Subject: Delivery report\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	  "--B\nContent-Type: text/plain\n\nHello, this is the mail server on mx.example.\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	  "Final-Recipient: rfc822; reader@example.net\nAction: failed\nStatus: 5.2.1\n"
	  "Diagnostic-Code: smtp; 550 5.2.1 <reader@example.net>... User Unknown\n"
	  "X-PowerMTA-BounceCategory: bad-mailbox\n\n--B--\n",
	  "reader@example.net", R_USERUNKNOWN, 1 },
	{ "Office 365: 5.1.10 is Microsoft's recipient not found",
	  "From: postmaster@outlook.com\n" TO_US "Subject: Undeliverable: news\n"
	  "X-MS-Exchange-Message-Is-Ndr: \nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	  "--B\nContent-Type: text/plain\n\nDelivery has failed to these recipients or groups:\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.prod.outlook.com\n\n"
	  "Final-Recipient: rfc822; reader@example.net\nAction: failed\nStatus: 5.1.10\n"
	  "Diagnostic-Code: smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found\n"
	  "\n--B--\n", "reader@example.net", R_USERUNKNOWN, 1 },
	{ "qmail: a refused HELO is a block",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: failure notice\n\n"
	  "Hi. This is the qmail-send program at mx.example.\n\n"
	  "<reader@example.net>:\nConnected to 192.0.2.1 but my name was rejected.\n"
	  "Remote host said: 501 5.0.0 Invalid domain name\n",
	  "reader@example.net", R_BLOCKED, 0 },
	{ "Lotus Notes in ISO-2022-JP: 'not in the directory's list'",
	  "From: postmaster@mx.example\n" TO_US "Subject: Undeliverable message\n"
	  "MIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\n\n"
	  "------- Failure Reasons  --------\n\n"
	  "\x1b$B%G%#%l%/%H%j$N%j%9%H$K$\"$j$^$;$s\x1b(B\nreader@example.net\n\n"
	  "------- Returned Message --------\n",
	  "reader@example.net", R_USERUNKNOWN, 1 },
	{ "Orange: the code LPN007_416 is an unknown user",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Undelivered Mail Returned to Sender\n"
	  "\n<reader@orange.fr>: host smtp-in.orange.fr[192.0.2.1] said: 550 5.5.0 Adresse "
	  "destinataire invalide. Invalid recipient. LPN007_416 (in reply to end of DATA command)\n",
	  "reader@orange.fr", R_USERUNKNOWN, 1 },
	{ "Yahoo's words, its MX named",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Undelivered Mail Returned to Sender\n"
	  "\n<reader@yahoo.example>: host mta5.am0.yahoodns.net[192.0.2.1] said: 554 delivery "
	  "error: dd This user doesn't have a yahoo.example account (in reply to end of DATA "
	  "command)\n", "reader@yahoo.example", R_USERUNKNOWN, 1 },
	{ "a transcript's last command: RCPT",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Returned mail: User unknown\n\n"
	  "   ----- Transcript of session follows -----\n>>> RCPT TO:<reader@example.net>\n"
	  "<<< 553 Invalid recipient reader@example.net (Mode: normal)\n",
	  "reader@example.net", R_USERUNKNOWN, 1 },
	{ "a delivery-status part behind a rewritten boundary",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Undelivered Mail Returned to Sender\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"A.1/mx.example\"\n\n--B.1/mx.example\nContent-Type: text/plain\n\n"
	  "The mail system\n\n--B.1/mx.example\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; reader@example.net\n"
	  "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
	  "--B.1/mx.example--\n", "reader@example.net", R_USERUNKNOWN, 1 },
	{ "a multipart whose boundary was lost, the envelope quoted",
	  "From: post_master@mx.example\n" TO_US "Subject: Re: news\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"M\"\n\n--M\n"
	  "Content-Type: multipart/alternative;\nboundary=\"lost\"\n\n--lost\n"
	  "Content-Type: text/plain\n\nError: Invalid user address\n\nError message below:\n"
	  "550 - Requested action not taken: no such user here\n\nMessage details:\n"
	  "  MAIL FROM: bounces+TOKEN@tiedote.example\n  RCPT TO: reader@example.net\n"
	  "  From: writer@tiedote.example\n\n--lost--\n\n--M--\n",
	  "reader@example.net", R_USERUNKNOWN, 1 },
	{ "Sendmail: a DSN without a diagnostic, its transcript's deferral",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Returned mail: see transcript\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "<reader@example.net>... Deferred: Connection refused by mx.example.net.\n"
	  "Message could not be delivered for 5 days\n\n--B\n"
	  "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	  "Final-Recipient: RFC822; reader@example.net\nAction: failed\nStatus: 4.4.7\n\n--B--\n",
	  "reader@example.net", R_BLOCKED, 0 },
	{ "Sendmail: the server's replies and no command sent: the greeting refused",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Returned mail: see transcript\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n"
	  "   ----- Transcript of session follows -----\n... while talking to mx.example.net.:\n"
	  "<<< 554 IP=192.0.2.1 - A problem occurred. (BL)\n554 5.0.0 Service unavailable\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	  "Final-Recipient: RFC822; reader@example.net\nAction: failed\nStatus: 5.5.0\n"
	  "Diagnostic-Code: SMTP; 554 IP=192.0.2.1 - A problem occurred. (BL)\n\n--B--\n",
	  "reader@example.net", R_BLOCKED, 0 },
	{ "a delay the words do not explain expires, whatever the command",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Warning: could not send message\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n"
	  "   ----- Transcript of session follows -----\n... while talking to mx.example.net.:\n"
	  "<<< 421\n<reader@example.net>... Deferred: 421\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	  "Final-Recipient: RFC822; reader@example.net\nAction: delayed\nStatus: 4.5.0\n\n--B--\n",
	  "reader@example.net", R_EXPIRED, 0 },
	{ "the provider is the Remote-MTA's (au), not the reporting side's quoted hosts (me.com)",
	  "From: postmaster@mx.example\n" TO_US "Subject: Delivery Notification: Delivery has failed\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n  Message-id: <1@me.com>\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;smtp.me.com\n\n"
	  "Final-recipient: rfc822;reader@ezweb.ne.jp\nAction: failed\nStatus: 5.0.0\n"
	  "Remote-MTA: dns;lsean.ezweb.ne.jp\nDiagnostic-code: smtp;550 <reader@ezweb.ne.jp>: "
	  "User unknown\n\n--B--\n", "reader@ezweb.ne.jp", R_USERUNKNOWN, 1 },
	{ "Postfix: the command its text names after the reply the DSN quotes",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Undelivered Mail Returned to Sender\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n<reader@example.net>: host "
	  "mx.example.net[192.0.2.1] said: 550\n    <reader@example.net>: Recipient address "
	  "rejected. (in reply to RCPT\n    TO command)\n\n--B\nContent-Type: message/delivery-status"
	  "\n\nReporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; reader@example.net\n"
	  "Action: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 <reader@example.net>: "
	  "Recipient address\n    rejected.\n\n--B--\n", "reader@example.net", R_USERUNKNOWN, 1 },
	{ "NTT docomo: its 'Unknown user' after DATA is a refusal of the sender",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Undelivered Mail Returned to Sender\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n<reader@docomo.example>: host "
	  "mfsmax.docomo.ne.jp[192.0.2.1] said: 550 Unknown user reader@docomo.example (in reply "
	  "to end of DATA command)\n\n--B\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; reader@docomo.example\n"
	  "Action: failed\nStatus: 5.0.0\nRemote-MTA: dns; mfsmax.docomo.ne.jp\n"
	  "Diagnostic-Code: smtp; 550 Unknown user reader@docomo.example\n\n--B--\n",
	  "reader@docomo.example", R_REJECTED, 0 },
	{ "Google as the receiver: its reply, status and words",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Returned mail: see transcript\n"
	  "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"B\"\n\n--B\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; reader@example.net\n"
	  "Action: failed\nStatus: 5.7.1\nRemote-MTA: dns; gmail-smtp-in.l.google.com\n"
	  "Diagnostic-Code: smtp; 550 5.7.1 This message fails to pass authentication checks\n"
	  "\n--B--\n", "reader@example.net", R_AUTHFAILURE, 0 },
	{ "Facebook: RCP-P2 is the recipient's preferences, not an unknown user",
	  "From: Facebook <mailer-daemon@mx.facebook.com>\n" TO_US
	  "Subject: Sorry, your message could not be delivered\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.facebook.com\n\n"
	  "Final-Recipient: rfc822; reader@facebook.com\nAction: failed\nStatus: 5.1.1\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 RCP-P2 Refused due to recipient preferences\n\n--B--\n",
	  "reader@facebook.com", R_FILTERED, 0 },
	{ "Exchange 2007: its resolver's code for a message too large",
	  "From: postmaster@mx.example\n" TO_US "Subject: Undeliverable: news\n"
	  "Content-Language: en-US\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	  "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	  "Final-Recipient: rfc822; reader@example.net\nAction: failed\nStatus: 5.2.3\n"
	  "Diagnostic-Code: smtp; 550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for "
	  "this recipient\n\n--B--\n", "reader@example.net", R_MESGTOOBIG, 0 },
	{ "Gmail: its state names the reason over a status with a zero (5.7.0)",
	  "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n" TO_US
	  "Subject: Delivery Status Notification (Failure)\n\nDelivery to the following "
	  "recipient failed permanently:\n\n     reader@example.net\n\nTechnical details of "
	  "permanent failure:\nThe error that the other server returned was:\n554 554 5.7.0 "
	  "Header error (state 18).\n", "reader@example.net", R_FILTERED, 0 },
	{ "AOL: a malformed answer to its MX lookup is a domain that takes no mail",
	  "From: MAILER-DAEMON@aol.example\nX-AOL-IP: 192.0.2.1\n" TO_US
	  "Subject: Undelivered Mail Returned to Sender\n\n<reader@example.net>: Name service "
	  "error for name=example.net type=MX: Malformed or unexpected name server reply\n",
	  "reader@example.net", R_NOTACCEPT, 1 },
	{ "DragonFly's dma: its DNS lookup failure is an unknown host",
	  "Received: from MAILER-DAEMON\n\tid e0724\n\tby mx.example (DragonFly Mail Agent v0.13);"
	  "\n\tTue, 11 Jun 2024 18:15:33 +0900\nFrom: MAILER-DAEMON <>\n" TO_US
	  "Subject: Mail delivery failed\n\nThis is the DragonFly Mail Agent v0.13 at mx.example."
	  "\n\nThere was an error delivering your mail to <reader@example.net>.\n\n"
	  "DNS lookup failure: host example.net not found\n\nMessage headers follow.\n\n",
	  "reader@example.net", R_HOSTUNKNOWN, 1 },
	{ "a refusal after EHLO, the text says, is a block",
	  "From: Mail Delivery System <mailer-daemon@mx.example>\n" TO_US
	  "Subject: Mail delivery failed: returning message to sender\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	  "--B\nContent-type: text/plain\n\nThe following address(es) failed:\n\n"
	  "  reader@example.net\n    SMTP error from remote mail server after EHLO mx.example:\n"
	  "    550 Rejected\n\n--B\nContent-type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example\n\nAction: failed\nFinal-Recipient: rfc822;"
	  "reader@example.net\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 Rejected\n\n--B--\n",
	  "reader@example.net", R_BLOCKED, 0 },
	{ "Verizon's picture messaging: no valid recipient",
	  "From: MMSC NDR Administrator <sysadmin@m01.vzwpix.com>\n" TO_US
	  "Subject: Undeliverable Message\n\nMessage could not be delivered to mobile.\n"
	  "Error: No valid recipients for this MM\n\nOriginal Message:\n"
	  "To: 0000000000@vzwpix.com\n", "0000000000@vzwpix.com", R_USERUNKNOWN, 1 },
};

TEST(servers)
{
	for (size_t i = 0; i < sizeof server_cases / sizeof server_cases[0]; i++) {
		const struct server_case *c = &server_cases[i];
		classify_report_t r;

		classify_message(c->msg, strlen(c->msg), &opts, &r);
		if (r.nrcpt != 1 || strcmp(r.rcpt[0].address, c->addr) != 0 ||
		    r.rcpt[0].reason != c->reason || r.rcpt[0].hard != c->hard)
			fprintf(stderr, "  %s: %zu recipients, %s %s hard %d\n", c->name, r.nrcpt,
			    r.nrcpt ? r.rcpt[0].address : "-",
			    r.nrcpt ? classify_reason_name(r.rcpt[0].reason) : "-",
			    r.nrcpt ? r.rcpt[0].hard : -1);
		CHECK(r.kind == KIND_BOUNCE && r.nrcpt == 1);
		CHECK(r.nrcpt == 1 && strcmp(r.rcpt[0].address, c->addr) == 0);
		CHECK(r.nrcpt == 1 && r.rcpt[0].reason == c->reason);
		CHECK(r.nrcpt == 1 && r.rcpt[0].hard == c->hard);
		classify_free(&r);
	}
}

/*
 * Reports of several recipients, where what is read for one must not be
 * another's: the recipient named, its reason and hardness, and how many
 * the report names.
 */
struct multi_case {
	const char *name, *msg;
	size_t	 n;
	const char *addr;
	enum classify_reason reason;
	int hard;
};

static const struct multi_case multi_cases[] = {
	{ "Sendmail 5: the reply above the recipient's line, refused at MAIL FROM",
	  "From: MAILER-DAEMON@mx.example\n" TO_US "Subject: Returned mail: Deferred\n\n"
	  "   ----- Transcript of session follows -----\nWhile talking to mx.example.net:\n"
	  ">>> MAIL From:<bounces+TOKEN@tiedote.example>\n<<< 550 Insecure Mail Relay\n"
	  "554 <reader@example.net>... Remote protocol error\n"
	  "550 example.org (smtp)... 550 Host unknown\n"
	  "554 <other@example.org>... 550 Host unknown (Authoritative answer from name server)\n\n"
	  "   ----- Unsent message follows -----\n", 2, "reader@example.net", R_NORELAYING, 0 },
	{ "a recipient's text ends where another is named again (a second language)",
	  "From: mailer-daemon@mx.example\n" TO_US "Subject: Mail failure.\n"
	  "X-Failed-Recipients: full@example.net, reader@example.net\n\n"
	  "full@example.net\n  SMTP error from remote mail server after RCPT TO:<full@example.net>:\n"
	  "  550 5.2.2 <full@example.net>... Mailbox Full\nreader@example.net\n"
	  "  SMTP error from remote mail server after RCPT TO:<reader@example.net>:\n"
	  "  550 5.2.1 <reader@example.net>... User Unknown\n\nThe following address(es) failed:\n"
	  "full@example.net\n  550 5.2.2 <full@example.net>... Mailbox Full\n", 2,
	  "reader@example.net", R_USERUNKNOWN, 1 },
};

TEST(multi)
{
	for (size_t i = 0; i < sizeof multi_cases / sizeof multi_cases[0]; i++) {
		const struct multi_case *c = &multi_cases[i];
		const classify_rcpt_t *x = NULL;
		classify_report_t r;

		classify_message(c->msg, strlen(c->msg), &opts, &r);
		for (size_t k = 0; k < r.nrcpt; k++)
			if (strcmp(r.rcpt[k].address, c->addr) == 0)
				x = &r.rcpt[k];
		if (r.nrcpt != c->n || x == NULL || x->reason != c->reason || x->hard != c->hard)
			fprintf(stderr, "  %s: %zu recipients, %s %s hard %d\n", c->name, r.nrcpt,
			    c->addr, x ? classify_reason_name(x->reason) : "-", x ? x->hard : -1);
		CHECK(r.kind == KIND_BOUNCE && r.nrcpt == c->n);
		CHECK(x != NULL && x->reason == c->reason);
		CHECK(x != NULL && x->hard == c->hard);
		classify_free(&r);
	}
}

/* a reply code written as a field's value ("ERROR_CODE :421,") is the
 * reply: the status made for the reason is a temporary one */
TEST(reply_field)
{
	buf_t m;
	classify_report_t r;

	buf_init(&m, 1 << 16);
	dsn_with(&m, "", "Error, ERROR_CODE :421, ERROR_CODE :, Host not reachable.");
	classify_message(buf_str(&m), m.len, &opts, &r);
	CHECK(r.nrcpt == 1 && r.rcpt[0].replycode == 421);
	CHECK(r.nrcpt == 1 && r.rcpt[0].status[0] == '4');
	classify_free(&r);
	buf_free(&m);
}

/* an Amazon SES delivery notification: the status of its SMTP response */
TEST(ses_delivery)
{
	static const char msg[] = "From: no-reply@sns.amazonaws.com\n" TO_US
	    "Subject: AWS Notification Message\n\n{\"notificationType\":\"Delivery\","
	    "\"delivery\":{\"recipients\":[\"reader@example.net\"],"
	    "\"smtpResponse\":\"250 2.6.0 Message received\"}}\n";
	classify_report_t r;

	classify_message(msg, strlen(msg), &opts, &r);
	CHECK(r.kind == KIND_DELIVERED && r.nrcpt == 1);
	CHECK(r.nrcpt == 1 && strcmp(r.rcpt[0].status, "2.6.0") == 0);
	classify_free(&r);
}

/* an ARF report names each recipient it is about in an Original-Rcpt-To
 * of its own (RFC 5965): each complained */
TEST(complaints)
{
	classify_report_t r;
	buf_t m;

	buf_init(&m, 1 << 20);
	CHECK(load("arf-many-rcpt.eml", &m) == 0);
	classify_message(buf_str(&m), m.len, &opts, &r);
	CHECK(r.kind == KIND_COMPLAINT && r.nrcpt == 2);
	CHECK(r.nrcpt == 2 && strcmp(r.rcpt[0].address, "one@example.net") == 0 &&
	    strcmp(r.rcpt[1].address, "two@example.org") == 0);
	CHECK(r.nrcpt == 2 && r.rcpt[0].reason == R_FEEDBACK && r.rcpt[1].reason == R_FEEDBACK);
	CHECK_STR(r.feedback_type, "abuse");
	classify_free(&r);
	/* not a report about us: an auto-reply's quoted Return-Path is not read */
	buf_reset(&m);
	PUT(buf_adds(&m, "From: someone@example.org\nTo: staff@tiedote.example\n"
	    "Subject: Out of office\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"Q\"\n\n--Q\n"
	    "Content-Type: text/plain\n\naway\n--Q\nContent-Type: message/rfc822\n\n"
	    "Return-Path: <bounces+abcdefgh@tiedote.example>\nTo: someone@example.org\n\nhi\n"
	    "--Q--\n"));
	classify_message(buf_str(&m), m.len, &opts, &r);
	CHECK(r.kind == KIND_AUTOREPLY && r.to == TO_NONE && r.token[0] == '\0');
	classify_free(&r);
	buf_free(&m);
}

/* delivery-status parts as some servers write them: no blank line
 * between the groups (AOL), a verification's "Action: deliverable" */
TEST(dsn_shapes)
{
	classify_report_t r;
	buf_t m;

	buf_init(&m, 1 << 16);
	PUT(buf_adds(&m, "From: MAILER-DAEMON@aol.example\nTo: bounces+TOKEN@tiedote.example\n"
	    "Subject: Undeliverable\nMIME-Version: 1.0\nContent-Type: multipart/report;"
	    " report-type=delivery-status; boundary=\"D\"\n\n--D\nContent-Type: text/plain\n\n"
	    "failed\n\n--D\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; omr.aol.example\n"
	    "Final-Recipient: rfc822; full@example.jp\nOriginal-Recipient: rfc822;full@example.jp\n"
	    "Action: failed\nStatus: 5.2.2\n"
	    "Diagnostic-Code: smtp; 550 5.2.2 <full@example.jp>... Mailbox Full\n"
	    "Original-Recipient: rfc822;gone@example.jp\nFinal-Recipient: rfc822; gone@example.jp\n"
	    "Action: failed\nStatus: 5.1.1\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.jp>... User Unknown\n\n--D--\n"));
	classify_message(buf_str(&m), m.len, &opts, &r);
	CHECK(r.kind == KIND_BOUNCE && r.nrcpt == 2);
	CHECK(r.nrcpt == 2 && strcmp(r.rcpt[0].address, "full@example.jp") == 0 &&
	    r.rcpt[0].reason == R_MAILBOXFULL && !r.rcpt[0].hard);
	CHECK(r.nrcpt == 2 && strcmp(r.rcpt[1].address, "gone@example.jp") == 0 &&
	    r.rcpt[1].reason == R_USERUNKNOWN && r.rcpt[1].hard);
	classify_free(&r);
	buf_reset(&m);
	PUT(buf_adds(&m, "From: MAILER-DAEMON@mx.example\nTo: bounces+TOKEN@tiedote.example\n"
	    "Subject: Delivery Status Notification\nMIME-Version: 1.0\nContent-Type: multipart/report;"
	    " report-type=delivery-status; boundary=\"D\"\n\n--D\nContent-Type: text/plain\n\n"
	    "verified\n\n--D\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; ok@example.jp\n"
	    "Action: deliverable\nStatus: 2.1.5\nDiagnostic-Code: smtp; 250 2.1.5 Ok\n\n--D--\n"));
	classify_message(buf_str(&m), m.len, &opts, &r);
	CHECK(r.kind == KIND_DELIVERED && r.nrcpt == 1);
	CHECK(r.nrcpt == 1 && strcmp(r.rcpt[0].status, "2.1.5") == 0);
	classify_free(&r);
	buf_free(&m);
}

static double
seconds(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

#define HOSTILE_SECONDS 10.0	/* generous: ASan and a shared machine */

static void
judge_hostile(const char *what, buf_t *m)
{
	classify_report_t r;
	struct timespec t0;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	classify_message(buf_str(m), m->len, &opts, &r);
	took = seconds(&t0);
	printf("# %s: %zu bytes, %s, %.3f s\n", what, m->len, classify_kind_name(r.kind), took);
	CHECK(took < HOSTILE_SECONDS);
	CHECK(r.kind < KIND_N && r.nrcpt <= CLASSIFY_RCPT_MAX);
	classify_free(&r);
}

TEST(hostile)
{
	buf_t m;

	/* 50 MB: a bounce whose returned original is huge */
	buf_init(&m, (size_t)64 << 20);
	CHECK(load("dsn-userunknown.eml", &m) == 0);
	m.len -= strlen("--B1--\n");
	while (m.len < (size_t)50 << 20)
		PUT(buf_adds(&m, "Lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\n"));
	PUT(buf_adds(&m, "--B1--\n"));
	judge_hostile("50 MB", &m);
	/* 10,000 parts */
	buf_reset(&m);
	PUT(buf_adds(&m, "From: MAILER-DAEMON@x.example\nSubject: Undelivered\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"P\"\n\n"));
	for (int i = 0; i < 10000; i++)
		PUT(buf_printf(&m, "--P\nContent-Type: text/plain\n\npart %d user%d@example.com\n", i,
		    i));
	PUT(buf_adds(&m, "--P--\n"));
	judge_hostile("10,000 parts", &m);
	/* message/rfc822 nested 1,000 deep */
	buf_reset(&m);
	for (int i = 0; i < 1000; i++)
		PUT(buf_printf(&m, "From: a%d@example.com\nSubject: n%d\nMIME-Version: 1.0\n"
		    "Content-Type: message/rfc822\n\n", i, i));
	PUT(buf_adds(&m, "From: deep@example.com\n\nbottom\n"));
	judge_hostile("1,000 deep", &m);
	/* multipart nested 1,000 deep */
	buf_reset(&m);
	for (int i = 0; i < 1000; i++)
		PUT(buf_printf(&m, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i,
		    i));
	PUT(buf_adds(&m, "Content-Type: text/plain\n\nx\n"));
	judge_hostile("multipart 1,000 deep", &m);
	/* broken headers and charsets, no body, bare bytes */
	buf_reset(&m);
	PUT(buf_adds(&m, "From: =?x-unknown?Q?=FF=FE?= <@>\nSubject: =?utf-8?B?////?=\n"
	    "Content-Type: multipart/report; boundary=\nContent-Transfer-Encoding: base64\n"
	    "\n\xff\xfe\x00\x01 ==== @ @@ a@ @b"));
	judge_hostile("broken", &m);
	/* a charset iconv does not know, and ISO-2022-JP that is not */
	buf_reset(&m);
	PUT(buf_adds(&m, "From: MAILER-DAEMON@x.example\nSubject: Undeliverable message\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"C\"\n\n"
	    "--C\nContent-Type: text/plain; charset=x-no-such-charset\n\n\xff\xfe a@b.example\n"
	    "--C\nContent-Type: text/plain; charset=ISO-2022-JP\n\n\x1b$B\xff\xff\x1b(\n"
	    "\x1b$B%G%#\n--C--\n"));
	judge_hostile("charsets", &m);
	buf_reset(&m);
	judge_hostile("empty", &m);
	buf_free(&m);
}

int
main(void)
{
	RUN(kinds);
	RUN(envelope_and_case);
	RUN(rules);
	RUN(servers);
	RUN(multi);
	RUN(ses_delivery);
	RUN(reply_field);
	RUN(complaints);
	RUN(dsn_shapes);
	RUN(hostile);
	return TEST_DONE();
}
