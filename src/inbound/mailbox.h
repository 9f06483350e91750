/*
 * mailbox - read inbound mail from a mailbox instead of being handed it:
 * a Maildir, IMAP over TLS (IDLE where the server offers it) or POP3 over
 * TLS, all on libetpan's and the system's calls.
 *
 * inbound.mailbox names it:
 *   maildir:/path/to/Maildir      new/ is read; a message is taken when
 *                                 take() says so
 *   imaps://USER@HOST[:PORT][/FOLDER]   (port 993, folder INBOX)
 *   pop3s://USER@HOST[:PORT]      (port 995; no folders)
 *   imap://..., pop3://...        the same on the plain ports (143, 110):
 *                                 STARTTLS or STLS first, or nothing
 * the password in inbound.mailbox_auth_file (user:password; the URL's
 * USER, when given, wins over the file's).
 * The one pass, mailbox_poll(), hands every message not yet seen to
 * sink->take(arg, msg, len, size, mailbox, uidl), which stores it (the
 * control op inbound.deliver) and returns the kind it was given, or -1
 * when it could not be stored (the message is left untouched and read
 * again next pass).  Then:
 *   kind other (not a bounce, complaint, auto-reply, unsubscribe or
 *     success report)   left where it is: Maildir, moved new/ -> cur/
 *                       without the Seen flag (still unread for staff);
 *                       IMAP, keyword $TiedoteKept (still unread); POP3,
 *                       left on the server, recorded as kept;
 *   any other kind      moved to inbound.mailbox_done (created if
 *                       missing), or, with it empty, marked: Maildir
 *                       cur/ with flag S, IMAP \Seen and $TiedoteDone;
 *                       POP3 (no folders, no flags) left on the server,
 *                       recorded as done; deleted instead only with
 *                       inbound.mailbox_delete (POP3: DELE after the
 *                       commit, applied by the server at QUIT).
 * So a message is stored once: a pass reads only Maildir's new/ and the
 * IMAP messages without either keyword; a crash between the store and
 * the move stores it a second time at the next pass (at-least-once).
 * POP3 is exactly-once: take() passes the mailbox's name
 * (pop3s:// or pop3://USER@HOST:PORT, USER the one logged in) and the message's UIDL,
 * which the worker records in the transaction that stores the message
 * (table mailbox_uidls); each pass first hands the server's UIDL list to
 * sink->sync(), which says which were taken (skipped; deleted now with
 * inbound.mailbox_delete if a DELE was lost to a crash) and drops the
 * record's UIDLs the server no longer lists, so the record stays as
 * large as the mailbox.  A UIDL recorded before is answered, not stored
 * again (a lost reply, a second poller).  Each POP3 pass is one session
 * (login, LIST, UIDL, RETR..., DELE..., QUIT): POP3 shows the mailbox as
 * it was at login.
 *
 * TLS: the server's certificate chain must verify against the system's
 * CAs (or inbound.mailbox_ca_file) for HOST, unless
 * inbound.mailbox_tls_sha256 pins the SHA-256 of its certificate (a
 * self-signed one); checked before the password is sent.  Never plain
 * text: on the plain ports a server that will not start TLS is left
 * before anything else is sent.
 *
 * mailbox_wait() returns when the mailbox may have something new: IMAP
 * IDLE until the server says EXISTS or timeout_s pass (a server without
 * IDLE: timeout_s); a Maildir and POP3: timeout_s (inotify is not used;
 * POP3 has no IDLE).
 *
 * Errors: -1 with err (connect, TLS, login, a folder that cannot be
 * made, a POP3 server without UIDL); the caller tries again later.
 * Ownership: the mailbox_t owns its session.  Threads: one.
 * BUGS: IMAP and POP3 without TLS are refused.  POP3's record is kept by
 * the URL: another scheme or port for the same mailbox stores what is
 * still on the server once more.  A POP3 message over MAILBOX_MSG_MAX is read
 * with TOP (headers and its first lines), not whole.  A POP3 server
 * listing over INBOUND_UIDLS_MAX messages is read whole (its UIDLs looked
 * up that many at a time) but its record is not pruned.  Two pollers on one POP3 mailbox: one whose list is
 * older than the other's newest take prunes that row, and the message is
 * stored again at a later pass; run one poller a mailbox.  With
 * inbound.mailbox_delete on an IMAP server without UIDPLUS (RFC 4315)
 * the delete is a plain EXPUNGE, which also removes what another client
 * marked \Deleted in that folder (README says so).
 */
#ifndef TIEDOTE_MAILBOX_H
#define TIEDOTE_MAILBOX_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"

#define MAILBOX_MSG_MAX		((size_t)64 << 20)	/* bytes of one message fetched */
#define MAILBOX_BATCH		100	/* messages one pass takes at most */

typedef struct mailbox mailbox_t;
/* take - store msg[0..len) (size bytes on the server); from POP3 with its
 * mailbox and uidl, to be recorded in the same transaction (NULL from
 * Maildir and IMAP): 0..KIND_N-1 (classify.h) once stored, or once found
 * recorded before, -1 when not */
typedef int mailbox_take_fn(void *arg, const char *msg, size_t len, size_t size,
    const char *mailbox, const char *uidl);
/* sync - POP3: uidls[0..n) of mailbox, as the server lists them: kinds[i]
 * the kind uidls[i] was recorded with, -1 when it was not taken; with
 * complete (the server's whole list) the record's other UIDLs of mailbox
 * are dropped.  0, or -1 */
typedef int mailbox_sync_fn(void *arg, const char *mailbox, const char *const *uidls,
    size_t n, int complete, int *kinds);
typedef struct mailbox_sink {
	mailbox_take_fn *take;
	mailbox_sync_fn *sync;		/* POP3 only */
	void	*arg;
} mailbox_sink_t;

/* mailbox_open - parse inbound.mailbox and connect: NULL with err */
mailbox_t *mailbox_open(const conf_t *, buf_t *err);
/* mailbox_poll - one pass: the number of messages taken, or -1 with err */
int	 mailbox_poll(mailbox_t *, const mailbox_sink_t *, buf_t *err);
/* mailbox_wait - 0, or -1 with err (the session is gone: open again) */
int	 mailbox_wait(mailbox_t *, int timeout_s, buf_t *err);
void	 mailbox_close(mailbox_t *);

#endif
