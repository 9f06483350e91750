/*
 * message - one finished message for one recipient: data, templates,
 * links, MIME.
 *
 * message_open() prepares what every message shares: the configuration
 * (borrowed, must outlive the context), the loaded templates and the token
 * key.  message_bulletin() builds one recipient's copy of an issue: the
 * common data (sender, recipient, personal unsubscribe link, view-in-
 * browser link), the issue's items for the recipient's regions and
 * language, rendered and wrapped as MIME with a Message-ID that is the same
 * for the same (issue, recipient) every time, so a resend after a crash is
 * recognisable downstream.  It returns 1 and builds nothing when the issue
 * has no item for the recipient and bulletin.send_empty is off.
 * parts (may be NULL) receives the rendered subject, text and HTML; eml
 * (may be NULL) receives the MIME message.
 *
 * Templates: a context uses the process's published set (render.h) when
 * there is one, else loads its own; each message (and message_render())
 * first takes a newer published set, dropping the bulletins rendered with
 * the old one, so a SIGHUP's templates reach the worker's and the web
 * thread's contexts at their next message.  A context is one thread's.
 */
#ifndef TIEDOTE_MESSAGE_H
#define TIEDOTE_MESSAGE_H

#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "compose.h"
#include "conf.h"
#include "mime.h"
#include "render.h"
#include "store.h"
#include "token.h"

/* the installed templates: $(PREFIX)/share/tiedote/templates */
#ifndef TIEDOTE_DATADIR
#define TIEDOTE_DATADIR "/usr/local/share/tiedote"
#endif
#define MESSAGE_TEMPLATES_DEFAULT	"./templates"	/* conf.c's default */
#define MESSAGE_BASE_URL_MAX		800	/* + /u/TOKEN within MIME_URL_MAX */
#define MESSAGE_LIST_ID_MAX		200

typedef struct message_ctx message_ctx_t;

typedef struct message_rcpt {
	int64_t	 id;		/* subscriber id: the unsubscribe token's subject */
	const char *email, *name, *lang;
	unsigned regions;
	int	 draft;		/* the editors' approval copy: marked in the subject */
	int	 contact;	/* id is a project contact's, not a subscriber's */
} message_rcpt_t;

typedef struct message_parts {
	buf_t	 subject, text, html;
} message_parts_t;

/* message_conf_check - 0, or -1 with one line in err naming the key to
 * set: the message.* values (base_url an http(s) URL by the event
 * contract's rule, list_id, the addresses, from_name), time_zone in the
 * tz database, and the template directory (message_templates()) readable
 * and loading without an error.  Touches no store: tiedoted calls it
 * before it creates or migrates a database */
int	 message_conf_check(const conf_t *, buf_t *err);
/* message_templates - the template directory to load: message.templates,
 * but for the default ./templates when there is none here, the installed
 * TIEDOTE_DATADIR/templates; borrowed from the conf or static */
const char *message_templates(const conf_t *);
message_ctx_t *message_open(const conf_t *, store_t *, buf_t *err);
void	 message_close(message_ctx_t *);
/* message_verp - the envelope sender for outbox row id: local+TOKEN@domain
 * of smtp.envelope_from when smtp.verp is on, else that address; -1 at
 * out's ceiling */
int	 message_verp(message_ctx_t *, int64_t id, buf_t *out);
void	 message_parts_init(message_parts_t *);
void	 message_parts_reset(message_parts_t *);
void	 message_parts_free(message_parts_t *);
int	 message_bulletin(message_ctx_t *, const compose_issue_t *, const char *number,
	    const message_rcpt_t *, int64_t date, message_parts_t *, buf_t *eml,
	    buf_t *err);

/* message_notice - a standalone message from template tmpl ("reminder",
 * "announcement") for r, in r->lang: data holds the template's own part
 * (docs/templates.md) and is merged over the common data; ref makes the
 * Message-ID ("reminder-12": the same for the same ref and recipient);
 * attachments (natt may be 0) go in as given; data's "links" object, if
 * any, is merged into the common links (and taken out of data).  It is list mail like the
 * bulletin: the same List-Id, and List-Unsubscribe with r's own opt-out
 * link (a contact's base_url/p/TOKEN, a subscriber's /u/TOKEN) and its
 * mailto form, List-Unsubscribe-Post when base_url is https */
int	 message_notice(message_ctx_t *, const char *tmpl, const char *ref,
	    const message_rcpt_t *, json_t *data, const mime_attachment_t *, size_t natt,
	    int64_t date, message_parts_t *, buf_t *eml, buf_t *err);

/* message_web - the archive's copy of an issue in lang (docs/web.md): all
 * regions, no reader (no address, no unsubscribe link: data.web is true
 * and links.subscribe, links.archive take their place); subject, text
 * and HTML in p; 0 or -1 with err */
int	 message_web(message_ctx_t *, const compose_issue_t *, const char *lang,
	    message_parts_t *p, buf_t *err);
/* message_programme - the programme's name in lang (fi when unknown) */
const char *message_programme(const char *lang);
/* message_render - the context's renderer (borrowed; the context's thread) */
render_t *message_render(message_ctx_t *);
/* message_link - base_url/P/TOKEN for purpose P and subject appended to
 * out (a confirmation's /c/ link); -1 at out's ceiling */
int	 message_link(message_ctx_t *, enum token_purpose, int64_t subject, buf_t *out);
#endif
