/*
 * classify - what an inbound mail is: a bounce (per recipient: address,
 * status, reason, hard or soft), a complaint, an auto-reply, a mail to the
 * unsubscribe address, a success report, or none of these.
 *
 * classify_message() reads one RFC 5322 message (LF or CRLF line ends;
 * CR alone where the message has no LF at all)
 * with libetpan's MIME parser and judges it by what it says, in this
 * order: the envelope recipient names the unsubscribe address (local
 * part "UNSUB+TOKEN") - an unsubscribe; an ARF report (RFC 5965
 * message/feedback-report: a recipient for each Original-Rcpt-To), an
 * Amazon SES complaint notification, Outlook.com's JMRP report (the
 * original returned whole, its addressee in X-HmXmrOriginalRecipient) or
 * Apple Mail's unsubscribe by mail (X-Apple-Unsubscribe: true; its
 * sender, feedback type "opt-out") - a complaint; an RFC 3464
 * message/delivery-status part - per recipient Action, Status,
 * Diagnostic-Code (failed and delayed recipients are
 * bounces, delivered/relayed/expanded ones a success report); an Amazon
 * SES bounce or delivery notification (JSON, bare or in SNS); an RFC 3834
 * auto-reply or a common vacation form (Auto-Submitted: auto-replied,
 * X-Autoreply, Precedence: auto_reply, "Out of Office"-like subjects)
 * that is not a bounce; the non-standard bounces of common servers
 * (Exim, qmail, Sendmail, Postfix, Exchange/Office 365, Gmail, Yahoo,
 * Courier, Domino, ...) - the recipients from X-Failed-Recipients, the
 * notification text's addresses, or the returned original's To.  Reasons
 * are Sisimai's vocabulary (classify_reason_name()), settled in Sisimai's
 * order of checks: first the reasons an exact status or the diagnostic's
 * words are enough for (a full mailbox before an unknown user, an
 * unknown user before a filter, a block list last), using the SMTP
 * command the refusal answered (an unknown user is one at RCPT or under
 * an x.1.1-like status; said after DATA, or with no command named, it is
 * a filter; refused at MAIL FROM it is the sender's; no mailbox is full
 * before RCPT); then the status's own name (RFC 3463, class by class:
 * 4.4.7 expired, 5.2.1 filtered, 5.1.10 notaccept, ...) where it is
 * exact, else the words of the reasons a status never names alone; a
 * delayed recipient nothing else explains expired; then the
 * notification's text around.  Words that name no reason give
 * "onhold", silence "undefined".  The words are phrases and ordered
 * word pairs ("553 " ... " does not exist"): ours and Sisimai's.  A
 * Sendmail transcript gives each recipient its own line ("550 <a@b>...
 * User unknown", a mute DSN's "<a@b>... Deferred: ...") with the command
 * and reply before it; one recipient's diagnostic starts at its mention
 * on a reply line when its first is on none (a transcript's header
 * lines); replies with no command sent answered the
 * greeting, as did Postfix's "host ... refused to talk to me: 554";
 * a refusal whose first <address> is our own bounce address is the
 * sender's (R_REJECTED: the receiver's check of our sender failed), our
 * rule, not Sisimai's; Postfix's "(in reply to RCPT TO command)" is read from its
 * text when its DSN leaves it out.  Then
 * a second look: the reporting server, known by its headers (McAfee,
 * IMail, Outlook.com, PowerMTA, Exchange 2003, Lotus Notes, Domino, Exim,
 * MessageLabs, Amazon SES receiving, Biglobe, G Suite, Gmail, Verizon,
 * InterScan, qmail, Zoho, OpenSMTPD - read by its text, not its DSN part -
 * au's EZweb, Office 365, Exchange 2007, AOL, DragonFly's dma, Facebook),
 * gives its own words' reason (Office 365 its statuses');
 * a receiving provider named by the DSN's Remote-MTA (else its MX in the
 * report's text) or by the recipient's domain (Apple, Cox, Orange,
 * GoDaddy, i.ua, KDDI, Mimecast, NTT docomo, Google, Spectrum, Tencent,
 * Yahoo, Microsoft) its words' and codes' - each where
 * Sisimai's own modules would let it.  Text parts are read in UTF-8 (charconv), so a report in
 * ISO-2022-JP matches.  Hard, as Sisimai decides it: an unknown user or
 * domain and a moved address always (even under a 4xx reply); a domain
 * that takes no mail (null MX) unless the refusal was temporary; nothing
 * else.
 *
 * The VERP token ("BOUNCE+TOKEN@...") and the unsubscribe token are taken
 * from the envelope recipient when given, else from Delivered-To,
 * X-Original-To or To; a bounce, complaint or success report that none
 * of them names (a feedback loop's fixed address, a redacted addressee)
 * takes the bounce token of its returned original's Return-Path; the local part before "+" is compared with the
 * configured ones case-insensitively, and the token is returned as found
 * (token_check() accepts either case of the new form).  The caller
 * checks it: classify has no key.  The original's Message-ID, when the
 * report returns it, is kept for a fallback lookup.
 *
 * Bounds: only the first CLASSIFY_PARSE_MAX bytes are parsed and at most
 * CLASSIFY_PARTS_MAX MIME headers are given to libetpan (the rest is
 * treated as text of the last part), so a 50 MB message, 10,000 parts or
 * message/rfc822 nested 1,000 deep cost bounded time, memory and stack;
 * at most CLASSIFY_RCPT_MAX recipients are reported.  A message that
 * cannot be parsed at all is kind "other".  Never fails otherwise.
 *
 * Ownership: the report owns its texts (classify_free).  Threads: any;
 * the one global is the phrase index, built on first use under
 * pthread_once and read-only after.  BUGS: reasons in languages other than English, Finnish,
 * Swedish, German and French are mostly found through the status code;
 * a report that names neither a recipient nor a token gives nobody.
 */
#ifndef TIEDOTE_CLASSIFY_H
#define TIEDOTE_CLASSIFY_H

#include <stddef.h>

#include "buf.h"

#define CLASSIFY_PARSE_MAX	((size_t)4 << 20)	/* bytes of a message read */
#define CLASSIFY_PARTS_MAX	512	/* MIME headers given to the parser */
#define CLASSIFY_RCPT_MAX	32	/* recipients of one report */
#define CLASSIFY_DIAG_MAX	1024	/* bytes of a diagnostic kept */
#define CLASSIFY_ADDR_MAX	320	/* an address, RFC 5321 */
#define CLASSIFY_TOKEN_MAX	64	/* a token's characters */

enum classify_kind { KIND_BOUNCE, KIND_COMPLAINT, KIND_AUTOREPLY, KIND_UNSUBSCRIBE,
	KIND_DELIVERED, KIND_OTHER, KIND_N };

/* Sisimai's reasons (its vocabulary, our order) */
enum classify_reason {
	R_UNDEFINED, R_AUTHFAILURE, R_BADREPUTATION, R_BLOCKED, R_CONTENTERROR,
	R_DELIVERED, R_EXCEEDLIMIT, R_EXPIRED, R_FEEDBACK, R_FILTERED, R_HASMOVED,
	R_HOSTUNKNOWN, R_MAILBOXFULL, R_MAILERERROR, R_MESGTOOBIG, R_NETWORKERROR,
	R_NORELAYING, R_NOTACCEPT, R_NOTCOMPLIANTRFC, R_ONHOLD, R_POLICYVIOLATION,
	R_REJECTED, R_REQUIREPTR, R_SECURITYERROR, R_SPAMDETECTED, R_SPEEDING,
	R_SUSPEND, R_SYNTAXERROR, R_SYSTEMERROR, R_SYSTEMFULL, R_TOOMANYCONN,
	R_USERUNKNOWN, R_VACATION, R_VIRUSDETECTED, R_N
};

/* where the message was addressed */
enum classify_to { TO_NONE, TO_BOUNCE, TO_UNSUBSCRIBE };

typedef struct classify_rcpt {
	char	 address[CLASSIFY_ADDR_MAX + 1];	/* "" when the report names none */
	char	 status[16];		/* "5.1.1", or "" */
	int	 replycode;		/* 550, or 0 */
	enum classify_reason reason;
	int	 hard;			/* 1: the address is gone for good */
	int	 derived;		/* the status is the reason's, the report had none */
	buf_t	 diag;			/* the diagnostic, one line, cut */
} classify_rcpt_t;

typedef struct classify_opts {
	const char *bounce_local;	/* "bounces" of bounces+TOKEN@ */
	const char *unsub_local;	/* "unsubscribe" of unsubscribe+TOKEN@ */
	const char *envelope_rcpt;	/* RCPT TO / $RECIPIENT, or NULL */
} classify_opts_t;

typedef struct classify_report {
	enum classify_kind kind;
	enum classify_to to;
	char	 token[CLASSIFY_TOKEN_MAX + 1];	/* as found, unchecked */
	char	 orig_msgid[CLASSIFY_ADDR_MAX + 1];	/* the original's, or "" */
	char	 feedback_type[32];	/* ARF Feedback-Type, or "" */
	buf_t	 from, subject;		/* the report's own, one line each */
	size_t	 nrcpt;
	classify_rcpt_t rcpt[CLASSIFY_RCPT_MAX];
} classify_report_t;

void	 classify_message(const char *msg, size_t len, const classify_opts_t *,
	    classify_report_t *out);
void	 classify_free(classify_report_t *);

const char *classify_kind_name(enum classify_kind);
const char *classify_reason_name(enum classify_reason);
/* classify_reason_parse - the enum of a name, or -1 */
int	 classify_reason_parse(const char *);
/* classify_sender_side - 1 when the reason says the sender (its IP, domain,
 * content or authentication) was refused, not the reader's address */
int	 classify_sender_side(enum classify_reason);
/* classify_token_split - when addr's local part is LOCAL+TOKEN (LOCAL
 * compared case-insensitively), TOKEN into tok (at most max-1 bytes): 1,
 * else 0 */
int	 classify_token_split(const char *addr, const char *local, char *tok, size_t max);

#endif
