/*
 * mailbox - read inbound mail from a mailbox instead of being handed it:
 * a Maildir, or IMAP over TLS (IDLE where the server offers it), both on
 * libetpan's and the system's calls.
 *
 * inbound.mailbox names it:
 *   maildir:/path/to/Maildir      new/ is read; a message is taken when
 *                                 take() says so
 *   imaps://USER@HOST[:PORT][/FOLDER]   (port 993, folder INBOX), the
 *                                 password in inbound.mailbox_password_file
 * The one pass, mailbox_poll(), hands every message not yet seen to
 * take(arg, msg, len, size), which stores it (the control op
 * inbound.deliver) and returns the kind it was given, or -1 when it could
 * not be stored (the message is left untouched and read again next pass).
 * Then:
 *   kind other (not a bounce, complaint, auto-reply, unsubscribe or
 *     success report)   left where it is: Maildir, moved new/ -> cur/
 *                       without the Seen flag (still unread for staff);
 *                       IMAP, keyword $TiedoteKept (still unread);
 *   any other kind      moved to inbound.mailbox_done (created if
 *                       missing), or, with it empty, marked: Maildir
 *                       cur/ with flag S, IMAP \Seen and $TiedoteDone;
 *                       deleted instead only with inbound.mailbox_delete.
 * So a message is stored once: a pass reads only Maildir's new/ and the
 * IMAP messages without either keyword.  A crash between the store and
 * the move stores it a second time at the next pass (at-least-once).
 *
 * TLS: the server's certificate chain must verify against the system's
 * CAs (or inbound.mailbox_ca_file) for HOST, unless
 * inbound.mailbox_tls_sha256 pins the SHA-256 of its certificate (a
 * self-signed one).  Never plain text.
 *
 * mailbox_wait() returns when the mailbox may have something new: IMAP
 * IDLE until the server says EXISTS or timeout_s pass (a server without
 * IDLE: timeout_s); a Maildir: timeout_s (inotify is not used).
 *
 * Errors: -1 with err (connect, TLS, login, a folder that cannot be
 * made); the caller tries again later.  Ownership: the mailbox_t owns its
 * session.  Threads: one.
 * BUGS: POP3 is not done (it has no folders or keywords: it would need
 * its own record of the UIDLs taken); IMAP without TLS is refused.
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
