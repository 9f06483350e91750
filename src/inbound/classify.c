/*
 * classify - what an inbound mail says; contract in classify.h.
 *
 * The MIME tree comes from libetpan; the header blocks (the report's own,
 * a DSN's groups, an ARF report, the returned original's) are read here,
 * since they are simple "Name: value" lines with folding and libetpan's
 * typed fields would only have to be flattened again.  Reasons come from
 * decide(): the RFC 3463 status, the SMTP command and the phrase lists
 * in Sisimai's order of checks; then second_look(): what the reporting
 * server's own words and the receiving provider's codes mean, where
 * Sisimai's per-server modules let them override (reason_retry()).
 *
 * The phrase tables marked as Sisimai's (its reason classes' words, its
 * per-server and per-provider modules' words and codes) are taken from
 * Sisimai (https://github.com/sisimai), Copyright (C) 2014, azumakuniyuki,
 * under the BSD 2-clause licence, whose text is LICENSES/sisimai.txt.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libetpan/libetpan.h>

#include "classify.h"
#include "util.h"

#define TEXT_MAX	((size_t)1 << 20)	/* bytes of notification text kept */
#define HDR_MAX		((size_t)64 << 10)	/* one header block kept */
#define VALUE_MAX	4096	/* one unfolded header value */
#define DEPTH_MAX	64	/* MIME levels walked (libetpan's tree is bounded) */
#define NEAR_MAX	1200	/* bytes after an address read as its diagnostic */

static const char *const kind_names[KIND_N] = { "bounce", "complaint", "autoreply",
	"unsubscribe", "delivered", "other" };

static const char *const reason_names[R_N] = {
	"undefined", "authfailure", "badreputation", "blocked", "contenterror",
	"delivered", "exceedlimit", "expired", "feedback", "filtered", "hasmoved",
	"hostunknown", "mailboxfull", "mailererror", "mesgtoobig", "networkerror",
	"norelaying", "notaccept", "notcompliantrfc", "onhold", "policyviolation",
	"rejected", "requireptr", "securityerror", "spamdetected", "speeding",
	"suspend", "syntaxerror", "systemerror", "systemfull", "toomanyconn",
	"userunknown", "vacation", "virusdetected",
};

const char *
classify_kind_name(enum classify_kind k)
{
	return (unsigned)k < KIND_N ? kind_names[k] : "other";
}

const char *
classify_reason_name(enum classify_reason r)
{
	return (unsigned)r < R_N ? reason_names[r] : "undefined";
}

int
classify_reason_parse(const char *s)
{
	for (int i = 0; i < R_N; i++)
		if (strcmp(s, reason_names[i]) == 0)
			return i;
	return -1;
}

int
classify_sender_side(enum classify_reason r)
{
	switch (r) {
	case R_AUTHFAILURE: case R_BADREPUTATION: case R_BLOCKED: case R_CONTENTERROR:
	case R_NORELAYING: case R_NOTCOMPLIANTRFC: case R_POLICYVIOLATION:
	case R_REJECTED: case R_REQUIREPTR: case R_SECURITYERROR: case R_SPAMDETECTED:
	case R_SPEEDING: case R_TOOMANYCONN: case R_VIRUSDETECTED:
		return 1;
	default:
		return 0;
	}
}

/* hard_bounce - Sisimai's rule: an unknown user or domain or a moved
 * address always; a domain that takes no mail unless the refusal was
 * temporary */
static int
hard_bounce(enum classify_reason r, const char *status, int replycode, const char *diag)
{
	if (r == R_USERUNKNOWN || r == R_HOSTUNKNOWN || r == R_HASMOVED)
		return 1;
	if (r != R_NOTACCEPT)
		return 0;
	if (status[0] == '5' || (status[0] == '\0' && replycode / 100 == 5))
		return 1;
	return !(status[0] == '4' || replycode / 100 == 4 || strcasestr(diag, " temporar") ||
	    strcasestr(diag, " persistent"));
}

/* --- phrases --------------------------------------------------------------- */

/* the words of each reason (what servers are seen to say: ours, and
 * those Sisimai's reason classes list, written here as data; where ours
 * named another reason than Sisimai's, Sisimai's stand), matched
 * case-insensitively anywhere in a diagnostic; which reason wins when
 * several match is decide()'s, not this order */
static const char *const p_virus[] = { "virus", "malware", "infected", "trojan",
	/* Sisimai's words for it too */
	"it has a potentially executable attachment",
	"the message was rejected because it contains prohibited virus or spam content",
	"this form of attachment has been used by recent viruses or other malware", "virus detected",
	"virus phishing/malicious_url detected", "your message was infected with a virus", NULL };
/* a block list names the sender's IP: before "spam", which such a reply
 * often says too */
static const char *const p_blocklist[] = { "spamhaus", "spamcop", "blacklist",
	"blocklist", "block list", "black list", "dnsbl", "client host blocked",
	"blocked for spam", "ip source bloquee", "listed in", "listed at", NULL };
/* a block list of the links in the content, not of the sender's IP:
 * spam, whatever "blacklisted" says besides */
static const char *const p_urlbl[] = { "blacklisted url", "blacklisted link", "uribl", "surbl",
	NULL };
static const char *const p_spam[] = {
	"message content rejected", " - spam", "//www.spamhaus.org/help/help_spam_16.htm",
	"//dsbl.org/help/help_spam_16.htm", "//mail.163.com/help/help_spam_16.htm",
	"554 5.7.0 reject, id=", "appears to be unsolicited", "blacklisted url in message",
	"block for spam", "blocked by policy: no spam please", "blocked by spamassassin",
	"blocked for abuse. see http://att.net/blocks",
	"cannot be forwarded because it was detected as spam",
	"considered unsolicited bulk e-mail (spam) by our mail filters",
	"content filter rejection",
	"cyberoam anti spam engine has identified this email as a bulk email",
	"denied due to spam list", "high probability of spam",
	"is classified as spam and is rejected", "listed in work.drbl.imedia.ru",
	"the mail server detected your message as spam and has prevented delivery.",
	"mail appears to be unsolicited", "mail content denied", "may consider spam",
	"message considered as spam or virus", "message contains spam or virus",
	"message detected as spam", "message filtered",
	"message filtered. please see the faqs section on spam",
	"message filtered. refer to the troubleshooting page at ", "message looks like spam",
	"message is being rejected as it seems to be a spam",
	"message refused by mailmarshal spamprofiler",
	"message refused by trustwave seg spamprofiler", "message rejected as spam",
	"message rejected because of unacceptable content",
	"message rejected due to suspected spam content", "message rejected for policy reasons",
	"message was rejected for possible spam/virus content",
	"our email server thinks this email is spam",
	"our system has detected that this message is ", "probable spam",
	"reject bulk.advertising", "rejected: spamassassin score ", "rejected - bulk email",
	"rejecting banned content", "rejecting mail content",
	"related to content with spam-like characteristics", "sender domain listed at ",
	"sending address not accepted due to spam filter", "spam blocked", "spam check",
	"spam content matched", "spam detected", "spam email", "spam email not accepted",
	"spam message rejected.", "spam not accepted", "spam refused", "spam rejection",
	"spam score ", "spambouncer identified spam", "spamming not allowed",
	"too many spam complaints", "too much spam.", "the email message was detected as spam",
	"the message has been rejected by spam filtering engine",
	"the message was rejected due to classification as bulk mail",
	"the content of this message looked like spam", "this message appears to be spam",
	"this message has been identified as spam",
	"this message has been scored as spam with a probability",
	"this message was classified as spam",
	"this message was rejected by recurrent pattern detection system",
	"transaction failed spam message not queued", "we dont accept spam",
	"your email appears similar to spam we have received before",
	"your email breaches local uribl policy", "your email had spam-like ",
	"your email is considered spam", "your email is probably spam",
	"your email was detected as spam", "your message as spam and has prevented delivery",
	"your message has been temporarily blocked by our filter",
	"your message has been rejected because it appears to be spam",
	"your message has triggered a spam block", "your message may contain the spam contents",
	"your message failed several antispam checks", NULL };
static const char *const p_ptr[] = {
	"cannot find your hostname", "access denied. ip name lookup failed",
	"all mail servers must have a ptr record with a valid reverse dns entry",
	"bad dns ptr resource record", "client host rejected: cannot find your hostname",
	"fix reverse dns for ", "ips with missing ptr records", "no ptr record found.",
	"please get a custom reverse dns name from your isp for your host", "ptr record setup",
	"reverse dns failed", "reverse dns required", "sender ip reverse lookup rejected",
	"the ip address sending this message does not have a ptr record setup",
	"the corresponding forward dns entry does not point to the sending ip",
	"this system will not accept messages from servers/devices with no reverse dns",
	"unresolvable relay host name",
	"we do not accept mail from hosts with dynamic ip or generic dns ptr-records", NULL };
static const char *const p_reput[] = { "reputation", "low sender score",
	"user complaints",
	/* Sisimai's words for it too */
	"a poor email reputation score", "has been temporarily rate limited due to ip reputation",
	"ip/domain reputation problems", "likely suspicious due to the very low reputation",
	"none/bad reputation", "temporarily deferred due to unexpected volume or user complaints",
	"the sending mta's poor reputation", NULL };
static const char *const p_auth[] = {
	"//spf.pobox.com", "bad spf records for", "dmarc policy",
	"please inspect your spf settings", "sender policy framework (spf) fail",
	"sender policy framework violation",
	"spf (sender policy framework) domain authentication fail", "spf check: fail", NULL };
static const char *const p_blocked[] = {
	"connection refused by", " said: 550 blocked", "//www.spamcop.net/bl.",
	"bad sender ip address", "banned sending ip", "blacklisted by", "blocked using ",
	"blocked - see http", "dnsbl:attrbl", "client host rejected: abus detecte gu_eib_02",
	"client host rejected: abus detecte gu_eib_04",
	"client host rejected: may not be mail exchanger",
	"client host rejected: was not authenticated", "confirm this mail server",
	"connection dropped", "connection reset by peer", "connection was dropped by remote host",
	"connections not accepted from ip addresses on spamhaus xbl",
	"currently sending spam see: ", "domain does not exist:",
	"dynamic/zombied/spam ips blocked", "error: no valid recipients from ",
	"esmtp not accepting connections", "extreme bad ip profile", "go away",
	"helo command rejected:", "host network not allowed", "hosts with dynamic ip",
	"invalid ip for sending mail of domain", "is in a black list",
	"is not allowed to send mail from", "no access from mail server",
	"no matches to nameserver query", "not currently accepting mail from your ip",
	"part of their network is on our block list", "please use the smtp server of your isp",
	"refused - see http", "rejected - multi-blacklist",
	"rejected because the sending mta or the sender has not passed validation",
	"rejecting open proxy", "sender ip address rejected",
	"server access forbidden by your ip ",
	"service not available, closing transmission channel",
	"smtp error from remote mail server after initial connection:",
	"sorry, that domain isn't in my list of allowed rcpthosts",
	"sorry, your remotehost looks suspiciously like spammer",
	"temporarily deferred due to unexpected volume or user complaints",
	"to submit messages to this e-mail system has been rejected",
	"too many spams from your ip",
	"too many unwanted messages have been sent from the following ip address above",
	"was blocked by ", "we do not accept mail from dynamic ips",
	"you are not allowed to connect", "you are sending spam",
	"your ip address is listed in the rbl", "your network is temporary blacklisted",
	"your server requires confirmation", NULL };
static const char *const p_relay[] = { "relay access denied", "relaying denied",
	"not permitted to relay", "unable to relay", "relay not permitted",
	"relaying not allowed", "we do not relay", "no relaying", "relay denied",
	"address is not verified",
	"not allowed to relay", "relaying mail to",
	/* Sisimai's words for it too */
	"as a relay", "email address is not verified.", "insecure mail relay",
	"is not permitted to relay through this server without authentication",
	"mail server requires authentication when attempting to send to a non-local e-mail address",
	"not a gateway", "not allowed to relay through this machine",
	"not an open relay, so get lost", "not local host", "relaying mail to ",
	"specified domain is not allowed", "that domain isn't in my list of allowed rcpthost",
	"this system is not configured to relay mail", "unable to relay for",
	"we don't handle mail for", NULL };
static const char *const p_conn[] = { "too many connections", "too many concurrent",
	"too many simultaneous", "connection limit", "too many sessions", "frequency limited", "connection frequency",
	/* Sisimai's words for it too */
	"all available ips are at maximum connection limit", "connection rate limit exceeded",
	"exceeds per-domain connection limit for", "has exceeded the max emails per hour ",
	"throttling failure: daily message quota exceeded",
	"throttling failure: maximum sending rate exceeded", "too many connections from your host.",
	"too many concurrent smtp connections", "too many errors from your ip",
	"too many recipients", "too many smtp sessions for this host", "trop de connexions, ",
	"we have already made numerous attempts to deliver this message", NULL };
/* Sisimai's: few words, since "rate limit", "try again later" and the
 * like are said for connections, quotas and blocks as well */
static const char *const p_speed[] = { "please try again slower",
	"receiving mail at a rate that prevents additional messages from being delivered", NULL };
static const char *const p_size[] = {
	"size limit", "exceeded maximum inbound message size", "line limit exceeded",
	"max message size exceeded", "message file too big",
	"message length exceeds administrative limit", "message size exceeds fixed limit",
	"message size exceeds fixed maximum message size", "message size exceeds maximum value",
	"message too big", "message too large for this ", "taille limite du message atteinte", NULL };
static const char *const p_full[] = { "mailbox full", "mailbox is full",
	"mailbox has exceeded", "over quota", "overquota", "quota exceeded",
	"exceeded storage", "exceeded the storage", "exceeds quota", "quota",
	"disk space", "mailbox size limit", "insufficient storage", "full mailbox",
	"not enough space", "mailfolder is full", "user is over", "exceeded its",
	"storage allocation", "mailbox exceeded", "account is full", "is full",
	"exceeds allowed size", "mailbox exceeds", "postilaatikko on täynnä", "postilaatikko täynnä", "postilaatikko on täyttynyt",
	"postlådan är full", "brevlådan är full", "brevlåda är full", "postfach voll",
	/* Sisimai's words for it too */
	"452 insufficient disk space", "account disabled temporarly for exceeding receiving limits",
	"account is exceeding their quota", "account is over quota",
	"account is temporarily over quota", "boite du destinataire pleine",
	"delivery failed: over quota", "disc quota exceeded", "diskspace quota",
	"does not have enough space", "exceeded storage allocation", "exceeding its mailbox quota",
	"is over disk quota", "is over quota temporarily",
	"mail file size exceeds the maximum size allowed for mail delivery", "mail quota exceeded",
	"mailbox exceeded the local limit", "mailbox has exceeded its disk space limit",
	"mailbox over quota", "mailbox quota usage exceeded", "mailbox size limit exceeded",
	"maildir over quota", "maildir delivery failed: userdisk quota ",
	"maildir delivery failed: domaindisk quota ", "no space left on device",
	"not enough storage space in", "not sufficient disk space", "over the allowed quota",
	"quota violation for", "recipient reached disk quota",
	"recipient rejected: mailbox would exceed maximum allowed storage",
	"the recipient mailbox has exceeded its disk space limit",
	"the user's space has been used up", "the user you are trying to reach is over quota",
	"too much mail data", "user has exceeded quota, bouncing mail",
	"user has too many messages on the server", "user is over quota", "user is over the quota",
	"user over quota", "user over quota. (#5.1.1)", "was automatically rejected: quota exceeded",
	"would be over the allowed quota", NULL };
static const char *const p_sysfull[] = { "system full", "disk full",
	"insufficient system storage", "out of disk", "no space left",
	/* Sisimai's words for it too */
	"mail system full", "requested mail action aborted: exceeded storage allocation", NULL };
static const char *const p_suspend[] = { "disabled", "inactive",
	"not active", "deactivated", "account is locked", "account has been locked",
	"mailbox is frozen", "expired account", "account expired", "no longer active",
	"account closed", "account has been closed", "mailbox closed", "mailbox has been closed",
	/* Sisimai's words for it too */
	" is currently suspended", " temporary locked", "archived recipient",
	"boite du destinataire archivee", "email account that you tried to reach is disabled",
	"has been suspended", "inactive account", "invalid/inactive user",
	"is a deactivated mailbox", "is unavailable: user is terminated",
	"mailbox currently suspended", "mailbox disabled", "mailbox unavailable or access denied",
	"recipient rejected: temporarily inactive", "recipient suspend the service",
	"this account has been disabled or discontinued",
	"this account has been temporarily suspended", "this address no longer accepts mail",
	"this mailbox is disabled", "user or domain is disabled", "user suspended",
	"vdelivermail: account is locked email bounced", NULL };
static const char *const p_moved[] = { "has moved", "not our customer", "moved to", "changed address",
	"new address", "no longer with",
	/* Sisimai's words for it too */
	" has been replaced by ", NULL };
static const char *const p_notaccept[] = { "does not accept mail", "null mx",
	"nullmx", "not accept any mail", "no smtp service", "no mx",
	"mx not found", "mail exchanger", "mx or srv record", "accepts no mail", "not accepting mail",
	/* Sisimai's words for it too */
	"does not accept mail (nullmx)", "host/domain does not accept mail",
	"host does not accept mail", "mail receiving disabled", "name server: .: host not found",
	"no mx record found for domain=", "no route for current request",
	"smtp protocol returned a permanent error", NULL };
static const char *const p_host[] = {
	"host unknown", "unknown host", "no such domain", "domain does not exist",
	"name or service not known", "host or domain name not found", "domain is not reachable",
	"domain must exist", "host unreachable",
	"mail domain mentioned in email address is unknown",
	"recipient address rejected: unknown domain name", "recipient domain must exist",
	"the account or domain may not exist", "unroutable address", "unrouteable address", NULL };
static const char *const p_user[] = {
	"user unknown", "unknown user", "no such user", "recipient unknown", "unknown recipient",
	"invalid recipient", "mailbox not found", "user not found", "no such recipient",
	"recipient not found", "no such mailbox", "invalid mailbox", "address unknown",
	"unknown mailbox", "invalid address", "user not exist", "#5.1.1 bad address",
	"550 address invalid", "5.1.0 address rejected.", "address does not exist",
	"address not present in directory", "can't accept user", "does not exist.",
	"destination addresses were unknown", "destination server rejected recipients",
	"email address does not exist", "email address could not be found",
	"invalid mailbox path", "is not a known user", "is not a valid mailbox",
	"is not an active address at this host", "mailbox does not exist", "mailbox invalid",
	"mailbox is inactive", "mailbox is unavailable", "mailbox not present",
	"mailbox unavaiable", "nessun utente simile in questo indirizzo",
	"no account by that name here", "no existe dicha persona", "no existe ese usuario ",
	"no mail box available for this user", "no mailbox by that name is currently available",
	"no mailbox found", "no such address here", "no such person at this address",
	"no thank you rejected: account unavailable", "no valid recipients, bye",
	"not a valid recipient", "not a valid user here", "not a local address",
	"not email addresses", "recipient address rejected. (in reply to rcpt to command)",
	"recipient address rejected: access denied", "recipient address rejected: invalid user",
	"recipient address rejected: invalid-recipient",
	"recipient address rejected: unknown user", "recipient address rejected: userunknown",
	"recipient does not exist", "recipient is not accepted", "recipient is not local",
	"recipient not exist", "recipient not ok", "recipient refuses to accept your mail",
	"requested action not taken: mailbox unavailable", "resolver.adr.recipient notfound",
	"sorry, user unknown", "sorry, badrcptto", "sorry, no mailbox here by that name",
	"sorry, your envelope recipient has been denied",
	"that domain or user isn't in my list of allowed rcpthosts",
	"the email account that you tried to reach does not exist",
	"the following recipients was undeliverable", "the user's email name is not found",
	"there is no one at this address", "this address no longer accepts mail",
	"this email address is wrong or no longer valid",
	"this recipient is in my badrecipientto list",
	"this recipient is not in my validrcptto list", "this spectator does not exist",
	"user does not exist", "user missing home directory", "user not active", "user not known",
	"utilisateur inconnu !", "vdeliver: invalid or unknown virtual user",
	"your envelope recipient is in my badrcptto list",
	/* ours: the languages the BUGS name */
	"käyttäjää ei", "vastaanottajaa ei ole olemassa", "tuntematon vastaanottaja",
	"osoitetta ei ole olemassa", "osoitetta ei löydy", "okänd mottagare",
	"mottagaren finns inte", "adressen finns inte", "unbekannt", "inconnu",
	NULL };
static const char *const p_rejected[] = { "sender rejected", "sender address rejected",
	"sender unknown", "domain of sender", "sender domain", "envelope sender",
	"from address", "sender verify failed", "sender verification", "bad sender",
	"return path", "invalid sender",
	"sender denied", "purported responsible address",
	/* Sisimai's words for it too */
	"access denied (in reply to mail from command)", "access denied (sender blacklisted)",
	"administrative prohibition", "batv failed to verify",
	"batv validation failure",
	"backscatter protection detected an invalid or expired email address",
	"because the sender isn't on the recipient's list of senders to accept mail from",
	"bogus mail from", "can't determine purported responsible address",
	"connections not accepted from servers without a valid sender domain", "denied [bouncedeny]",
	"denied by secumail valid-address-filter", "delivery not authorized, message refused",
	"does not exist e2110", "domain of sender address ",
	"email address is on senderfilterconfig list", "emetteur invalide",
	"empty envelope senders not allowed", "envelope blocked - ", "error: no third-party dsns",
	"from: domain is invalid. please provide a valid from:",
	"fully qualified email address required", "invalid domain, see <url:",
	"is not a registered gateway user", "mail from not owned by user",
	"message rejected: email address is not verified", "mx records for ",
	"null sender is not allowed", "recipient addresses rejected : access denied",
	"recipient not accepted. (batv: no tag", "returned mail not accepted here",
	"rfc 1035 violation: recursive cname records for", "rule imposed mailbox access for",
	"sending this from a different address or alias using the ",
	"sender address has been blacklisted", "sender email address rejected",
	"sender is in my black list", "sender is spammer", "sender not pre-approved",
	"sender domain is empty", "sender was rejected", "spam reporting address",
	"syntax error: empty email address", "the message has been rejected by batv defense",
	"this server does not accept mail from", "transaction failed unsigned dsn for",
	"unroutable sender address", "you are not allowed to post to this mailing list",
	"you are sending to/from an address that has been blacklisted",
	"your access to submit messages to this e-mail system has been rejected",
	"your email address has been blacklisted", NULL };
static const char *const p_expired[] = { "expired", "retry time", "too long",
	"timed out", "time out", "timeout", "could not be delivered within",
	"giving up", "retry timeout exceeded", "delivery time", "were not able to deliver",
	"has not been delivered", "delayed", "retry period", "queue",
	"will be retried", "all hosts have been failing", "did not accept our requests",
	/* Sisimai's words for it too */
	"connection timed out", "could not find a gateway for",
	"delivery attempts will continue to be", "delivery expired", "delivery time expired",
	"failed to deliver to domain ", "giving up on", "have been failing for a long time",
	"has been delayed", "it has not been collected after",
	"message expired after sitting in queue for",
	"message expired, cannot connect to remote server", "message expired, connection refulsed",
	"message timed out", "retry time not reached for any host after a long failure period",
	"server did not respond", "this message has been in the queue too long",
	"unable to deliver message after multiple retries",
	"was not reachable within the allowed queue period",
	"your message could not be delivered for more than", NULL };
/* a name lookup that failed for now, not a name that does not exist */
static const char *const p_dns[] = { "not found, try again",
	"dns query failed", "temporary lookup failure", "dns lookup failure", NULL };
static const char *const p_net[] = { "network",
	"host unreachable", "unreachable", "mail loop", "loops back",
	"routing loop", "too many hops", "hop count", "lost connection",
	"connection reset", "broken pipe",
	/* Sisimai's words for it too */
	"could not connect and send the mail to",
	"dns records for the destination computer could not be found",
	"hop count exceeded - possible mail loop", "host is unreachable", "host name lookup failure",
	"host not found, try again", "mail forwarding loop for ", "malformed name server reply",
	"malformed or unexpected name server reply", "maximum forwarding loop count exceeded",
	"message looping", "message probably in a routing loop", "no route to host",
	"unable to resolve route ", "unrouteable mail domain", NULL };
static const char *const p_mailer[] = { "x-unix", "command output", "procmail",
	"mailer error", "exit status", "pipe to", "command died", "program error",
	"local delivery failed",
	/* Sisimai's words for it too */
	" || exit ", "procmail: ", "bin/procmail", "bin/maidrop", "command failed: ",
	"command died with status ", "command output:", "pipe to |/", "x-unix; ", NULL };
static const char *const p_syserr[] = { "system error", "internal error",
	"server error", "local error", "configuration error", "temporary local problem",
	"system problem", "mail system error",
	"service currently unavailable",
	/* Sisimai's words for it too */
	"aliasing/forwarding loop broken", "can't create user output file",
	"could not load drd for domain", "internal error reading data",
	"internal server error: operation now in progress", "interrupted system call",
	"it encountered an error while being processed", "it would create a mail loop",
	"local configuration error", "local error in processing",
	"loop was found in the mail exchanger", "loops back to myself",
	"mail system configuration error", "queue file write error",
	"recipient deferred because there is no mdb", "remote server is misconfigured",
	"server configuration error", "system config error", "timeout waiting for input",
	"transaction failed ", NULL };
static const char *const p_security[] = { "authentication required",
	"tls required", "starttls", "encryption required", "must issue a starttls",
	"requires authentication", "certificate", "unauthenticated",
	/* Sisimai's words for it too */
	"account not subscribed to ses", "authentication credentials invalid",
	"authentication failure", "authentication turned on in your email client",
	"executable files are not allowed in compressed files", "insecure mail relay",
	"recipient address rejected: access denied",
	"sorry, you don't authenticate or the domain isn't in my list of allowed rcpthosts",
	"starttls is required to send mail", "tls required but not supported",
	"unauthenticated senders not allowed", "verification failure",
	"you are not authorized to send mail, authentication is required", NULL };
static const char *const p_syntax[] = { "syntax error", "command unrecognized",
	"unrecognized command", "bad sequence", "not implemented", "command parameter", NULL };
static const char *const p_rfc[] = { "rfc 5322", "rfc5322", "rfc 2822", "rfc2822",
	"rfc 822", "not rfc compliant", "multiple from",
	"message-id header", "multiple addresses in from",
	/* Sisimai's words for it too */
	"this message is not rfc 5322 compliant",
	"https://support.google.com/mail/?p=rfcmessagenoncompliant", NULL };
static const char *const p_content[] = { "content rejected", "invalid mime",
	"mime complexity", "binary content", "8-bit data", "improper header",
	"header error", "attachment",
	/* Sisimai's words for it too */
	"duplicate header", "header size exceeds maximum permitted",
	"improper use of 8-bit data in message header",
	"message header size, or recipient list, exceeds policy limit",
	"message mime complexity exceeds the policy maximum",
	"routing loop detected -- too many received: headers",
	"this message contain invalid mime headers",
	"this message contain improperly-formatted binary content",
	"this message contain text that uses unnecessary base64 encoding", NULL };
static const char *const p_policy[] = {
	"an illegal attachment on your message",
	"because the recipient is not accepting mail with ",
	"by non-member to a members-only list", "closed mailing list", "denied by policy",
	"email not accepted for policy reasons", "email rejected due to security policies",
	"header are not accepted", "header error", "local policy violation",
	"message bounced due to organizational settings", "message given low priority",
	"message not accepted for policy reasons", "message rejected due to local policy",
	"messages with multiple addresses", "rejected for policy reasons", "protocol violation",
	"the email address used to send your message is not subscribed to this group",
	"the message was rejected by organization policy",
	"this message was blocked because its content presents a potential",
	"we do not accept messages containing images or other attachments",
	"you're using a mass mailer", NULL };
static const char *const p_filtered[] = { "filtered", "rejected by recipient",
	"delivery not authorized", "not authorized", "restricted",
	"recipient has blocked", "blocked by recipient", "do not accept",
	/* Sisimai's words for it too */
	"because the recipient is only accepting mail from specific email addresses",
	"bounced address",
	"due to extended inactivity new mail is not currently being accepted for this mailbox",
	"has restricted sms e-mail", "is not accepting any mail",
	"message rejected due to user rules", "not found recipient account",
	"refused due to recipient preferences", "resolver.rst.notauthorized",
	"this account is protected by", "user not found", "user refuses to receive this mail",
	"user reject",
	"we failed to deliver mail because the following address recipient id refuse to receive mail",
	"you have been blocked by the recipient", NULL };
static const char *const p_limit[] = { "recipient limit", "reciplimit",
	/* Sisimai's words for it too */
	"message header size exceeds limit", "message too large", NULL };

static const struct rule {
	enum classify_reason r;
	const char *const *phrases;
} rules[] = {
	{ R_VIRUSDETECTED, p_virus }, { R_REQUIREPTR, p_ptr }, { R_AUTHFAILURE, p_auth }, { R_NORELAYING, p_relay },
	{ R_MAILBOXFULL, p_full }, { R_MESGTOOBIG, p_size }, { R_SYSTEMFULL, p_sysfull },
	{ R_NOTACCEPT, p_notaccept }, { R_HASMOVED, p_moved }, { R_NETWORKERROR, p_dns },
	{ R_NOTCOMPLIANTRFC, p_rfc }, { R_REJECTED, p_rejected }, { R_HOSTUNKNOWN, p_host },
	{ R_USERUNKNOWN, p_user },
	{ R_BLOCKED, p_blocklist }, { R_SPAMDETECTED, p_urlbl }, { R_SPAMDETECTED, p_spam }, { R_BADREPUTATION, p_reput },
	{ R_AUTHFAILURE, p_auth }, { R_BLOCKED, p_blocked }, { R_TOOMANYCONN, p_conn },
	{ R_SPEEDING, p_speed }, { R_SUSPEND, p_suspend },
	{ R_SECURITYERROR, p_security }, { R_MAILERERROR, p_mailer },
	{ R_EXCEEDLIMIT, p_limit }, { R_EXPIRED, p_expired }, { R_NETWORKERROR, p_net },
	{ R_SYSTEMERROR, p_syserr }, { R_SYNTAXERROR, p_syntax }, { R_POLICYVIOLATION, p_policy },
	{ R_FILTERED, p_filtered }, { R_CONTENTERROR, p_content },
};

/* Sisimai's word pairs: words that name a reason when they come in this
 * order with anything between ("553 " ... " does not exist"); each is
 * filed in the phrase index under its first part of three bytes or more */
static const struct pair_rule {
	enum classify_reason r;
	const char *part[3];	/* in order; NULL ends */
} pair_rules[] = {
	{ R_AUTHFAILURE, { " is not allowed to send mail.", "_401", NULL } },
	{ R_AUTHFAILURE, { "is not allowed to send from <", " per it's spf record", NULL } },
	{ R_BLOCKED, { "(", "@", ":blocked)" } },
	{ R_BLOCKED, { "access from ip address ", " blocked", NULL } },
	{ R_BLOCKED, { "client host ", " blocked using", NULL } },
	{ R_BLOCKED, { "connections will not be accepted from ", " because the ip is in spamhaus's list", NULL } },
	{ R_BLOCKED, { "dnsbl:rbl ", ">_is_blocked", NULL } },
	{ R_BLOCKED, { "email blocked by ", ".barracudacentral.org", NULL } },
	{ R_BLOCKED, { "email blocked by ", "spamhaus", NULL } },
	{ R_BLOCKED, { "host ", " refused to talk to me: ", " blocked" } },
	{ R_BLOCKED, { "ip ", " is blocked by earthlink", NULL } },
	{ R_BLOCKED, { "is in an ", "rbl on ", NULL } },
	{ R_BLOCKED, { "mail server at ", " is blocked", NULL } },
	{ R_BLOCKED, { "mail from ", " refused:", NULL } },
	{ R_BLOCKED, { "message from ", " rejected based on blacklist", NULL } },
	{ R_BLOCKED, { "messages from ", " temporarily deferred due to user complaints", NULL } },
	{ R_BLOCKED, { "server ip ", " listed as abusive", NULL } },
	{ R_BLOCKED, { "sorry! your ip address", " is blocked by rbl", NULL } },
	{ R_BLOCKED, { "the domain ", " is blacklisted", NULL } },
	{ R_BLOCKED, { "the email ", " is blacklisted", NULL } },
	{ R_BLOCKED, { "the ip", " is blacklisted", NULL } },
	{ R_BLOCKED, { "veuillez essayer plus tard. service refused, please try later. ", "103", NULL } },
	{ R_BLOCKED, { "veuillez essayer plus tard. service refused, please try later. ", "510", NULL } },
	{ R_BLOCKED, { "your sender's ip address is listed at ", ".abuseat.org", NULL } },
	{ R_EXPIRED, { "could not be delivered for", " days", NULL } },
	{ R_HOSTUNKNOWN, { "553 ", " does not exist", NULL } },
	{ R_POLICYVIOLATION, { "you have exceeded the", "allowable number of posts without solving a captcha", NULL } },
	{ R_REQUIREPTR, { "domain ", " mismatches client ip", NULL } },
	{ R_REQUIREPTR, { "dns lookup failure: ", " try again later", NULL } },
	{ R_REQUIREPTR, { "reverse dns lookup for host ", " failed permanently", NULL } },
	{ R_REQUIREPTR, { "server access ", " forbidden by invalid rdns record of your mail server", NULL } },
	{ R_REQUIREPTR, { "service permits ", " unverifyable sending ips", NULL } },
	{ R_SECURITYERROR, { "authentication failed; server ", " said: ", NULL } },
	{ R_SECURITYERROR, { "authentification invalide", "305", NULL } },
	{ R_SECURITYERROR, { "authentification requise", "402", NULL } },
	{ R_SECURITYERROR, { "domain ", " is a dead domain", NULL } },
	{ R_SECURITYERROR, { "user ", " is not authorized to perform ses:sendrawemail on resource", NULL } },
	{ R_SPAMDETECTED, { "greylisted", " please try again in", NULL } },
	{ R_SPAMDETECTED, { "mail rejete. mail rejected. ", "506", NULL } },
	{ R_SPAMDETECTED, { "our filters rate at and above ", " percent probability of being spam", NULL } },
	{ R_SPAMDETECTED, { "rejected by ", " (spam)", NULL } },
	{ R_SPAMDETECTED, { "rejected due to spam ", "classification", NULL } },
	{ R_SPAMDETECTED, { "rejected due to spam ", "content", NULL } },
	{ R_SPAMDETECTED, { "rule imposed as ", " is blacklisted on", NULL } },
	{ R_SPAMDETECTED, { "spam ", " exceeded", NULL } },
	{ R_SPAMDETECTED, { "this message scored ", " spam points", NULL } },
	{ R_USERUNKNOWN, { "<", "> not found", NULL } },
	{ R_USERUNKNOWN, { "<", ">... blocked by ", NULL } },
	{ R_USERUNKNOWN, { "account ", " does not exist at the organization", NULL } },
	{ R_USERUNKNOWN, { "adresse d au moins un destinataire invalide. invalid recipient.", "416", NULL } },
	{ R_USERUNKNOWN, { "adresse d au moins un destinataire invalide. invalid recipient.", "418", NULL } },
	{ R_USERUNKNOWN, { "bad", "recipient", NULL } },
	{ R_USERUNKNOWN, { "mailbox ", "does not exist", NULL } },
	{ R_USERUNKNOWN, { "mailbox ", "unavailable or access denied", NULL } },
	{ R_USERUNKNOWN, { "no ", " in name directory", NULL } },
	{ R_USERUNKNOWN, { "non", "existent user", NULL } },
	{ R_USERUNKNOWN, { "rcpt <", " does not exist", NULL } },
	{ R_USERUNKNOWN, { "rcpt (", "t exist ", NULL } },
	{ R_USERUNKNOWN, { "recipient ", " was not found in", NULL } },
	{ R_USERUNKNOWN, { "recipient address rejected: user ", "  does not exist", NULL } },
	{ R_USERUNKNOWN, { "recipient address rejected: user unknown in ", "  table", NULL } },
	{ R_USERUNKNOWN, { "said: 550-5.1.1 ", " user unknown ", NULL } },
	{ R_USERUNKNOWN, { "said: 550 5.1.1 ", " user unknown ", NULL } },
	{ R_USERUNKNOWN, { "this user doesn't have a ", " account", NULL } },
	{ R_USERUNKNOWN, { "unknown e", "mail address", NULL } },
	{ R_USERUNKNOWN, { "unknown local", "part", NULL } },
	{ R_USERUNKNOWN, { "user ", " was not found", NULL } },
	{ R_USERUNKNOWN, { "user ", " does not exist", NULL } },
	{ R_USERUNKNOWN, { "user (", ") unknown", NULL } },
};

/* lower-cased copy (ASCII only; UTF-8 bytes kept), cut at out's ceiling */
static void
lower(const char *s, size_t n, buf_t *out)
{
	buf_reset(out);
	if (n > out->max)
		n = out->max;
	if (buf_add(out, s, n) < 0)
		return;
	for (size_t i = 0; i < out->len; i++)
		out->data[i] = (char)tolower((unsigned char)out->data[i]);
}

static void squeeze(const char *, size_t, buf_t *);

/*
 * The phrase index: every phrase of rules[] filed under a hash of its
 * first three bytes, built once (pthread_once) and read-only after.
 * reason_mask() reads the lower-cased text once and, at each position,
 * tries only the phrases filed under the three bytes there (one, mostly;
 * two bytes left 70 phrases under "re"): one pass, not one strstr() per
 * phrase (hundreds of scans of the whole notification text per
 * recipient, which was the classifier's main cost).
 */
#define PHRASES_MAX	2048	/* phrases of all rules together */
#define PAIRS		65536	/* keys of the first three bytes */

static struct phrase {
	const char *p;
	unsigned len;
	unsigned rule;		/* index into rules[]: lower wins */
} phrases[PHRASES_MAX];
/* phrases[] of the pair k: [phrase_first[k], phrase_first[k + 1]) */
static uint16_t phrase_first[PAIRS + 1];
static unsigned char lc[256];		/* tolower() of every byte */
static pthread_once_t phrase_once = PTHREAD_ONCE_INIT;

/* the key of three (lower-case) bytes: distinct for any three ASCII
 * letters; other bytes may share one, which the comparison settles */
static unsigned
key3(unsigned a, unsigned b, unsigned c)
{
	return (a * 2053u + b * 61u + c) & (PAIRS - 1);
}

static unsigned
pair(const char *p)
{
	return key3((unsigned char)p[0], (unsigned char)p[1], (unsigned char)p[2]);
}

static size_t pair_anchor(const struct pair_rule *);

static void
phrase_index(void)
{
	static uint16_t count[PAIRS];
	size_t n = 0;

	for (int c = 0; c < 256; c++)
		lc[c] = (unsigned char)tolower(c);

	for (size_t i = 0; i < NELEM(rules); i++)
		for (const char *const *p = rules[i].phrases; *p; p++) {
			/* a rule table with a phrase under three bytes, or more
			 * than PHRASES_MAX: a build error, caught by any test */
			if (strlen(*p) < 3 || ++n > PHRASES_MAX)
				abort();
			count[pair(*p)]++;
		}
	for (size_t i = 0; i < NELEM(pair_rules); i++) {
		if (++n > PHRASES_MAX)
			abort();
		count[pair(pair_rules[i].part[pair_anchor(&pair_rules[i])])]++;
	}
	n = 0;
	for (size_t k = 0; k < PAIRS; k++) {
		phrase_first[k] = (uint16_t)n;
		n += count[k];
		count[k] = 0;
	}
	phrase_first[PAIRS] = (uint16_t)n;
	for (size_t i = 0; i < NELEM(rules); i++)
		for (const char *const *p = rules[i].phrases; *p; p++) {
			unsigned k = pair(*p);
			struct phrase *e = &phrases[phrase_first[k] + count[k]++];

			e->p = *p;
			e->len = (unsigned)strlen(*p);
			e->rule = (unsigned)i;
		}
	for (size_t i = 0; i < NELEM(pair_rules); i++) {
		const char *a = pair_rules[i].part[pair_anchor(&pair_rules[i])];
		unsigned k = pair(a);
		struct phrase *e = &phrases[phrase_first[k] + count[k]++];

		e->p = a;
		e->len = (unsigned)strlen(a);
		e->rule = (unsigned)(NELEM(rules) + i);
	}
}

/* pair_anchor - the part of a pair filed in the index: its first of
 * three bytes or more (a pair with none is a build error) */
static size_t
pair_anchor(const struct pair_rule *w)
{
	for (size_t i = 0; i < NELEM(w->part) && w->part[i]; i++)
		if (strlen(w->part[i]) >= 3)
			return i;
	abort();
}

/* pair_holds - whether the pair w, its anchor found at low + at (low:
 * the lower-cased text, n bytes), has its other parts in order around */
static int
pair_holds(const struct pair_rule *w, const char *low, size_t n, size_t at)
{
	size_t a = pair_anchor(w), pos = 0;
	const char *f;

	/* the parts before the anchor, in order, before it */
	for (size_t i = 0; i < a; i++) {
		size_t len = strlen(w->part[i]);

		if ((f = memmem(low + pos, at - pos, w->part[i], len)) == NULL)
			return 0;
		pos = (size_t)(f - low) + len;
		if (pos > at)
			return 0;
	}
	/* the parts after it, in order, after it */
	pos = at + strlen(w->part[a]);
	for (size_t i = a + 1; i < NELEM(w->part) && w->part[i]; i++) {
		size_t len = strlen(w->part[i]);

		if (pos > n || (f = memmem(low + pos, n - pos, w->part[i], len)) == NULL)
			return 0;
		pos = (size_t)(f - low) + len;
	}
	return 1;
}

#define HAS(m, r)	(((m) >> (r)) & 1)
#define B_BLOCKLIST	(R_N + 1)	/* a block list named: the sender's IP, not its mail */
#define B_URLLIST	(R_N + 2)	/* a block list of the content's links named */

/* the reasons (bit 1 << reason) any of whose phrases is in the first 2 KB
 * of text, and B_BLOCKLIST: every rule's lists in one pass */
static uint64_t
reason_mask(const char *text)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t n = strnlen(text, CLASSIFY_DIAG_MAX * 2);
	uint64_t m = 0;
	char low[CLASSIFY_DIAG_MAX * 2 + 1];	/* for a pair's other parts */
	int lowered = 0;

	pthread_once(&phrase_once, phrase_index);
	for (size_t i = 0; i + 2 < n; i++) {
		unsigned k = key3(lc[u[i]], lc[u[i + 1]], lc[u[i + 2]]), end = phrase_first[k + 1];

		for (unsigned e = phrase_first[k]; e < end; e++) {
			const struct phrase *f = &phrases[e];
			unsigned j = 0;

			if (f->len > n - i)
				continue;
			while (j < f->len && lc[u[i + j]] == (unsigned char)f->p[j])
				j++;
			if (j < f->len)
				continue;
			if (f->rule < NELEM(rules)) {
				m |= (uint64_t)1 << rules[f->rule].r |
				    (uint64_t)(rules[f->rule].phrases == p_blocklist) << B_BLOCKLIST |
				    (uint64_t)(rules[f->rule].phrases == p_urlbl) << B_URLLIST;
				continue;
			}
			if (!lowered) {
				for (size_t c = 0; c < n; c++)
					low[c] = (char)lc[u[c]];
				low[n] = '\0';
				lowered = 1;
			}
			if (pair_holds(&pair_rules[f->rule - NELEM(rules)], low, n, i))
				m |= (uint64_t)1 << pair_rules[f->rule - NELEM(rules)].r;
		}
	}
	return m;
}


/* the SMTP command a reply answered, as a transcript or a server's words
 * name it (the last one named: a session goes forward) */
enum smtp_cmd { CMD_NONE, CMD_CONN, CMD_HELO, CMD_STARTTLS, CMD_AUTH, CMD_MAIL, CMD_RCPT,
	CMD_DATA, CMD_QUIT };

static enum smtp_cmd
smtp_command(const char *t)
{
	/* upper case as servers write them; "end of data" in any case */
	static const struct { const char *w; enum smtp_cmd c; int ci; } words[] = {
		{ "HELO", CMD_HELO, 0 }, { "EHLO", CMD_HELO, 0 }, { "STARTTLS", CMD_STARTTLS, 0 },
		{ "AUTH ", CMD_AUTH, 0 }, { "MAIL F", CMD_MAIL, 0 }, { "MAIL:", CMD_MAIL, 0 },
		{ "RCPT", CMD_RCPT, 0 }, { "does not like recipient", CMD_RCPT, 1 }, { "DATA", CMD_DATA, 0 }, { "end of data", CMD_DATA, 1 },
		{ "after data", CMD_DATA, 1 }, { "initial connection", CMD_CONN, 1 },
		{ "connection greeting", CMD_CONN, 1 }, { "SMTP greeting", CMD_CONN, 0 },
	};
	const char *last = NULL;
	enum smtp_cmd c = CMD_NONE;

	for (size_t i = 0; i < NELEM(words); i++) {
		size_t n = strlen(words[i].w);
		const char *f = NULL, *g = t;

		/* the last mention of this word; "HELO=" names a field of a
		 * trace ("H=mx HELO=[mx]"), not a command */
		while ((g = words[i].ci ? strcasestr(g, words[i].w) : strstr(g, words[i].w))) {
			if (g[n] != '=')
				f = g;
			g++;
		}
		if (f && (last == NULL || f > last)) {
			last = f;
			c = words[i].c;
		}
	}
	return c;
}

/*
 * status_name - the reason an RFC 3463 status names by itself, class by
 * class ("4.4.7" is a delivery that timed out, "5.2.1" a mailbox that
 * refuses; "5.7.1" says only that the sender was refused).  R_UNDEFINED
 * where the code names none (x.0.0, x.5.0, ...).
 */
static enum classify_reason
status_name(const char *st)
{
	/* cls: '4', '5' or 0 for both */
	static const struct { char cls; const char *d; enum classify_reason r; } map[] = {
		{ '5', "1.0", R_USERUNKNOWN }, { 0, "1.1", R_USERUNKNOWN },
		{ 0, "1.2", R_HOSTUNKNOWN }, { 0, "1.3", R_USERUNKNOWN }, { '5', "1.4", R_FILTERED },
		{ 0, "1.6", R_HASMOVED }, { 0, "1.7", R_REJECTED }, { 0, "1.8", R_REJECTED },
		{ 0, "1.9", R_SYSTEMERROR }, { '5', "1.10", R_NOTACCEPT },
		{ '5', "2.0", R_FILTERED }, { '4', "2.1", R_SUSPEND }, { '5', "2.1", R_FILTERED },
		{ 0, "2.2", R_MAILBOXFULL }, { 0, "2.3", R_EXCEEDLIMIT }, { 0, "2.4", R_FILTERED },
		{ '5', "3.0", R_SYSTEMERROR }, { 0, "3.1", R_SYSTEMFULL }, { 0, "3.2", R_NOTACCEPT },
		{ 0, "3.3", R_SYSTEMERROR }, { '5', "3.4", R_MESGTOOBIG }, { 0, "3.5", R_SYSTEMERROR },
		{ '5', "4.0", R_NETWORKERROR }, { '4', "4.1", R_EXPIRED }, { '4', "4.2", R_NETWORKERROR },
		{ 0, "4.3", R_SYSTEMERROR }, { '4', "4.4", R_NETWORKERROR }, { '5', "4.4", R_HOSTUNKNOWN },
		{ '4', "4.5", R_SYSTEMFULL }, { '4', "4.6", R_NETWORKERROR }, { '4', "4.7", R_EXPIRED },
		{ '4', "4.8", R_NETWORKERROR },
		{ '5', "5.2", R_SYNTAXERROR }, { '4', "5.3", R_SYSTEMERROR }, { '5', "5.3", R_TOOMANYCONN },
		{ '5', "5.4", R_SYSTEMERROR }, { 0, "5.5", R_SYSTEMERROR }, { '5', "5.6", R_SYNTAXERROR },
		{ 0, "6.0", R_CONTENTERROR }, { '5', "6.1", R_CONTENTERROR }, { 0, "6.2", R_CONTENTERROR },
		{ '5', "6.3", R_CONTENTERROR }, { 0, "6.5", R_CONTENTERROR }, { '5', "6.6", R_CONTENTERROR },
		{ '5', "6.7", R_CONTENTERROR }, { '5', "6.8", R_CONTENTERROR }, { '5', "6.9", R_CONTENTERROR },
		{ '5', "7.0", R_SECURITYERROR }, { '5', "7.1", R_SECURITYERROR }, { '4', "7.1", R_BLOCKED },
		{ '5', "7.2", R_SECURITYERROR }, { '4', "7.2", R_BLOCKED }, { '5', "7.3", R_SECURITYERROR },
		{ '5', "7.4", R_SECURITYERROR }, { 0, "7.5", R_SECURITYERROR }, { 0, "7.6", R_SECURITYERROR },
		{ 0, "7.7", R_SECURITYERROR }, { '5', "7.8", R_SECURITYERROR }, { '5', "7.9", R_SECURITYERROR },
		{ '5', "7.10", R_SECURITYERROR }, { '5', "7.11", R_SECURITYERROR },
		{ '4', "7.12", R_SECURITYERROR }, { '5', "7.13", R_SUSPEND }, { '5', "7.14", R_SECURITYERROR },
		{ 0, "7.15", R_SECURITYERROR }, { 0, "7.16", R_MESGTOOBIG }, { '5', "7.17", R_HASMOVED },
		{ '5', "7.18", R_HASMOVED }, { '5', "7.19", R_SECURITYERROR }, { '5', "7.20", R_AUTHFAILURE },
		{ '5', "7.21", R_AUTHFAILURE }, { '5', "7.22", R_AUTHFAILURE }, { '5', "7.23", R_AUTHFAILURE },
		{ 0, "7.24", R_AUTHFAILURE }, { 0, "7.25", R_REQUIREPTR }, { 0, "7.26", R_AUTHFAILURE },
		{ '5', "7.27", R_NOTACCEPT }, { '5', "7.28", R_SPAMDETECTED }, { '5', "7.29", R_AUTHFAILURE },
		{ '5', "7.30", R_SECURITYERROR },
	};

	if ((st[0] != '4' && st[0] != '5') || st[1] != '.')
		return R_UNDEFINED;
	for (size_t i = 0; i < NELEM(map); i++)
		if ((map[i].cls == 0 || map[i].cls == st[0]) && strcmp(st + 2, map[i].d) == 0)
			return map[i].r;
	return R_UNDEFINED;
}

/* Sisimai's "retry" reasons: a status name too vague to stand on (the
 * words are read first), and a server's reason a second look may change
 * (its "userunknown" may yet be a full mailbox the words name) */
static int
reason_retry(enum classify_reason r)
{
	return r == R_UNDEFINED || r == R_ONHOLD || r == R_SYSTEMERROR ||
	    r == R_SECURITYERROR || r == R_EXPIRED || r == R_SUSPEND || r == R_NETWORKERROR ||
	    r == R_HOSTUNKNOWN || r == R_USERUNKNOWN;
}

static int
before_data(enum smtp_cmd c)
{
	return c == CMD_CONN || c == CMD_HELO || c == CMD_STARTTLS || c == CMD_AUTH ||
	    c == CMD_MAIL || c == CMD_RCPT;
}

/*
 * decide - the reason of a refusal from its status (may be ""), the
 * reasons its words name (m, from reason_mask), the SMTP command it
 * answered and its reply code.  Three passes, in the order Sisimai (whose
 * vocabulary this is) settles overlaps:
 *   1. reasons where a status or the words are enough, most exact first:
 *      a full mailbox before an unknown user, an unknown user before a
 *      filter, a block list last (many replies say "blocked" in passing);
 *      an unknown user said after DATA is a filter, not a missing address;
 *   2. the status's own name where it is exact, else the words of the
 *      reasons a status never names alone, then the status's class;
 *   3. R_UNDEFINED: the caller may read the text around.
 */
static enum classify_reason
decide(const char *st, uint64_t m, enum smtp_cmd cmd, int reply, int delayed)
{
	enum classify_reason name = status_name(st);
	/* no mailbox is named before RCPT: a "quota" then is the sender's */
	int before_rcpt = cmd == CMD_CONN || cmd == CMD_HELO || cmd == CMD_STARTTLS ||
	    cmd == CMD_AUTH || cmd == CMD_MAIL;

	/* 1 */
	if (name == R_MAILBOXFULL || (HAS(m, R_MAILBOXFULL) && !before_rcpt))
		return R_MAILBOXFULL;
	if (name == R_MESGTOOBIG || (name != R_EXCEEDLIMIT && HAS(m, R_MESGTOOBIG)))
		return R_MESGTOOBIG;
	if (name == R_EXCEEDLIMIT || HAS(m, R_EXCEEDLIMIT))
		return R_EXCEEDLIMIT;
	if (reply == 525 || (HAS(m, R_SUSPEND) && name != R_USERUNKNOWN))
		return R_SUSPEND;
	if (HAS(m, R_HASMOVED))
		return R_HASMOVED;
	if (cmd != CMD_CONN && cmd != CMD_HELO && HAS(m, R_NORELAYING))
		return R_NORELAYING;
	if (name == R_AUTHFAILURE || HAS(m, R_AUTHFAILURE))
		return R_AUTHFAILURE;
	if (name == R_USERUNKNOWN) {
		if (!HAS(m, R_NORELAYING) && !HAS(m, R_BLOCKED) && !HAS(m, R_HASMOVED) &&
		    !HAS(m, R_REJECTED) && !HAS(m, R_NOTACCEPT))
			return R_USERUNKNOWN;
	} else if (cmd == CMD_RCPT && HAS(m, R_USERUNKNOWN) && !HAS(m, R_HOSTUNKNOWN))
		return R_USERUNKNOWN;
	if (name == R_FILTERED) {
		if (HAS(m, R_USERUNKNOWN) || HAS(m, R_FILTERED))
			return R_FILTERED;
	} else if (name != R_SUSPEND && !before_data(cmd) && (HAS(m, R_FILTERED) ||
	    (HAS(m, R_USERUNKNOWN) && !HAS(m, R_HOSTUNKNOWN))))
		return R_FILTERED;
	if (name == R_REQUIREPTR || HAS(m, R_REQUIREPTR))
		return R_REQUIREPTR;
	if (HAS(m, R_NOTCOMPLIANTRFC))
		return R_NOTCOMPLIANTRFC;
	if (HAS(m, R_BADREPUTATION))
		return R_BADREPUTATION;
	/* refused at MAIL FROM: whatever is unknown or wrong is the sender's */
	if (cmd == CMD_MAIL && (HAS(m, R_HOSTUNKNOWN) || HAS(m, R_USERUNKNOWN)))
		return R_REJECTED;
	if (name == R_REJECTED || (HAS(m, R_REJECTED) && (cmd == CMD_MAIL ||
	    name == R_USERUNKNOWN ||
	    (cmd == CMD_DATA && name != R_USERUNKNOWN) || name == R_UNDEFINED ||
	    name == R_ONHOLD || name == R_SECURITYERROR || name == R_SYSTEMERROR)))
		return R_REJECTED;
	if (name == R_HOSTUNKNOWN ? !HAS(m, R_NETWORKERROR) : HAS(m, R_HOSTUNKNOWN))
		return R_HOSTUNKNOWN;
	if (name == R_SPAMDETECTED || (!before_data(cmd) && HAS(m, R_SPAMDETECTED) &&
	    (!HAS(m, B_BLOCKLIST) || HAS(m, B_URLLIST))))
		return R_SPAMDETECTED;
	if (HAS(m, R_SPEEDING))
		return R_SPEEDING;
	if (name == R_TOOMANYCONN || HAS(m, R_TOOMANYCONN))
		return R_TOOMANYCONN;
	if (name == R_BLOCKED || HAS(m, R_BLOCKED))
		return R_BLOCKED;
	/* 2 */
	if (!reason_retry(name))
		return name;
	{
		static const enum classify_reason order[] = { R_MAILBOXFULL, R_AUTHFAILURE,
			R_BADREPUTATION, R_SPEEDING, R_SPAMDETECTED, R_VIRUSDETECTED,
			R_POLICYVIOLATION, R_NORELAYING, R_SYSTEMERROR, R_NETWORKERROR,
			R_SUSPEND, R_CONTENTERROR, R_SYSTEMFULL, R_NOTACCEPT, R_EXPIRED,
			R_SECURITYERROR, R_MAILERERROR };

		for (size_t i = 0; i < NELEM(order); i++)
			if (HAS(m, order[i]) && (order[i] != R_MAILBOXFULL || !before_rcpt))
				return order[i];
	}
	if (name != R_UNDEFINED)
		return name;
	if (st[0] && st[1] == '.' && st[2] == '6')
		return R_CONTENTERROR;
	if (st[0] && st[1] == '.' && st[2] == '7')
		return R_SECURITYERROR;
	if ((reply > 500 && reply < 508) || (reply > 400 && reply < 408) || HAS(m, R_SYNTAXERROR))
		return R_SYNTAXERROR;
	if (delayed)
		return R_EXPIRED;
	if (cmd == CMD_HELO || cmd == CMD_CONN)
		return R_BLOCKED;
	return R_UNDEFINED;
}

/* the status a reason implies when the report gives none: Sisimai's
 * pseudo-codes (so the figures compare with its corpus), temporary ones
 * (4.0.9NN) for the reasons it has them, else the permanent one */
static void
status_from_reason(enum classify_reason r, int soft, char *out, size_t max)
{
	static const struct { enum classify_reason r; short perm, temp; } map[] = {
		{ R_AUTHFAILURE, 972, 972 }, { R_BADREPUTATION, 975, 975 },
		{ R_BLOCKED, 971, 971 }, { R_CONTENTERROR, 960, 960 }, { R_EXCEEDLIMIT, 923, 0 },
		{ R_EXPIRED, 947, 947 }, { R_FILTERED, 910, 924 }, { R_HASMOVED, 916, 0 },
		{ R_HOSTUNKNOWN, 912, 0 }, { R_MAILBOXFULL, 922, 922 }, { R_MAILERERROR, 939, 0 },
		{ R_MESGTOOBIG, 934, 0 }, { R_NETWORKERROR, 944, 944 }, { R_NORELAYING, 909, 0 },
		{ R_NOTACCEPT, 932, 932 }, { R_NOTCOMPLIANTRFC, 974, 974 }, { R_ONHOLD, 901, 901 },
		{ R_POLICYVIOLATION, 972, 0 }, { R_REJECTED, 918, 918 },
		{ R_REQUIREPTR, 973, 973 }, { R_SECURITYERROR, 970, 970 },
		{ R_SPAMDETECTED, 980, 980 }, { R_SPEEDING, 946, 946 }, { R_SUSPEND, 921, 0 },
		{ R_SYSTEMERROR, 930, 930 }, { R_SYSTEMFULL, 931, 931 }, { R_SYNTAXERROR, 902, 0 },
		{ R_TOOMANYCONN, 945, 945 }, { R_USERUNKNOWN, 911, 0 }, { R_UNDEFINED, 900, 900 },
		{ R_VIRUSDETECTED, 971, 0 },
	};

	out[0] = '\0';
	for (size_t i = 0; i < NELEM(map); i++)
		if (map[i].r == r) {
			if (soft && map[i].temp)
				snprintf(out, max, "4.0.%d", map[i].temp);
			else
				snprintf(out, max, "5.0.%d", map[i].perm);
			return;
		}
}

/* --- text helpers ---------------------------------------------------------- */

static int
is_digit_at(const char *s, const char *end)
{
	return s < end && isdigit((unsigned char)*s);
}

/* span - [s, s+n) as a string into out[max]: 1, or 0 when it does not fit */
static int
span(const char *s, size_t n, char *out, size_t max)
{
	if (n >= max)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

/* find_status - the first d.ddd.ddd enhanced status ([245] class) in
 * [s, end) that is not part of a dotted number */
static int
find_status(const char *s, const char *end, char *out, size_t max)
{
	for (const char *p = s; p + 5 <= end; p++) {
		const char *q = p;
		size_t n;

		if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
			continue;
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		q = p + 2;
		if (!is_digit_at(q, end))
			continue;
		for (n = 0; is_digit_at(q, end) && n < 3; n++, q++)
			;
		if (is_digit_at(q, end) || q >= end || *q != '.')
			continue;
		q++;
		if (!is_digit_at(q, end))
			continue;
		for (n = 0; is_digit_at(q, end) && n < 3; n++, q++)
			;
		if (is_digit_at(q, end) || (q < end && *q == '.' && is_digit_at(q + 1, end)))
			continue;
		if (*p == '2')
			continue;	/* success in a failure report is an echo */
		if (span(p, (size_t)(q - p), out, max))
			return 1;
	}
	return 0;
}

/* reply_status - the enhanced status that follows an SMTP reply code in
 * [s, end) ("550 5.7.1", "550-5.2.2"): the remote server's own word, more
 * exact than a DSN's Status field or a gateway's summary */
static int
reply_status(const char *s, const char *end, char *out, size_t max)
{
	for (const char *p = s; p + 9 <= end; p++) {
		const char *q = p + 4;

		if ((*p != '4' && *p != '5') || !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || (p[3] != ' ' && p[3] != '-') ||
		    (p > s && isalnum((unsigned char)p[-1])))
			continue;
		/* 550-'5.2.2 (a gateway quoting the reply), 550 #5.1.1 */
		if (q < end && strchr("'\"(#[", *q))
			q++;
		if (q + 2 > end || q[0] != *p || q[1] != '.')
			continue;
		if (find_status(q, q + (end - q < 12 ? end - q : 12), out, max) && out[0] == *p)
			return 1;
	}
	return 0;
}

/* find_reply - the first SMTP reply code [45]dd standing alone */
static int
find_reply(const char *s, const char *end)
{
	for (const char *p = s; p + 3 <= end; p++) {
		if ((*p != '4' && *p != '5') || !is_digit_at(p + 1, end) ||
		    !is_digit_at(p + 2, end))
			continue;
		/* not part of a number, a time or a path; "ERROR_CODE :421," is a
		 * field's value (Zoho) */
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
		    p[-1] == '-' || (p[-1] == ':' && (p - 1 == s || p[-2] != ' ')) || p[-1] == '/'))
			continue;
		if (p + 3 < end && !(p[3] == ' ' || p[3] == '-' || p[3] == '\n' ||
		    p[3] == '\r' || p[3] == '\t' || p[3] == ']' || p[3] == ')' || p[3] == ','))
			continue;
		if (p[1] > '5')
			continue;
		return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	return 0;
}

/* squeeze - [s, s+n) as one line into out (whitespace runs to one space),
 * cut at out's ceiling */
static void
squeeze(const char *s, size_t n, buf_t *out)
{
	int space = out->len > 0;
	size_t room = out->max - out->len, w;

	/* at most n bytes are added, and the space before them, never past
	 * the ceiling: reserved once, written in place */
	if (room > n + 1)
		room = n + 1;
	if (room == 0 || buf_reserve(out, room) < 0)
		return;
	w = out->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isspace(c) || c < 0x20) {
			space = w > 0;
			continue;
		}
		if (w + (space ? 2 : 1) > out->len + room)
			break;
		if (space)
			out->data[w++] = ' ';
		space = 0;
		out->data[w++] = (char)c;
	}
	out->len = w;
	out->data[w] = '\0';
}

/* header block end: offset just past the empty line, or len */
static size_t
header_end(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\n')
			continue;
		if (i + 1 < len && s[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* hdr_get - the nth (0 first) field called name in the header block [s,
 * s+len), unfolded and trimmed, into out: 1 found, 0 not */
static int
hdr_get(const char *s, size_t len, const char *name, int nth, buf_t *out)
{
	size_t nl = strlen(name), i = 0;

	buf_reset(out);
	while (i < len) {
		size_t eol = i;

		while (eol < len && s[eol] != '\n')
			eol++;
		if (eol - i > nl && strncasecmp(s + i, name, nl) == 0 && s[i + nl] == ':' &&
		    nth-- == 0) {
			size_t start = i + nl + 1, end = eol;

			/* continuation lines */
			while (end + 1 < len && (s[end + 1] == ' ' || s[end + 1] == '\t')) {
				end++;
				while (end < len && s[end] != '\n')
					end++;
			}
			squeeze(s + start, end - start, out);
			return 1;
		}
		i = eol + 1;
	}
	return 0;
}

static int
addr_char(int c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* next_addr - the next local@domain.tld in [*pos, end) into out; *pos
 * after it; 0 when none is left */
static int
next_addr(const char **pos, const char *end, char *out, size_t max)
{
	for (const char *at = memchr(*pos, '@', (size_t)(end - *pos)); at;
	    at = memchr(at + 1, '@', (size_t)(end - at - 1))) {
		const char *a = at, *b = at + 1;
		int dot = 0;

		while (a > *pos && addr_char((unsigned char)a[-1]))
			a--;
		while (b < end && (isalnum((unsigned char)*b) || *b == '-' || *b == '.')) {
			dot |= *b == '.';
			b++;
		}
		while (b > at + 1 && b[-1] == '.')
			b--;
		while (a < at && *a == '.')
			a++;
		if (a == at || b == at + 1 || !dot || !span(a, (size_t)(b - a), out, max))
			continue;
		*pos = b;
		return 1;
	}
	*pos = end;
	return 0;
}

/* first_addr - the first address in s into out: 1, or 0 */
static int
first_addr(const char *s, char *out, size_t max)
{
	const char *p = s;

	return next_addr(&p, s + strlen(s), out, max);
}

int
classify_token_split(const char *addr, const char *local, char *tok, size_t max)
{
	size_t ll = strlen(local), n;
	const char *at = strrchr(addr, '@'), *p = addr;

	if (ll == 0 || at == NULL)
		return 0;
	if (*p == '<')
		p++;
	if (strncasecmp(p, local, ll) != 0 || p[ll] != '+')
		return 0;
	p += ll + 1;
	n = (size_t)(at - p);
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_')
			return 0;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return 1;
}

/* --- the walk -------------------------------------------------------------- */

struct ctx {
	buf_t	 text;		/* the notification's text parts, decoded */
	buf_t	 html;		/* its HTML parts, when there is no text */
	buf_t	 dsn;		/* message/delivery-status bodies */
	buf_t	 arf;		/* message/feedback-report */
	buf_t	 orig;		/* the returned original's header block */
	int	 nparts;
};

static void
append(buf_t *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->max)
		n = b->max > b->len + 1 ? b->max - b->len - 1 : 0;
	if (buf_add(b, s, n) < 0 || buf_addc(b, '\n') < 0)
		return;
}

static void
part_text(struct mailmime *m, const char **s, size_t *n, char **decoded)
{
	struct mailmime_data *d = m->mm_type == MAILMIME_SINGLE ? m->mm_data.mm_single :
	    m->mm_body;
	size_t idx = 0, dlen = 0;

	*s = NULL;
	*n = 0;
	*decoded = NULL;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT)
		return;
	*s = d->dt_data.dt_text.dt_data;
	*n = d->dt_data.dt_text.dt_length;
	if (d->dt_encoded && (d->dt_encoding == MAILMIME_MECHANISM_BASE64 ||
	    d->dt_encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE) &&
	    mailmime_part_parse(*s, *n, &idx, d->dt_encoding, decoded, &dlen) ==
	    MAILIMF_NO_ERROR) {
		*s = *decoded;
		*n = dlen;
	}
}

/* type and subtype of a part, lower-case, "text/plain" when unsaid */
static void
part_type(struct mailmime *m, char *out, size_t max)
{
	struct mailmime_content *ct = m->mm_content_type;
	const char *t = "text", *sub = ct && ct->ct_subtype ? ct->ct_subtype : "plain";

	if (ct && ct->ct_type) {
		if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
			struct mailmime_composite_type *c = ct->ct_type->tp_data.tp_composite_type;

			t = c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE ? "message" :
			    c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART ? "multipart" :
			    c->ct_token ? c->ct_token : "x";
		} else {
			struct mailmime_discrete_type *d = ct->ct_type->tp_data.tp_discrete_type;

			switch (d->dt_type) {
			case MAILMIME_DISCRETE_TYPE_TEXT: t = "text"; break;
			case MAILMIME_DISCRETE_TYPE_APPLICATION: t = "application"; break;
			default: t = d->dt_extension ? d->dt_extension : "x"; break;
			}
		}
	}
	snprintf(out, max, "%s/%s", t, sub);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/*
 * append_utf8 - a text part in UTF-8: a report in ISO-2022-JP or Latin-1
 * (Lotus Notes, Domino, Japanese carriers) says its reason in words the
 * tables hold in UTF-8.  Text with no byte outside ASCII (ESC starts
 * ISO-2022-JP's shifts) is taken as it is; so is text iconv refuses.
 */
static void
append_utf8(buf_t *b, struct mailmime *m, const char *s, size_t n)
{
	const char *cs = m->mm_content_type ? mailmime_content_charset_get(m->mm_content_type) :
	    NULL;
	char *out = NULL;
	size_t olen = 0;
	int plain = 1;

	for (size_t i = 0; i < n && plain; i++)
		plain = (unsigned char)s[i] < 0x80 && s[i] != 0x1b;
	if (plain || cs == NULL || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	    charconv_buffer("utf-8", cs, s, n, &out, &olen) != MAIL_CHARCONV_NO_ERROR) {
		append(b, s, n);
		return;
	}
	append(b, out, olen);
	charconv_buffer_free(out);
}

/*
 * dsn_in_text - a delivery-status part the MIME parser did not give: a
 * report whose boundary parameter does not match its body's (a relay
 * rewrote one), or a report quoted whole in a forwarded message.  The
 * first "Content-Type: message/delivery-status" line of [s, s+n) starts
 * it; its fields run to the next boundary ("--") line.
 */
static void
dsn_in_text(const char *s, size_t n, buf_t *dsn)
{
	static const char mark[] = "content-type: message/delivery-status";
	size_t i = 0, from, to;

	for (;;) {
		const char *nl;

		if (i + sizeof mark - 1 > n)
			return;
		if (strncasecmp(s + i, mark, sizeof mark - 1) == 0)
			break;
		if ((nl = memchr(s + i, '\n', n - i)) == NULL)
			return;
		i = (size_t)(nl - s) + 1;
	}
	from = i + header_end(s + i, n - i);
	for (to = from; to < n; ) {
		const char *nl = memchr(s + to, '\n', n - to);

		if (s[to] == '-' && to + 1 < n && s[to + 1] == '-')
			break;
		to = nl ? (size_t)(nl - s) + 1 : n;
	}
	append(dsn, s + from, to - from);
}

static void
walk(struct ctx *c, struct mailmime *m, int depth)
{
	char type[128];
	const char *s;
	size_t n;
	char *dec;

	if (m == NULL || depth > DEPTH_MAX || ++c->nparts > CLASSIFY_PARTS_MAX)
		return;
	switch (m->mm_type) {
	case MAILMIME_MULTIPLE:
		for (clistiter *it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it;
		    it = clist_next(it))
			walk(c, clist_content(it), depth + 1);
		return;
	case MAILMIME_MESSAGE:
		if (depth == 0) {
			walk(c, m->mm_data.mm_message.mm_msg_mime, depth + 1);
			return;
		}
		/* the returned original: its headers only, never its text */
		if (c->orig.len == 0 && m->mm_body &&
		    m->mm_body->dt_type == MAILMIME_DATA_TEXT) {
			s = m->mm_body->dt_data.dt_text.dt_data;
			n = m->mm_body->dt_data.dt_text.dt_length;
			append(&c->orig, s, header_end(s, n));
		}
		return;
	case MAILMIME_SINGLE:
		break;
	default:
		return;
	}
	part_type(m, type, sizeof type);
	part_text(m, &s, &n, &dec);
	if (s == NULL)
		return;
	if (strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0)
		append(&c->dsn, s, n);
	else if (strcmp(type, "message/feedback-report") == 0)
		append(&c->arf, s, n);
	else if (strcmp(type, "text/rfc822-headers") == 0 ||
	    strcmp(type, "message/rfc822-headers") == 0 ||
	    strcmp(type, "message/global-headers") == 0) {
		if (c->orig.len == 0)
			append(&c->orig, s, header_end(s, n));
	} else if (strcmp(type, "text/html") == 0)
		append(&c->html, s, n);
	else if (strncmp(type, "text/", 5) == 0 || strcmp(type, "message/rfc822") == 0 ||
	    strncmp(type, "multipart/", 10) == 0)	/* its boundary lost: text */
		append_utf8(&c->text, m, s, n);
	if (dec)
		mmap_string_unref(dec);
}

/* the crude text of HTML: tags dropped, entities left */
static void
html_text(const buf_t *html, buf_t *out)
{
	int tag = 0;

	for (size_t i = 0; i < html->len; i++) {
		char ch = html->data[i];

		if (ch == '<')
			tag = 1;
		else if (ch == '>') {
			tag = 0;
			if (buf_addc(out, ' ') < 0)
				return;
		} else if (!tag && buf_addc(out, ch) < 0)
			return;
	}
}

/* --- the report ---------------------------------------------------------- */

static classify_rcpt_t *
add_rcpt(classify_report_t *r, const char *addr)
{
	classify_rcpt_t *x;

	for (size_t i = 0; i < r->nrcpt; i++)
		if (*addr && strcasecmp(r->rcpt[i].address, addr) == 0)
			return NULL;
	if (r->nrcpt == CLASSIFY_RCPT_MAX)
		return NULL;
	x = &r->rcpt[r->nrcpt++];
	memset(x, 0, sizeof *x);
	snprintf(x->address, sizeof x->address, "%s", addr);
	buf_init(&x->diag, CLASSIFY_DIAG_MAX);
	return x;
}
/* mute - a diagnostic that says nothing: empty, or a local program's
 * exit code alone ("X-Unix; 255") */
static int
mute(const buf_t *d)
{
	for (size_t i = 0; i < d->len; i++)
		if (!isdigit((unsigned char)d->data[i]))
			return 0;
	return 1;
}

/* judge - reason, status and hardness of x from its diagnostic text, its
 * status (may be "") and the text around it when the diagnostic is mute */
/* unfold - a multi-line SMTP reply squeezed to one line repeats its code
 * on each line ("550-5.7.1 Messages with multiple 550-5.7.1 addresses"):
 * the repeats after the first are dropped, so phrases read whole */
static void
unfold(buf_t *d)
{
	char code[24];
	size_t n, w;

	if (d->len < 10 || !isdigit((unsigned char)d->data[0]))
		return;
	for (n = 0; n < d->len && n < sizeof code - 1 && d->data[n] != ' '; n++)
		code[n] = d->data[n];
	code[n] = '\0';
	/* a continued reply's first line: "550-5.7.1" */
	if (n < 5 || code[3] != '-' || n == d->len)
		return;
	/* "550-5.7.1" and "550 5.7.1" both: compare from the 4th character */
	w = n + 1;
	for (size_t r = n + 1; r < d->len; ) {
		if (d->data[r - 1] == ' ' && r + n <= d->len && strncmp(d->data + r, code, 3) == 0 &&
		    (d->data[r + 3] == '-' || d->data[r + 3] == ' ') &&
		    strncmp(d->data + r + 4, code + 4, n - 4) == 0 &&
		    (r + n == d->len || d->data[r + n] == ' ')) {
			r += n + 1;
			continue;
		}
		d->data[w++] = d->data[r++];
	}
	d->len = w;
	d->data[w] = '\0';
}

/*
 * around - the text around a recipient (the whole notification, on one
 * line) that judge() reads when the recipient's own diagnostic is mute.
 * It is the same for every recipient of a report, so what is read from it
 * is worked out once, when first asked, not once per recipient.
 */
struct around {
	const char *s;		/* NUL-terminated, or NULL */
	int	 reply;		/* find_reply(s); -1: not yet */
	int	 has_status;	/* find_status(s); -1: not yet */
	char	 status[16];
	int	 cmd;		/* smtp_command(s); -1: not yet */
	int	 has_mask;	/* mask is reason_mask(s) */
	uint64_t mask;
};

static void
around_init(struct around *a, const char *s)
{
	memset(a, 0, sizeof *a);
	a->s = s;
	a->reply = a->has_status = a->cmd = -1;
}

/* words_in - whether s holds the words of w, a space in w standing for
 * any run of white space in s (a notification's lines are wrapped) */
static int
words_in(const char *s, const char *w)
{
	for (; (s = strchr(s, *w)) != NULL; s++) {
		const char *p = s, *q = w;

		while (*q && *p) {
			if (*q == ' ' && isspace((unsigned char)*p)) {
				while (isspace((unsigned char)*p))
					p++;
				q++;
			} else if (*p == *q)
				p++, q++;
			else
				break;
		}
		if (*q == '\0')
			return 1;
	}
	return 0;
}

static enum smtp_cmd
around_command(struct around *a)
{
	/* the notification's own words on when the reply came; a transcript's
	 * bare command names are not read here (a quoted session names them
	 * all) */
	static const struct { const char *w; enum smtp_cmd c; } words[] = {
		{ "end of data", CMD_DATA }, { "after data", CMD_DATA },
		{ "in reply to data", CMD_DATA }, { "after rcpt", CMD_RCPT },
		{ "in reply to rcpt", CMD_RCPT }, { "after mail from", CMD_MAIL },
		{ "in reply to mail from", CMD_MAIL }, { "initial connection", CMD_CONN },
		{ "after ehlo", CMD_HELO }, { "after helo", CMD_HELO },
	};

	if (a == NULL || a->s == NULL)
		return CMD_NONE;
	if (a->cmd < 0) {
		a->cmd = CMD_NONE;
		for (size_t i = 0; i < NELEM(words) && a->cmd == CMD_NONE; i++)
			if (strcasestr(a->s, words[i].w))
				a->cmd = (int)words[i].c;
		/* a Sendmail-style transcript: the last command it sent
		 * (">>> RCPT TO:<...>") is the one refused */
		if (a->cmd == CMD_NONE) {
			const char *f = strstr(a->s, ">>> "), *g;

			while (f && (g = strstr(f + 4, ">>> ")))
				f = g;
			if (f) {
				char line[64];
				size_t k = 0;

				/* that line only */
				for (f += 4; f[k] && f[k] != '\n' && k < sizeof line - 1; k++)
					line[k] = f[k];
				line[k] = '\0';
				a->cmd = (int)smtp_command(line);
			} else if (strstr(a->s, "<<< ") || words_in(a->s, "refused to talk to me:"))
				/* the server's replies and no command sent: it
				 * refused the greeting or EHLO (Sisimai's Sendmail);
				 * Postfix's "host mx[ip] refused to talk to me: 554
				 * ..." says so (Sisimai's Postfix) */
				a->cmd = CMD_HELO;
		}
	}
	return (enum smtp_cmd)a->cmd;
}

static uint64_t
around_mask(struct around *a)
{
	if (!a->has_mask) {
		a->mask = reason_mask(a->s);
		a->has_mask = 1;
	}
	return a->mask;
}

static int
around_reply(struct around *a)
{
	if (a->reply < 0)
		a->reply = find_reply(a->s, a->s + strlen(a->s));
	return a->reply;
}

/* the first enhanced status of the text into out: 1, or 0 when none */
static int
around_status(struct around *a, char *out, size_t max)
{
	if (a->has_status < 0)
		a->has_status = find_status(a->s, a->s + strlen(a->s), a->status,
		    sizeof a->status);
	if (!a->has_status)
		return 0;
	snprintf(out, max, "%s", a->status);
	return 1;
}

static void
judge(classify_rcpt_t *x, struct around *a, int delayed)
{
	const char *around = a ? a->s : NULL;
	enum smtp_cmd cmd;
	const char *d;

	unfold(&x->diag);
	d = buf_str(&x->diag);

	if (x->status[0] == '\0' || strcmp(x->status + 1, ".0.0") == 0)
		find_status(d, d + x->diag.len, x->status, sizeof x->status);
	{
		char better[sizeof x->status];

		if (reply_status(d, d + x->diag.len, better, sizeof better))
			memcpy(x->status, better, sizeof better);
	}
	/* a generic DSN status: the notification text may say more */
	if (strcmp(x->status + 1, ".0.0") == 0 && mute(&x->diag) && around) {
		char better[sizeof x->status];

		if (around_status(a, better, sizeof better) && better[0] == x->status[0])
			memcpy(x->status, better, sizeof better);
	}
	if (x->replycode == 0)
		x->replycode = find_reply(d, d + x->diag.len);
	cmd = smtp_command(d);
	/* Postfix's "host mx[ip] refused to talk to me: 554 ..." is the
	 * greeting's reply (Sisimai's Postfix: HELO when nothing else is
	 * named), whatever the text around says of other recipients */
	if (cmd == CMD_NONE && words_in(d, "refused to talk to me:"))
		cmd = CMD_HELO;
	if (cmd == CMD_NONE)
		cmd = around_command(a);
	x->reason = decide(x->status, reason_mask(d), cmd, x->replycode, delayed);
	if (x->reason == R_UNDEFINED && around && *around) {
		if (x->status[0] == '\0')
			around_status(a, x->status, sizeof x->status);
		if (x->replycode == 0)
			x->replycode = around_reply(a);
		x->reason = decide(x->status, around_mask(a), cmd, x->replycode, delayed);
	}
	/* a delay nothing else explains: it expired (before the words that
	 * name nothing, as Sisimai has it) */
	if (x->reason == R_UNDEFINED && delayed)
		x->reason = R_EXPIRED;
	/* said something, but nothing that names a reason */
	if (x->reason == R_UNDEFINED && x->diag.len)
		x->reason = R_ONHOLD;
	if (x->status[0] == '\0') {
		status_from_reason(x->reason, x->replycode / 100 == 4 ||
		    (x->replycode / 100 != 5 && (strcasestr(d, " temporar") ||
		    strcasestr(d, " persistent"))),
		    x->status, sizeof x->status);
		x->derived = 1;
	}
	x->hard = hard_bounce(x->reason, x->status, x->replycode, d);
}

/* value after "type;" of a DSN address or diagnostic field */
static const char *
after_type(const char *v)
{
	const char *semi = strchr(v, ';');

	if (semi == NULL)
		return v;
	semi++;
	while (*semi == ' ')
		semi++;
	return semi;
}

/* the address inside v: <...> or bare, into out */
static void
pick_addr(const char *v, char *out, size_t max)
{
	if (!first_addr(v, out, max))
		out[0] = '\0';
}

/*
 * whole_reply - a DSN's Diagnostic-Code that is the first line of a
 * multi-line reply ("550-5.7.1 ... due to domain's"; Sendmail keeps only
 * that one) read on in the notification's transcript, where the reply
 * stands whole: its lines with the same code up to the last ("550 ").
 */
static void
whole_reply(buf_t *diag, const buf_t *text)
{
	const char *d = buf_str(diag), *t = buf_str(text), *f, *p;
	char head[48], code[4];
	size_t n;

	if (diag->len < 12 || !isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
	    !isdigit((unsigned char)d[2]) || d[3] != '-')
		return;
	/* copies: squeeze() below may move diag's text */
	memcpy(code, d, 3);
	code[3] = '\0';
	n = diag->len < sizeof head - 1 ? diag->len : sizeof head - 1;
	memcpy(head, d, n);
	head[n] = '\0';
	/* the lines after the first, while they carry the code (a
	 * transcript writes each after "<<< "); the first mention that has
	 * them, a summary ("reason: 550-...") may come before */
	for (f = strstr(t, head); f; f = strstr(f + 1, head)) {
		int more = 0;

		for (p = strchr(f, '\n'); p; ) {
			const char *l = p + 1, *e;
			int last;

			if (strncmp(l, "<<< ", 4) == 0)
				l += 4;
			if (strncmp(l, code, 3) != 0 || (l[3] != '-' && l[3] != ' '))
				break;
			more = 1;
			last = l[3] == ' ';
			e = strchr(l, '\n');
			squeeze(l, e ? (size_t)(e - l) : strlen(l), diag);
			if (last)
				break;
			p = e;
		}
		if (more)
			return;
	}
}

/* mention - where address a (not part of a longer one) is next named in
 * [s + from, end), as an offset from s; end - s when it is not */
static size_t
mention(const char *s, const char *end, size_t from, const char *a)
{
	size_t n = strlen(a);

	for (const char *f = s + from; n && f < end && (f = strcasestr(f, a)) && f < end; f++)
		if ((f == s || !addr_char((unsigned char)f[-1])) && f + n <= end)
			return (size_t)(f - s);
	return (size_t)(end - s);
}

/* replied - whether the line of [line, at) holds an SMTP reply code
 * ("550 ", "452-") before at */
static int
replied(const char *line, const char *at)
{
	for (const char *p = line; p + 4 <= at; p++)
		if ((*p == '4' || *p == '5') && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-') &&
		    (p == line || !isalnum((unsigned char)p[-1])))
			return 1;
	return 0;
}

/* line_start - the start of the line at offset at of s */
static size_t
line_start(const char *s, size_t at)
{
	while (at > 0 && s[at - 1] != '\n')
		at--;
	return at;
}

/* reply_mention - where the one recipient's diagnostic starts: its first
 * mention, unless no reply names it within the diagnostic's reach from
 * there and a later one does (a session transcript names the address in
 * its header lines first: " * To: a@b" ... "--> RCPT To:<a@b>" "<-- 550
 * 5.1.1 <a@b>: User unknown"); then from the line before that reply's,
 * which names the command it answered */
static size_t
reply_mention(const char *s, const char *end, size_t first, const char *a)
{
	size_t at = first, from = line_start(s, first);

	for (int tries = 0; tries < 16 && at < (size_t)(end - s); tries++) {
		size_t line = line_start(s, at);

		if (replied(s + line, s + at)) {
			/* within reach, with room for the reply itself, or on
			 * the first mention's own line */
			if (at - from + 256 < CLASSIFY_DIAG_MAX || line <= from)
				return first;
			/* the line before, unless that is the first mention's */
			return line_start(s, line - 1) > from ? line_start(s, line - 1) : line;
		}
		at = mention(s, end, at + 1, a);
	}
	return first;
}

/* a transcript line that starts with p ("<<< ", ">>> "), indented or not */
static const char *
line_after(const char *line, const char *eol, const char *p)
{
	size_t n = strlen(p);

	while (line < eol && (*line == ' ' || *line == '\t'))
		line++;
	return (size_t)(eol - line) >= n && strncmp(line, p, n) == 0 ? line + n : NULL;
}

/*
 * sendmail_line - Sendmail's own line for a recipient in its transcript
 * ("----- Transcript of session follows -----"): "550 <a@b>... User
 * unknown", "554 5.1.1 <a@b>... ...", or a deferral's "<a@b>... Deferred:
 * ...".  Its status and what it says after "... ", then what came before
 * it since the line that named another recipient: the last command sent
 * (">>> MAIL From:<...>") and the server's reply ("<<< 501 ..."), or with
 * no session, a local delivery agent's words ("mail.local: unknown
 * user"). Version 5 writes the reply above the line, not in it, so a
 * session refused at MAIL FROM is told apart from an unknown host below
 * it (as Sisimai's V5sendmail and Sendmail modules read them).  Into
 * diag: 1, or 0 when the text has no such line.
 */
static int
sendmail_line(const char *s, const char *end, const char *addr, buf_t *diag)
{
	static const char mark[] = "----- Transcript of session follows -----";
	const char *cmd = NULL, *cmd_end = NULL, *rep = NULL, *rep_end = NULL;
	const char *said = NULL, *said_end = NULL, *line;
	size_t al = strlen(addr);

	if ((line = memmem(s, (size_t)(end - s), mark, sizeof mark - 1)) == NULL)
		return 0;
	for (const char *eol; line < end; line = eol + 1) {
		const char *p = line, *q, *gt, *st = NULL, *t;

		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			eol = end;
		if ((t = line_after(line, eol, ">>> "))) {
			cmd = t;
			cmd_end = eol;
			rep = NULL;
			continue;
		}
		if ((t = line_after(line, eol, "<<< "))) {
			if (rep == NULL || rep_end + 1 < line)
				rep = line;
			rep_end = eol;
			continue;
		}
		/* "NNN ", a status perhaps, then "<a@b>... "; or "<a@b>... " */
		if (eol - p > 4 && (*p == '4' || *p == '5') && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && p[3] == ' ') {
			q = p + 4;
			if (isdigit((unsigned char)*q) && q[1] == '.') {
				st = q;
				while (q < eol && *q != ' ')
					q++;
				q++;
			}
		} else
			q = p;
		if (q >= eol || *q != '<' || (gt = memchr(q, '>', (size_t)(eol - q))) == NULL ||
		    eol - gt < 4 || strncmp(gt, ">...", 4) != 0 ||
		    memchr(q, '@', (size_t)(gt - q)) == NULL) {
			/* a line of its own: a local agent's, not the session's
			 * narration ("... while talking to") */
			if (line < eol && !isspace((unsigned char)*line) &&
			    memmem(line, (size_t)(eol - line), "alking to ", 10) == NULL &&
			    memmem(line, (size_t)(eol - line), mark, sizeof mark - 1) == NULL) {
				if (said == NULL)
					said = line;
				said_end = eol;
			}
			continue;
		}
		if ((size_t)(gt - q - 1) != al || strncasecmp(q + 1, addr, al) != 0) {
			/* another recipient's line: what came before was its */
			cmd = rep = said = NULL;
			continue;
		}
		buf_reset(diag);
		if (st)
			squeeze(st, (size_t)(q - 1 - st), diag);
		for (t = gt + 4; t < eol && *t == ' '; t++)
			;
		squeeze(t, (size_t)(eol - t), diag);
		if (cmd)
			squeeze(cmd - 4, (size_t)(cmd_end - cmd + 4), diag);
		if (rep)
			squeeze(rep, (size_t)(rep_end - rep), diag);
		if (!cmd && !rep && said)
			squeeze(said, (size_t)(said_end - said), diag);
		return 1;
	}
	return 0;
}

/* reply_tail - Postfix's note of the command a reply answered, "(in
 * reply to RCPT TO command)", which its text has after the reply and its
 * DSN's Diagnostic-Code leaves out: added to diag when the text (flat,
 * on one line) goes on so after it */
static void
reply_tail(buf_t *diag, const buf_t *flat)
{
	static const char note[] = "(in reply to ";
	const char *f = strstr(buf_str(flat), buf_str(diag)), *p, *e;

	if (f == NULL)
		return;
	for (p = f + diag->len; *p == ' '; p++)
		;
	if (strncmp(p, note, sizeof note - 1) != 0 || (e = strchr(p, ')')) == NULL ||
	    e - p > 64)
		return;
	squeeze(p, (size_t)(e + 1 - p), diag);
}

static int starts_ci(const char *, const char *);

/* dsn_groups - a delivery-status part written without the blank lines
 * between its groups (AOL's: "Diagnostic-Code: ...\nFinal-Recipient:
 * ...") has them put back: a second Final-Recipient in a group starts the
 * next one (with the Original-Recipient line just before it, if any).
 * d unchanged when nothing is missing or the result would not fit. */
static void
dsn_groups(buf_t *d)
{
	const char *p = buf_str(d), *end = p + d->len;
	size_t orig = SIZE_MAX;	/* where out's last line began, if Original-Recipient */
	int final = 0, splits = 0;
	buf_t out;

	buf_init(&out, d->max + CLASSIFY_RCPT_MAX);
	for (const char *line = p; line < end; ) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl + 1 - line) : (size_t)(end - line);

		if (starts_ci(line, "Final-Recipient:")) {
			if (final && splits < CLASSIFY_RCPT_MAX) {
				size_t at = orig != SIZE_MAX ? orig : out.len;

				/* a blank line at at: out's tail moved one on */
				if (buf_addc(&out, '\n') < 0)
					goto out;
				memmove(out.data + at + 1, out.data + at, out.len - 1 - at);
				out.data[at] = '\n';
				splits++;
			}
			final = 1;
		} else if (n <= 2 && (line[0] == '\n' || (line[0] == '\r' && n == 2)))
			final = 0;
		orig = starts_ci(line, "Original-Recipient:") ? out.len : SIZE_MAX;
		if (buf_add(&out, line, n) < 0)
			goto out;
		line += n;
	}
	if (splits) {
		buf_free(d);
		*d = out;
		return;
	}
out:
	buf_free(&out);
}

/* success_rcpts - every recipient of a report that only says delivered,
 * with its status (2.0.0 when it gives none); first is the one dsn()
 * found, given alone when the groups name no address ("?") */
static void
success_rcpts(classify_report_t *r, const buf_t *d, const char *first)
{
	const char *s = buf_str(d), *end = s + d->len;
	buf_t v;

	buf_init(&v, VALUE_MAX);
	while (s < end) {
		size_t glen = header_end(s, (size_t)(end - s));
		char addr[CLASSIFY_ADDR_MAX + 1] = "";
		classify_rcpt_t *x;

		if (hdr_get(s, glen, "Final-Recipient", 0, &v) ||
		    hdr_get(s, glen, "Original-Recipient", 0, &v))
			pick_addr(after_type(buf_str(&v)), addr, sizeof addr);
		if (*addr && hdr_get(s, glen, "Action", 0, &v) && (x = add_rcpt(r, addr))) {
			unsigned sub, det;
			char tail = ' ';
			int k = 0;

			x->reason = R_DELIVERED;
			/* "Status: 2.1.5", "2.1.5 (ok)" (find_status() skips a 2 as
			 * an echo) */
			if (hdr_get(s, glen, "Status", 0, &v))
				k = sscanf(buf_str(&v), "2.%3u.%3u%c", &sub, &det, &tail);
			if (k >= 2 && !isdigit((unsigned char)tail))
				snprintf(x->status, sizeof x->status, "2.%u.%u", sub % 1000, det % 1000);
			else
				snprintf(x->status, sizeof x->status, "2.0.0");
		}
		s += glen ? glen : 1;
	}
	if (r->nrcpt == 0) {
		classify_rcpt_t *x = add_rcpt(r, strcmp(first, "?") ? first : "");

		if (x) {
			x->reason = R_DELIVERED;
			snprintf(x->status, sizeof x->status, "2.0.0");
		}
	}
	buf_free(&v);
}

/* dsn - the per-recipient groups of message/delivery-status text: failed
 * and delayed ones as bounces; 1 when any was found.  The first delivered
 * one's address into delivered ("?" when it has none) */
static int
dsn(classify_report_t *r, const struct ctx *c, char *delivered)
{
	const char *s = buf_str(&c->dsn), *end = s + c->dsn.len;
	buf_t v, diag, flat;
	int any = 0, local;
	struct around text;

	around_init(&text, buf_str(&c->text));

	buf_init(&v, VALUE_MAX);
	buf_init(&diag, VALUE_MAX);
	buf_init(&flat, TEXT_MAX);
	while (s < end) {
		size_t glen = header_end(s, (size_t)(end - s));
		char addr[CLASSIFY_ADDR_MAX + 1] = "", action[32] = "";
		classify_rcpt_t *x;

		if (hdr_get(s, glen, "Final-Recipient", 0, &v))
			pick_addr(after_type(buf_str(&v)), addr, sizeof addr);
		if (!*addr && hdr_get(s, glen, "Original-Recipient", 0, &v))
			pick_addr(after_type(buf_str(&v)), addr, sizeof addr);
		if (!*addr && !hdr_get(s, glen, "Action", 0, &v)) {
			s += glen ? glen : 1;
			continue;
		}
		if (hdr_get(s, glen, "Action", 0, &v))
			snprintf(action, sizeof action, "%s", buf_str(&v));
		for (char *p = action; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		/* "deliverable": not RFC 3464's, but sent for a successful
		 * verification (Sisimai reads it as delivered) */
		if (strncmp(action, "delivered", 9) == 0 || strncmp(action, "relayed", 7) == 0 ||
		    strncmp(action, "expanded", 8) == 0 || strncmp(action, "deliverable", 11) == 0) {
			if (!*delivered)
				snprintf(delivered, CLASSIFY_ADDR_MAX + 1, "%s", *addr ? addr : "?");
			s += glen ? glen : 1;
			continue;
		}
		if ((x = add_rcpt(r, addr)) == NULL) {
			s += glen ? glen : 1;
			continue;
		}
		any = 1;
		if (hdr_get(s, glen, "Status", 0, &v)) {
			const char *sv = buf_str(&v);

			find_status(sv, sv + v.len, x->status, sizeof x->status);
		}
		buf_reset(&diag);
		local = 0;
		if (hdr_get(s, glen, "Diagnostic-Code", 0, &v)) {
			/* "X-Unix;": a local delivery program's own failure */
			local = strncasecmp(buf_str(&v), "x-unix", 6) == 0;
			squeeze(after_type(buf_str(&v)), strlen(after_type(buf_str(&v))),
			    &x->diag);
		}
		if (hdr_get(s, glen, "X-Postfix-Diagnostic", 0, &v) && x->diag.len == 0)
			squeeze(buf_str(&v), v.len, &x->diag);
		/* Sendmail's DSN without a diagnostic: its transcript's line */
		if (mute(&x->diag) && *addr)
			(void)sendmail_line(buf_str(&c->text), buf_str(&c->text) + c->text.len, addr,
			    &x->diag);
		whole_reply(&x->diag, &c->text);
		if (x->diag.len && c->text.len) {
			if (flat.len == 0)
				squeeze(buf_str(&c->text), c->text.len, &flat);
			reply_tail(&x->diag, &flat);
		}
		/* the notification text speaks for a mute DSN */
		judge(x, &text, strncmp(action, "delayed", 7) == 0);
		if (local && x->reason != R_MAILBOXFULL) {
			x->reason = R_MAILERERROR;
			x->hard = 0;
		}
		s += glen ? glen : 1;
	}
	buf_free(&v);
	buf_free(&diag);
	buf_free(&flat);
	return any;
}

static int
starts_ci(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

/* cut - the notification text up to the returned original, where a
 * server quotes it inline rather than as a MIME part */
static size_t
cut(const char *s, size_t len)
{
	static const char *const marks[] = { "------ this is a copy of the message",
		"--- below this line is a copy", "--- enclosed is a copy", "----- original message",
		"original message follows", "----- unsent message follows",
		"------ original message", "--- original message", "content-type: message/rfc822",
		"----- the header of the original", "received: from", "received:from", "return-path:",
		"------- returned message", "--- the header of the original",
		"-----original message-----", "original message header", "this is a copy of the",
		"------ the message", "---- start of returned message",
		"--- header of the original", "message headers follow",
		"original message headers", "headers of the original", NULL };
	size_t i = 0;

	while (i < len) {
		size_t eol = i;

		while (eol < len && s[eol] != '\n')
			eol++;
		for (size_t k = i; k < eol && k < i + 4; k++) {
			if (s[k] != ' ' && s[k] != '\t' && s[k] != '>' && s[k] != '|')
				break;
			i = k + 1;
		}
		for (const char *const *m = marks; *m; m++)
			if (eol - i >= strlen(*m) && starts_ci(s + i, *m) && i > 0)
				return i;
		i = eol + 1;
	}
	return len;
}

/* excluded - an address that is not a failed recipient: the report's
 * own, the returned original's sender, ours, a daemon's */
static int
excluded(const char *a, const char *const *skip, size_t nskip, const classify_opts_t *o)
{
	char t[2];

	for (size_t i = 0; i < nskip; i++)
		if (skip[i][0] && strcasecmp(a, skip[i]) == 0)
			return 1;
	if (starts_ci(a, "postmaster@") || starts_ci(a, "mailer-daemon@") ||
	    starts_ci(a, "mailer_daemon@") || starts_ci(a, "root@") ||
	    starts_ci(a, "noreply@") || starts_ci(a, "no-reply@"))
		return 1;
	if (o->bounce_local && (classify_token_split(a, o->bounce_local, t, sizeof t) ||
	    (strlen(a) > strlen(o->bounce_local) &&
	    strncasecmp(a, o->bounce_local, strlen(o->bounce_local)) == 0 &&
	    a[strlen(o->bounce_local)] == '+')))
		return 1;
	/* a Message-ID looks like an address */
	return strchr(a, '$') != NULL;
}

/* a_msgid - the address at q (in text from s) is a Message-ID's:
 * "Message-ID:<...@...>" */
static int
a_msgid(const char *s, const char *q)
{
	static const char tag[] = "message-id:";
	const char *b = q;

	while (b > s && (b[-1] == '<' || b[-1] == ' '))
		b--;
	return (size_t)(b - s) >= sizeof tag - 1 &&
	    strncasecmp(b - (sizeof tag - 1), tag, sizeof tag - 1) == 0;
}

/* keep_rcpt_to - of the recipients found, keep only those a "RCPT TO:"
 * in [s, end) names (the envelope a report quotes in its details), when
 * it names any */
static void
keep_rcpt_to(classify_report_t *r, const char *s, const char *end)
{
	int named[CLASSIFY_RCPT_MAX] = { 0 }, any = 0;
	size_t k = 0;

	for (const char *p = s; (p = strcasestr(p, "RCPT TO:")) && p + 8 < end; p += 8) {
		char a[CLASSIFY_ADDR_MAX + 1];
		const char *q = p + 8, *at, *lim;

		/* a session transcript (">>> RCPT TO:") names every recipient
		 * tried, not the failed one */
		if (p >= s + 4 && strncmp(p - 4, ">>> ", 4) == 0)
			continue;
		/* the address right after it: "RCPT TO:<a>", "RCPT TO: a" */
		while (q < end && (*q == ' ' || *q == '<'))
			q++;
		at = q;
		for (lim = q; lim < end && *lim != '\n' && *lim != '>' && *lim != ' '; lim++)
			;
		if (!next_addr(&q, lim, a, sizeof a) || q - strlen(a) != at)
			continue;
		for (size_t i = 0; i < r->nrcpt; i++)
			if (strcasecmp(r->rcpt[i].address, a) == 0 && !named[i]) {
				named[i] = 1;
				any = 1;
			}
	}
	if (!any)
		return;
	for (size_t i = 0; i < r->nrcpt; i++) {
		if (named[i])
			r->rcpt[k++] = r->rcpt[i];
		else
			buf_free(&r->rcpt[i].diag);
	}
	r->nrcpt = k;
}

/* text_status - the Status field of a recipient's delivery-status group
 * written into the text (no MIME part of its own), into out; out kept
 * when there is none */
static void
text_status(const char *s, const char *end, const char *addr, char *out, size_t max)
{
	static const char fr[] = "Final-Recipient:";
	const char *f = s;

	while ((f = strcasestr(f, fr)) && f < end) {
		size_t glen = header_end(f, (size_t)(end - f));
		buf_t v;

		buf_init(&v, VALUE_MAX);
		if (hdr_get(f, glen, "Final-Recipient", 0, &v) && strcasestr(buf_str(&v), addr) &&
		    hdr_get(f, glen, "Status", 0, &v))
			find_status(buf_str(&v), buf_str(&v) + v.len, out, max);
		buf_free(&v);
		f += sizeof fr - 1;
	}
}

/* scan - recipients of a bounce in words: X-Failed-Recipients, else the
 * addresses of the notification text, else the original's To */
static void
scan(classify_report_t *r, const char *hdrs, size_t hlen, const buf_t *text,
    const buf_t *orig, const classify_opts_t *o)
{
	char self_from[CLASSIFY_ADDR_MAX + 1] = "", self_to[CLASSIFY_ADDR_MAX + 1] = "";
	char orig_from[CLASSIFY_ADDR_MAX + 1] = "", orig_to[CLASSIFY_ADDR_MAX + 1] = "";
	char a[CLASSIFY_ADDR_MAX + 1];
	const char *skip[3] = { self_from, self_to, orig_from };
	const char *s = buf_str(text), *end, *p;
	size_t pos[CLASSIFY_RCPT_MAX];
	buf_t v, whole;
	struct around all;

	buf_init(&v, VALUE_MAX);
	if (hdr_get(hdrs, hlen, "From", 0, &v))
		pick_addr(buf_str(&v), self_from, sizeof self_from);
	if (hdr_get(hdrs, hlen, "To", 0, &v))
		pick_addr(buf_str(&v), self_to, sizeof self_to);
	if (hdr_get(orig->data ? orig->data : "", orig->len, "From", 0, &v))
		pick_addr(buf_str(&v), orig_from, sizeof orig_from);
	if (hdr_get(orig->data ? orig->data : "", orig->len, "To", 0, &v))
		pick_addr(buf_str(&v), orig_to, sizeof orig_to);
	end = s + cut(s, text->len);
	if (hdr_get(hdrs, hlen, "X-Failed-Recipients", 0, &v)) {
		const char *q = buf_str(&v);

		while (next_addr(&q, buf_str(&v) + v.len, a, sizeof a))
			add_rcpt(r, a);
	}
	if (r->nrcpt == 0) {
		p = s;
		while (next_addr(&p, end, a, sizeof a))
			if (!excluded(a, skip, NELEM(skip), o) && !a_msgid(s, p - strlen(a)))
				add_rcpt(r, a);
	}
	/* the address a "RCPT TO:" in the text names (the envelope the
	 * report quotes), when it names others too */
	if (r->nrcpt > 1)
		keep_rcpt_to(r, s, end);
	/* the original's addressee, when the text names it among others */
	if (r->nrcpt > 1 && *orig_to) {
		for (size_t i = 0; i < r->nrcpt; i++)
			if (strcasecmp(r->rcpt[i].address, orig_to) == 0) {
				classify_rcpt_t keep = r->rcpt[i];

				for (size_t k = 0; k < r->nrcpt; k++)
					if (k != i)
						buf_free(&r->rcpt[k].diag);
				r->rcpt[0] = keep;
				r->nrcpt = 1;
				break;
			}
	}
	if (r->nrcpt == 0 && *orig_to)
		add_rcpt(r, orig_to);
	if (r->nrcpt == 0)
		add_rcpt(r, "");
	/* the whole text on one line, what every recipient's judge reads
	 * when its own diagnostic is mute */
	buf_init(&whole, VALUE_MAX);
	squeeze(s, (size_t)(end - s), &whole);
	around_init(&all, buf_str(&whole));
	/* each recipient's diagnostic: Sendmail's line for it, else the text
	 * from its first mention to the next mention of another (a report
	 * may name them all again, in a second language; or NEAR_MAX bytes) */
	for (size_t i = 0; i < r->nrcpt; i++) {
		const char *f = *r->rcpt[i].address ? strcasestr(s, r->rcpt[i].address) : NULL;

		pos[i] = f && f < end ? (size_t)(f - s) : 0;
	}
	if (r->nrcpt == 1 && pos[0])
		pos[0] = reply_mention(s, end, pos[0], r->rcpt[0].address);
	for (size_t i = 0; i < r->nrcpt; i++) {
		size_t from = pos[i], to = (size_t)(end - s);

		if (*r->rcpt[i].address && sendmail_line(s, end, r->rcpt[i].address,
		    &r->rcpt[i].diag)) {
			text_status(s, end, r->rcpt[i].address, r->rcpt[i].status,
			    sizeof r->rcpt[i].status);
			judge(&r->rcpt[i], &all, 0);
			continue;
		}
		while (from > 0 && s[from - 1] != '\n')
			from--;
		for (size_t k = 0; k < r->nrcpt; k++) {
			size_t at = k == i ? to : mention(s, end, pos[i] + 1, r->rcpt[k].address);

			if (at < to)
				to = at;
		}
		if (to - from > NEAR_MAX)
			to = from + NEAR_MAX;
		squeeze(s + from, to - from, &r->rcpt[i].diag);
		judge(&r->rcpt[i], &all, 0);
	}
	buf_free(&whole);
	buf_free(&v);
}

/* success_status - the status of a success reply ("250 2.6.0 Message
 * received") into out, else "2.0.0" */
static void
success_status(const char *reply, char *out, size_t max)
{
	size_t n = 3;

	snprintf(out, max, "2.0.0");
	if (strlen(reply) < 9 || reply[0] != '2' || !isdigit((unsigned char)reply[1]) ||
	    !isdigit((unsigned char)reply[2]) || (reply[3] != ' ' && reply[3] != '-') ||
	    reply[4] != '2' || reply[5] != '.' || !isdigit((unsigned char)reply[6]))
		return;
	while (reply[4 + n] && !isspace((unsigned char)reply[4 + n]))
		n++;
	/* d.ddd.ddd at most */
	if (n <= 9)
		span(reply + 4, n, out, max);
}

/* ses - an Amazon SES notification (bare, or the Message of an SNS one):
 * 1 when it was one */
static int
ses(classify_report_t *r, const char *s, size_t n)
{
	json_t *root, *m, *list;
	const char *type, *arr = NULL, *sub = NULL;
	int rc = 0;

	buf_t unfolded;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	if (n == 0 || *s != '{')
		return 0;
	/* a mail gateway folds long lines as "!" LF SP: undone */
	buf_init(&unfolded, TEXT_MAX);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '!' && i + 2 < n && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
			i += s[i + 1] == '\r' ? 2 : 1;
			while (i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\n'))
				i++;
			continue;
		}
		if (buf_addc(&unfolded, s[i]) < 0)
			break;
	}
	root = json_loadb(unfolded.data ? unfolded.data : "", unfolded.len,
	    JSON_DISABLE_EOF_CHECK, NULL);
	buf_free(&unfolded);
	if (root == NULL)
		return 0;
	m = root;
	if (json_is_string(json_object_get(root, "Message"))) {
		const char *inner = json_string_value(json_object_get(root, "Message"));

		m = json_loads(inner, 0, NULL);
		json_decref(root);
		if ((root = m) == NULL)
			return 0;
	}
	type = json_string_value(json_object_get(m, "notificationType"));
	if (type == NULL)
		type = json_string_value(json_object_get(m, "eventType"));
	if (type == NULL)
		goto out;
	if (strcmp(type, "Bounce") == 0) {
		json_t *b = json_object_get(m, "bounce");

		r->kind = KIND_BOUNCE;
		arr = "bouncedRecipients";
		list = json_object_get(b, arr);
		sub = json_string_value(json_object_get(b, "bounceType"));
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *e = json_array_get(list, i);
			const char *addr = json_string_value(json_object_get(e, "emailAddress"));
			const char *st = json_string_value(json_object_get(e, "status"));
			const char *dc = json_string_value(json_object_get(e, "diagnosticCode"));
			classify_rcpt_t *x = add_rcpt(r, addr ? addr : "");

			if (x == NULL)
				continue;
			if (st)
				find_status(st, st + strlen(st), x->status, sizeof x->status);
			if (dc)
				squeeze(dc, strlen(dc), &x->diag);
			{
				const char *bst = json_string_value(json_object_get(b,
				    "bounceSubType"));
				struct around a;

				around_init(&a, bst ? bst : "");
				judge(x, &a, 0);
			}
			if (sub && strcmp(sub, "Transient") == 0)
				x->hard = 0;
		}
		rc = 1;
	} else if (strcmp(type, "Complaint") == 0) {
		json_t *cpl = json_object_get(m, "complaint");
		const char *ft = json_string_value(json_object_get(cpl, "complaintFeedbackType"));

		r->kind = KIND_COMPLAINT;
		snprintf(r->feedback_type, sizeof r->feedback_type, "%s", ft ? ft : "abuse");
		list = json_object_get(cpl, "complainedRecipients");
		for (size_t i = 0; i < json_array_size(list); i++) {
			const char *addr = json_string_value(json_object_get(json_array_get(list,
			    i), "emailAddress"));
			classify_rcpt_t *x = add_rcpt(r, addr ? addr : "");

			if (x)
				x->reason = R_FEEDBACK;
		}
		rc = 1;
	} else if (strcmp(type, "Delivery") == 0) {
		json_t *dl = json_object_get(m, "delivery");
		const char *resp = json_string_value(json_object_get(dl, "smtpResponse"));

		list = json_object_get(dl, "recipients");
		r->kind = KIND_DELIVERED;
		for (size_t i = 0; i < json_array_size(list); i++) {
			const char *addr = json_string_value(json_array_get(list, i));
			classify_rcpt_t *x = add_rcpt(r, addr ? addr : "");

			if (x) {
				x->reason = R_DELIVERED;
				success_status(resp ? resp : "", x->status, sizeof x->status);
			}
		}
		rc = 1;
	}
out:
	json_decref(root);
	return rc;
}

/* --- reporting servers ------------------------------------------------------ */

/*
 * Some servers write their own words for a reason, which the general
 * phrase lists would read otherwise ("User unknown" from a content
 * filter that refuses after DATA; a Lotus Notes report in Japanese; a
 * PowerMTA category header).  A server is known by its own headers
 * (Sisimai's per-server modules know them the same way); its words, when
 * a recipient's diagnostic has them, give that recipient's reason, as the
 * server means it.  The words are compared as the server writes them
 * (case and all).
 */
enum sig_how { SIG_PRESENT, SIG_EQUAL, SIG_PREFIX, SIG_HAS };

struct sig {
	const char *field;	/* a header of the report; "Received": any of them */
	enum sig_how how;
	const char *word;
};

struct said {
	const char *words;
	enum classify_reason r;
	int	 reply;		/* only after this SMTP reply; 0: any */
};

#define SIGS_MAX	10

struct server {
	const char *name;	/* for the reader; the table is the truth */
	int	 need;		/* how many of sig[] must hold */
	struct sig sig[SIGS_MAX];
	const struct said *said;	/* ends with { NULL, 0 } */
	const struct said *codes;	/* statuses ("5.7.5??": "?" any digit), or NULL */
	int	 exim;		/* Exim's pseudo-status rule (second_look) */
	int	 status_wins;	/* an exact status in the diagnostic names the reason */
	int	 text_only;	/* its delivery-status part says less than its text */
};

static const struct said said_mcafee[] = { { " User not exist", R_USERUNKNOWN, 0 },
	{ " unknown.", R_USERUNKNOWN, 0 }, { "550 Unknown user ", R_USERUNKNOWN, 0 },
	{ "No such user", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };
static const struct said said_imail[] = { { "Unknown host", R_HOSTUNKNOWN, 0 },
	{ "Unknown user", R_USERUNKNOWN, 0 }, { "Invalid final delivery userid", R_USERUNKNOWN, 0 },
	{ "User mailbox exceeds allowed size", R_MAILBOXFULL, 0 },
	{ "Requested action not taken: virus detected", R_VIRUSDETECTED, 0 },
	{ "undeliverable to", R_UNDEFINED, 0 }, { "Delivery failed ", R_EXPIRED, 0 }, { NULL, 0, 0 } };
static const struct said said_outlook[] = {
	{ "The mail could not be delivered to the recipient because the domain is not reachable",
	  R_HOSTUNKNOWN, 0 },
	{ "Requested action not taken: mailbox unavailable", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };
/* PowerMTA names its category in the DSN (X-PowerMTA-BounceCategory) */
static const struct said said_powermta[] = { { "bad-domain", R_HOSTUNKNOWN, 0 },
	{ "bad-mailbox", R_USERUNKNOWN, 0 }, { "inactive-mailbox", R_SUSPEND, 0 },
	{ "message-expired", R_EXPIRED, 0 }, { "no-answer-from-host", R_NETWORKERROR, 0 },
	{ "policy-related", R_POLICYVIOLATION, 0 }, { "quota-issues", R_MAILBOXFULL, 0 },
	{ "routing-errors", R_SYSTEMERROR, 0 }, { "spam-related", R_SPAMDETECTED, 0 }, { NULL, 0, 0 } };
/* Exchange 2000/2003's MSEXCH:IMC codes */
static const struct said said_exch2003[] = { { "000B099C", R_ONHOLD, 0 }, { "000B09AA", R_ONHOLD, 0 },
	{ "000B09B6", R_ONHOLD, 0 }, { "000C05A6", R_USERUNKNOWN, 0 }, { "00010256", R_SYSTEMERROR, 0 },
	{ "000D06B5", R_SYSTEMERROR, 0 }, { "00120270", R_NETWORKERROR, 0 },
	{ "00050311", R_CONTENTERROR, 0 }, { "000502CC", R_CONTENTERROR, 0 },
	{ "000B0981", R_SECURITYERROR, 0 }, { "000C0595", R_FILTERED, 0 }, { NULL, 0, 0 } };
static const struct said said_notes[] = {
	{ "User not listed in public Name & Address Book", R_USERUNKNOWN, 0 },
	{ "\xe3\x83\x87\xe3\x82\xa3\xe3\x83\xac\xe3\x82\xaf\xe3\x83\x88\xe3\x83\xaa\xe3\x81\xae"
	  "\xe3\x83\xaa\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xab\xe3\x81\x82\xe3\x82\x8a\xe3\x81\xbe"
	  "\xe3\x81\x9b\xe3\x82\x93", R_USERUNKNOWN, 0 },	/* "not in the directory's list" */
	{ "Message has exceeded maximum hop count", R_NETWORKERROR, 0 }, { NULL, 0, 0 } };
static const struct said said_domino[] = { { "not listed in Domino Directory", R_USERUNKNOWN, 0 },
	{ "not listed in public Name & Address Book", R_USERUNKNOWN, 0 },
	{ "no se encuentra en el Directorio de Domino", R_USERUNKNOWN, 0 },
	{ "non r\xc3\xa9pertori\xc3\xa9 dans l'annuaire Domino", R_USERUNKNOWN, 0 },
	{ "Domino \xe3\x83\x87\xe3\x82\xa3\xe3\x83\xac\xe3\x82\xaf\xe3\x83\x88\xe3\x83\xaa\xe3\x81\xab"
	  "\xe3\x81\xaf\xe8\xa6\x8b\xe3\x81\xa4\xe3\x81\x8b\xe3\x82\x8a\xe3\x81\xbe\xe3\x81\x9b\xe3\x82\x93",
	  R_USERUNKNOWN, 0 },	/* "not found in the Domino Directory" */
	{ "Cannot route mail to user", R_FILTERED, 0 },
	{ "Several matches found in Domino Directory", R_SYSTEMERROR, 0 }, { NULL, 0, 0 } };
/* Exim's own words (and MXLogic's, an Exim) */
static const struct said said_exim[] = { { "user not found", R_USERUNKNOWN, 0 },
	{ "all host address lookups failed permanently", R_HOSTUNKNOWN, 0 },
	{ "all relevant MX records point to non-existent hosts", R_HOSTUNKNOWN, 0 },
	{ "Unrouteable address", R_HOSTUNKNOWN, 0 }, { "mailbox is full", R_MAILBOXFULL, 0 },
	{ "error: quota exceed", R_MAILBOXFULL, 0 },
	{ "an MX or SRV record indicated no SMTP service", R_NOTACCEPT, 0 },
	{ "no host found for existing SMTP connection", R_NOTACCEPT, 0 },
	{ "angle-brackets nested too deep", R_SYNTAXERROR, 0 }, { "expected word or \"<\"", R_SYNTAXERROR, 0 },
	{ "domain missing in source-routed address", R_SYNTAXERROR, 0 },
	{ "malformed address:", R_SYNTAXERROR, 0 }, { "delivery to file forbidden", R_SYSTEMERROR, 0 },
	{ "delivery to pipe forbidden", R_SYSTEMERROR, 0 }, { "local delivery failed", R_SYSTEMERROR, 0 },
	{ "Too many \"Received\" headers", R_CONTENTERROR, 0 }, { NULL, 0, 0 } };
static const struct said said_msglabs[] = { { "542 ", R_USERUNKNOWN, 0 }, { " Rejected", R_USERUNKNOWN, 0 },
	{ "No such user", R_USERUNKNOWN, 0 },
	{ "Please turn on SMTP Authentication in your mail client", R_SECURITYERROR, 0 }, { NULL, 0, 0 } };
/* Amazon SES receiving: its "Mailbox does not exist" is said after DATA */
static const struct said said_recvses[] = { { "Mailbox does not exist", R_FILTERED, 0 },
	{ "Message too large", R_MESGTOOBIG, 0 }, { "Mailbox full", R_MAILBOXFULL, 0 },
	{ "Message content rejected", R_CONTENTERROR, 0 }, { NULL, 0, 0 } };
static const struct said said_biglobe[] = { { "Mail Delivery Failed... User unknown", R_FILTERED, 0 },
	{ "The number of messages in recipient's mailbox exceeded the local limit.", R_MAILBOXFULL, 0 },
	{ NULL, 0, 0 } };
static const struct said said_gsuite[] = {
	{ "because the address couldn't be found. Check for typos or unnecessary spaces and try again.",
	  R_USERUNKNOWN, 0 },
	{ "Null MX", R_NOTACCEPT, 0 }, { " had no relevant answers.", R_NETWORKERROR, 0 },
	{ " responded with code NXDOMAIN", R_NETWORKERROR, 0 }, { NULL, 0, 0 } };
static const struct said said_verizon[] = {
	{ "550 - Requested action not taken: no such user here", R_USERUNKNOWN, 0 },
	{ "No valid recipients for this MM", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };

/* Gmail's own: the state its SMTP client was in ("(state 14)"), and
 * its DNS errors */
static const struct said said_gmail[] = { { "(state 6)", R_SYSTEMERROR, 0 },
	{ "(state 8)", R_SYSTEMERROR, 0 }, { "(state 9)", R_SYSTEMERROR, 0 },
	{ "(state 13)", R_BLOCKED, 0 }, { "(state 14)", R_USERUNKNOWN, 0 },
	{ "(state 15)", R_FILTERED, 0 }, { "(state 17)", R_FILTERED, 0 },
	{ "(state 18)", R_FILTERED, 0 },
	{ "DNS Error: Could not contact DNS servers", R_EXPIRED, 0 },
	{ "Delivery to the following recipient has been delayed", R_EXPIRED, 0 },
	{ "The recipient server did not accept our requests to connect", R_EXPIRED, 0 },
	{ "DNS Error: Domain name not found", R_HOSTUNKNOWN, 0 },
	{ "DNS Error: DNS server returned answer with no data", R_HOSTUNKNOWN, 0 },
	{ NULL, 0, 0 } };
/* OpenSMTPD's own words; its DSN part's Status is a bare 4.0.0 or the
 * queue's 4.4.7, its text says the cause */
static const struct said said_opensmtpd[] = { { "Envelope expired", R_EXPIRED, 0 },
	{ "Invalid domain name", R_HOSTUNKNOWN, 0 }, { "Domain does not exist", R_HOSTUNKNOWN, 0 },
	{ "Destination seem to reject all mails", R_NOTACCEPT, 0 },
	{ "No MX found for domain", R_NOTACCEPT, 0 },
	{ "No MX found for destination", R_NOTACCEPT, 0 },
	{ "Address family mismatch on destination MXs", R_NETWORKERROR, 0 },
	{ "All routes to destination blocked", R_NETWORKERROR, 0 },
	{ "bad DNS lookup error code", R_NETWORKERROR, 0 },
	{ "Could not retrieve source address", R_NETWORKERROR, 0 },
	{ "Loop detected", R_NETWORKERROR, 0 }, { "Network error on destination MXs", R_NETWORKERROR, 0 },
	{ "No valid route to remote MX", R_NETWORKERROR, 0 },
	{ "No valid route to destination", R_NETWORKERROR, 0 },
	{ "Temporary failure in MX lookup", R_NETWORKERROR, 0 },
	{ "Could not retrieve credentials", R_SECURITYERROR, 0 }, { NULL, 0, 0 } };
/* au (KDDI)'s EZweb gateway; X-SPASIGN: NG is its filter's mark on
 * every recipient it refused */
static const struct said said_ezweb_ng[] = { { "", R_FILTERED, 0 }, { NULL, 0, 0 } };
static const struct said said_ezweb[] = {
	{ "The user(s) account is temporarily over quota", R_MAILBOXFULL, 0 },
	{ "The user(s) account is disabled.", R_SUSPEND, 0 },
	{ "The user(s) account is temporarily limited.", R_SUSPEND, 0 },
	{ "Your message was not delivered within ", R_EXPIRED, 0 },
	{ "Each of the following recipients was rejected by a remote mail server", R_ONHOLD, 0 },
	{ NULL, 0, 0 } };
static const struct said said_zoho[] = { { "Host not reachable", R_EXPIRED, 0 },
	{ NULL, 0, 0 } };
static const struct said said_interscan[] = { { "Unable to deliver", R_USERUNKNOWN, 0 },
	{ NULL, 0, 0 } };
/* qmail's own words; a refused HELO is a block */
static const struct said said_qmail[] = { { " but my name was rejected.", R_BLOCKED, 0 },
	{ "no mailbox here by that name", R_USERUNKNOWN, 0 },
	{ "does not like recipient.", R_USERUNKNOWN, 0 }, { "disk quota exceeded", R_MAILBOXFULL, 0 },
	{ "Message size exceeds fixed maximum message size:", R_MESGTOOBIG, 0 },
	{ "Sorry, I couldn't find any host ", R_HOSTUNKNOWN, 0 },
	{ "Requested action not taken: mailbox unavailable (not enough free space)", R_SYSTEMFULL, 0 },
	{ "bad interpreter: No such file or directory", R_SYSTEMERROR, 0 },
	{ "system error", R_SYSTEMERROR, 0 }, { "Unable to", R_SYSTEMERROR, 0 },
	{ "Sorry, I couldn't find a mail exchanger or IP address", R_NOTACCEPT, 0 },
	{ "Sorry, I wasn't able to establish an SMTP connection", R_NETWORKERROR, 0 },
	{ "Sorry. Although I'm listed as a best-preference MX or A for that host", R_NETWORKERROR, 0 },
	{ "Mailaddress is administratively disabled", R_SUSPEND, 0 },
	{ "Mailaddress is administrativley disabled", R_SUSPEND, 0 },
	{ "The message exeeded the maximum size the user accepts", R_EXCEEDLIMIT, 0 },
	{ "Automatic homedir creator crashed", R_SYSTEMERROR, 0 },
	{ "Illegal value in LDAP attribute", R_SYSTEMERROR, 0 },
	{ "LDAP attribute is not given but mandatory", R_SYSTEMERROR, 0 },
	{ "Timeout while performing search on LDAP server", R_SYSTEMERROR, 0 },
	{ "Too many results returned but needs to be unique", R_SYSTEMERROR, 0 },
	{ "error while executing qmail-forward", R_SYSTEMERROR, 0 },
	{ "Temporary error in automatic homedir creation", R_SYSTEMERROR, 0 },
	{ "Temporary failure in LDAP lookup", R_SYSTEMERROR, 0 },
	{ "this message has been in the queue too long.", R_EXPIRED, 0 }, { NULL, 0, 0 } };

/* AOL's relays (Postfix) on a name lookup */
static const struct said said_aol[] = { { "Host or domain name not found", R_HOSTUNKNOWN, 0 },
	{ "type=MX: Malformed or unexpected name server reply", R_NOTACCEPT, 0 }, { NULL, 0, 0 } };
/* DragonFly's dma: its own words on the delivery */
static const struct said said_dma[] = { { "Could not deliver for the last ", R_EXPIRED, 0 },
	{ "DNS lookup failure: host ", R_HOSTUNKNOWN, 0 }, { NULL, 0, 0 } };
/* Facebook's response codes (postmaster.facebook.com/response_codes) */
static const struct said said_facebook[] = { { "RCP-P1", R_USERUNKNOWN, 0 },
	{ "INT-P1", R_USERUNKNOWN, 0 }, { "INT-P3", R_USERUNKNOWN, 0 }, { "INT-P4", R_USERUNKNOWN, 0 },
	{ "RCP-P2", R_FILTERED, 0 }, { "RCP-P3", R_FILTERED, 0 },
	{ "POL-P1", R_BLOCKED, 0 }, { "POL-P2", R_BLOCKED, 0 },
	{ "MSG-P1", R_MESGTOOBIG, 0 }, { "INT-P2", R_MESGTOOBIG, 0 },
	{ "MSG-P2", R_CONTENTERROR, 0 }, { "MSG-P3", R_CONTENTERROR, 0 },
	{ "POL-P6", R_CONTENTERROR, 0 }, { "POL-P7", R_CONTENTERROR, 0 },
	{ "POL-P3", R_NOTACCEPT, 0 }, { "POL-P4", R_NOTACCEPT, 0 }, { "POL-T1", R_NOTACCEPT, 0 },
	{ "POL-T2", R_NOTACCEPT, 0 }, { "POL-T3", R_NOTACCEPT, 0 },
	{ "DNS-P1", R_REJECTED, 0 }, { "DNS-P2", R_REJECTED, 0 }, { "DNS-T1", R_REJECTED, 0 },
	{ "DNS-P3", R_REJECTED, 0 }, { "DNS-T2", R_REJECTED, 0 },
	{ "CON-T1", R_SYSTEMERROR, 0 }, { "RCP-T1", R_SYSTEMERROR, 0 },
	{ "CON-T2", R_TOOMANYCONN, 0 }, { "CON-T3", R_TOOMANYCONN, 0 },
	{ "POL-P5", R_VIRUSDETECTED, 0 }, { "RCP-T4", R_SUSPEND, 0 },
	{ "MSG-T1", R_UNDEFINED, 0 }, { "CON-T4", R_UNDEFINED, 0 }, { NULL, 0, 0 } };
/* Exchange 2007's own codes for what its resolver and queue decided */
static const struct said said_exch2007[] = {
	{ "SMTPSEND.DNS.NonExistentDomain", R_HOSTUNKNOWN, 0 },
	{ "SMTPSEND.DNS.MxLoopback", R_NETWORKERROR, 0 },
	{ "RESOLVER.ADR.BadPrimary", R_SYSTEMERROR, 0 },
	{ "RESOLVER.ADR.RecipNotFound", R_USERUNKNOWN, 0 },
	{ "RESOLVER.ADR.ExRecipNotFound", R_USERUNKNOWN, 0 },
	{ "RESOLVER.ADR.RecipLimit", R_TOOMANYCONN, 0 },
	{ "RESOLVER.ADR.InvalidInSmtp", R_SYSTEMERROR, 0 },
	{ "RESOLVER.ADR.Ambiguous", R_SYSTEMERROR, 0 },
	{ "RESOLVER.RST.AuthRequired", R_SECURITYERROR, 0 },
	{ "RESOLVER.RST.NotAuthorized", R_REJECTED, 0 },
	{ "RESOLVER.RST.RecipSizeLimit", R_MESGTOOBIG, 0 },
	{ "QUEUE.Expired", R_EXPIRED, 0 }, { NULL, 0, 0 } };

/* Office 365's statuses, as Microsoft's NDR documentation names them */
static const struct said codes_o365[] = { { "4.4.7", R_EXPIRED, 0 },
	{ "4.4.312", R_NETWORKERROR, 0 }, { "4.4.316", R_EXPIRED, 0 }, { "4.7.26", R_AUTHFAILURE, 0 },
	{ "4.7.5??", R_BLOCKED, 0 }, { "4.7.6??", R_BLOCKED, 0 }, { "4.7.85?", R_BLOCKED, 0 },
	{ "4.7.86?", R_BLOCKED, 0 }, { "4.7.87?", R_BLOCKED, 0 }, { "4.7.88?", R_BLOCKED, 0 },
	{ "4.7.89?", R_BLOCKED, 0 }, { "5.0.350", R_CONTENTERROR, 0 },
	{ "5.1.10", R_USERUNKNOWN, 0 }, { "5.4.1", R_NORELAYING, 0 }, { "5.4.6", R_NETWORKERROR, 0 },
	{ "5.4.312", R_NETWORKERROR, 0 }, { "5.4.316", R_EXPIRED, 0 },
	{ "5.6.11", R_CONTENTERROR, 0 }, { "5.7.1", R_REJECTED, 0 }, { "5.7.12", R_REJECTED, 0 },
	{ "5.7.13", R_REJECTED, 0 }, { "5.7.124", R_REJECTED, 0 }, { "5.7.133", R_REJECTED, 0 },
	{ "5.7.134", R_REJECTED, 0 }, { "5.7.135", R_REJECTED, 0 }, { "5.7.136", R_REJECTED, 0 },
	{ "5.7.23", R_AUTHFAILURE, 0 }, { "5.7.25", R_NETWORKERROR, 0 },
	{ "5.7.501", R_SPAMDETECTED, 0 }, { "5.7.502", R_SPAMDETECTED, 0 },
	{ "5.7.503", R_SPAMDETECTED, 0 }, { "5.7.504", R_FILTERED, 0 }, { "5.7.505", R_FILTERED, 0 },
	{ "5.7.506", R_BLOCKED, 0 }, { "5.7.507", R_BLOCKED, 0 }, { "5.7.508", R_TOOMANYCONN, 0 },
	{ "5.7.509", R_AUTHFAILURE, 0 }, { "5.7.510", R_NOTACCEPT, 0 }, { "5.7.511", R_REJECTED, 0 },
	{ "5.7.512", R_POLICYVIOLATION, 0 }, { "5.7.57", R_SECURITYERROR, 0 },
	{ "5.7.606", R_BLOCKED, 0 }, { "5.7.607", R_BLOCKED, 0 }, { "5.7.608", R_BLOCKED, 0 },
	{ "5.7.609", R_BLOCKED, 0 }, { "5.7.61?", R_BLOCKED, 0 }, { "5.7.62?", R_BLOCKED, 0 },
	{ "5.7.63?", R_BLOCKED, 0 }, { "5.7.64?", R_BLOCKED, 0 }, { "5.7.70?", R_TOOMANYCONN, 0 },
	{ "5.7.71?", R_TOOMANYCONN, 0 }, { "5.7.72?", R_TOOMANYCONN, 0 },
	{ "5.7.73?", R_TOOMANYCONN, 0 }, { "5.7.74?", R_TOOMANYCONN, 0 }, { NULL, 0, 0 } };
static const struct said said_o365[] = {
	{ "unknown recipient or mailbox unavailable ->", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };

static const struct server servers[] = {
	{ "McAfee", 2, { { "X-NAI-Header", SIG_HAS, "Modified by McAfee" },
	  { "Subject", SIG_PREFIX, "Delivery Status" } }, said_mcafee, NULL, 0, 0, 0 },
	{ "IMailServer", 1, { { "Subject", SIG_PREFIX, "Undeliverable Mail " },
	  { "X-Mailer", SIG_PREFIX, "<SMTP32 v" } }, said_imail, NULL, 0, 0, 0 },
	{ "Outlook.com", 2, { { "Subject", SIG_HAS, "Delivery Status Notification" },
	  { "Received", SIG_HAS, ".hotmail.com" } }, said_outlook, NULL, 0, 0, 0 },
	{ "PowerMTA", 1, { { "Subject", SIG_HAS, "Delivery report" } }, said_powermta, NULL, 0, 0, 0 },
	{ "Exchange 2003", 1, { { "X-MS-Embedded-Report", SIG_PRESENT, "" },
	  { "X-Mailer", SIG_PREFIX, "Internet Mail Service (" },
	  { "X-Mailer", SIG_PREFIX, "Microsoft Exchange Server Internet Mail Connector" },
	  { "X-MimeOLE", SIG_PREFIX, "Produced By Microsoft Exchange" } }, said_exch2003, NULL, 0, 0, 0 },
	{ "Exchange 2003", 1, { { "Received", SIG_HAS, " with Internet Mail Service (" } },
	  said_exch2003, NULL, 0, 0, 0 },
	{ "Lotus Notes", 1, { { "Subject", SIG_PREFIX, "Undeliverable message" } }, said_notes, NULL, 0, 0, 0 },
	{ "Domino", 1, { { "Subject", SIG_PREFIX, "DELIVERY FAILURE:" },
	  { "Subject", SIG_PREFIX, "DELIVERY_FAILURE:" } }, said_domino, NULL, 0, 0, 0 },
	{ "Exim", 2, { { "From", SIG_PREFIX, "Mail Delivery System" },
	  { "Subject", SIG_HAS, "Mail delivery failed" },
	  { "Subject", SIG_HAS, "Warning: message " }, { "Subject", SIG_HAS, "Mail failure" },
	  { "Subject", SIG_HAS, "Message frozen" },
	  { "Subject", SIG_HAS, "Delivery Status Notification" } },
	  said_exim, NULL, 1, 0, 0 },
	{ "MXLogic", 1, { { "X-MX-Bounce", SIG_PRESENT, "" }, { "X-MXL-Hash", SIG_PRESENT, "" },
	  { "X-MXL-NoteHash", SIG_PRESENT, "" } }, said_exim, NULL, 1, 0, 0 },
	{ "MessageLabs", 3, { { "X-Msg-Ref", SIG_PRESENT, "" },
	  { "From", SIG_HAS, "MAILER-DAEMON@messagelabs.com" },
	  { "Subject", SIG_PREFIX, "Mail Delivery Failure" } }, said_msglabs, NULL, 0, 0, 0 },
	{ "Amazon SES receiving", 1, { { "X-SES-Outgoing", SIG_PRESENT, "" } }, said_recvses, NULL, 0, 0, 0 },
	{ "Biglobe", 2, { { "From", SIG_HAS, "postmaster@biglobe.ne.jp" },
	  { "Subject", SIG_PREFIX, "Returned mail:" } }, said_biglobe, NULL, 0, 0, 0 },
	{ "G Suite", 3, { { "From", SIG_HAS, "<mailer-daemon@googlemail.com>" },
	  { "Subject", SIG_HAS, "Delivery Status Notification" },
	  { "X-Gm-Message-State", SIG_PRESENT, "" } }, said_gsuite, NULL, 0, 0, 0 },
	/* its text gateway and its picture messaging (MMSC) one */
	{ "Verizon", 1, { { "From", SIG_HAS, "post_master@vtext.com" },
	  { "From", SIG_HAS, ".vzwpix.com>" } }, said_verizon, NULL, 0, 0, 0 },
	{ "Zoho", 1, { { "X-ZohoMail", SIG_PRESENT, "" } }, said_zoho, NULL, 0, 0, 0 },
	{ "InterScan MSS", 1, { { "From", SIG_PREFIX, "\"InterScan MSS\"" },
	  { "From", SIG_PREFIX, "\"InterScan Notification\"" },
	  { "Subject", SIG_EQUAL, "Mail could not be delivered" } }, said_interscan, NULL, 0, 0, 0 },
	{ "qmail", 1, { { "Subject", SIG_EQUAL, "failure notice" },
	  { "Subject", SIG_PREFIX, "Permanent Delivery Failure" },
	  { "Received", SIG_HAS, "invoked for bounce)" },
	  { "Received", SIG_HAS, "invoked from network)" } }, said_qmail, NULL, 0, 0, 0 },
	{ "Office 365", 2, { { "Subject", SIG_HAS, "Undeliverable:" },
	  { "Subject", SIG_HAS, "Onbestelbaar:" },
	  { "X-MS-Exchange-Message-Is-Ndr", SIG_PRESENT, "" },
	  { "X-Microsoft-Antispam-PRVS", SIG_PRESENT, "" },
	  { "X-Exchange-Antispam-Report-Test", SIG_PRESENT, "" },
	  { "X-MS-Exchange-CrossTenant-OriginalArrivalTime", SIG_PRESENT, "" },
	  { "X-MS-Exchange-CrossTenant-FromEntityHeader", SIG_PRESENT, "" },
	  { "X-MS-Exchange-Transport-CrossTenantHeadersStamped", SIG_PRESENT, "" },
	  { "Received", SIG_HAS, ".outbound.protection.outlook.com" },
	  { "Received", SIG_HAS, ".prod.outlook.com" } }, said_o365, codes_o365, 0, 0, 0 },
	/* Exchange 2007 and later on premises: an NDR subject in English,
	 * French or Italian with a Content-Language (Office 365's has its
	 * tenant headers, matched above) */
	{ "Exchange 2007", 2, { { "Subject", SIG_PREFIX, "Undeliverable" },
	  { "Subject", SIG_PREFIX, "Non_remis_" }, { "Subject", SIG_PREFIX, "Non recapitabile" },
	  { "Content-Language", SIG_PRESENT, "" } }, said_exch2007, NULL, 0, 0, 0 },
	{ "AOL", 1, { { "X-AOL-IP", SIG_PRESENT, "" } }, said_aol, NULL, 0, 0, 0 },
	{ "DragonFly Mail Agent", 2, { { "Subject", SIG_HAS, "Mail delivery failed" },
	  { "Received", SIG_HAS, " (DragonFly Mail Agent" } }, said_dma, NULL, 0, 0, 0 },
	{ "Facebook", 2, { { "From", SIG_EQUAL, "Facebook <mailer-daemon@mx.facebook.com>" },
	  { "Subject", SIG_EQUAL, "Sorry, your message could not be delivered" } },
	  said_facebook, NULL, 0, 0, 0 },
	{ "Gmail", 2, { { "From", SIG_HAS, "<mailer-daemon@googlemail.com>" },
	  { "Subject", SIG_HAS, "Delivery Status Notification" } }, said_gmail, NULL, 0, 1, 0 },
	{ "OpenSMTPD", 3, { { "Subject", SIG_HAS, "Delivery status notification" },
	  { "From", SIG_HAS, "Mailer Daemon <" }, { "Received", SIG_HAS, " (OpenSMTPD) with " } },
	  said_opensmtpd, NULL, 0, 0, 1 },
	{ "EZweb filter", 1, { { "X-SPASIGN", SIG_EQUAL, "NG" } }, said_ezweb_ng, NULL, 0, 0, 0 },
	{ "EZweb", 2, { { "From", SIG_HAS, "Postmaster@ezweb.ne.jp" },
	  { "From", SIG_HAS, "Postmaster@au.com" },
	  { "Subject", SIG_EQUAL, "Mail System Error - Returned Mail" },
	  { "Received", SIG_HAS, "ezweb.ne.jp (EZweb Mail) with" },
	  { "Received", SIG_HAS, ".au.com (" } }, said_ezweb, NULL, 0, 0, 0 },
};

/* server_of - the server that wrote the report, or NULL: its header
 * block [h, h+hlen) read once, each field tested against the signatures
 * that name it */
static const struct server *
server_of(const char *h, size_t hlen)
{
	unsigned char hit[NELEM(servers)][SIGS_MAX];
	const struct server *found = NULL;
	size_t i = 0;
	buf_t v;

	memset(hit, 0, sizeof hit);
	buf_init(&v, VALUE_MAX);
	while (i < hlen) {
		size_t eol = i, colon, end;
		int have = 0;

		while (eol < hlen && h[eol] != '\n')
			eol++;
		for (colon = i; colon < eol && h[colon] != ':' && h[colon] != ' '; colon++)
			;
		end = eol;
		while (end + 1 < hlen && (h[end + 1] == ' ' || h[end + 1] == '\t')) {
			end++;
			while (end < hlen && h[end] != '\n')
				end++;
		}
		for (size_t n = 0; colon < eol && h[colon] == ':' && n < NELEM(servers); n++)
			for (size_t k = 0; k < SIGS_MAX && servers[n].sig[k].field; k++) {
				const struct sig *g = &servers[n].sig[k];
				const char *val;

				if (hit[n][k] || lc[(unsigned char)h[i]] !=
				    lc[(unsigned char)g->field[0]] || strlen(g->field) != colon - i ||
				    strncasecmp(h + i, g->field, colon - i) != 0)
					continue;
				if (!have) {
					buf_reset(&v);
					squeeze(h + colon + 1, end - colon - 1, &v);
					have = 1;
				}
				val = buf_str(&v);
				hit[n][k] = g->how == SIG_PRESENT ||
				    (g->how == SIG_EQUAL && strcmp(val, g->word) == 0) ||
				    (g->how == SIG_PREFIX &&
				    strncmp(val, g->word, strlen(g->word)) == 0) ||
				    (g->how == SIG_HAS && strstr(val, g->word) != NULL);
			}
		i = end + 1;
	}
	for (size_t n = 0; n < NELEM(servers) && found == NULL; n++) {
		int c = 0;

		for (size_t k = 0; k < SIGS_MAX; k++)
			c += hit[n][k];
		if (c >= servers[n].need)
			found = &servers[n];
	}
	buf_free(&v);
	return found;
}

/* server_said - the reason a server's own words in t give, or -1 */
static int
server_said(const struct server *s, const char *t)
{
	for (const struct said *w = s->said; t && w->words; w++)
		if (strstr(t, w->words))
			return (int)w->r;
	return -1;
}

/* server_code - the reason a server gives its status st, or -1 */
static int
server_code(const struct server *s, const char *st)
{
	for (const struct said *w = s->codes; w->words; w++) {
		size_t i = 0;

		while (w->words[i] && st[i] && (w->words[i] == st[i] ||
		    (w->words[i] == '?' && isdigit((unsigned char)st[i]))))
			i++;
		if (w->words[i] == '\0' && st[i] == '\0')
			return (int)w->r;
	}
	return -1;
}

/* the order in which the words and status settle a reason (decide()'s
 * first pass): the position of r, or -1 when that pass never gives it */
static int
first_pass_rank(enum classify_reason r)
{
	static const enum classify_reason order[] = { R_MAILBOXFULL, R_MESGTOOBIG,
		R_EXCEEDLIMIT, R_SUSPEND, R_HASMOVED, R_NORELAYING, R_AUTHFAILURE,
		R_USERUNKNOWN, R_FILTERED, R_REQUIREPTR, R_NOTCOMPLIANTRFC, R_BADREPUTATION,
		R_REJECTED, R_HOSTUNKNOWN, R_SPAMDETECTED, R_SPEEDING, R_TOOMANYCONN, R_BLOCKED };

	for (size_t i = 0; i < NELEM(order); i++)
		if (order[i] == r)
			return (int)i;
	return -1;
}

/* server_reason - a server's reason s against the one the words and
 * status gave (g): a reason no second look changes stands; else what the
 * words settle first */
static enum classify_reason
server_reason(enum classify_reason s, enum classify_reason g)
{
	int gs = first_pass_rank(g), ss = first_pass_rank(s);

	if (!reason_retry(s))
		return s;
	if (gs >= 0 && (ss < 0 || gs < ss))
		return g;
	return s;
}

/* what a provider's codes are read from: a recipient's diagnostic, its
 * status, its reply code (0: none) and the SMTP command it answered */
struct refusal {
	const char *diag, *status;
	int	 reply;
	enum smtp_cmd cmd;
};

/*
 * orange_code - Orange's (France Telecom's) refusals carry a code such as
 * "LPN007_416" or "OFR004_201" whose last three digits name the cause; the
 * causes as Orange documents them.  R_N when t has no such code; R_UNDEFINED
 * for a code that names none ("try later").
 */
static enum classify_reason
orange_code(const struct refusal *rq)
{
	const char *t = rq->diag, *status = rq->status;
	static const struct { int code; enum classify_reason r; } map[] = {
		{ 101, R_BLOCKED }, { 102, R_BLOCKED }, { 103, R_BLOCKED }, { 104, R_TOOMANYCONN },
		{ 305, R_SECURITYERROR }, { 401, R_AUTHFAILURE }, { 402, R_SECURITYERROR },
		{ 403, R_REJECTED }, { 405, R_REJECTED }, { 415, R_REJECTED },
		{ 416, R_USERUNKNOWN }, { 417, R_MAILBOXFULL }, { 420, R_SUSPEND },
		{ 421, R_REJECTED }, { 426, R_SUSPEND }, { 505, R_SYSTEMERROR },
		{ 506, R_SPAMDETECTED }, { 510, R_BLOCKED }, { 514, R_MESGTOOBIG },
		{ 517, R_AUTHFAILURE }, { 630, R_POLICYVIOLATION }, { 999, R_BLOCKED },
	};
	static const char *const prefixes[] = { "LPNAAA", "LPN", "OFR", "OUK" };

	(void)status;	/* the codes say it all */
	for (const char *p = t; p && *p; p++) {
		for (size_t i = 0; i < NELEM(prefixes); i++) {
			size_t n = strlen(prefixes[i]);
			const char *q = p + n, *d;
			int code;

			if (strncasecmp(p, prefixes[i], n) != 0 ||
			    (p > t && isalnum((unsigned char)p[-1])))
				continue;
			/* _ddd, or ddd_ddd / ddd-ddd */
			if (*q == '_')
				d = q + 1;
			else if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]) &&
			    isdigit((unsigned char)q[2]) && (q[3] == '_' || q[3] == '-'))
				d = q + 4;
			else
				continue;
			if (!isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
			    !isdigit((unsigned char)d[2]) || isalnum((unsigned char)d[3]))
				continue;
			code = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
			for (size_t k = 0; k < NELEM(map); k++)
				if (map[k].code == code)
					return map[k].r;
			return R_UNDEFINED;
		}
	}
	return R_N;
}

/*
 * Receiving hosts: some big mailbox providers refuse in their own words or
 * codes, documented on their postmaster pages ("AUP#1330", "IB506",
 * "LPN007_416").  A provider is known by its MX names in the report (the
 * Remote-MTA, "host ... said") or by the recipient's domain; its words
 * are compared case-insensitively; its codes by a function.
 */
typedef enum classify_reason (*code_fn)(const struct refusal *);

struct rhost {
	const char *hosts[4];	/* in a remote host's name */
	const struct said *said;
	code_fn	 code;		/* R_N: no code */
};

static const struct said rh_apple[] = { { "s dmarc policy", R_AUTHFAILURE, 0 },
	{ "blocked for failing both spf and dkim autentication checks", R_AUTHFAILURE, 0 },
	{ "rejected due to having a domain present in the spamhaus", R_BLOCKED, 0 },
	{ "rejected due to listing in spamhaus", R_BLOCKED, 0 },
	{ "blocked - see https://support.proofpoint.com/dnsbl-lookup", R_BLOCKED, 0 },
	{ "not accepting connections", R_BLOCKED, 0 },
	{ "recipient no longer on server", R_HASMOVED, 0 }, { "user is over quota", R_MAILBOXFULL, 0 },
	{ "relay access denied", R_NORELAYING, 0 },
	{ "host/domain does not accept mail", R_NOTACCEPT, 0 },
	{ "due to local policy", R_POLICYVIOLATION, 0 }, { "sender address rejected", R_REJECTED, 0 },
	{ "due to excessive volume", R_SPEEDING, 0 }, { "inactive email address", R_USERUNKNOWN, 0 },
	{ "user does not exist", R_USERUNKNOWN, 0 }, { "unknown or illegal alias", R_USERUNKNOWN, 0 },
	{ NULL, 0, 0 } };
static const struct said rh_cox[] = { { "cox too many bad commands from", R_BLOCKED, 0 },
	{ "too many invalid recipients", R_BLOCKED, 0 },
	{ "dns check failure - try again later", R_REQUIREPTR, 0 },
	{ "rejected - no rdns", R_REQUIREPTR, 0 },
	{ "esmtp no data before greeting", R_POLICYVIOLATION, 0 },
	{ "attachment extension is forbidden", R_POLICYVIOLATION, 0 },
	{ "sender rejected", R_REJECTED, 0 },
	{ "esmtp server temporarily not available", R_SYSTEMERROR, 0 },
	{ "too many sessions from", R_TOOMANYCONN, 0 },
	{ "requested action aborted: try again later", R_TOOMANYCONN, 0 },
	{ "message threshold exceeded", R_TOOMANYCONN, 0 },
	{ "recipient rejected", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };
static const struct said rh_godaddy[] = { { "rbl reject", R_BLOCKED, 0 },
	{ "www.spamhaus.org/query/bl?ip=", R_BLOCKED, 0 },
	{ "has been in the queue too long", R_EXPIRED, 0 }, { "delivery timeout", R_EXPIRED, 0 },
	{ "account storage limit", R_MAILBOXFULL, 0 },
	{ "message rejected for spam or virus content", R_SPAMDETECTED, 0 },
	{ "account disabled", R_SUSPEND, 0 }, { "message is looping", R_SYSTEMERROR, 0 },
	{ "recipient not found", R_USERUNKNOWN, 0 }, { "account does not exist", R_USERUNKNOWN, 0 },
	{ NULL, 0, 0 } };
static const struct said rh_kddi[] = { { "550 : user unknown", R_FILTERED, 0 },
	{ ">: user unknown", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };
static const struct said rh_mimecast[] = {
	{ "spf sender invalid - envelope rejected", R_AUTHFAILURE, 550 },
	{ "dkim sender invalid - envelope rejected", R_AUTHFAILURE, 550 },
	{ "dmarc sender invalid - envelope rejected", R_AUTHFAILURE, 550 },
	{ "internal resources are temporarily unavailable", R_BADREPUTATION, 451 },
	{ "local ct ip reputation - (reject)", R_BADREPUTATION, 550 },
	{ "sender address blocked", R_BLOCKED, 421 },
	{ "recipient temporarily unavailable", R_BLOCKED, 451 },
	{ "ip temporarily blacklisted", R_BLOCKED, 451 },
	{ "journal messages past the expiration", R_EXPIRED, 550 },
	{ "maximum email size exceeded", R_MESGTOOBIG, 554 },
	{ "the incorrect hostname used for inbounds", R_NETWORKERROR, 451 },
	{ "the incorrect hostname used for inbounds", R_NETWORKERROR, 550 },
	{ "mail loop detected", R_NETWORKERROR, 554 },
	{ "open relay not allowed", R_NORELAYING, 451 },
	{ "open relay is not allowed", R_NORELAYING, 451 },
	{ "account inbounds disabled", R_NOTACCEPT, 451 },
	{ "account outbounds disabled", R_ONHOLD, 451 },
	{ "hostname is not authorized", R_ONHOLD, 451 },
	{ "journal message past expiration", R_ONHOLD, 550 },
	{ "anti-spoofing policy - inbound not allowed", R_POLICYVIOLATION, 550 },
	{ "rejected by header-based anti-spoofing policy", R_POLICYVIOLATION, 550 },
	{ "message bounced due to content examination policy", R_POLICYVIOLATION, 550 },
	{ "host network not allowed", R_POLICYVIOLATION, 554 },
	{ "host network, not allowed", R_POLICYVIOLATION, 554 },
	{ "administrative prohibition envelope blocked", R_REJECTED, 550 },
	{ "envelope blocked - user entry", R_REJECTED, 550 },
	{ "envelope blocked - user domain entry", R_REJECTED, 550 },
	{ "rejected by header-based manually blocked senders", R_REJECTED, 550 },
	{ "rejected by header-based blocked senders", R_REJECTED, 550 },
	{ "envelope rejected - block policy for envelope from address", R_REJECTED, 550 },
	{ "incorrect authentication data", R_SECURITYERROR, 535 },
	{ "submitter failed to disabled", R_SECURITYERROR, 550 },
	{ "submitter failed to authenticate", R_SECURITYERROR, 550 },
	{ "this route requires encryption (tls)", R_SECURITYERROR, 553 },
	{ "this route requires tls version 1.2 or greater", R_SECURITYERROR, 553 },
	{ "this route requires high-strength ciphers", R_SECURITYERROR, 553 },
	{ "configuration is invalid for this certificate", R_SECURITYERROR, 554 },
	{ "unable to process connection at this time", R_SYSTEMERROR, 451 },
	{ "message ended early", R_SYSTEMERROR, 451 },
	{ "unable to process command", R_SYSTEMERROR, 451 },
	{ "unable to process an email at this time", R_SYSTEMERROR, 451 },
	{ "account service is temporarily unavailable", R_TOOMANYCONN, 451 },
	{ "too many recipients", R_TOOMANYCONN, 452 },
	{ "exceeding outbound thread limit", R_TOOMANYCONN, 550 },
	{ "invalid address", R_USERUNKNOWN, 501 }, { "user unknown", R_USERUNKNOWN, 503 },
	{ "invalid recipient", R_USERUNKNOWN, 550 },
	{ "email rejected due to security policies", R_VIRUSDETECTED, 554 }, { NULL, 0, 0 } };
static const struct said rh_tencent[] = { { "spf check failed", R_AUTHFAILURE, 0 },
	{ "dmarc check failed", R_AUTHFAILURE, 0 }, { "suspected bounce attacks", R_BLOCKED, 0 },
	{ "suspected spam ip", R_BLOCKED, 0 }, { "connection denied", R_BLOCKED, 0 },
	{ "message too large", R_MESGTOOBIG, 0 },
	/* before "suspected spam", which it begins with */
	{ "suspected spam", R_REJECTED, 0 }, { "mail is rejected by recipients", R_REJECTED, 0 },
	{ "mailbox unavailable or access denined", R_SPEEDING, 0 },
	{ "is a deactivated mailbox", R_SUSPEND, 0 }, { "bad address syntax", R_SYNTAXERROR, 0 },
	{ "frequency limited", R_TOOMANYCONN, 0 }, { "mailbox not found", R_USERUNKNOWN, 0 },
	{ NULL, 0, 0 } };
static const struct said rh_yahoo[] = {
	{ "yahoo requires all senders to authenticate with either spf or dkim", R_AUTHFAILURE, 0 },
	{ " because the ip is in spamhaus's list;", R_BLOCKED, 0 },
	{ "not accepted from ip addresses on spamhaus xbl", R_BLOCKED, 0 },
	{ "relaying denied for ", R_NORELAYING, 0 },
	{ "headers are not rfc compliant", R_NOTCOMPLIANTRFC, 0 },
	{ "not accepted for policy reasons", R_POLICYVIOLATION, 0 },
	{ "temporarily deferred due to unexpected volume or user complaints", R_REJECTED, 0 },
	{ "due to unresolvable rfc.5321 domain", R_REJECTED, 0 },
	{ " will be permanently deferred", R_REJECTED, 0 },
	{ "user is receiving mail too quickly", R_SPEEDING, 0 },
	{ " is no longer valid.", R_SUSPEND, 0 }, { "this mailbox is disabled", R_SUSPEND, 0 },
	{ "syntax error in parameters or arguments", R_SYNTAXERROR, 0 },
	{ "max message per connection reached", R_TOOMANYCONN, 0 },
	{ "dd this user doesn't have a ", R_USERUNKNOWN, 0 },
	{ "mailbox not found", R_USERUNKNOWN, 0 }, { NULL, 0, 0 } };
static const struct said rh_none[] = { { NULL, 0, 0 } };

/* the digits after s in t (at most 4) as a number, or -1 */
static int
code_after(const char *t, const char *s)
{
	const char *p = strcasestr(t, s);
	int n = 0, k = 0;

	if (p == NULL)
		return -1;
	for (p += strlen(s); *p && !isdigit((unsigned char)*p) && k < 16; p++, k++)
		if (!isalpha((unsigned char)*p) && *p != '-')
			return -1;
	for (k = 0; isdigit((unsigned char)*p) && k < 4; p++, k++)
		n = n * 10 + (*p - '0');
	return k ? n : -1;
}

/* Spectrum (Charter): "AUP#1330" and the like, by range */
static enum classify_reason
spectrum_code(const struct refusal *rq)
{
	const char *t = rq->diag, *status = rq->status;
	static const struct { int lo, hi; enum classify_reason r; } map[] = {
		{ 1000, 1000, R_BLOCKED }, { 1010, 1010, R_REJECTED }, { 1020, 1080, R_REJECTED },
		{ 1090, 1090, R_SYSTEMERROR }, { 1100, 1150, R_REQUIREPTR },
		{ 1160, 1190, R_POLICYVIOLATION }, { 1200, 1250, R_BLOCKED },
		{ 1260, 1260, R_NETWORKERROR }, { 1300, 1340, R_TOOMANYCONN },
		{ 1350, 1490, R_SPEEDING }, { 1500, 1500, R_REJECTED }, { 1520, 1520, R_REJECTED },
		{ 1530, 1530, R_MESGTOOBIG }, { 1540, 1550, R_SPEEDING },
		{ 1560, 1560, R_POLICYVIOLATION }, { 1580, 1580, R_SPEEDING },
	};
	int n = code_after(t, "AUP#");

	(void)status;	/* the codes say it all */
	for (size_t i = 0; n >= 0 && i < NELEM(map); i++)
		if (n >= map[i].lo && n <= map[i].hi)
			return map[i].r;
	return R_N;
}

/* Cox: "AUP#CXBL" and the like */
static enum classify_reason
cox_code(const struct refusal *rq)
{
	const char *t = rq->diag, *status = rq->status;
	static const struct { const char *c; enum classify_reason r; } map[] = {
		{ "CXBL", R_BLOCKED }, { "CXDNS", R_REQUIREPTR }, { "CXSNDR", R_AUTHFAILURE },
		{ "CXSMTP", R_REJECTED }, { "CXCNCT", R_TOOMANYCONN }, { "CXMXRT", R_TOOMANYCONN },
		{ "CDRBL", R_BLOCKED }, { "CXTHRT", R_SECURITYERROR }, { "CXMJ", R_SECURITYERROR },
		{ "IPBL", R_BLOCKED }, { "URLBL", R_SPAMDETECTED },
	};
	const char *p = strstr(t, "AUP#");
	size_t n = 0;

	(void)status;	/* the codes say it all */
	if (p == NULL)
		return R_N;
	p += 4;
	while (isalnum((unsigned char)p[n]))
		n++;
	for (size_t i = 0; i < NELEM(map); i++) {
		size_t k = strlen(map[i].c);

		/* the IPBL and URLBL families: every code of them */
		if (n >= k && strncmp(p, map[i].c, k) == 0 && (n == k || map[i].c[0] == 'I' ||
		    map[i].c[0] == 'U'))
			return map[i].r;
	}
	return R_N;
}

/* GoDaddy: " IB506" and the like */
static enum classify_reason
godaddy_code(const struct refusal *rq)
{
	const char *t = rq->diag, *status = rq->status;
	static const struct { const char *c; enum classify_reason r; } map[] = {
		{ "IB401", R_SECURITYERROR }, { "IB501", R_NOTCOMPLIANTRFC },
		{ "IB502", R_NOTCOMPLIANTRFC }, { "IB506", R_REJECTED }, { "IB508", R_AUTHFAILURE },
		{ "IB108", R_REQUIREPTR }, { "IB212", R_SPAMDETECTED }, { "IB705", R_VIRUSDETECTED },
		{ "IB605", R_TOOMANYCONN }, { "IB007", R_TOOMANYCONN }, { "IB101", R_SPEEDING },
		{ "IB110", R_BLOCKED }, { "IB111", R_BLOCKED }, { "IB112", R_BLOCKED },
		{ "IB113", R_BLOCKED }, { "IB504", R_SPEEDING }, { "IB510", R_SPEEDING },
		{ "IB607", R_SPEEDING }, { "IB103", R_BADREPUTATION }, { "IB104", R_BLOCKED },
		{ "IB105", R_BLOCKED }, { "IB106", R_BLOCKED },
	};
	const char *p = strstr(t, " IB");

	(void)status;	/* the codes say it all */
	for (size_t i = 0; p && i < NELEM(map); i++)
		if (strncmp(p + 1, map[i].c, 5) == 0)
			return map[i].r;
	return R_N;
}

/* i.ua: a link to ".i.ua/err/N" */
static enum classify_reason
iua_code(const struct refusal *rq)
{
	const char *t = rq->diag, *status = rq->status;
	static const enum classify_reason map[] = { R_N, R_NORELAYING, R_USERUNKNOWN,
		R_SUSPEND, R_MAILBOXFULL, R_TOOMANYCONN, R_NORELAYING, R_BLOCKED, R_REJECTED,
		R_BLOCKED, R_FILTERED };
	int n = code_after(t, ".i.ua/err/");

	(void)status;	/* the codes say it all */
	return n > 0 && n < (int)NELEM(map) ? map[n] : R_N;
}

/* Microsoft (Outlook.com, Office 365 as a receiver): a status and the
 * words that go with it, as Microsoft's NDR documentation pairs them;
 * "5.7." with a range: the last number in it */
static const struct { const char *st; short lo, hi; const char *words; enum classify_reason r; }
    ms_said[] = {
	{ "4.7.26", 0, 0, "must pass either spf or dkim validation, this message is not signed", R_AUTHFAILURE },
	{ "4.7.323", 0, 0, "tlsa-invalid: The domain failed dane validation", R_AUTHFAILURE },
	{ "5.7.323", 0, 0, "tlsa-invalid: The domain failed dane validation", R_AUTHFAILURE },
	{ "4.7.324", 0, 0, "dnssec-invalid: destination domain returned invalid dnssec records", R_AUTHFAILURE },
	{ "5.7.324", 0, 0, "dnssec-invalid: destination domain returned invalid dnssec records", R_AUTHFAILURE },
	{ "4.7.325", 0, 0, "certificate-host-mismatch: remote certificate must have a common name or subject alternative name matching the hostname (dane)", R_AUTHFAILURE },
	{ "5.7.325", 0, 0, "certificate-host-mismatch: remote certificate must have a common name or subject alternative name matching the hostname (dane)", R_AUTHFAILURE },
	{ "5.7.23", 0, 0, "the message was rejected because of sender policy framework violation", R_AUTHFAILURE },
	{ "5.7.322", 0, 0, "certificate-expired: destination mail server's certificate is expired", R_AUTHFAILURE },
	{ "5.7.509", 0, 0, "does not pass dmarc verification", R_AUTHFAILURE },
	{ "4.7.650", 0, 0, "has been temporarily rate limited due to ip reputation", R_BADREPUTATION },
	{ "4.4.2", 0, 0, "connection dropped", R_BLOCKED },
	{ "4.7.", 850, 899, "access denied, please try again later", R_BLOCKED },
	{ "5.7.25", 0, 0, "must have a reverse dns record", R_BLOCKED },
	{ "5.7.506", 0, 0, "access denied, bad helo", R_BLOCKED },
	{ "5.7.507", 0, 0, "access denied, rejected by recipient", R_BLOCKED },
	{ "5.7.510", 0, 0, "does not accept email over ipv6", R_BLOCKED },
	{ "5.7.511", 0, 0, "access denied, banned sender", R_BLOCKED },
	{ "5.7.513", 0, 0, "using customer block list", R_BLOCKED },
	{ "5.7.", 606, 649, "access denied, banned sending ip ", R_BLOCKED },
	{ "4.7.", 500, 699, "access denied, please try again later", R_BLOCKED },
	{ "5.5.4", 0, 0, "invalid domain name", R_BLOCKED },
	{ "5.7.51", 0, 0, "restrictdomainstoipaddresses or restrictdomainstocertificate", R_BLOCKED },
	{ "5.7.1", 0, 0, "part of their network is on our block list (s3150)", R_BLOCKED },
	{ "5.3.0", 0, 0, "too many related errors", R_CONTENTERROR },
	{ "5.6.11", 0, 0, "invalid characters", R_CONTENTERROR },
	{ "5.4.11", 0, 0, "agent generated message depth exceeded", R_CONTENTERROR },
	{ "5.5.6", 0, 0, "invalid message content", R_CONTENTERROR },
	{ "5.2.3", 0, 0, "resolver.rst.recipsizelimit; message too large for this recipient", R_EXCEEDLIMIT },
	{ "4.4.1", 0, 0, "connection timed out", R_EXPIRED },
	{ "4.4.7", 0, 0, "message delayed", R_EXPIRED },
	{ "4.4.7", 0, 0, "queue expired; message expired", R_EXPIRED },
	{ "4.4.7", 0, 0, "message expired", R_EXPIRED },
	{ "5.4.300", 0, 0, "message expired", R_EXPIRED },
	{ "5.2.2", 0, 0, "mailbox full", R_MAILBOXFULL },
	{ "5.3.4", 0, 0, "message size exceeds fixed maximum message size", R_MESGTOOBIG },
	{ "5.3.4", 0, 0, "message too big for system", R_MESGTOOBIG },
	{ "5.4.4", 0, 0, "smtpsend.dns.nonexistentdomain; nonexistent domain", R_NETWORKERROR },
	{ "5.4.6", 0, 0, "hop count exceeded - possible mail loop", R_NETWORKERROR },
	{ "4.4.316", 0, 0, "connection refused", R_NETWORKERROR },
	{ "5.4.4", 0, 0, "invalid arguments", R_NETWORKERROR },
	{ "5.4.6", 0, 0, "routing loop detected", R_NETWORKERROR },
	{ "5.4.14", 0, 0, "routing loop detected", R_NETWORKERROR },
	{ "5.7.1", 0, 0, "unable to relay", R_NORELAYING },
	{ "5.7.1", 0, 0, "client was not authenticated", R_NORELAYING },
	{ "5.4.1", 0, 0, "relay access denied", R_NORELAYING },
	{ "5.7.1", 0, 0, "unable to relay", R_NORELAYING },
	{ "5.7.64", 0, 0, "tenantattribution; relay access denied", R_NORELAYING },
	{ "5.4.310", 0, 0, "does not exist", R_NORELAYING },
	{ "4.3.2", 0, 0, "system not accepting network messages", R_NOTACCEPT },
	{ "4.4.4", 0, 0, "hosted tenant which has no mail-enabled subscriptions", R_NOTACCEPT },
	{ "5.3.2", 0, 0, "storedrv.deliver: missing or bad storedriver mdb properties", R_NOTACCEPT },
	{ "5.0.350", 0, 0, "x-dg-ref header is too long", R_POLICYVIOLATION },
	{ "5.0.350", 0, 0, "requested action not taken: policy violation detected (as345)", R_POLICYVIOLATION },
	{ "5.7.", 900, 999, "delivery not authorized, message refused", R_POLICYVIOLATION },
	{ "5.1.7", 0, 0, "invalid address", R_REJECTED },
	{ "5.1.7", 0, 0, "unknown sender address", R_REJECTED },
	{ "5.1.0", 0, 0, "sender denied", R_REJECTED },
	{ "5.1.8", 0, 0, "access denied, bad outbound sender", R_REJECTED },
	{ "5.7.1", 0, 0, "delivery not authorized", R_REJECTED },
	{ "5.7.12", 0, 0, "sender was not authenticated by organization", R_REJECTED },
	{ "5.7.124", 0, 0, "sender not in allowed-senders list", R_REJECTED },
	{ "5.7.133", 0, 0, "sender not authenticated for group", R_REJECTED },
	{ "5.7.134", 0, 0, "sender was not authenticated for mailbox", R_REJECTED },
	{ "5.7.13", 0, 0, "sender was not authenticated for public folder", R_REJECTED },
	{ "5.7.135", 0, 0, "sender was not authenticated for public folder", R_REJECTED },
	{ "5.7.136", 0, 0, "sender was not authenticated", R_REJECTED },
	{ "5.7.", 501, 503, "access denied, spam abuse detected", R_REJECTED },
	{ "5.7.512", 0, 0, "access denied, message must be rfc 5322 section 3.6.2 compliant", R_REJECTED },
	{ "5.7.750", 0, 0, "service unavailable. client blocked from sending from unregistered domains", R_REJECTED },
	{ "5.7.", 501, 503, "access denied, banned sender", R_REJECTED },
	{ "5.7.3", 0, 0, "cannot achieve exchange server authentication", R_SECURITYERROR },
	{ "5.7.3", 0, 0, "not authorized", R_SECURITYERROR },
	{ "4.4.317", 0, 0, "starttls is required to send mail", R_SECURITYERROR },
	{ "5.4.317", 0, 0, "starttls is required to send mail", R_SECURITYERROR },
	{ "4.7.321", 0, 0, "starttls-not-supported: destination mail server must support tls to receive mail", R_SECURITYERROR },
	{ "5.7.321", 0, 0, "starttls-not-supported: destination mail server must support tls to receive mail", R_SECURITYERROR },
	{ "5.7.1", 0, 0, "client was not authenticated", R_SECURITYERROR },
	{ "5.7.57", 0, 0, "client was not authenticated to send anonymous mail during mail from", R_SECURITYERROR },
	{ "5.2.1", 0, 0, "content filter agent quarantined this message", R_SPAMDETECTED },
	{ "4.3.2", 0, 0, "storedrv.deliver; recipient thread limit exceeded", R_SPEEDING },
	{ "5.1.90", 0, 0, "your message can't be sent because you've reached your daily limit for message recipients", R_SPEEDING },
	{ "5.2.2", 0, 0, "submission quota exceeded", R_SPEEDING },
	{ "5.2.121", 0, 0, "recipient's per hour message receive limit from specific sender exceeded", R_SPEEDING },
	{ "5.2.122", 0, 0, "recipient's per hour message receive limit exceeded", R_SPEEDING },
	{ "5.7.508", 0, 0, "has exceeded permitted limits within", R_SPEEDING },
	{ "5.7.", 700, 749, "access denied, tenant has exceeded threshold", R_SPEEDING },
	{ "5.7.", 700, 749, "access denied, traffic not accepted from this ip", R_SPEEDING },
	{ "5.7.504", 0, 0, "recipient address rejected: access denied", R_SUSPEND },
	{ "5.7.505", 0, 0, "access denied, banned recipient", R_SUSPEND },
	{ "5.2.1", 0, 0, "mailbox cannot be accessed", R_SUSPEND },
	{ "5.3.3", 0, 0, "unrecognized command", R_SYNTAXERROR },
	{ "5.5.2", 0, 0, "send hello first", R_SYNTAXERROR },
	{ "4.3.2", 0, 0, "service not available", R_SYSTEMERROR },
	{ "4.3.2", 0, 0, "service not active", R_SYSTEMERROR },
	{ "5.3.5", 0, 0, "system incorrectly configured", R_SYSTEMERROR },
	{ "5.3.190", 0, 0, "journaling on-premises messages to microsoft 365 or office 365 not supported when journaling archive is disabled", R_SYSTEMERROR },
	{ "5.0.0", 0, 0, "helo / ehlo requires domain address", R_SYSTEMERROR },
	{ "5.1.4", 0, 0, "destination mailbox address ambiguous", R_SYSTEMERROR },
	{ "5.2.4", 0, 0, "mailing list expansion problem", R_SYSTEMERROR },
	{ "5.2.14", 0, 0, "misconfigured forwarding address", R_SYSTEMERROR },
	{ "4.4.3", 0, 0, "temporary server error. please try again later attr18", R_SYSTEMERROR },
	{ "4.7.0", 0, 0, "temporary server error. please try again later. prx4 nexthop:", R_SYSTEMERROR },
	{ "4.4.24", 0, 0, "message failed to be replicated: insufficient system resource:", R_SYSTEMERROR },
	{ "4.4.25", 0, 0, "message failed to be replicated: no healthy secondary server available to accept replica at this time.", R_SYSTEMERROR },
	{ "4.4.28", 0, 0, "message failed to be replicated: the operation was canceled", R_SYSTEMERROR },
	{ "4.4.318", 0, 0, "(suspiciousremoteservererror)", R_SYSTEMERROR },
	{ "5.4.318", 0, 0, "(suspiciousremoteservererror)", R_SYSTEMERROR },
	{ "4.7.500", 0, 0, "server busy. please try again later from ", R_SYSTEMERROR },
	{ "4.7.700", 0, 0, "pfa agent busy, please try again.", R_SYSTEMERROR },
	{ "4.3.1", 0, 0, "insufficient system resources", R_SYSTEMFULL },
	{ "5.5.3", 0, 0, "too many recipients", R_TOOMANYCONN },
	{ "4.5.3", 0, 0, "too many recipients", R_TOOMANYCONN },
	{ "5.2.122", 0, 0, "the recipient has exceeded their limit for", R_TOOMANYCONN },
	{ "5.1.1", 0, 0, "resolver.adr.exrecipnotfound; not found", R_USERUNKNOWN },
	{ "5.1.1", 0, 0, "user unknown", R_USERUNKNOWN },
	{ "5.1.3", 0, 0, "storedrv.submit; invalid recipient address", R_USERUNKNOWN },
	{ "5.1.", 4, 5, "recipient address reserved by rfc 2606", R_USERUNKNOWN },
	{ "5.1.6", 0, 0, "recipient addresses in single label domains not accepted", R_USERUNKNOWN },
	{ "5.1.1", 0, 0, "bad destination mailbox address", R_USERUNKNOWN },
	{ "5.1.10", 0, 0, "recipient not found", R_USERUNKNOWN },
	{ "5.4.1", 0, 0, "recipient address rejected: access denied", R_USERUNKNOWN },
	{ "5.5.0", 0, 0, "requested action not taken: mailbox unavailable", R_USERUNKNOWN },
	{ "5.1.2", 0, 0, "invalid x.400 address", R_USERUNKNOWN },
};

static enum classify_reason
microsoft_code(const struct refusal *rq)
{
	const char *t = rq->diag, *status = rq->status;
	const char *last = strrchr(status, '.');
	int third = last ? atoi(last + 1) : -1;
	enum classify_reason r = R_N;
	buf_t l;

	if (status[0] != '4' && status[0] != '5')
		return R_N;
	buf_init(&l, CLASSIFY_DIAG_MAX * 2);
	lower(t, strlen(t), &l);
	for (size_t i = 0; i < NELEM(ms_said) && r == R_N; i++) {
		if (ms_said[i].lo == ms_said[i].hi ? strcmp(status, ms_said[i].st) != 0 :
		    strncmp(status, ms_said[i].st, strlen(ms_said[i].st)) != 0 ||
		    third < ms_said[i].lo || third > ms_said[i].hi)
			continue;
		/* compared as Microsoft writes them against the lower-cased
		 * reply: a capital in the table never matches (as in Sisimai) */
		if (strstr(buf_str(&l), ms_said[i].words))
			r = ms_said[i].r;
	}
	buf_free(&l);
	return r;
}

/* NTT docomo: its status and the command say more than its words
 * ("550 Unknown user" is its answer to an unknown user at RCPT and to a
 * filtered message after DATA alike) */
static enum classify_reason
docomo_code(const struct refusal *rq)
{
	static const struct said words[] = { { "552 too much mail data", R_MAILBOXFULL, 0 },
		{ "552 too many recipients", R_TOOMANYCONN, 0 },
		{ "503 bad sequence of commands", R_SYNTAXERROR, 0 },
		{ "504 command parameter not implemented", R_SYNTAXERROR, 0 }, { NULL, 0, 0 } };

	if (strcmp(rq->status, "5.1.1") == 0 || strcmp(rq->status, "5.0.911") == 0)
		return R_USERUNKNOWN;
	if (strcmp(rq->status, "5.2.0") == 0)
		return R_FILTERED;
	for (const struct said *w = words; w->words; w++)
		if (strcasestr(rq->diag, w->words))
			return w->r;
	if (strcmp(rq->status, "5.0.0") == 0 && rq->cmd == CMD_RCPT)
		return R_USERUNKNOWN;
	if (strcmp(rq->status, "5.0.0") == 0 && rq->cmd == CMD_DATA)
		return R_REJECTED;
	return R_N;
}

/* Google (Gmail, Workspace) as a receiver: its reply, status and words,
 * as its SMTP error reference pairs them (Sisimai's table); the reply
 * and the status are compared without their class (a 421 4.7.0 is also
 * said as 550 5.7.0) */
static const struct { short reply; const char *st, *words; enum classify_reason r; } google_said[] = {
	{ 451, "4.7.24", "the spf record of the sending domain", R_AUTHFAILURE },
	{ 421, "4.7.26", "senders to authenticate with either spf or dkim", R_AUTHFAILURE },
	{ 550, "5.7.26", "fails to pass spf checks for an spf record with a hard fail", R_AUTHFAILURE },
	{ 550, "5.7.26", "has an spf record with a hard fail policy", R_AUTHFAILURE },
	{ 451, "4.7.26", "is not accepted due to domain's dmarc policy", R_AUTHFAILURE },
	{ 550, "5.7.1", "fails to pass authentication checks", R_AUTHFAILURE },
	{ 550, "5.7.26", "fails to pass authentication checks", R_AUTHFAILURE },
	{ 421, "4.7.27", "senders to authenticate with spf", R_AUTHFAILURE },
	{ 421, "4.7.27", "senders to authenticate their email with spf", R_AUTHFAILURE },
	{ 421, "4.7.30", "senders to authenticate their email with dkim", R_AUTHFAILURE },
	{ 550, "5.7.30", "senders to authenticate with dkim", R_AUTHFAILURE },
	{ 421, "4.7.32", "aligned with either the authenticated spf or dkim", R_AUTHFAILURE },
	{ 421, "4.7.0", "very low reputation of the sending ip address", R_BADREPUTATION },
	{ 421, "4.7.0", "very low reputation of the sending domain", R_BADREPUTATION },
	{ 421, "4.7.0", "ip not in whitelist for rcpt domain", R_BLOCKED },
	{ 421, "4.7.0", "try again later, closing connection.", R_BLOCKED },
	{ 501, "5.5.4", "empty helo/ehlo argument not allowed", R_BLOCKED },
	{ 501, "5.5.4", "helo/ehlo argument is invalid", R_BLOCKED },
	{ 421, "4.7.0", "an unusual rate of unsolicited mail", R_BLOCKED },
	{ 421, "4.7.28", "an unusual rate of mail", R_BLOCKED },
	{ 550, "5.7.28", "an unusual rate of unsolicited mail", R_BLOCKED },
	{ 552, "5.2.3", "exceeded google's message size limits", R_EXCEEDLIMIT },
	{ 552, "5.3.4", "exceeds google's limit of limit attachments.", R_EXCEEDLIMIT },
	{ 552, "5.3.4", "your message exceeded google's message header size limits", R_EXCEEDLIMIT },
	{ 552, "5.3.4", "bytes per individual header size", R_EXCEEDLIMIT },
	{ 552, "5.3.4", "exceeds google's header name limit of", R_EXCEEDLIMIT },
	{ 552, "5.3.4", "exceeds google's message header size limit", R_EXCEEDLIMIT },
	{ 421, "4.7.0", "connection expired", R_EXPIRED },
	{ 451, "4.4.2", "timeout - closing connection", R_EXPIRED },
	{ 452, "4.2.2", "inbox is out of storage space", R_MAILBOXFULL },
	{ 452, "4.2.2", "is over quota", R_MAILBOXFULL },
	{ 550, "5.7.1", "email quota exceeded", R_MAILBOXFULL },
	{ 552, "5.3.4", "exceeded google's message size limits", R_MESGTOOBIG },
	{ 552, "5.3.4", "exceeds google's message size limit of", R_MESGTOOBIG },
	{ 554, "5.4.6", "message exceeded 50 hops", R_NETWORKERROR },
	{ 554, "5.6.0", "message exceeded 50 hops", R_NETWORKERROR },
	{ 550, "5.7.0", "mail relay denied", R_NORELAYING },
	{ 550, "5.7.1", "invalid credentials for relay", R_NORELAYING },
	{ 550, "5.7.1", "is not authorized to send email directly to our servers", R_NORELAYING },
	{ 550, "5.7.1", "missing a valid address in the from: header", R_NOTCOMPLIANTRFC },
	{ 550, "5.7.1", "multiple addresses in from: header are not accepted", R_NOTCOMPLIANTRFC },
	{ 550, "5.7.1", "is not rfc 5322 compliant", R_NOTCOMPLIANTRFC },
	{ 550, "5.7.1", "missing a valid message-id: header", R_NOTCOMPLIANTRFC },
	{ 550, "5.7.1", "contains a unicode character in a disallowed header", R_NOTCOMPLIANTRFC },
	{ 550, "5.7.1", "encoded-word syntax is not permitted", R_NOTCOMPLIANTRFC },
	{ 553, "5.1.7", "is not a valid rfc 5321 address", R_NOTCOMPLIANTRFC },
	{ 554, "5.6.0", "mail message is malformed", R_NOTCOMPLIANTRFC },
	{ 552, "5.7.0", "illegal attachment on your message", R_POLICYVIOLATION },
	{ 552, "5.7.0", "blocked because its content presents a potential security issue", R_POLICYVIOLATION },
	{ 550, "5.7.1", "you are sending to (or from) has a policy that prohibited", R_POLICYVIOLATION },
	{ 421, "4.7.28", "sending messages with the same message-id:", R_POLICYVIOLATION },
	{ 550, "5.7.0", "mail sending denied", R_REJECTED },
	{ 550, "5.7.1", "unauthenticated email is not accepted", R_REJECTED },
	{ 421, "4.7.0", "does not have a ptr record", R_REQUIREPTR },
	{ 421, "4.7.23", " have a ptr record, or the ptr record", R_REQUIREPTR },
	{ 550, "5.7.1", "does not meet ipv6 sending guidelines regarding ptr records and authentication", R_REQUIREPTR },
	{ 550, "5.7.25", "does not have a ptr record", R_REQUIREPTR },
	{ 550, "5.7.25", "does not match the ip address of the hostname", R_REQUIREPTR },
	{ 421, "4.7.0", "tls required for rcpt domain", R_SECURITYERROR },
	{ 454, "4.7.0", "too many login attempts", R_SECURITYERROR },
	{ 501, "5.5.2", "cannot decode response", R_SECURITYERROR },
	{ 503, "5.7.0", "no identity changes permitted", R_SECURITYERROR },
	{ 530, "5.5.1", "authentication required.", R_SECURITYERROR },
	{ 530, "5.7.0", "authentication required.", R_SECURITYERROR },
	{ 535, "5.7.1", "application-specific password required", R_SECURITYERROR },
	{ 535, "5.7.9", "application-specific password required", R_SECURITYERROR },
	{ 535, "5.7.1", "please log in with your web browser", R_SECURITYERROR },
	{ 534, "5.7.9", "please log in with your web browser", R_SECURITYERROR },
	{ 534, "5.7.14", "please log in through your web browser", R_SECURITYERROR },
	{ 535, "5.7.1", "username and password not accepted", R_SECURITYERROR },
	{ 535, "5.7.8", "username and password not accepted", R_SECURITYERROR },
	{ 421, "4.7.29", "senders to use tls/ssl for smtp", R_SECURITYERROR },
	{ 421, "4.7.0", "due to the nature of the content or the links within", R_SPAMDETECTED },
	{ 550, "5.7.1", "likely unsolicited mail", R_SPAMDETECTED },
	{ 450, "4.2.1", "is receiving mail too quickly", R_SPEEDING },
	{ 450, "4.2.1", "peak smtp relay limit exceeded for customer", R_SPEEDING },
	{ 450, "4.2.1", "rate that prevents additional messages from being delivered", R_SPEEDING },
	{ 550, "5.4.5", "daily sending quota exceeded", R_SPEEDING },
	{ 550, "5.4.5", "daily user sending limit exceeded", R_SPEEDING },
	{ 550, "5.4.5", "daily smtp relay limit exceeded for", R_SPEEDING },
	{ 550, "5.7.1", "daily smtp relay limit exceeded for", R_SPEEDING },
	{ 550, "5.7.1", "daily smtp relay sending limit exceeded for", R_SPEEDING },
	{ 550, "5.7.1", "this mail has been rate limited", R_SPEEDING },
	{ 550, "5.2.1", "account that you tried to reach is disabled", R_SUSPEND },
	{ 550, "5.2.1", "account that you tried to reach is inactive", R_SUSPEND },
	{ 451, "4.5.0", "smtp protocol violation", R_SYNTAXERROR },
	{ 525, "5.7.10", "smtp protocol violation", R_SYNTAXERROR },
	{ 535, "5.5.4", "optional argument not permitted", R_SYNTAXERROR },
	{ 454, "5.5.1", "starttls may not be repeated", R_SYNTAXERROR },
	{ 501, "5.7.11", "syntax error", R_SYNTAXERROR },
	{ 501, "5.5.2", "syntax error", R_SYNTAXERROR },
	{ 502, "5.5.1", "too many unrecognized commands, goodbye", R_SYNTAXERROR },
	{ 502, "5.5.1", "unimplemented command", R_SYNTAXERROR },
	{ 502, "5.5.1", "unrecognized command", R_SYNTAXERROR },
	{ 503, "5.5.1", "bad sequence of commands", R_SYNTAXERROR },
	{ 503, "5.5.1", "ehlo/helo first", R_SYNTAXERROR },
	{ 503, "5.5.1", "mail first", R_SYNTAXERROR },
	{ 503, "5.5.1", "rcpt first", R_SYNTAXERROR },
	{ 503, "5.5.1", "no data after bdat", R_SYNTAXERROR },
	{ 504, "5.7.4", "unrecognized authentication type", R_SYNTAXERROR },
	{ 504, "5.7.4", "xoauth is no longer supported", R_SYNTAXERROR },
	{ 530, "5.7.0", "must issue a starttls command first", R_SYNTAXERROR },
	{ 554, "5.7.0", "too many unauthenticated commands", R_SYNTAXERROR },
	{ 421, "4.3.0", "temporary system problem", R_SYSTEMERROR },
	{ 421, "4.7.0", "temporary system problem", R_SYSTEMERROR },
	{ 421, "4.4.5", "server busy", R_SYSTEMERROR },
	{ 451, "4.3.0", "multiple destination domains per transaction is unsupported", R_SYSTEMERROR },
	{ 451, "4.3.0", "mail server has temporarily rejected this message", R_SYSTEMERROR },
	{ 451, "4.3.0", "mail server temporarily rejected message", R_SYSTEMERROR },
	{ 452, "4.5.3", "domain policy size per transaction exceeded", R_SYSTEMERROR },
	{ 454, "4.7.0", "cannot authenticate due to temporary system problem", R_SYSTEMERROR },
	{ 452, "4.5.3", "your message has too many recipients", R_TOOMANYCONN },
	{ 550, "5.5.3", "too many recipients for this sender", R_TOOMANYCONN },
	{ 550, "5.1.1", "the email account that you tried to reach does not exist", R_USERUNKNOWN },
	{ 553, "5.1.2", "we weren't able to find the recipient domain", R_USERUNKNOWN },
	{ 553, "5.1.3", "is not a valid rfc 5321 address", R_USERUNKNOWN },
};

static enum classify_reason
google_code(const struct refusal *rq)
{
	if (rq->reply < 400 || rq->reply > 599 || (rq->status[0] != '4' && rq->status[0] != '5'))
		return R_N;
	for (size_t i = 0; i < NELEM(google_said); i++)
		if (google_said[i].reply % 100 == rq->reply % 100 &&
		    strcmp(google_said[i].st + 2, rq->status + 2) == 0 &&
		    strcasestr(rq->diag, google_said[i].words))
			return google_said[i].r;
	return R_N;
}

static const struct rhost rhosts[] = {
	{ { ".mail.icloud.com", ".apple.com", ".me.com" }, rh_apple, NULL },
	{ { "cox.net" }, rh_cox, cox_code },
	{ { ".laposte.net", ".orange.fr", ".wanadoo.fr" }, rh_none, orange_code },
	{ { "smtp.secureserver.net", "mailstore1.secureserver.net" }, rh_godaddy, godaddy_code },
	{ { ".email.ua" }, rh_none, iua_code },
	{ { ".ezweb.ne.jp", "msmx.au.com" }, rh_kddi, NULL },
	{ { ".mimecast.com" }, rh_mimecast, NULL },
	{ { "mfsmax.docomo.ne.jp" }, rh_none, docomo_code },
	{ { "aspmx.l.google.com", "gmail-smtp-in.l.google.com" }, rh_none, google_code },
	{ { "charter.net" }, rh_none, spectrum_code },
	{ { ".qq.com" }, rh_tencent, NULL },
	{ { ".yahoodns.net" }, rh_yahoo, NULL },
	{ { ".prod.outlook.com", ".protection.outlook.com" }, rh_none, microsoft_code },
};

/* rhost_of - the provider whose host names the report's text t (lower
 * case, or NULL) names, or whose name holds the domain of rcpt; NULL */
static const struct rhost *
rhost_of(const char *t, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	for (size_t i = 0; i < NELEM(rhosts); i++)
		for (size_t k = 0; k < NELEM(rhosts[i].hosts) && rhosts[i].hosts[k]; k++) {
			if (t && strstr(t, rhosts[i].hosts[k]))
				return &rhosts[i];
			if (at && at[1] && strcasestr(rhosts[i].hosts[k], at + 1))
				return &rhosts[i];
		}
	return NULL;
}

/* said_command - the SMTP command a diagnostic's reply answered, by its
 * words or, when it names none, the notification's (a) */
static enum smtp_cmd
said_command(const char *d, struct around *a)
{
	enum smtp_cmd c = smtp_command(d);

	return c != CMD_NONE ? c : around_command(a);
}

/* rhost_said - what the provider's words or codes in diag d say, or R_N */
static enum classify_reason
rhost_said(const struct rhost *h, const char *d, const char *status, int reply,
    enum smtp_cmd cmd)
{
	struct refusal q = { d, status, reply, cmd };
	enum classify_reason c = h->code ? h->code(&q) : R_N;

	if (c != R_N)
		return c;
	for (const struct said *w = h->said; w->words; w++)
		if ((w->reply == 0 || w->reply == reply) && strcasestr(d, w->words))
			return w->r;
	return R_N;
}

/* second_look - each recipient's reason as the reporting server (its own
 * words) and the receiving one (Orange's codes) mean it */
static void
second_look(classify_report_t *r, const struct server *srv, const struct ctx *c)
{
	const struct rhost *named;
	buf_t w, lw;
	size_t tcut;
	struct around ta;

	/* where a remote host is named: the DSN (Remote-MTA) and the
	 * notification's text, not the returned original (lw, lower case);
	 * w: the same squeezed, for a server's words, made when wanted */
	pthread_once(&phrase_once, phrase_index);	/* lc[] */
	buf_init(&w, TEXT_MAX);
	buf_init(&lw, TEXT_MAX);
	tcut = cut(buf_str(&c->text), c->text.len);
	/* the DSN's Remote-MTA when it names one (as Sisimai's rhost), else
	 * the notification's text ("host mx.example said"): not the sending
	 * side's hosts its other fields and quoted headers name */
	for (const char *l = buf_str(&c->dsn), *e = l + c->dsn.len, *nl; l < e; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(e - l))) == NULL)
			nl = e;
		if (starts_ci(l, "Remote-MTA:"))
			append(&lw, l, (size_t)(nl - l));
	}
	if (lw.len == 0)
		append(&lw, buf_str(&c->text), tcut);
	for (size_t i = 0; i < lw.len; i++)
		lw.data[i] = (char)lc[(unsigned char)lw.data[i]];
	named = rhost_of(buf_str(&lw), "");
	around_init(&ta, buf_str(&c->text));
	for (size_t i = 0; i < r->nrcpt; i++) {
		classify_rcpt_t *x = &r->rcpt[i];
		const char *d = buf_str(&x->diag);
		enum classify_reason g = x->reason, o;
		int s = srv ? server_said(srv, d) : -1;
		const struct rhost *rh = named ? named : rhost_of(NULL, x->address);
		enum smtp_cmd cmd = srv && srv->exim ? smtp_command(d) : CMD_NONE;

		/* a report of one: the server's words may stand anywhere in it */
		if (srv && s < 0 && r->nrcpt == 1) {
			squeeze(buf_str(&c->dsn), c->dsn.len, &w);
			squeeze(buf_str(&c->text), tcut, &w);
			s = server_said(srv, buf_str(&w));
		}
		if (srv && s < 0 && srv->codes)
			s = server_code(srv, x->status);
		/* Gmail: an exact status it quotes names the reason over its state
		 * (not one with a zero in it: "5.7.0" is no more exact) */
		if (s >= 0 && srv->status_wins && x->status[0] && strstr(x->status, ".0") == NULL &&
		    status_name(x->status) != R_UNDEFINED)
			s = (int)status_name(x->status);
		if (s >= 0)
			x->reason = server_reason((enum classify_reason)s, g);
		/* the receiving provider's word, where the server's leaves room */
		if ((s < 0 || reason_retry((enum classify_reason)s)) && rh &&
		    (o = rhost_said(rh, d, x->status, x->replycode, said_command(d, &ta))) != R_N)
			x->reason = o;
		/* Exim: a refused HELO is a block, whatever the words */
		if (cmd == CMD_HELO)
			x->reason = R_BLOCKED;
		if (x->derived && srv && srv->exim) {
			/* Exim: a refusal of MAIL FROM is on hold whatever the
			 * words say after; a timeout or a full mailbox is
			 * temporary; else the reply's class */
			int soft = x->replycode / 100 == 4 || x->reason == R_EXPIRED ||
			    x->reason == R_MAILBOXFULL;

			status_from_reason(cmd == CMD_MAIL ? R_ONHOLD : x->reason, soft,
			    x->status, sizeof x->status);
		} else if (x->derived && srv && srv->text_only)
			/* its recipient's line, not the note after it that the
			 * whole report is temporary */
			status_from_reason(x->reason, x->replycode / 100 == 4, x->status,
			    sizeof x->status);
		else if (x->derived)
			status_from_reason(x->reason, x->status[0] == '4' ||
			    x->replycode / 100 == 4, x->status, sizeof x->status);
		x->hard = hard_bounce(x->reason, x->status, x->replycode, d);
	}
	buf_free(&lw);
	buf_free(&w);
}

/* subject_get - the Subject, its RFC 2047 words decoded to UTF-8
 * ("=?UTF-8?Q?Fr=C3=A5nvaro...?=" is "Frånvaro..."), lower-cased: 1, or
 * 0 when there is none */
static int
subject_get(const char *h, size_t hlen, buf_t *out)
{
	buf_t v;
	char *dec = NULL;
	size_t idx = 0;
	int got;

	buf_init(&v, VALUE_MAX);
	if ((got = hdr_get(h, hlen, "Subject", 0, &v)) != 0) {
		if (strstr(buf_str(&v), "=?") && mailmime_encoded_phrase_parse("utf-8",
		    buf_str(&v), v.len, &idx, "utf-8", &dec) == MAILIMF_NO_ERROR && dec)
			lower(dec, strlen(dec), out);
		else
			lower(buf_str(&v), v.len, out);
		free(dec);
	}
	buf_free(&v);
	return got;
}

/* auto-reply by RFC 3834 and the common vacation forms */
static int
autoreply(const char *h, size_t hlen)
{
	static const char *const subjects[] = { "auto:", "automatic reply", "autoreply",
		"auto-reply", "auto reply", "automatische antwort", "out of office",
		"out of the office", "vacation", "away from", "abwesenheit", "poissa",
		"lomalla", "automaattinen vastaus", "frånvaro", "autosvar",
		"réponse automatique", "absence", "on leave", "respuesta automática", NULL };
	buf_t v;
	int yes = 0;

	buf_init(&v, VALUE_MAX);
	if (hdr_get(h, hlen, "Auto-Submitted", 0, &v) && starts_ci(buf_str(&v), "auto-replied"))
		yes = 1;
	else if (hdr_get(h, hlen, "X-Autoreply", 0, &v) || hdr_get(h, hlen, "X-Autorespond", 0,
	    &v) || hdr_get(h, hlen, "X-Autoresponder", 0, &v))
		yes = 1;
	else if (hdr_get(h, hlen, "Precedence", 0, &v) && starts_ci(buf_str(&v), "auto_reply"))
		yes = 1;
	else if (hdr_get(h, hlen, "X-Auto-Response-Suppress", 0, &v) &&
	    hdr_get(h, hlen, "Subject", 0, &v) && (starts_ci(buf_str(&v), "automatic reply") ||
	    starts_ci(buf_str(&v), "auto")))
		yes = 1;
	else {
		buf_t l;

		buf_init(&l, VALUE_MAX);
		if (subject_get(h, hlen, &l))
			for (const char *const *p = subjects; *p && !yes; p++)
				yes = strstr(buf_str(&l), *p) != NULL;
		buf_free(&l);
	}
	buf_free(&v);
	return yes;
}

/* a bounce in words: who sent it and what it is called */
static int
bounce_like(const char *h, size_t hlen, const buf_t *text)
{
	static const char *const from[] = { "mailer-daemon", "postmaster", "post_master",
		"mail delivery",
		"mail administrator", "mailer_daemon", "mail system", "mdaemon",
		"microsoftexchange", "bounce", NULL };
	static const char *const subj[] = { "undeliver", "delivery status", "returned mail",
		"delivery failure", "failure notice", "delivery notification", "not delivered",
		"could not be delivered", "failed", "mail delivery", "nondeliverable",
		"non-deliverable", "undelivered", "rejected", "delivery problem",
		"warning: could not", "returned to sender", "delivery error", "error", NULL };
	buf_t v, l;
	int yes = 0;

	buf_init(&v, VALUE_MAX);
	buf_init(&l, VALUE_MAX);
	if (hdr_get(h, hlen, "X-Failed-Recipients", 0, &v))
		yes = 1;
	if (!yes && hdr_get(h, hlen, "From", 0, &v)) {
		lower(buf_str(&v), v.len, &l);
		for (const char *const *p = from; *p && !yes; p++)
			yes = strstr(buf_str(&l), *p) != NULL;
	}
	if (!yes && subject_get(h, hlen, &l)) {
		for (const char *const *p = subj; *p && !yes; p++)
			yes = strstr(buf_str(&l), *p) != NULL;
	}
	if (!yes && text->len) {
		lower(text->data, text->len < 4096 ? text->len : 4096, &l);
		yes = strstr(buf_str(&l), "could not be delivered") ||
		    strstr(buf_str(&l), "undeliverable") ||
		    strstr(buf_str(&l), "delivery has failed") ||
		    strstr(buf_str(&l), "permanent error") ||
		    strstr(buf_str(&l), "delivery to the following recipient") ||
		    strstr(buf_str(&l), "error message below") ||
		    strstr(buf_str(&l), "invalid user address");
	}
	buf_free(&v);
	buf_free(&l);
	return yes;
}

/* sender_refused - a refusal whose first address is our own envelope
 * sender ("550 5.1.7 <bounces+...>: Sender address rejected: undeliverable
 * address: ... User unknown": the receiver's callout to our bounce
 * address failed) is about the sender, whatever its words say of an
 * unknown user: the reader is not held to it.  Sisimai, not knowing our
 * address, reads the words. */
static void
sender_refused(classify_rcpt_t *x, const char *bounce_local)
{
	const char *d = buf_str(&x->diag), *lt = d, *gt;
	char a[CLASSIFY_ADDR_MAX + 1], tok[CLASSIFY_TOKEN_MAX + 1];

	if (x->reason != R_USERUNKNOWN && x->reason != R_HOSTUNKNOWN)
		return;
	/* the address the reply is about: right after "550 " or "550 5.1.7 " */
	if (isdigit((unsigned char)lt[0]) && isdigit((unsigned char)lt[1]) &&
	    isdigit((unsigned char)lt[2]) && (lt[3] == ' ' || lt[3] == '-')) {
		lt += 4;
		if (isdigit((unsigned char)lt[0]) && lt[1] == '.')
			while (*lt && !isspace((unsigned char)*lt))
				lt++;
		while (*lt == ' ')
			lt++;
	}
	if (*lt != '<' || (gt = strchr(lt, '>')) == NULL || (size_t)(gt - lt) > CLASSIFY_ADDR_MAX)
		return;
	memcpy(a, lt + 1, (size_t)(gt - lt - 1));
	a[gt - lt - 1] = '\0';
	if (!classify_token_split(a, bounce_local, tok, sizeof tok))
		return;
	x->reason = R_REJECTED;
	x->hard = 0;
	if (x->derived)
		status_from_reason(x->reason, x->status[0] == '4', x->status, sizeof x->status);
}

/* the envelope's own: the token and where it points */
static void
addressed(classify_report_t *r, const char *h, size_t hlen, const classify_opts_t *o)
{
	static const char *const fields[] = { "Delivered-To", "X-Original-To", "Envelope-To",
		"To", "Cc" };
	char a[CLASSIFY_ADDR_MAX + 1];
	buf_t v;

	buf_init(&v, VALUE_MAX);
	for (size_t i = 0; i <= NELEM(fields) && r->to == TO_NONE; i++) {
		const char *val, *p, *end;

		if (i == 0) {
			if (o->envelope_rcpt == NULL)
				continue;
			val = o->envelope_rcpt;
		} else {
			/* every occurrence: Delivered-To is added at each hop */
			if (!hdr_get(h, hlen, fields[i - 1], 0, &v))
				continue;
			val = buf_str(&v);
		}
		p = val;
		end = val + strlen(val);
		while (r->to == TO_NONE && next_addr(&p, end, a, sizeof a)) {
			if (o->unsub_local && classify_token_split(a, o->unsub_local, r->token,
			    sizeof r->token))
				r->to = TO_UNSUBSCRIBE;
			else if (o->bounce_local && classify_token_split(a, o->bounce_local,
			    r->token, sizeof r->token))
				r->to = TO_BOUNCE;
		}
		/* the envelope recipient, when given, is the only word on it */
		if (i == 0)
			break;
	}
	buf_free(&v);
}

/* bound - how much of the message libetpan is given: CLASSIFY_PARSE_MAX
 * bytes and no more than CLASSIFY_PARTS_MAX Content-Type headers */
static size_t
bound(const char *msg, size_t len)
{
	size_t n = 0;

	if (len > CLASSIFY_PARSE_MAX)
		len = CLASSIFY_PARSE_MAX;
	for (size_t i = 0; i + 14 < len; i++)
		if (msg[i] == '\n' && (msg[i + 1] == 'C' || msg[i + 1] == 'c') &&
		    strncasecmp(msg + i + 1, "content-type:", 13) == 0 &&
		    ++n > CLASSIFY_PARTS_MAX)
			return i + 1;
	return len;
}

static void
judge_message(const char *msg, size_t len, const classify_opts_t *o,
    classify_report_t *r)
{
	struct ctx c;
	struct mailmime *mime = NULL;
	size_t idx = 0, hlen, n;
	buf_t v;
	char delivered[CLASSIFY_ADDR_MAX + 1] = "";
	const struct server *srv = NULL;
	int jmrp, apple;

	/* an mbox "From " line before the header */
	if (len > 5 && strncmp(msg, "From ", 5) == 0) {
		const char *nl = memchr(msg, '\n', len);

		if (nl) {
			len -= (size_t)(nl + 1 - msg);
			msg = nl + 1;
		}
	}
	n = bound(msg, len);
	memset(r, 0, sizeof *r);
	r->kind = KIND_OTHER;
	buf_init(&r->from, VALUE_MAX);
	buf_init(&r->subject, VALUE_MAX);
	memset(&c, 0, sizeof c);
	buf_init(&c.text, TEXT_MAX);
	buf_init(&c.html, TEXT_MAX);
	buf_init(&c.dsn, TEXT_MAX);
	buf_init(&c.arf, HDR_MAX);
	buf_init(&c.orig, HDR_MAX);
	buf_init(&v, VALUE_MAX);
	hlen = header_end(msg, n);
	(void)hdr_get(msg, hlen, "From", 0, &r->from);
	(void)hdr_get(msg, hlen, "Subject", 0, &r->subject);
	addressed(r, msg, hlen, o);
	if (mailmime_parse(msg, n, &idx, &mime) == MAILIMF_NO_ERROR)
		walk(&c, mime, 0);
	else
		append(&c.text, msg + hlen, n - hlen);
	if (mime)
		mailmime_free(mime);
	if (c.text.len == 0 && c.html.len)
		html_text(&c.html, &c.text);
	if (c.dsn.len == 0)
		dsn_in_text(msg + hlen, n - hlen, &c.dsn);
	if (hdr_get(c.orig.data ? c.orig.data : "", c.orig.len, "Message-ID", 0, &v))
		snprintf(r->orig_msgid, sizeof r->orig_msgid, "%s", buf_str(&v));

	if (r->to == TO_UNSUBSCRIBE) {
		r->kind = KIND_UNSUBSCRIBE;
		goto out;
	}
	/* Outlook.com's feedback loop (JMRP) is no ARF: the complained-of
	 * message comes back whole, its addressee in X-HmXmrOriginalRecipient */
	jmrp = hdr_get(c.orig.data ? c.orig.data : "", c.orig.len, "X-HmXmrOriginalRecipient", 0,
	    &v);
	/* Apple Mail's unsubscribe: the reader's client mailed the
	 * List-Unsubscribe address for them (X-Apple-Unsubscribe: true) */
	apple = hdr_get(msg, hlen, "X-Apple-Unsubscribe", 0, &v) &&
	    strcasecmp(buf_str(&v), "true") == 0;
	if (c.arf.len || jmrp || apple || (hdr_get(msg, hlen, "Content-Type", 0, &v) &&
	    strcasestr(buf_str(&v), "feedback-report"))) {
		const char *arf = c.arf.data ? c.arf.data : "";
		char a[CLASSIFY_ADDR_MAX + 1] = "";
		classify_rcpt_t *x;

		r->kind = KIND_COMPLAINT;
		snprintf(r->feedback_type, sizeof r->feedback_type, apple ? "opt-out" : "abuse");
		if (hdr_get(arf, c.arf.len, "Feedback-Type", 0, &v))
			snprintf(r->feedback_type, sizeof r->feedback_type, "%s", buf_str(&v));
		/* RFC 5965: Original-Rcpt-To may be given once per recipient
		 * the report is about; each of them complained */
		for (int k = 0; !apple && !jmrp && hdr_get(arf, c.arf.len, "Original-Rcpt-To", k,
		    &v); k++) {
			pick_addr(buf_str(&v), a, sizeof a);
			if (*a && (x = add_rcpt(r, a)))
				x->reason = R_FEEDBACK;
		}
		if (r->nrcpt)
			goto out;
		if ((apple && hdr_get(msg, hlen, "From", 0, &v)) ||
		    hdr_get(c.orig.data ? c.orig.data : "", c.orig.len, "X-HmXmrOriginalRecipient",
		    0, &v) ||
		    hdr_get(arf, c.arf.len, "Removal-Recipient", 0, &v) ||
		    hdr_get(c.orig.data ? c.orig.data : "", c.orig.len, "To", 0, &v))
			pick_addr(buf_str(&v), a, sizeof a);
		if ((x = add_rcpt(r, a)))
			x->reason = R_FEEDBACK;
		goto out;
	}
	pthread_once(&phrase_once, phrase_index);	/* lc[], for server_of() */
	srv = server_of(msg, hlen);
	if (srv && srv->text_only)
		buf_reset(&c.dsn);
	dsn_groups(&c.dsn);
	if (c.dsn.len && dsn(r, &c, delivered)) {
		r->kind = KIND_BOUNCE;
		goto out;
	}
	if (*delivered) {
		r->kind = KIND_DELIVERED;
		success_rcpts(r, &c.dsn, delivered);
		goto out;
	}
	if (ses(r, c.text.len ? c.text.data : msg + hlen, c.text.len ? c.text.len : n - hlen))
		goto out;
	if (!bounce_like(msg, hlen, &c.text)) {
		if (autoreply(msg, hlen)) {
			char a[CLASSIFY_ADDR_MAX + 1] = "";
			classify_rcpt_t *x;

			r->kind = KIND_AUTOREPLY;
			pick_addr(buf_str(&r->from), a, sizeof a);
			if ((x = add_rcpt(r, a)))
				x->reason = R_VACATION;
		}
		goto out;
	}
	r->kind = KIND_BOUNCE;
	scan(r, msg, hlen, &c.text, &c.orig, o);
	/* a Google Group refuses a poster, in any language: the group may not
	 * exist or the sender may not post */
	for (size_t i = 0; i < r->nrcpt; i++) {
		classify_rcpt_t *x = &r->rcpt[i];
		const char *at = strrchr(x->address, '@');

		if (at && strcasecmp(at, "@googlegroups.com") == 0) {
			x->reason = R_REJECTED;
			x->hard = 0;
			if (x->derived)
				status_from_reason(x->reason, 0, x->status, sizeof x->status);
		}
	}
out:
	if (r->kind == KIND_BOUNCE) {
		second_look(r, srv, &c);
		for (size_t i = 0; o->bounce_local && i < r->nrcpt; i++)
			sender_refused(&r->rcpt[i], o->bounce_local);
	}
	/* a report sent to another address (a feedback loop's fixed one, a
	 * redacted addressee): the returned original's Return-Path, written
	 * where it was delivered, still carries our VERP token */
	if (r->to == TO_NONE && o->bounce_local && (r->kind == KIND_BOUNCE ||
	    r->kind == KIND_COMPLAINT || r->kind == KIND_DELIVERED) &&
	    hdr_get(c.orig.data ? c.orig.data : "", c.orig.len, "Return-Path", 0, &v)) {
		char a[CLASSIFY_ADDR_MAX + 1];
		const char *p = buf_str(&v), *end = p + v.len;

		if (next_addr(&p, end, a, sizeof a) && classify_token_split(a, o->bounce_local,
		    r->token, sizeof r->token))
			r->to = TO_BOUNCE;
	}
	buf_free(&v);
	buf_free(&c.text);
	buf_free(&c.html);
	buf_free(&c.dsn);
	buf_free(&c.arf);
	buf_free(&c.orig);
}

/* classify_message - a message whose lines end in CR alone (the classic
 * Mac OS form, as some archives keep bounces) is read as if they ended in
 * LF: with no LF at all, neither the header's end nor a MIME boundary
 * could be found.  A message with any LF is read as it is. */
void
classify_message(const char *msg, size_t len, const classify_opts_t *o,
    classify_report_t *r)
{
	size_t n = len < CLASSIFY_PARSE_MAX ? len : CLASSIFY_PARSE_MAX;
	char *lf;

	if (memchr(msg, '\n', n) || !memchr(msg, '\r', n)) {
		judge_message(msg, len, o, r);
		return;
	}
	len = n;
	lf = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		lf[i] = msg[i] == '\r' ? '\n' : msg[i];
	lf[len] = '\0';
	judge_message(lf, len, o, r);
	free(lf);
}

void
classify_free(classify_report_t *r)
{
	for (size_t i = 0; i < r->nrcpt; i++)
		buf_free(&r->rcpt[i].diag);
	buf_free(&r->from);
	buf_free(&r->subject);
	r->nrcpt = 0;
}
