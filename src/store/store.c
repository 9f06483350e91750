/*
 * store - SQLite persistence; contract in store.h.
 */
#include <errno.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "log.h"
#include "store.h"
#include "util.h"

/*
 * Migrations, in order; the database's user_version is the number applied.
 * Never edit one that has shipped: add the next.
 */
static const char *const migrations[] = {
	/* 1: events with revisions, subscribers */
	"CREATE TABLE events ("
	"  id        TEXT PRIMARY KEY,"
	"  type      TEXT NOT NULL,"
	"  revision  INTEGER NOT NULL,"
	"  body      TEXT NOT NULL,"		/* canonical JSON, latest revision */
	"  regions   INTEGER NOT NULL,"	/* region bit mask */
	"  at        INTEGER,"		/* due/starts/published/send_at, epoch */
	"  cancelled INTEGER NOT NULL DEFAULT 0,"
	"  created   INTEGER NOT NULL,"
	"  updated   INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX events_type_at ON events(type, at);"
	"CREATE INDEX events_updated ON events(updated);"
	"CREATE TABLE event_revisions ("
	"  event_id  TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
	"  revision  INTEGER NOT NULL,"
	"  body      TEXT NOT NULL,"
	"  received  INTEGER NOT NULL,"
	"  PRIMARY KEY (event_id, revision)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE subscribers ("
	"  id        INTEGER PRIMARY KEY,"
	"  email     TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  name      TEXT NOT NULL DEFAULT '',"
	"  lang      TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),"
	"  regions   INTEGER NOT NULL CHECK (regions BETWEEN 1 AND 31),"
	"  status    TEXT NOT NULL CHECK (status IN"
	"             ('active', 'unsubscribed', 'pending', 'suppressed')),"
	"  created   INTEGER NOT NULL,"
	"  updated   INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX subscribers_status ON subscribers(status, id);",

	/* 2: bulletin issues, the outbox, suppressed addresses, metadata */
	"CREATE TABLE meta ("
	"  key       TEXT PRIMARY KEY,"
	"  value     TEXT NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE issues ("
	"  id        INTEGER PRIMARY KEY,"
	"  number    TEXT NOT NULL UNIQUE,"	/* 2020/09 */
	"  slot      INTEGER UNIQUE,"		/* cadence index; NULL: sent by hand */
	"  period_start INTEGER NOT NULL,"	/* items after this ... */
	"  period_end INTEGER NOT NULL,"	/* ... up to this: the send time */
	"  state     TEXT NOT NULL CHECK (state IN ('draft', 'held', 'sending',"
	"             'sent', 'cancelled', 'empty')),"
	"  approved  INTEGER NOT NULL DEFAULT 0,"
	"  recipients INTEGER NOT NULL DEFAULT 0,"
	"  created   INTEGER NOT NULL,"
	"  updated   INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX issues_period ON issues(period_end);"
	"CREATE INDEX events_created ON events(type, created);"
	"CREATE TABLE outbox ("
	"  id        INTEGER PRIMARY KEY,"
	"  kind      TEXT NOT NULL,"		/* bulletin, draft, reminder, ... */
	"  ref       TEXT NOT NULL,"		/* what: the issue number, ... */
	"  subscriber_id INTEGER,"
	"  recipient TEXT NOT NULL,"
	"  state     TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent',"
	"             'deferred', 'failed', 'suppressed', 'cancelled')),"
	"  attempts  INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  first_attempt INTEGER,"
	"  reply_code INTEGER,"
	"  reply     TEXT,"
	"  created   INTEGER NOT NULL,"
	"  updated   INTEGER NOT NULL,"
	"  UNIQUE (kind, ref, recipient)"
	") STRICT;"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt);"
	"CREATE INDEX outbox_ref ON outbox(kind, ref, state);"
	"CREATE TABLE suppressions ("
	"  email     TEXT PRIMARY KEY COLLATE NOCASE,"
	"  reason    TEXT NOT NULL,"
	"  created   INTEGER NOT NULL"
	") STRICT;",

	/* 3: projects and their contacts, deadline reminders, announcements */
	"CREATE TABLE projects ("
	"  id        TEXT PRIMARY KEY,"
	"  name      TEXT NOT NULL,"
	"  lang      TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),"
	"  regions   INTEGER NOT NULL CHECK (regions BETWEEN 1 AND 31),"
	"  created   INTEGER NOT NULL,"
	"  updated   INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE contacts ("
	"  id        INTEGER PRIMARY KEY,"	/* the reminder opt-out token's subject */
	"  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  email     TEXT NOT NULL COLLATE NOCASE,"
	"  UNIQUE (project_id, email)"
	") STRICT;"
	"ALTER TABLE outbox ADD COLUMN contact_id INTEGER;"
	/* the plan: one row per (deadline, offset in days) */
	"CREATE TABLE reminders ("
	"  id        INTEGER PRIMARY KEY,"
	"  event_id  TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
	"  days      INTEGER NOT NULL,"
	"  due       INTEGER NOT NULL,"		/* the due time it is (was) for */
	"  fire_at   INTEGER NOT NULL,"
	"  state     TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'skipped',"
	"             'cancelled')),"
	"  updated   INTEGER NOT NULL,"
	"  UNIQUE (event_id, days)"
	") STRICT;"
	"CREATE INDEX reminders_fire ON reminders(state, fire_at);"
	/* what each deadline's plan was made from */
	"CREATE TABLE deadline_plans ("
	"  event_id  TEXT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
	"  revision  INTEGER NOT NULL,"
	"  due       INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	/* each reminder that went out: the outbox rows' ref is its id */
	"CREATE TABLE reminder_sends ("
	"  id        INTEGER PRIMARY KEY,"
	"  event_id  TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
	"  days      INTEGER NOT NULL,"
	"  due       INTEGER NOT NULL,"
	"  previous_due INTEGER,"		/* the date changed since the last one */
	"  fired     INTEGER NOT NULL,"
	"  recipients INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX reminder_sends_event ON reminder_sends(event_id, id);"
	/* standalone announcements handed to the outbox (ref: the event id) */
	"CREATE TABLE announcements ("
	"  event_id  TEXT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
	"  revision  INTEGER NOT NULL,"
	"  state     TEXT NOT NULL CHECK (state IN ('fired', 'expired')),"
	"  fired     INTEGER NOT NULL,"
	"  recipients INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;",
	/* 4: outbox indexes a message's progress does not rewrite.  Claiming
	 * a row takes it out of outbox_due, its outcome out of outbox_open,
	 * and a sent row is in neither: (state, ...) indexes moved every row
	 * twice per message, three pages more in every commit of the sender */
	"DROP INDEX outbox_due;"
	"DROP INDEX outbox_ref;"
	"CREATE INDEX outbox_due ON outbox(next_attempt)"
	"  WHERE state IN ('queued', 'deferred');"
	"CREATE INDEX outbox_open ON outbox(kind, ref)"
	"  WHERE state IN ('queued', 'sending', 'deferred');",
	/* 5: outbox states that say what happened: "suppressed" is a row that
	 * failed with a reply that suppressed its address (it was "failed"),
	 * "skipped" a row with nothing in it for the reader (it was
	 * "suppressed").  SQLite cannot alter a CHECK: the table is rebuilt */
	"CREATE TABLE outbox5 ("
	"  id        INTEGER PRIMARY KEY,"
	"  kind      TEXT NOT NULL,"
	"  ref       TEXT NOT NULL,"
	"  subscriber_id INTEGER,"
	"  recipient TEXT NOT NULL,"
	"  state     TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent',"
	"             'deferred', 'failed', 'suppressed', 'skipped', 'cancelled')),"
	"  attempts  INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  first_attempt INTEGER,"
	"  reply_code INTEGER,"
	"  reply     TEXT,"
	"  created   INTEGER NOT NULL,"
	"  updated   INTEGER NOT NULL,"
	"  contact_id INTEGER,"
	"  UNIQUE (kind, ref, recipient)"
	") STRICT;"
	"INSERT INTO outbox5 SELECT id, kind, ref, subscriber_id, recipient,"
	"  CASE WHEN state = 'suppressed' THEN 'skipped'"
	"   WHEN state = 'failed' AND reply = (SELECT reason FROM suppressions"
	"    WHERE email = recipient) THEN 'suppressed' ELSE state END,"
	"  attempts, next_attempt, first_attempt, reply_code, reply, created, updated,"
	"  contact_id FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox5 RENAME TO outbox;"
	"CREATE INDEX outbox_due ON outbox(next_attempt)"
	"  WHERE state IN ('queued', 'deferred');"
	"CREATE INDEX outbox_open ON outbox(kind, ref)"
	"  WHERE state IN ('queued', 'sending', 'deferred');",
	/* 6: the staged subscriber import (admin.c): chunks of rows are
	 * committed one by one here, invisible to subscribers, then applied in
	 * one transaction; an import keeps its counts once applied */
	"CREATE TABLE imports ("
	"  id        INTEGER PRIMARY KEY AUTOINCREMENT,"	/* never reused */
	"  created   INTEGER NOT NULL,"
	"  result    TEXT"			/* the commit's reply, once applied */
	") STRICT;"
	"CREATE INDEX imports_created ON imports(created);"
	"CREATE TABLE import_rows ("
	"  import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,"
	"  seq       INTEGER NOT NULL,"	/* the CSV line */
	"  email     TEXT NOT NULL COLLATE NOCASE,"
	"  name      TEXT NOT NULL,"
	"  lang      TEXT NOT NULL,"
	"  regions   INTEGER NOT NULL,"
	"  PRIMARY KEY (import_id, seq),"
	"  UNIQUE (import_id, email)"		/* a repeated address: the chunk fails */
	") STRICT, WITHOUT ROWID;",
	/* 7: the retention of a sent issue's outbox (outbox_compact()): its
	 * final rows are folded into one row per state, what `issue status`
	 * shows kept whole (the count, and the first attempt and the last
	 * outcome for the rate); failed and suppressed rows stay, with their
	 * replies */
	"CREATE TABLE outbox_totals ("
	"  kind      TEXT NOT NULL,"
	"  ref       TEXT NOT NULL,"
	"  state     TEXT NOT NULL,"
	"  count     INTEGER NOT NULL,"
	"  first_attempt INTEGER,"
	"  last_updated  INTEGER,"
	"  PRIMARY KEY (kind, ref, state)"
	") STRICT, WITHOUT ROWID;",
	/* 8: inbound mail (src/inbound/inbound.c): each message taken, its raw
	 * bytes until inbound.keep_days, and one outcome row per recipient it
	 * acted on, kept for the counts after the message is pruned; the
	 * outbox by recipient, for "a delivery since the last soft bounce" */
	"CREATE TABLE inbound ("
	"  id        INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  received  INTEGER NOT NULL,"
	"  via       TEXT NOT NULL CHECK (via IN ('lmtp', 'deliver', 'poll')),"
	"  envelope  TEXT NOT NULL,"		/* RCPT TO, or '' */
	"  kind      TEXT NOT NULL CHECK (kind IN ('bounce', 'complaint', 'autoreply',"
	"             'unsubscribe', 'delivered', 'other')),"
	"  token     TEXT NOT NULL CHECK (token IN ('none', 'bounce', 'unsubscribe',"
	"             'forged')),"
	"  outbox_id INTEGER,"			/* the VERP token's message */
	"  action    TEXT NOT NULL,"		/* what was done, in words */
	"  sender    TEXT NOT NULL,"		/* the report's From */
	"  subject   TEXT NOT NULL,"
	"  report    TEXT NOT NULL,"		/* the classification, JSON */
	"  size      INTEGER NOT NULL,"		/* bytes received */
	"  raw       BLOB NOT NULL"		/* what was kept of them */
	") STRICT;"
	"CREATE INDEX inbound_received ON inbound(received);"
	"CREATE TABLE inbound_outcomes ("
	"  id        INTEGER PRIMARY KEY,"
	"  inbound_id INTEGER NOT NULL,"	/* may outlive its message */
	"  at        INTEGER NOT NULL,"
	"  email     TEXT NOT NULL COLLATE NOCASE,"
	"  outbox_id INTEGER,"
	"  kind      TEXT,"			/* the outbox row's kind and ref: */
	"  ref       TEXT,"			/* the issue, for its counts */
	"  class     TEXT NOT NULL CHECK (class IN ('hard', 'soft', 'sender',"
	"             'complaint', 'unsubscribe', 'delivered')),"
	"  reason    TEXT NOT NULL,"		/* Sisimai's word, or feedback type */
	"  status    TEXT NOT NULL,"
	"  suppressed INTEGER NOT NULL DEFAULT 0"	/* this outcome suppressed it */
	") STRICT;"
	"CREATE INDEX inbound_outcomes_email ON inbound_outcomes(email, at);"
	"CREATE INDEX inbound_outcomes_ref ON inbound_outcomes(kind, ref);"
	"CREATE INDEX inbound_outcomes_outbox ON inbound_outcomes(outbox_id);"
	"CREATE INDEX outbox_recipient ON outbox(recipient);",
	/* 9: the web front (subscribe.c): double opt-in confirmations, a
	 * pause of a subscriber's mail, project contacts who want no more
	 * reminders */
	"CREATE TABLE confirmations ("
	"  id        INTEGER PRIMARY KEY,"		/* the confirm token's subject */
	"  email     TEXT NOT NULL COLLATE NOCASE,"
	"  name      TEXT NOT NULL,"
	"  lang      TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),"
	"  regions   INTEGER NOT NULL CHECK (regions BETWEEN 1 AND 31),"
	"  created   INTEGER NOT NULL,"
	"  expires   INTEGER NOT NULL,"
	"  confirmed INTEGER"			/* when; NULL while pending */
	") STRICT;"
	"CREATE INDEX confirmations_email ON confirmations(email, created);"
	"CREATE INDEX confirmations_expires ON confirmations(expires) WHERE confirmed IS NULL;"
	"ALTER TABLE subscribers ADD COLUMN paused_until INTEGER;"
	"CREATE TABLE contact_optouts ("
	"  email     TEXT PRIMARY KEY COLLATE NOCASE,"
	"  created   INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;",
	/* 10: the consent log (subscribe.c, privacy.c): one row per form that
	 * queued a confirmation, with the exact consent text shown and its
	 * version, kept when the confirmation row is pruned, since it is the
	 * record of the consent; an erased address leaves none.  And
	 * confirmations never reuse an id (AUTOINCREMENT): an expired row is
	 * dropped, and without it the next row took the dropped one's id, so
	 * an old /c/ link confirmed another address's request (SQLite cannot
	 * add AUTOINCREMENT to a table: it is rebuilt) */
	"CREATE TABLE confirmations10 ("
	"  id        INTEGER PRIMARY KEY AUTOINCREMENT,"	/* the confirm token's subject */
	"  email     TEXT NOT NULL COLLATE NOCASE,"
	"  name      TEXT NOT NULL,"
	"  lang      TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),"
	"  regions   INTEGER NOT NULL CHECK (regions BETWEEN 1 AND 31),"
	"  created   INTEGER NOT NULL,"
	"  expires   INTEGER NOT NULL,"
	"  confirmed INTEGER"
	") STRICT;"
	"INSERT INTO confirmations10 SELECT id, email, name, lang, regions, created, expires,"
	"  confirmed FROM confirmations;"
	"DROP TABLE confirmations;"
	"ALTER TABLE confirmations10 RENAME TO confirmations;"
	"CREATE INDEX confirmations_email ON confirmations(email, created);"
	"CREATE INDEX confirmations_expires ON confirmations(expires) WHERE confirmed IS NULL;"
	"CREATE TABLE consents ("
	"  id        INTEGER PRIMARY KEY,"
	"  confirmation_id INTEGER NOT NULL UNIQUE,"	/* may outlive its row */
	"  email     TEXT NOT NULL COLLATE NOCASE,"
	"  given     INTEGER NOT NULL,"		/* the form was sent */
	"  ip        TEXT NOT NULL,"		/* the client, or its keyed hash */
	"  lang      TEXT NOT NULL,"		/* of the text shown */
	"  form_version TEXT NOT NULL,"
	"  text      TEXT NOT NULL,"		/* exactly as shown (HTML) */
	"  confirmed INTEGER"			/* when; NULL until then */
	") STRICT;"
	"CREATE INDEX consents_email ON consents(email);",
	/* 11: POP3 has no folders or flags, so what the poller took is
	 * recorded here (mailbox.h): one row per message UIDL of a mailbox,
	 * written in the transaction that stores the message (inbound.c), so
	 * a message is never stored twice and never lost; rows the server no
	 * longer lists are pruned after a pass that saw the whole list */
	"CREATE TABLE mailbox_uidls ("
	"  mailbox   TEXT NOT NULL,"		/* pop3s://USER@HOST:PORT */
	"  uidl      TEXT NOT NULL,"
	"  kind      TEXT NOT NULL CHECK (kind IN ('bounce', 'complaint', 'autoreply',"
	"             'unsubscribe', 'delivered', 'other')),"	/* other: kept */
	"  inbound_id INTEGER NOT NULL,"	/* may outlive its message */
	"  taken     INTEGER NOT NULL,"
	"  PRIMARY KEY (mailbox, uidl)"
	") STRICT, WITHOUT ROWID;",
	/* 12: the outbox by its recipient as addresses compare, without
	 * case (RFC 5321 lets a domain, and in practice every mailbox, be
	 * spelled in any case): a bounce or complaint without a VERP token
	 * and the soft-bounce count look rows up so, and with the BINARY index
	 * of 8 each was a scan of the whole outbox (26 million rows for a
	 * year of a million readers); erasure (privacy.c) compares so too */
	("DROP INDEX outbox_recipient;"
	 "CREATE INDEX outbox_recipient ON outbox(recipient COLLATE NOCASE);"),
	/* 13: the tables written once per message or per imported row say
	 * their CHECKs and partial indexes with = and OR.  SQLite evaluates
	 * "x IN (three or more constants)" by building an ephemeral b-tree of
	 * the constants (87 KB of page cache) once per statement run, so each
	 * single-row INSERT or UPDATE built one per such term: the sender's
	 * two updates of an outbox row built five, an inbound message's
	 * insert three, about 3 us each (test_store's no_ephemeral_per_row
	 * holds the rule).  Tables written rarely keep their IN lists.  The
	 * queries that use outbox_open repeat its WHERE as written, or the
	 * planner does not see that the index covers them.  inbound's
	 * AUTOINCREMENT high-water mark is carried over: its ids outlive its
	 * rows in inbound_outcomes and mailbox_uidls */
	("CREATE TABLE outbox13 ("
	 "  id        INTEGER PRIMARY KEY,"
	 "  kind      TEXT NOT NULL,"
	 "  ref       TEXT NOT NULL,"
	 "  subscriber_id INTEGER,"
	 "  recipient TEXT NOT NULL,"
	 "  state     TEXT NOT NULL CHECK (state = 'queued' OR state = 'sending'"
	 "             OR state = 'sent' OR state = 'deferred' OR state = 'failed'"
	 "             OR state = 'suppressed' OR state = 'skipped' OR state = 'cancelled'),"
	 "  attempts  INTEGER NOT NULL DEFAULT 0,"
	 "  next_attempt INTEGER NOT NULL DEFAULT 0,"
	 "  first_attempt INTEGER,"
	 "  reply_code INTEGER,"
	 "  reply     TEXT,"
	 "  created   INTEGER NOT NULL,"
	 "  updated   INTEGER NOT NULL,"
	 "  contact_id INTEGER,"
	 "  UNIQUE (kind, ref, recipient)"
	 ") STRICT;"
	 "INSERT INTO outbox13 SELECT id, kind, ref, subscriber_id, recipient, state, attempts,"
	 "  next_attempt, first_attempt, reply_code, reply, created, updated, contact_id"
	 "  FROM outbox;"
	 "DROP TABLE outbox;"
	 "ALTER TABLE outbox13 RENAME TO outbox;"
	 "CREATE INDEX outbox_due ON outbox(next_attempt)"
	 "  WHERE state IN ('queued', 'deferred');"	/* two: compared, no b-tree */
	 "CREATE INDEX outbox_open ON outbox(kind, ref)"
	 "  WHERE state = 'queued' OR state = 'sending' OR state = 'deferred';"
	 "CREATE INDEX outbox_recipient ON outbox(recipient COLLATE NOCASE);"
	 "CREATE TABLE inbound13 ("
	 "  id        INTEGER PRIMARY KEY AUTOINCREMENT,"
	 "  received  INTEGER NOT NULL,"
	 "  via       TEXT NOT NULL CHECK (via = 'lmtp' OR via = 'deliver' OR via = 'poll'),"
	 "  envelope  TEXT NOT NULL,"
	 "  kind      TEXT NOT NULL CHECK (kind = 'bounce' OR kind = 'complaint'"
	 "             OR kind = 'autoreply' OR kind = 'unsubscribe' OR kind = 'delivered'"
	 "             OR kind = 'other'),"
	 "  token     TEXT NOT NULL CHECK (token = 'none' OR token = 'bounce'"
	 "             OR token = 'unsubscribe' OR token = 'forged'),"
	 "  outbox_id INTEGER,"
	 "  action    TEXT NOT NULL,"
	 "  sender    TEXT NOT NULL,"
	 "  subject   TEXT NOT NULL,"
	 "  report    TEXT NOT NULL,"
	 "  size      INTEGER NOT NULL,"
	 "  raw       BLOB NOT NULL"
	 ") STRICT;"
	 "INSERT INTO inbound13 SELECT id, received, via, envelope, kind, token, outbox_id,"
	 "  action, sender, subject, report, size, raw FROM inbound;"
	 "DELETE FROM sqlite_sequence WHERE name = 'inbound13';"
	 "INSERT INTO sqlite_sequence (name, seq)"
	 "  SELECT 'inbound13', seq FROM sqlite_sequence WHERE name = 'inbound';"
	 "DROP TABLE inbound;"
	 "ALTER TABLE inbound13 RENAME TO inbound;"
	 "CREATE INDEX inbound_received ON inbound(received);"
	 "CREATE TABLE inbound_outcomes13 ("
	 "  id        INTEGER PRIMARY KEY,"
	 "  inbound_id INTEGER NOT NULL,"
	 "  at        INTEGER NOT NULL,"
	 "  email     TEXT NOT NULL COLLATE NOCASE,"
	 "  outbox_id INTEGER,"
	 "  kind      TEXT,"
	 "  ref       TEXT,"
	 "  class     TEXT NOT NULL CHECK (class = 'hard' OR class = 'soft'"
	 "             OR class = 'sender' OR class = 'complaint' OR class = 'unsubscribe'"
	 "             OR class = 'delivered'),"
	 "  reason    TEXT NOT NULL,"
	 "  status    TEXT NOT NULL,"
	 "  suppressed INTEGER NOT NULL DEFAULT 0"
	 ") STRICT;"
	 "INSERT INTO inbound_outcomes13 SELECT id, inbound_id, at, email, outbox_id, kind, ref,"
	 "  class, reason, status, suppressed FROM inbound_outcomes;"
	 "DROP TABLE inbound_outcomes;"
	 "ALTER TABLE inbound_outcomes13 RENAME TO inbound_outcomes;"
	 "CREATE INDEX inbound_outcomes_email ON inbound_outcomes(email, at);"
	 "CREATE INDEX inbound_outcomes_ref ON inbound_outcomes(kind, ref);"
	 "CREATE INDEX inbound_outcomes_outbox ON inbound_outcomes(outbox_id);"
	 "CREATE TABLE mailbox_uidls13 ("
	 "  mailbox   TEXT NOT NULL,"
	 "  uidl      TEXT NOT NULL,"
	 "  kind      TEXT NOT NULL CHECK (kind = 'bounce' OR kind = 'complaint'"
	 "             OR kind = 'autoreply' OR kind = 'unsubscribe' OR kind = 'delivered'"
	 "             OR kind = 'other'),"
	 "  inbound_id INTEGER NOT NULL,"
	 "  taken     INTEGER NOT NULL,"
	 "  PRIMARY KEY (mailbox, uidl)"
	 ") STRICT, WITHOUT ROWID;"
	 "INSERT INTO mailbox_uidls13 SELECT mailbox, uidl, kind, inbound_id, taken"
	 "  FROM mailbox_uidls;"
	 "DROP TABLE mailbox_uidls;"
	 "ALTER TABLE mailbox_uidls13 RENAME TO mailbox_uidls;"
	 "CREATE TABLE subscribers13 ("
	 "  id        INTEGER PRIMARY KEY,"
	 "  email     TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	 "  name      TEXT NOT NULL DEFAULT '',"
	 "  lang      TEXT NOT NULL CHECK (lang = 'fi' OR lang = 'sv' OR lang = 'en'),"
	 "  regions   INTEGER NOT NULL CHECK (regions BETWEEN 1 AND 31),"
	 "  status    TEXT NOT NULL CHECK (status = 'active' OR status = 'unsubscribed'"
	 "             OR status = 'pending' OR status = 'suppressed'),"
	 "  created   INTEGER NOT NULL,"
	 "  updated   INTEGER NOT NULL,"
	 "  paused_until INTEGER"
	 ") STRICT;"
	 "INSERT INTO subscribers13 SELECT id, email, name, lang, regions, status, created,"
	 "  updated, paused_until FROM subscribers;"
	 "DROP TABLE subscribers;"
	 "ALTER TABLE subscribers13 RENAME TO subscribers;"
	 "CREATE INDEX subscribers_status ON subscribers(status, id);"),
	/* 14: subscribers, contacts and outbox never reuse an id
	 * (AUTOINCREMENT), as confirmations since 10: their ids are what
	 * tokens that never expire name (/u/ and unsubscribe+, /p/,
	 * bounces+), and SQLite gives a deleted last row's id again.  So an
	 * erased or purged subscriber's old links acted on the next one to
	 * subscribe, a project given other contacts handed a dropped
	 * contact's link to a new one, and a complaint arriving after an
	 * issue's rows were compacted named a newer message.  Same columns,
	 * rows and ids; inserting them sets each sequence to the highest id
	 * there is */
	("CREATE TABLE subscribers14 ("
	 "  id        INTEGER PRIMARY KEY AUTOINCREMENT,"	/* the /u/ token's subject */
	 "  email     TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	 "  name      TEXT NOT NULL DEFAULT '',"
	 "  lang      TEXT NOT NULL CHECK (lang = 'fi' OR lang = 'sv' OR lang = 'en'),"
	 "  regions   INTEGER NOT NULL CHECK (regions BETWEEN 1 AND 31),"
	 "  status    TEXT NOT NULL CHECK (status = 'active' OR status = 'unsubscribed'"
	 "             OR status = 'pending' OR status = 'suppressed'),"
	 "  created   INTEGER NOT NULL,"
	 "  updated   INTEGER NOT NULL,"
	 "  paused_until INTEGER"
	 ") STRICT;"
	 "INSERT INTO subscribers14 SELECT id, email, name, lang, regions, status, created,"
	 "  updated, paused_until FROM subscribers;"
	 "DROP TABLE subscribers;"
	 "ALTER TABLE subscribers14 RENAME TO subscribers;"
	 "CREATE INDEX subscribers_status ON subscribers(status, id);"
	 "CREATE TABLE contacts14 ("
	 "  id        INTEGER PRIMARY KEY AUTOINCREMENT,"	/* the /p/ token's subject */
	 "  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	 "  email     TEXT NOT NULL COLLATE NOCASE,"
	 "  UNIQUE (project_id, email)"
	 ") STRICT;"
	 "INSERT INTO contacts14 SELECT id, project_id, email FROM contacts;"
	 "DROP TABLE contacts;"
	 "ALTER TABLE contacts14 RENAME TO contacts;"
	 "CREATE TABLE outbox14 ("
	 "  id        INTEGER PRIMARY KEY AUTOINCREMENT,"	/* the bounces+ token's subject */
	 "  kind      TEXT NOT NULL,"
	 "  ref       TEXT NOT NULL,"
	 "  subscriber_id INTEGER,"
	 "  recipient TEXT NOT NULL,"
	 "  state     TEXT NOT NULL CHECK (state = 'queued' OR state = 'sending'"
	 "             OR state = 'sent' OR state = 'deferred' OR state = 'failed'"
	 "             OR state = 'suppressed' OR state = 'skipped' OR state = 'cancelled'),"
	 "  attempts  INTEGER NOT NULL DEFAULT 0,"
	 "  next_attempt INTEGER NOT NULL DEFAULT 0,"
	 "  first_attempt INTEGER,"
	 "  reply_code INTEGER,"
	 "  reply     TEXT,"
	 "  created   INTEGER NOT NULL,"
	 "  updated   INTEGER NOT NULL,"
	 "  contact_id INTEGER,"
	 "  UNIQUE (kind, ref, recipient)"
	 ") STRICT;"
	 "INSERT INTO outbox14 SELECT id, kind, ref, subscriber_id, recipient, state, attempts,"
	 "  next_attempt, first_attempt, reply_code, reply, created, updated, contact_id"
	 "  FROM outbox;"
	 "DROP TABLE outbox;"
	 "ALTER TABLE outbox14 RENAME TO outbox;"
	 "CREATE INDEX outbox_due ON outbox(next_attempt)"
	 "  WHERE state IN ('queued', 'deferred');"
	 "CREATE INDEX outbox_open ON outbox(kind, ref)"
	 "  WHERE state = 'queued' OR state = 'sending' OR state = 'deferred';"
	 "CREATE INDEX outbox_recipient ON outbox(recipient COLLATE NOCASE);"),
};

/* the intake's statements, one event at a time */
static const char ev_get_sql[] = "SELECT type, revision, body FROM events WHERE id = ?1";
static const char ev_insert_sql[] = "INSERT INTO events (id, type, revision, body, regions,"
    " at, cancelled, created, updated) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char ev_update_sql[] = "UPDATE events SET revision = ?2, body = ?3,"
    " regions = ?4, at = ?5, cancelled = ?6, updated = ?7 WHERE id = ?1";
static const char rev_insert_sql[] = "INSERT INTO event_revisions (event_id, revision,"
    " body, received) VALUES (?1, ?2, ?3, ?4)";

#define CACHE_MAX 192	/* every static statement of every module, with room */
/* the WAL budget: at most what the sender's handle let its WAL reach
 * before (8192 pages), at least 64 pages */
#define WAL_BUDGET_MAX	((int64_t)32 << 20)
#define WAL_BUDGET_MIN_PAGES 64
#define AUTOCHECKPOINT_PAGES 1000	/* SQLite's default, for all but bulk */

struct store {
	sqlite3	*db;
	int	 last_rc;
	char	*path, *dir;		/* the database file and its directory */
	int	 busy_ms;
	int64_t	 page_size, wal_budget, cap, reserve;	/* bytes */
	/* statements of the hot paths of other modules, by their SQL text */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[CACHE_MAX];
	int	 ncache;
};

const char *
store_errmsg(store_t *s)
{
	return sqlite3_errmsg(s->db);
}

int
store_full(store_t *s)
{
	return s->last_rc == SQLITE_FULL || sqlite3_extended_errcode(s->db) == SQLITE_FULL;
}

/* exec_quiet - run SQL text that takes no parameters; the error is left
 * for store_errmsg() */
static int
exec_quiet(store_t *s, const char *sql)
{
	s->last_rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return s->last_rc == SQLITE_OK ? 0 : -1;
}

/* store_exec - run SQL text that takes no parameters (pragmas, DDL),
 * logging a failure */
static int
store_exec(store_t *s, const char *sql)
{
	if (exec_quiet(s, sql) == 0)
		return 0;
	log_error("store: %s: %s", sql, sqlite3_errmsg(s->db));
	return -1;
}

int
store_prepare(store_t *s, const char *sql, sqlite3_stmt **st)
{
	s->last_rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (s->last_rc != SQLITE_OK)
		log_error("store: prepare: %s", sqlite3_errmsg(s->db));
	return s->last_rc == SQLITE_OK ? 0 : -1;
}

sqlite3_stmt *
store_cached(store_t *s, const char *sql)
{
	sqlite3_stmt *st;
	int i;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	if (s->ncache == CACHE_MAX)
		fatal("store: more than %d cached statements", CACHE_MAX);
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_error("store: prepare: %s", sqlite3_errmsg(s->db));
		return NULL;
	}
	s->cache[s->ncache].sql = sql;
	s->cache[s->ncache++].st = st;
	return st;
}

int
store_step(store_t *s, sqlite3_stmt *st)
{
	return s->last_rc = sqlite3_step(st);
}

/* one_row - step a statement for at most one row: 0 a row (st left on
 * it), 1 none, -1 an error (st reset) */
static int
one_row(store_t *s, sqlite3_stmt *st)
{
	switch (store_step(s, st)) {
	case SQLITE_ROW:
		return 0;
	case SQLITE_DONE:
		sqlite3_reset(st);
		return 1;
	default:
		sqlite3_reset(st);
		return -1;
	}
}

int
store_int(store_t *s, sqlite3_stmt *st, int64_t *out)
{
	int rc;

	if ((rc = one_row(s, st)) == 0) {
		*out = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return rc;
}

int
store_text(store_t *s, sqlite3_stmt *st, buf_t *out)
{
	const char *v;
	int rc;

	if ((rc = one_row(s, st)) == 0) {
		v = (const char *)sqlite3_column_text(st, 0);
		buf_reset(out);
		if (v != NULL && buf_adds(out, v) < 0)
			rc = -1;
		sqlite3_reset(st);
	}
	return rc;
}

int
store_rows(store_t *s, sqlite3_stmt *st, int (*cb)(sqlite3_stmt *, void *), void *arg)
{
	int rc;

	while ((rc = store_step(s, st)) == SQLITE_ROW)
		if ((rc = cb(st, arg)) != 0) {
			sqlite3_reset(st);
			return rc;
		}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_run(store_t *s, sqlite3_stmt *st)
{
	int rc = store_step(s, st) == SQLITE_DONE ? 0 : -1;

	sqlite3_reset(st);
	return rc;
}

void
store_busy(store_t *s, int ms)
{
	s->busy_ms = ms;	/* store_checkpoint() puts it back */
	sqlite3_busy_timeout(s->db, ms);
}

/* wal_frames - how many frames (a page and a 24-byte header) fill W
 * after the WAL's 32-byte header: the autocheckpoint of a bulk handle */
static int64_t
wal_frames(const store_t *s)
{
	return (s->wal_budget - 32) / (s->page_size + 24);
}

int
store_bulk(store_t *s)
{
	char sql[128];

	snprintf(sql, sizeof sql, "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = %lld",
	    (long long)wal_frames(s));
	return store_exec(s, sql);
}

/* file_size - st_size of path, 0 when it does not exist */
static int
file_size(const char *path, int64_t *size)
{
	struct stat sb;

	*size = 0;
	if (stat(path, &sb) == 0) {
		*size = (int64_t)sb.st_size;
		return 0;
	}
	return errno == ENOENT ? 0 : -1;
}

store_space_state_t
store_space(store_t *s, int was_low, store_space_t *sp)
{
	static const char count_sql[] = "PRAGMA page_count";
	char path[4096];
	struct statvfs vfs;
	sqlite3_stmt *st;
	int64_t growth, room_disk, room_cap, pages;

	memset(sp, 0, sizeof *sp);
	sp->wal_budget = s->wal_budget;
	sp->cap = s->cap;
	sp->reserve = s->reserve;
	if (file_size(s->path, &sp->db) < 0)
		return STORE_SPACE_ERROR;
	snprintf(path, sizeof path, "%s-wal", s->path);
	if (file_size(path, &sp->wal) < 0)
		return STORE_SPACE_ERROR;
	snprintf(path, sizeof path, "%s-shm", s->path);
	if (file_size(path, &sp->shm) < 0)
		return STORE_SPACE_ERROR;
	if ((st = store_cached(s, count_sql)) == NULL || store_int(s, st, &pages) != 0) {
		errno = EIO;
		return STORE_SPACE_ERROR;
	}
	sp->logical = pages * s->page_size;
	if (statvfs(s->dir, &vfs) < 0)
		return STORE_SPACE_ERROR;
	sp->avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	/* before the WAL is cut back again the database grows to its logical
	 * size (a checkpoint copies the WAL's new pages in) and the WAL to W */
	sp->projected = (sp->logical > sp->db ? sp->logical : sp->db) +
	    (sp->wal > s->wal_budget ? sp->wal : s->wal_budget) + sp->shm;
	growth = sp->projected - (sp->db + sp->wal + sp->shm);
	room_disk = sp->avail - growth - s->reserve;
	room_cap = s->cap ? s->cap - sp->projected : INT64_MAX;
	sp->room = room_cap < room_disk ? room_cap : room_disk;
	sp->limit = room_cap < room_disk ? "store.max_size_mb" : "store.reserve_mb";
	return sp->room < (was_low ? STORE_SPACE_RESUME : 0) ? STORE_SPACE_LOW : STORE_SPACE_OK;
}

int
store_checkpoint(store_t *s)
{
	int rc;

	/* TRUNCATE waits for readers through the busy handler: not here, in
	 * the loop; another look comes with the next check */
	sqlite3_busy_timeout(s->db, 0);
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(s->db, s->busy_ms);
	return rc == SQLITE_OK ? 0 : -1;
}

int64_t
store_last_id(store_t *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

int64_t
store_changes(store_t *s)
{
	return sqlite3_changes64(s->db);
}

int64_t
store_first_after(store_t *s, const char *sql, int64_t t)
{
	sqlite3_stmt *st = store_cached(s, sql);
	int64_t v = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, t);
	if (store_step(s, st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/* tx_quiet - BEGIN or COMMIT as a cached statement: the sender runs one
 * of each per loop turn, and sqlite3_exec() parsed the text every time
 * (a parser allocated and freed: measured 3 % of the worker's CPU at 4
 * connections); the error is left for store_errmsg(), as exec_quiet()'s */
static int
tx_quiet(store_t *s, const char *sql)
{
	sqlite3_stmt *st = store_cached(s, sql);

	if (st == NULL)
		return exec_quiet(s, sql);
	s->last_rc = sqlite3_step(st);
	if (s->last_rc == SQLITE_DONE)
		s->last_rc = SQLITE_OK;
	sqlite3_reset(st);
	return s->last_rc == SQLITE_OK ? 0 : -1;
}

int
store_begin(store_t *s)
{
	static const char sql[] = "BEGIN IMMEDIATE";

	/* quiet, like COMMIT: a held lock or a full disk repeats for as long
	 * as it lasts, and each caller says once what it could not do */
	return tx_quiet(s, sql);
}

int
store_commit(store_t *s)
{
	static const char sql[] = "COMMIT";

	return tx_quiet(s, sql);
}

void
store_rollback(store_t *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int
store_schema_latest(void)
{
	return (int)NELEM(migrations);
}

int
store_schema_version(store_t *s)
{
	static const char sql[] = "PRAGMA user_version";
	sqlite3_stmt *st;
	int64_t v;

	return (st = store_cached(s, sql)) != NULL && store_int(s, st, &v) == 0 ? (int)v : -1;
}

static int
store_migrate(store_t *s, buf_t *err)
{
	char sql[64];
	int v;

	for (;;) {
		if (store_begin(s) < 0)
			goto fail;
		/* read inside the transaction: another process may have migrated */
		if ((v = store_schema_version(s)) < 0)
			goto fail;
		if ((size_t)v >= NELEM(migrations)) {
			store_rollback(s);
			break;
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (store_exec(s, migrations[v]) < 0 || store_exec(s, sql) < 0 ||
		    store_commit(s) < 0)
			goto fail;
		log_info("store: schema migrated to version %d", v + 1);
	}
	if (v > (int)NELEM(migrations)) {
		buf_notef(err, "database schema version %d is newer than this tiedote (%zu)",
		    v, NELEM(migrations));
		return -1;
	}
	return 0;
fail:
	buf_notef(err, "migration failed: %s", sqlite3_errmsg(s->db));
	store_rollback(s);
	return -1;
}

/* mkparent - create the database's directory, one level, if missing */
static int
mkparent(const char *path, buf_t *err)
{
	char *copy = xstrdup(path), *dir = dirname(copy);
	int rc = 0;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		buf_notef(err, "%s: cannot create directory: %s", dir, strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

/* wal_budget - W from the reserve and the cap (store.h), the pragmas
 * that keep the WAL to it, and the database file's share of the cap */
static int
wal_budget(store_t *s, const conf_t *conf, buf_t *err)
{
	static const char size_sql[] = "PRAGMA page_size";
	sqlite3_stmt *st;
	int64_t w = WAL_BUDGET_MAX, pages;
	char sql[160];
	int rc = -1;

	if ((st = store_cached(s, size_sql)) == NULL || store_int(s, st, &s->page_size) != 0)
		goto out;
	s->cap = (int64_t)conf->db_max_mb << 20;
	s->reserve = (int64_t)conf->db_reserve_mb << 20;
	if (s->reserve > 0 && s->reserve / 2 < w)
		w = s->reserve / 2;
	if (s->cap > 0 && s->cap / 4 < w)
		w = s->cap / 4;
	pages = w / s->page_size;
	if (pages < WAL_BUDGET_MIN_PAGES)
		pages = WAL_BUDGET_MIN_PAGES;
	s->wal_budget = pages * s->page_size;
	if (s->cap > 0 && s->cap < 2 * s->wal_budget) {
		buf_notef(err, "store.max_size_mb: %ld MiB leaves no room beside a WAL of %lld KiB",
		    conf->db_max_mb, (long long)(s->wal_budget >> 10));
		goto out;
	}
	snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %lld; PRAGMA wal_autocheckpoint = %lld",
	    (long long)s->wal_budget, (long long)(wal_frames(s) < AUTOCHECKPOINT_PAGES ?
	    wal_frames(s) : AUTOCHECKPOINT_PAGES));
	if (store_exec(s, sql) < 0)
		goto out;
	/* the database file's share of the cap: the rest is the WAL's */
	if (s->cap > 0) {
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
		    (long long)((s->cap - s->wal_budget) / s->page_size));
		if (store_exec(s, sql) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0 && err->len == 0)
		buf_notef(err, "%s: %s", conf->db_path, sqlite3_errmsg(s->db));
	return rc;
}

int
store_open(const conf_t *conf, store_t **out, buf_t *err)
{
	store_t *s = xcalloc(1, sizeof *s);
	char *copy;
	int rc;

	*out = NULL;
	s->path = xstrdup(conf->db_path);
	copy = xstrdup(conf->db_path);
	s->dir = xstrdup(dirname(copy));
	free(copy);
	s->busy_ms = (int)conf->busy_timeout_ms;
	if (mkparent(conf->db_path, err) < 0)
		goto fail;
	rc = sqlite3_open_v2(conf->db_path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		buf_notef(err, "%s: %s", conf->db_path, s->db ? sqlite3_errmsg(s->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, (int)conf->busy_timeout_ms);
	if (store_exec(s, "PRAGMA journal_mode = WAL") < 0 ||
	    store_exec(s, "PRAGMA synchronous = FULL") < 0 ||
	    store_exec(s, "PRAGMA foreign_keys = ON") < 0) {
		buf_notef(err, "%s: %s", conf->db_path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (wal_budget(s, conf, err) < 0)
		goto fail;
	if (store_migrate(s, err) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

int
store_open_read(const conf_t *conf, store_t **out, buf_t *err)
{
	store_t *s = xcalloc(1, sizeof *s);
	struct stat st;
	char *copy;
	int rc, v;

	*out = NULL;
	s->path = xstrdup(conf->db_path);
	copy = xstrdup(conf->db_path);
	s->dir = xstrdup(dirname(copy));
	free(copy);
	s->busy_ms = (int)conf->busy_timeout_ms;
	if (stat(conf->db_path, &st) < 0) {
		buf_notef(err, "%s: %s (the worker creates the database)", conf->db_path,
		    strerror(errno));
		goto fail;
	}
	/* read-write but never created, and query_only: a read-only handle
	 * on a WAL database cannot remove the -wal and -shm files it made
	 * when no worker runs, and the worker could not open files left
	 * behind owned by another user (root's, say); a file this user may
	 * not write SQLite opens read-only by itself */
	rc = sqlite3_open_v2(conf->db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK || store_query_only(s) < 0) {
		buf_notef(err, "%s: %s", conf->db_path, s->db ? sqlite3_errmsg(s->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, s->busy_ms);
	if ((v = store_schema_version(s)) < 0) {
		buf_notef(err, "%s: %s", conf->db_path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (v != (int)NELEM(migrations)) {
		buf_notef(err, "%s: database schema version %d, this tiedote's %zu: %s",
		    conf->db_path, v, NELEM(migrations), v == 0 ? "not a tiedote database" :
		    v < (int)NELEM(migrations) ? "start this version's worker first (it migrates"
		    " the database)" : "this tiedote is older than the database");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void
store_close(store_t *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
	free(s->dir);
	free(s);
}

int
store_event_put(store_t *s, const char *id, const char *type, const char *body,
    unsigned regions, int64_t at, int cancelled, int64_t now,
    store_put_t *result, int *revision)
{
	sqlite3_stmt *st;
	int found, rev = 0;

	*revision = 0;
	if ((st = store_cached(s, ev_get_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((found = one_row(s, st)) < 0)
		return -1;
	if ((found = found == 0)) {
		rev = *revision = sqlite3_column_int(st, 1);
		*result = strcmp((const char *)sqlite3_column_text(st, 0), type) != 0 ?
		    PUT_TYPE_MISMATCH : strcmp((const char *)sqlite3_column_text(st, 2), body) == 0 ?
		    PUT_DUPLICATE : PUT_REVISION;
		sqlite3_reset(st);
		if (*result != PUT_REVISION)
			return 0;
	}
	/* the same parameters but for ?2: the new revision, or the type */
	if ((st = store_cached(s, found ? ev_update_sql : ev_insert_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	found ? sqlite3_bind_int(st, 2, ++rev) : sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	rev = found ? rev : 1;
	sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, regions);
	at ? sqlite3_bind_int64(st, 5, at) : sqlite3_bind_null(st, 5);
	sqlite3_bind_int(st, 6, cancelled);
	sqlite3_bind_int64(st, 7, now);
	if (store_run(s, st) < 0 || (st = store_cached(s, rev_insert_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, rev);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	if (store_run(s, st) < 0)
		return -1;
	*result = found ? PUT_REVISION : PUT_NEW;
	*revision = rev;
	return 0;
}

int
store_subscriber_put(store_t *s, const subscriber_t *sub, int resubscribe,
    int64_t now, store_sub_t *result)
{
	static const char get_sql[] =
	    "SELECT name, lang, regions, status FROM subscribers WHERE email = ?1";
	static const char ins_sql[] =
	    "INSERT INTO subscribers (email, name, lang, regions, status, created, updated)"
	    " VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?5)";
	static const char upd_sql[] =
	    "UPDATE subscribers SET name = ?2, lang = ?3, regions = ?4,"
	    " status = 'active', updated = ?5 WHERE email = ?1";
	sqlite3_stmt *st;
	int found, same = 0, unsub = 0;

	if ((st = store_cached(s, get_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, sub->email, -1, SQLITE_STATIC);
	if ((found = one_row(s, st)) < 0)
		return -1;
	if ((found = found == 0)) {
		const char *status = (const char *)sqlite3_column_text(st, 3);

		unsub = strcmp(status, "active") != 0;
		same = !unsub &&
		    strcmp((const char *)sqlite3_column_text(st, 0), sub->name) == 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 1), sub->lang) == 0 &&
		    (unsigned)sqlite3_column_int(st, 2) == sub->regions;
		sqlite3_reset(st);
	}
	if (same || (unsub && !resubscribe)) {
		*result = same ? SUB_UNCHANGED : SUB_KEPT_UNSUBSCRIBED;
		return 0;
	}
	if ((st = store_cached(s, found ? upd_sql : ins_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, sub->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sub->lang, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)sub->regions);
	sqlite3_bind_int64(st, 5, now);
	if (store_run(s, st) < 0)
		return -1;
	*result = found ? SUB_UPDATED : SUB_ADDED;
	return 0;
}

int
store_subscriber_remove(store_t *s, const char *email, int purge, int64_t now, int *found)
{
	static const char cancel_sql[] =
	    "UPDATE outbox SET state = 'cancelled', reply = 'the subscriber left', updated = ?2"
	    " WHERE state IN ('queued', 'deferred')"
	    " AND subscriber_id IN (SELECT id FROM subscribers WHERE email = ?1)";
	static const char purge_sql[] = "DELETE FROM subscribers WHERE email = ?1";
	static const char unsub_sql[] =
	    "UPDATE subscribers SET status = 'unsubscribed', updated = ?2 WHERE email = ?1";
	sqlite3_stmt *st;
	int rc = -1;

	/* one unit with what is still queued for the address: whoever leaves
	 * gets nothing more, not even a retry of a deferred message */
	if (store_exec(s, "SAVEPOINT subscriber_remove") < 0)
		return -1;
	if ((st = store_cached(s, cancel_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (store_run(s, st) < 0 || (st = store_cached(s, purge ? purge_sql : unsub_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if (!purge)
		sqlite3_bind_int64(st, 2, now);
	if (store_run(s, st) < 0)
		goto out;
	*found = sqlite3_changes(s->db) > 0;
	rc = 0;
out:
	if (rc < 0)
		store_exec(s, "ROLLBACK TO subscriber_remove");
	store_exec(s, "RELEASE subscriber_remove");
	return rc;
}

#define SUBSCRIBER_COLUMNS "id, email, name, lang, regions, status, created, updated"

/* row_subscriber - a row of SUBSCRIBER_COLUMNS; strings borrowed from st */
static void
row_subscriber(sqlite3_stmt *st, subscriber_t *sub)
{
	sub->id = sqlite3_column_int64(st, 0);
	sub->email = (const char *)sqlite3_column_text(st, 1);
	sub->name = (const char *)sqlite3_column_text(st, 2);
	sub->lang = (const char *)sqlite3_column_text(st, 3);
	sub->regions = (unsigned)sqlite3_column_int(st, 4);
	sub->status = (const char *)sqlite3_column_text(st, 5);
	sub->created = sqlite3_column_int64(st, 6);
	sub->updated = sqlite3_column_int64(st, 7);
}

/* sub_row - a store_rows() callback that hands a subscriber_t to walk's cb */
struct sub_walk {
	int	(*cb)(const subscriber_t *, void *);
	void	*arg;
};

static int
sub_row(sqlite3_stmt *st, void *arg)
{
	struct sub_walk *walk = arg;
	subscriber_t sub;

	row_subscriber(st, &sub);
	return walk->cb(&sub, walk->arg);
}

int
store_subscriber_foreach(store_t *s, const char *status,
    int (*cb)(const subscriber_t *, void *), void *arg)
{
	static const char sql[] = "SELECT " SUBSCRIBER_COLUMNS
	    " FROM subscribers WHERE ?1 IS NULL OR status = ?1 ORDER BY email";
	struct sub_walk walk = { cb, arg };
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	if (status)
		sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	return store_rows(s, st, sub_row, &walk);
}

int
store_meta_get(store_t *s, const char *key, buf_t *value)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = ?1";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return store_text(s, st, value);
}

int
store_meta_set(store_t *s, const char *key, const char *value)
{
	static const char sql[] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET value = ?2";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return store_run(s, st);
}

/* ev_row - a store_rows() callback that hands a store_event_t to walk's cb */
struct ev_walk {
	int	(*cb)(const store_event_t *, void *);
	void	*arg;
};

static int
ev_row(sqlite3_stmt *st, void *arg)
{
	struct ev_walk *walk = arg;
	store_event_t ev;

	ev.id = (const char *)sqlite3_column_text(st, 0);
	ev.body = (const char *)sqlite3_column_text(st, 1);
	ev.revision = sqlite3_column_int(st, 2);
	ev.created = sqlite3_column_int64(st, 3);
	ev.at = sqlite3_column_int64(st, 4);
	ev.regions = (unsigned)sqlite3_column_int(st, 5);
	return walk->cb(&ev, walk->arg);
}

int
store_events_window(store_t *s, const char *type, store_events_by_t by, int64_t from,
    int64_t to, int (*cb)(const store_event_t *, void *), void *arg)
{
	/* a statement each rather than a column name spliced into SQL text */
	static const char *const sql[] = {
		[EVENTS_BY_AT] = "SELECT id, body, revision, created, at, regions FROM events"
		" WHERE type = ?1 AND at > ?2 AND at <= ?3 AND cancelled = 0"
		" ORDER BY at, id",
		[EVENTS_BY_CREATED] = "SELECT id, body, revision, created, at, regions FROM events"
		" WHERE type = ?1 AND created > ?2 AND created <= ?3 AND cancelled = 0"
		" ORDER BY created, id",
		[EVENTS_BY_LATE] = "SELECT id, body, revision, created, at, regions FROM events"
		" WHERE type = ?1 AND cancelled = 0 AND created <= ?3 AND ((at > ?2 AND at <= ?3)"
		" OR (at > 2 * ?2 - ?3 AND at <= ?2 AND created > ?2))"
		" ORDER BY at, id",
	};
	struct ev_walk walk = { cb, arg };
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql[by])) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	return store_rows(s, st, ev_row, &walk);
}

int
store_event_body_before(store_t *s, const char *id, int64_t t, buf_t *body)
{
	static const char sql[] = "SELECT body FROM event_revisions"
	    " WHERE event_id = ?1 AND received <= ?2 ORDER BY revision DESC LIMIT 1";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t);
	return store_text(s, st, body);
}

int
store_issue_last_before(store_t *s, int64_t t, int64_t *period_end)
{
	static const char sql[] = "SELECT period_end FROM issues"
	    " WHERE period_end < ?1 AND state NOT IN ('cancelled')"
	    " ORDER BY period_end DESC LIMIT 1";
	sqlite3_stmt *st;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, t);
	return store_int(s, st, period_end);
}

int
store_subscriber_get(store_t *s, const char *email,
    int (*cb)(const subscriber_t *, void *), void *arg)
{
	static const char sql[] = "SELECT " SUBSCRIBER_COLUMNS
	    " FROM subscribers WHERE email = ?1";
	struct sub_walk walk = { cb, arg };
	sqlite3_stmt *st;
	int rc;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	/* email is unique: the walk has one row or none */
	if ((rc = one_row(s, st)) != 0)
		return rc;
	rc = sub_row(st, &walk);
	sqlite3_reset(st);
	return rc;
}

/* count_row - a store_rows() callback: obj[column 0] = column 1 */
static int
count_row(sqlite3_stmt *st, void *obj)
{
	json_object_set_new(obj, (const char *)sqlite3_column_text(st, 0),
	    json_integer(sqlite3_column_int64(st, 1)));
	return 0;
}

/* count_into - run "SELECT key, count" (a static text) into obj */
static int
count_into(store_t *s, const char *sql, json_t *obj)
{
	sqlite3_stmt *st;

	return (st = store_cached(s, sql)) == NULL ? -1 : store_rows(s, st, count_row, obj);
}

/* latest_row - a store_rows() callback: one event of store_status() */
static int
latest_row(sqlite3_stmt *st, void *last)
{
	json_array_append_new(last, json_pack("{s:s, s:s, s:i, s:I, s:b}",
	    "id", sqlite3_column_text(st, 0), "type", sqlite3_column_text(st, 1),
	    "revision", sqlite3_column_int(st, 2),
	    "updated", (json_int_t)sqlite3_column_int64(st, 3),
	    "cancelled", sqlite3_column_int(st, 4)));
	return 0;
}

int
store_status(store_t *s, int latest, json_t **out)
{
	static const char types_sql[] =
	    "SELECT type, count(*) FROM events GROUP BY type ORDER BY type";
	static const char revs_sql[] = "SELECT 'revisions', count(*) FROM event_revisions";
	static const char subs_sql[] =
	    "SELECT status, count(*) FROM subscribers GROUP BY status ORDER BY status";
	static const char latest_sql[] = "SELECT id, type, revision, updated, cancelled"
	    " FROM events ORDER BY updated DESC, rowid DESC LIMIT ?1";
	json_t *st_json = json_object(), *events = json_object(), *subs = json_object(),
	    *last = json_array();
	sqlite3_stmt *st;
	int rc = -1;

	json_object_set_new(st_json, "schema_version", json_integer(store_schema_version(s)));
	json_object_set(st_json, "events", events);
	json_object_set(st_json, "subscribers", subs);
	json_object_set(st_json, "latest_events", last);
	if (count_into(s, types_sql, events) < 0 || count_into(s, revs_sql, events) < 0 ||
	    count_into(s, subs_sql, subs) < 0 || (st = store_cached(s, latest_sql)) == NULL)
		goto out;
	sqlite3_bind_int(st, 1, latest);
	if (store_rows(s, st, latest_row, last) < 0)
		goto out;
	*out = json_incref(st_json);
	rc = 0;
out:
	json_decref(events);
	json_decref(subs);
	json_decref(last);
	json_decref(st_json);
	return rc;
}

int
store_query_only(store_t *s)
{
	return store_exec(s, "PRAGMA query_only = ON");
}
