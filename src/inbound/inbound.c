/*
 * inbound - classify, check, act, keep; contract in inbound.h.  This
 * module owns the inbound, inbound_outcomes and mailbox_uidls tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "addr.h"
#include "clock.h"
#include "inbound.h"
#include "log.h"
#include "outbox.h"
#include "subscribe.h"
#include "token.h"
#include "util.h"

static const char *const via_names[] = { "lmtp", "deliver", "poll" };

static const char ins_inbound_sql[] =
    "INSERT INTO inbound (received, via, envelope, kind, token, outbox_id, action, sender,"
    " subject, report, size, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char ins_outcome_sql[] =
    "INSERT INTO inbound_outcomes (inbound_id, at, email, outbox_id, kind, ref, class, reason,"
    " status, suppressed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char outbox_by_id_sql[] =
    "SELECT recipient, kind, ref FROM outbox WHERE id = ?1";
/* the latest row to an address: the message a report without a token is about */
static const char outbox_by_addr_sql[] =
    "SELECT id, recipient, kind, ref FROM outbox WHERE recipient = ?1 COLLATE NOCASE"
    " AND state IN ('sent', 'failed', 'suppressed', 'deferred') ORDER BY updated DESC, id DESC"
    " LIMIT 1";
/* by the recipient's index: the UNIQUE (kind, ref, recipient) one is
 * BINARY, so SQLite would walk the whole issue (a row per reader) */
static const char outbox_in_issue_sql[] =
    "SELECT id, recipient, kind, ref FROM outbox INDEXED BY outbox_recipient"
    " WHERE recipient = ?1 COLLATE NOCASE AND kind = 'bulletin' AND ref = ?2";
static const char issue_by_number_sql[] = "SELECT id FROM issues WHERE number = ?1";
static const char sub_by_id_sql[] = "SELECT email FROM subscribers WHERE id = ?1";
/* messages that bounced softly in the window, sent after the last
 * delivery: a delivery is a row sent to the address that no outcome
 * names, or a success report.  A bounce counts by the send time of the
 * message it is about (its arrival when it names none): a bounce that
 * arrives after a later message went through is still older than that
 * delivery.  Messages, not reports: a relay's delay warnings about one
 * message, or one report read twice from a mailbox, count once */
static const char soft_count_sql[] =
    "SELECT count(DISTINCT coalesce(b.outbox_id, -b.id)) FROM inbound_outcomes b"
    " LEFT JOIN outbox m ON m.id = b.outbox_id"
    " WHERE b.email = ?1 AND b.class = 'soft' AND b.at > ?2"
    " AND coalesce(m.updated, b.at) > max("
    "  coalesce((SELECT max(o.updated) FROM outbox o"
    "   WHERE o.recipient = ?1 COLLATE NOCASE AND o.state = 'sent'"
    "   AND NOT EXISTS (SELECT 1 FROM inbound_outcomes x WHERE x.outbox_id = o.id)), 0),"
    "  coalesce((SELECT max(at) FROM inbound_outcomes WHERE email = ?1"
    "   AND class = 'delivered'), 0))";
static const char mark_suppressed_sql[] =
    "UPDATE inbound_outcomes SET suppressed = 1 WHERE id = last_insert_rowid()";
static const char set_action_sql[] = "UPDATE inbound SET action = ?2 WHERE id = ?1";
/* the POP3 poller's record (mailbox.h): what a mailbox's UIDL was taken as */
static const char uidl_get_sql[] =
    "SELECT u.inbound_id, u.kind, coalesce(i.action, '') FROM mailbox_uidls u"
    " LEFT JOIN inbound i ON i.id = u.inbound_id WHERE u.mailbox = ?1 AND u.uidl = ?2";
static const char uidl_ins_sql[] =
    "INSERT INTO mailbox_uidls (mailbox, uidl, kind, inbound_id, taken)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char uidl_prune_sql[] =
    "DELETE FROM mailbox_uidls WHERE mailbox = ?1"
    " AND uidl NOT IN (SELECT value FROM json_each(?2))";
static const char uidl_list_sql[] =
    "SELECT uidl, kind FROM mailbox_uidls WHERE mailbox = ?1"
    " AND uidl IN (SELECT value FROM json_each(?2))";
static const char prune_sql[] =
    "DELETE FROM inbound WHERE id IN (SELECT id FROM inbound WHERE received < ?1"
    " ORDER BY id LIMIT ?2)";

void
inbound_local(const char *addr, char *out, size_t max)
{
	const char *at = strchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);

	if (n >= max)
		n = max - 1;
	memcpy(out, addr, n);
	out[n] = '\0';
}

/* what a recipient's outcome is about */
struct target {
	char	 email[CLASSIFY_ADDR_MAX + 1];
	int64_t	 outbox_id;		/* 0: none */
	buf_t	 kind, ref;		/* the outbox row's, "" when none */
};

static void
target_init(struct target *t)
{
	memset(t->email, 0, sizeof t->email);
	t->outbox_id = 0;
	buf_init(&t->kind, 64);
	buf_init(&t->ref, 256);
}

static void
target_free(struct target *t)
{
	buf_free(&t->kind);
	buf_free(&t->ref);
}

static int
col_text(sqlite3_stmt *st, int i, buf_t *out)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	buf_reset(out);
	return buf_adds(out, v ? (const char *)v : "");
}

/* by_outbox - the row the VERP token named: 0, 1 when gone, -1 */
static int
by_outbox(store_t *s, int64_t id, struct target *t)
{
	sqlite3_stmt *st = store_cached(s, outbox_by_id_sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step(s, st)) == SQLITE_ROW) {
		snprintf(t->email, sizeof t->email, "%s", (const char *)sqlite3_column_text(st, 0));
		t->outbox_id = id;
		if (col_text(st, 1, &t->kind) < 0 || col_text(st, 2, &t->ref) < 0)
			rc = SQLITE_ERROR;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* by_address - the outbox row to an address: of the issue `issue` (its
 * id as text) when not NULL and there is one, else the latest; 0, 1 when
 * the outbox never saw the address, -1 */
static int
by_address(store_t *s, const char *email, const char *issue, struct target *t)
{
	sqlite3_stmt *st = store_cached(s, issue ? outbox_in_issue_sql : outbox_by_addr_sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if (issue)
		sqlite3_bind_text(st, 2, issue, -1, SQLITE_STATIC);
	if ((rc = store_step(s, st)) == SQLITE_ROW) {
		t->outbox_id = sqlite3_column_int64(st, 0);
		snprintf(t->email, sizeof t->email, "%s", (const char *)sqlite3_column_text(st, 1));
		if (col_text(st, 2, &t->kind) < 0 || col_text(st, 3, &t->ref) < 0)
			rc = SQLITE_ERROR;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE && issue)
		return by_address(s, email, NULL, t);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* complained - whether an ARF report of this Feedback-Type is the reader's
 * complaint.  Two registered types are not: "not-spam" (RFC 6430: the
 * reader took the message out of the spam folder) and "auth-failure"
 * (RFC 6591: a DMARC, DKIM or SPF failure report, about the sender's
 * setup; a ruf= address sharing the bounce mailbox would otherwise
 * unsubscribe every reader whose copy failed).  Any other type, those
 * registered later included, is taken as RFC 5965's "other". */
static int
complained(const char *type)
{
	return strcasecmp(type, "not-spam") != 0 && strcasecmp(type, "auth-failure") != 0;
}

/* msgid_issue - "<2020-09.HASH@list>" of a bulletin names issue 2020/09,
 * whose outbox rows have its id as their ref: its id into out, 0 when
 * it names none, -1 */
static int
msgid_issue(store_t *s, const char *msgid, char *out, size_t max)
{
	sqlite3_stmt *st;
	const char *p = msgid;
	char number[16], dot;
	int64_t id;
	int y, n, got;

	while (*p == '<' || *p == ' ')
		p++;
	if (sscanf(p, "%4d-%2d%c", &y, &n, &dot) != 3 || dot != '.')
		return 0;
	snprintf(number, sizeof number, "%04d/%02d", y, n);
	if ((st = store_cached(s, issue_by_number_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, number, -1, SQLITE_TRANSIENT);
	if ((got = store_int(s, st, &id)) != 0)
		return got < 0 ? -1 : 0;
	snprintf(out, max, "%lld", (long long)id);
	return 1;
}

static int
outcome(store_t *s, int64_t inbound_id, int64_t now, const struct target *t,
    const char *cls, const char *reason, const char *status, int suppressed)
{
	sqlite3_stmt *st = store_cached(s, ins_outcome_sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, inbound_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, t->email, -1, SQLITE_STATIC);
	if (t->outbox_id)
		sqlite3_bind_int64(st, 4, t->outbox_id);
	if (t->kind.len)
		sqlite3_bind_text(st, 5, buf_str(&t->kind), -1, SQLITE_STATIC);
	if (t->ref.len)
		sqlite3_bind_text(st, 6, buf_str(&t->ref), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, cls, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, suppressed);
	return store_run(s, st);
}

/* bounce - one recipient's bounce by the policy; what was done into act */
static int
bounce(store_t *s, const conf_t *c, int64_t id, int64_t now, const struct target *t,
    const classify_rcpt_t *x, buf_t *act)
{
	const char *reason = classify_reason_name(x->reason);
	char why[160];
	int64_t n = 0;
	sqlite3_stmt *st;

	snprintf(why, sizeof why, "bounce: %s %s", reason, x->status);
	if (classify_sender_side(x->reason)) {
		buf_notef(act, "%s%s: %s, sender-side, not counted against the reader",
		    act->len ? "; " : "", t->email, reason);
		return outcome(s, id, now, t, "sender", reason, x->status, 0);
	}
	if (x->hard) {
		buf_notef(act, "%s%s: %s, hard, suppressed", act->len ? "; " : "", t->email, reason);
		return outcome(s, id, now, t, "hard", reason, x->status, 1) < 0 ||
		    outbox_suppress(s, t->email, why, now) < 0 ? -1 : 0;
	}
	if (outcome(s, id, now, t, "soft", reason, x->status, 0) < 0 ||
	    (st = store_cached(s, soft_count_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, t->email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now - c->inbound_soft_days * 86400);
	if (store_int(s, st, &n) < 0)
		return -1;
	if (n < c->inbound_soft_limit) {
		buf_notef(act, "%s%s: %s, soft, %lld of %ld", act->len ? "; " : "", t->email, reason,
		    (long long)n, c->inbound_soft_limit);
		return 0;
	}
	snprintf(why, sizeof why, "bounce: %lld soft in %ld days, the last %s %s", (long long)n,
	    c->inbound_soft_days, reason, x->status);
	buf_notef(act, "%s%s: %s, soft, %lld of %ld, suppressed", act->len ? "; " : "", t->email,
	    reason, (long long)n, c->inbound_soft_limit);
	/* the outcome that crossed the line says so (outbox_suppress's own
	 * INSERT may have moved last_insert_rowid: it comes first) */
	if ((st = store_cached(s, mark_suppressed_sql)) == NULL || store_run(s, st) < 0)
		return -1;
	return outbox_suppress(s, t->email, why, now);
}

/* leave - a complaint or a mailto unsubscribe: like the web's POST */
static int
leave(store_t *s, int64_t id, int64_t now, const struct target *t, const char *cls,
    const char *reason, buf_t *act)
{
	int found = 0;

	if (store_subscriber_remove(s, t->email, 0, now, &found) < 0 ||
	    outcome(s, id, now, t, cls, reason, "", 0) < 0)
		return -1;
	buf_notef(act, "%s%s: %s, %s", act->len ? "; " : "", t->email, cls,
	    found ? "unsubscribed" : "not a subscriber");
	return 0;
}

static json_t *
report_json(const classify_report_t *r)
{
	json_t *o = json_object(), *a = json_array();

	json_object_set_new(o, "kind", json_string(classify_kind_name(r->kind)));
	for (size_t i = 0; i < r->nrcpt; i++) {
		const classify_rcpt_t *x = &r->rcpt[i];
		json_t *e = json_pack("{s:s%, s:s, s:s, s:i}", "address", x->address,
		    strlen(x->address), "status", x->status, "reason",
		    classify_reason_name(x->reason), "hard", x->hard);

		if (x->replycode)
			json_object_set_new(e, "replycode", json_integer(x->replycode));
		if (utf8_valid(buf_str(&x->diag), x->diag.len))
			json_object_set_new(e, "diagnostic", json_string(buf_str(&x->diag)));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "recipients", a);
	if (*r->feedback_type && utf8_valid(r->feedback_type, strlen(r->feedback_type)))
		json_object_set_new(o, "feedback_type", json_string(r->feedback_type));
	if (*r->orig_msgid && utf8_valid(r->orig_msgid, strlen(r->orig_msgid)))
		json_object_set_new(o, "original_message_id", json_string(r->orig_msgid));
	return o;
}

/* text - a header value for a column: valid UTF-8 or a note */
static const char *
text(const buf_t *b)
{
	return utf8_valid(buf_str(b), b->len) ? buf_str(b) : "(not UTF-8)";
}

/* not_written - why a transaction was rolled back, for the caller's reply */
static void
not_written(store_t *s, const char *what, buf_t *err)
{
	buf_notef(err, "inbound: %s%s; nothing was written", what, store_full(s) ?
	    "the storage is full" : store_errmsg(s));
}

/* taken_row - a recorded UIDL's first take into the result */
static int
taken_row(sqlite3_stmt *st, void *arg)
{
	inbound_result_t *res = arg;
	const char *kind = (const char *)sqlite3_column_text(st, 1);

	res->id = sqlite3_column_int64(st, 0);
	res->kind = KIND_OTHER;
	for (int k = 0; k < KIND_N; k++)
		if (strcmp(kind, classify_kind_name(k)) == 0)
			res->kind = k;
	snprintf(res->action, sizeof res->action, "already taken: %s",
	    (const char *)sqlite3_column_text(st, 2));
	utf8_scrub(res->action);	/* cut by bytes: it goes into JSON */
	return 1;
}

/* accept - inbound_accept(), and with uidl the poller's record of it
 * (inbound_accept_uidl()) in the same transaction */
static int
accept(store_t *s, const conf_t *c, enum inbound_via via, const char *envelope,
    const char *mailbox, const char *uidl, const char *msg, size_t len, size_t size,
    inbound_result_t *res, int *dup, buf_t *err)
{
	char safe[300];	/* an address for the log: addr_redact() */
	char bl[CLASSIFY_ADDR_MAX], ul[CLASSIFY_ADDR_MAX];
	unsigned char key[TOKEN_KEYBYTES];
	classify_opts_t o = { bl, ul, envelope && *envelope ? envelope : NULL };
	classify_report_t r;
	struct target t;
	const char *tok = "none";
	int64_t now = clock_now(), id = 0, subject = 0;
	json_t *rep = NULL;
	char *rep_text = NULL;
	buf_t act;
	sqlite3_stmt *st;
	int rc = -1, began = 0, have_key = 0, contact = 0;

	inbound_local(c->envelope_from, bl, sizeof bl);
	inbound_local(c->unsubscribe_address, ul, sizeof ul);
	if (len > INBOUND_RAW_MAX)
		len = INBOUND_RAW_MAX;
	classify_message(msg, len, &o, &r);
	target_init(&t);
	buf_init(&act, 4096);
	rep = report_json(&r);
	rep_text = json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS);
	if (store_begin(s) < 0) {
		buf_notef(err, "inbound: cannot begin: %s", store_errmsg(s));
		goto out;
	}
	began = 1;
	if (uidl) {
		int got;

		if ((st = store_cached(s, uidl_get_sql)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, uidl, -1, SQLITE_STATIC);
		if ((got = store_rows(s, st, taken_row, res)) < 0)
			goto fail;
		if (got == 1) {
			/* taken before (a poller that lost the reply, or a
			 * second one): nothing stored again */
			*dup = 1;
			rc = 0;
			goto out;
		}
	}
	if (r.to != TO_NONE) {
		if (token_key(s, key, err) < 0)
			goto out;
		have_key = 1;
		if (token_check(key, r.to == TO_BOUNCE ? TOKEN_BOUNCE : TOKEN_UNSUBSCRIBE, r.token,
		    &subject) == 0)
			tok = r.to == TO_BOUNCE ? "bounce" : "unsubscribe";
		else if (r.to == TO_UNSUBSCRIBE && token_check(key, TOKEN_CONTACT, r.token,
		    &subject) == 0)
			tok = "unsubscribe", contact = 1;	/* a project contact's */
		else {
			tok = "forged";
			log_warn("inbound: a token that does not check (forged or damaged) in mail"
			    " from %s to %s: ignored", text(&r.from), o.envelope_rcpt ?
			    addr_redact(o.envelope_rcpt, safe, sizeof safe) : "(headers)");
		}
	}
	if ((st = store_cached(s, ins_inbound_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, via_names[via], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, envelope && utf8_valid(envelope, strlen(envelope)) ? envelope :
	    "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, classify_kind_name(r.kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tok, -1, SQLITE_STATIC);
	if (strcmp(tok, "bounce") == 0)
		sqlite3_bind_int64(st, 6, subject);
	sqlite3_bind_text(st, 7, "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, text(&r.from), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, text(&r.subject), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, rep_text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, (int64_t)size);
	sqlite3_bind_blob(st, 12, msg, (int)len, SQLITE_STATIC);
	if (store_run(s, st) < 0)
		goto fail;
	id = store_last_id(s);

	if (r.kind == KIND_UNSUBSCRIBE) {
		buf_t email;
		int got = 1;

		buf_init(&email, CLASSIFY_ADDR_MAX + 1);
		/* a contact's token: no more reminders, like the web's /p/ POST */
		if (contact) {
			if ((got = subscribe_contact_optout(s, subject, now)) < 0) {
				buf_free(&email);
				goto fail;
			}
			buf_note(&act, got == 0 ? "the contact opted out of reminders" :
			    "kept: a contact that is gone");
		} else {
			if (strcmp(tok, "unsubscribe") == 0) {
				if ((st = store_cached(s, sub_by_id_sql)) == NULL)
					got = -1;
				else {
					sqlite3_bind_int64(st, 1, subject);
					got = store_text(s, st, &email);
				}
			}
			if (got < 0) {
				buf_free(&email);
				goto fail;
			}
			if (got == 0) {
				snprintf(t.email, sizeof t.email, "%s", buf_str(&email));
				/* the issue it answers: the latest sent to the address */
				if (by_address(s, t.email, NULL, &t) < 0 || leave(s, id, now, &t,
				    "unsubscribe", "mailto", &act) < 0) {
					buf_free(&email);
					goto fail;
				}
			} else
				buf_notef(&act, "kept: %s", strcmp(tok, "forged") == 0 ?
				    "the token does not check" : "an unknown token");
		}
		buf_free(&email);
	} else if (r.kind == KIND_COMPLAINT && !complained(r.feedback_type)) {
		buf_notef(&act, "kept: a \"%s\" report, no complaint: nothing done",
		    r.feedback_type);
	} else if (r.kind == KIND_BOUNCE || r.kind == KIND_COMPLAINT ||
	    r.kind == KIND_DELIVERED) {
		int verp = strcmp(tok, "bounce") == 0, got;
		char issue[32] = "";

		/* without a token, the returned original's Message-ID may say
		 * which issue it was */
		if (!verp && *r.orig_msgid && msgid_issue(s, r.orig_msgid, issue, sizeof issue) < 0)
			goto fail;

		if (verp && (got = by_outbox(s, subject, &t)) != 0) {
			if (got < 0)
				goto fail;
			verp = 0;	/* a row since deleted: by the report's words */
		}
		for (size_t i = 0; i < (verp ? 1 : r.nrcpt); i++) {
			const classify_rcpt_t *x = r.nrcpt ? &r.rcpt[i] : NULL;
			classify_rcpt_t none = { .reason = R_UNDEFINED };

			if (!verp) {
				if (x == NULL || *x->address == '\0')
					continue;
				t.outbox_id = 0;
				buf_reset(&t.kind);
				buf_reset(&t.ref);
				if ((got = by_address(s, x->address, *issue ? issue : NULL, &t)) < 0)
					goto fail;
				if (got == 1) {
					buf_notef(&act, "%s%s: not ours, nothing done", act.len ? "; " :
					    "", x->address);
					continue;
				}
			}
			if (x == NULL) {
				x = &none;
				buf_init(&none.diag, 1);
			}
			if (r.kind == KIND_COMPLAINT)
				got = leave(s, id, now, &t, "complaint", *r.feedback_type ?
				    r.feedback_type : "abuse", &act);
			else if (r.kind == KIND_DELIVERED)
				got = outcome(s, id, now, &t, "delivered", "delivered", x->status, 0);
			else
				got = bounce(s, c, id, now, &t, x, &act);
			if (x == &none)
				buf_free(&none.diag);
			if (got < 0)
				goto fail;
		}
		if (act.len == 0)
			buf_note(&act, r.kind == KIND_DELIVERED ? "success report noted" :
			    "kept: it names no recipient");
	} else
		buf_note(&act, r.kind == KIND_AUTOREPLY ? "kept: an auto-reply, not counted" :
		    "kept for staff");
	if ((st = store_cached(s, set_action_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, utf8_valid(buf_str(&act), act.len) ? buf_str(&act) : "(done)",
	    -1, SQLITE_STATIC);
	if (store_run(s, st) < 0)
		goto fail;
	if (uidl) {
		if ((st = store_cached(s, uidl_ins_sql)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, uidl, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, classify_kind_name(r.kind), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, id);
		sqlite3_bind_int64(st, 5, now);
		if (store_run(s, st) < 0)
			goto fail;
	}
	if (store_commit(s) < 0)
		goto fail;
	began = 0;
	res->id = id;
	res->kind = r.kind;
	snprintf(res->action, sizeof res->action, "%s", buf_str(&act));
	utf8_scrub(res->action);	/* cut by bytes: it goes into JSON */
	rc = 0;
	goto out;
fail:
	not_written(s, "", err);
out:
	if (began)
		store_rollback(s);
	if (have_key)
		sodium_memzero(key, sizeof key);
	free(rep_text);
	json_decref(rep);
	buf_free(&act);
	target_free(&t);
	classify_free(&r);
	return rc;
}

int
inbound_accept(store_t *s, const conf_t *c, enum inbound_via via, const char *envelope,
    const char *msg, size_t len, size_t size, inbound_result_t *res, buf_t *err)
{
	return accept(s, c, via, envelope, NULL, NULL, msg, len, size, res, NULL, err);
}

int
inbound_accept_uidl(store_t *s, const conf_t *c, const char *mailbox, const char *uidl,
    const char *msg, size_t len, size_t size, inbound_result_t *res, int *dup, buf_t *err)
{
	*dup = 0;
	return accept(s, c, VIA_POLL, NULL, mailbox, uidl, msg, len, size, res, dup, err);
}

int
inbound_uidl_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n == INBOUND_UIDL_MAX || (unsigned char)s[n] < 0x21 ||
		    (unsigned char)s[n] > 0x7e)
			return 0;
	return n > 0;
}

static int
uidl_row(sqlite3_stmt *st, void *arg)
{
	json_object_set_new(arg, (const char *)sqlite3_column_text(st, 0),
	    json_string((const char *)sqlite3_column_text(st, 1)));
	return 0;
}

/* uidl_stmt - sql (?1 a mailbox, ?2 a JSON array of UIDLs) bound, or NULL */
static sqlite3_stmt *
uidl_stmt(store_t *s, const char *sql, const char *mailbox, const char *list)
{
	sqlite3_stmt *st = store_cached(s, sql);

	if (st) {
		sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
	}
	return st;
}

int
inbound_uidl_sync(store_t *s, const char *mailbox, const json_t *uidls, int prune,
    json_t **taken, int64_t *pruned, buf_t *err)
{
	char *list = json_dumps(uidls, JSON_COMPACT);
	sqlite3_stmt *st;
	int rc = -1, began = 0;

	*taken = json_object();
	*pruned = 0;
	if (list == NULL)
		goto fail;
	if (prune) {
		/* the server lists every message it holds: a UIDL it does not
		 * list is gone for good (deleted there) and can never come back */
		if (store_begin(s) < 0)
			goto fail;
		began = 1;
		if ((st = uidl_stmt(s, uidl_prune_sql, mailbox, list)) == NULL ||
		    store_run(s, st) < 0)
			goto fail;
		*pruned = store_changes(s);
		if (store_commit(s) < 0)
			goto fail;
		began = 0;
	}
	if ((st = uidl_stmt(s, uidl_list_sql, mailbox, list)) == NULL ||
	    store_rows(s, st, uidl_row, *taken) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	not_written(s, "the UIDL record: ", err);
out:
	if (began)
		store_rollback(s);
	free(list);
	return rc;
}

int
inbound_prune(store_t *s, const conf_t *c, int64_t now)
{
	sqlite3_stmt *st = store_cached(s, prune_sql);
	int64_t n;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now - c->inbound_keep_days * 86400);
	sqlite3_bind_int(st, 2, INBOUND_PRUNE_ROWS);
	if (store_run(s, st) < 0)
		return -1;
	n = store_changes(s);
	return (int)n;
}

static const char list_sql[] =
    "SELECT id, received, via, kind, token, action, sender, subject, report, size"
    " FROM inbound WHERE ?1 IS NULL OR kind = ?1 ORDER BY id DESC LIMIT ?2";
static const char show_sql[] =
    "SELECT id, received, via, kind, token, action, sender, subject, report, size, envelope,"
    " outbox_id, raw FROM inbound WHERE id = ?1";
static const char raw_sql[] = "SELECT raw FROM inbound WHERE id = ?1";
static const char counts_sql[] =
    "SELECT class, count(*) FROM inbound_outcomes WHERE kind = ?1 AND ref = ?2"
    " GROUP BY class";

/* row_json - the columns list_sql and show_sql share */
static json_t *
row_json(sqlite3_stmt *st)
{
	json_t *rep = json_loads((const char *)sqlite3_column_text(st, 8), 0, NULL);
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "received", (json_int_t)sqlite3_column_int64(st, 1),
	    "via", (const char *)sqlite3_column_text(st, 2),
	    "kind", (const char *)sqlite3_column_text(st, 3),
	    "token", (const char *)sqlite3_column_text(st, 4),
	    "action", (const char *)sqlite3_column_text(st, 5),
	    "from", (const char *)sqlite3_column_text(st, 6),
	    "subject", (const char *)sqlite3_column_text(st, 7),
	    "size", (json_int_t)sqlite3_column_int64(st, 9));

	json_object_set(o, "recipients", rep ? json_object_get(rep, "recipients") : json_array());
	if (rep && json_object_get(rep, "feedback_type"))
		json_object_set(o, "feedback_type", json_object_get(rep, "feedback_type"));
	if (rep && json_object_get(rep, "original_message_id"))
		json_object_set(o, "original_message_id", json_object_get(rep,
		    "original_message_id"));
	json_decref(rep);
	return o;
}

static int
list_row(sqlite3_stmt *st, void *arg)
{
	json_array_append_new(arg, row_json(st));
	return 0;
}

int
inbound_list(store_t *s, const char *kind, int limit, json_t **out)
{
	sqlite3_stmt *st = store_cached(s, list_sql);

	*out = json_array();
	if (st == NULL)
		return -1;
	if (kind)
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	return store_rows(s, st, list_row, *out) < 0 ? -1 : 0;
}

struct show {
	int	 raw;
	json_t	*o;
};

static int
show_row(sqlite3_stmt *st, void *arg)
{
	struct show *sh = arg;
	const char *raw = sqlite3_column_blob(st, 12);
	int n = sqlite3_column_bytes(st, 12);

	sh->o = row_json(st);
	json_object_set_new(sh->o, "envelope", json_string((const char *)sqlite3_column_text(st,
	    10)));
	if (sqlite3_column_type(st, 11) != SQLITE_NULL)
		json_object_set_new(sh->o, "outbox_id", json_integer(sqlite3_column_int64(st, 11)));
	json_object_set_new(sh->o, "kept", json_integer(n));
	if (sh->raw)
		/* the raw bytes as text where they are UTF-8, else Latin-1 for
		 * each byte: never a JSON error, and the bytes can be told */
		json_object_set_new(sh->o, "raw", utf8_valid(raw ? raw : "", (size_t)n) ?
		    json_stringn(raw ? raw : "", (size_t)n) : json_string("(not UTF-8: use"
		    " --raw without --json)"));
	return 1;
}

int
inbound_show(store_t *s, int64_t id, int raw, json_t **out)
{
	sqlite3_stmt *st = store_cached(s, show_sql);
	struct show sh = { raw, NULL };

	*out = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_rows(s, st, show_row, &sh) < 0)
		return -1;
	*out = sh.o;
	return 0;
}

static int
raw_row(sqlite3_stmt *st, void *arg)
{
	const void *b = sqlite3_column_blob(st, 0);

	return buf_add(arg, b ? b : "", (size_t)sqlite3_column_bytes(st, 0)) < 0 ? -1 : 1;
}

int
inbound_raw(store_t *s, int64_t id, buf_t *out)
{
	sqlite3_stmt *st = store_cached(s, raw_sql);
	int rc;

	buf_reset(out);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = store_rows(s, st, raw_row, out);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

static int
count_row(sqlite3_stmt *st, void *arg)
{
	json_object_set_new(arg, (const char *)sqlite3_column_text(st, 0),
	    json_integer(sqlite3_column_int64(st, 1)));
	return 0;
}

int
inbound_counts(store_t *s, const char *kind, const char *ref, json_t **out)
{
	static const char *const classes[] = { "hard", "soft", "sender", "complaint",
		"unsubscribe" };
	sqlite3_stmt *st = store_cached(s, counts_sql);

	*out = json_object();
	for (size_t i = 0; i < NELEM(classes); i++)
		json_object_set_new(*out, classes[i], json_integer(0));
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	return store_rows(s, st, count_row, *out) < 0 ? -1 : 0;
}
