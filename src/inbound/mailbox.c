/*
 * mailbox - Maildir, IMAP over TLS and POP3 over TLS for inbound mail;
 * contract in mailbox.h.  IMAP is libetpan's mailimap, POP3 its mailpop3;
 * the certificate is checked here with GnuTLS, for both (libetpan's TLS
 * does not check it).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include <sodium.h>

#include "classify.h"
#include "inbound.h"
#include "log.h"
#include "mailbox.h"
#include "secret.h"
#include "util.h"

#define KEPT_KEYWORD	"$TiedoteKept"
#define DONE_KEYWORD	"$TiedoteDone"
#define CHAIN_MAX	16
#define SESSION_TIMEOUT_S	60	/* one command's answer, IMAP and POP3 */
/* a POP3 message over MAILBOX_MSG_MAX is read with TOP, its headers and
 * this many lines of its body (a bounce says what it is at the top) */
#define POP3_TOP_LINES	((unsigned)(INBOUND_RAW_MAX / 64))

enum mtype { M_MAILDIR, M_IMAP, M_POP3 };

/* the schemes of inbound.mailbox that name a server: TLS from the first
 * byte (imaps, pop3s), or on the plain port after STARTTLS (IMAP) or STLS
 * (POP3), which must succeed before anything else is said (imap, pop3) */
static const struct scheme {
	const char *prefix;
	enum mtype type;
	uint16_t port;
	int	 starttls;
} schemes[] = {
	{ "imaps://", M_IMAP, 993, 0 },
	{ "imap://", M_IMAP, 143, 1 },
	{ "pop3s://", M_POP3, 995, 0 },
	{ "pop3://", M_POP3, 110, 1 },
};

struct mailbox {
	const conf_t *conf;
	enum mtype type;
	const struct scheme *scheme;	/* IMAP, POP3 */
	char	*path;			/* Maildir */
	char	*host, *folder;		/* IMAP, POP3 (no folder) */
	char	 user[256];		/* the URL's; empty: the auth file's */
	char	*ident;			/* POP3: SCHEME://USER@HOST:PORT, the record's key */
	uint16_t port;
	mailimap *imap;
	mailpop3 *pop3;			/* one pass's session */
	int	 idle, move, uidplus;	/* the server's IDLE, MOVE, UIDPLUS */
};

/* --- Maildir ---------------------------------------------------------------- */

static int
mkdirs(const char *base, buf_t *err)
{
	static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
	char p[4096];

	for (size_t i = 0; i < NELEM(sub); i++) {
		snprintf(p, sizeof p, "%s%s", base, sub[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			buf_notef(err, "inbound.mailbox: %s: %s", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* read_head - the first INBOUND_RAW_MAX bytes of a file into out, its size */
static int
read_head(const char *path, buf_t *out, size_t *size)
{
	struct stat st;
	char chunk[65536];
	ssize_t n = 0;
	int fd;

	buf_reset(out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	*size = (size_t)st.st_size;
	while (out->len < INBOUND_RAW_MAX && ((n = read(fd, chunk, sizeof chunk)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0 && buf_add(out, chunk, out->len + (size_t)n > INBOUND_RAW_MAX ?
		    INBOUND_RAW_MAX - out->len : (size_t)n) < 0)
			break;
	close(fd);
	/* a read error (EIO): the file stays in new/ for the next pass, never
	 * stored cut short and then moved or deleted */
	if (n < 0)
		return -1;
	/* a file that grew since the fstat: the bytes read are received too
	 * (inbound.deliver refuses a size below them) */
	if (*size < out->len)
		*size = out->len;
	return 0;
}

static int
maildir_poll(mailbox_t *m, const mailbox_sink_t *sink, buf_t *err)
{
	const conf_t *c = m->conf;
	char dir[PATH_MAX], name[NAME_MAX + 1], from[sizeof dir + sizeof name + 2],
	    to[sizeof dir * 2 + sizeof name + 64];
	struct dirent *e;
	buf_t msg;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof dir, "%s/new", m->path);
	if ((d = opendir(dir)) == NULL) {
		buf_notef(err, "inbound.mailbox: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (*c->mailbox_done && !c->mailbox_delete) {
		snprintf(to, sizeof to, "%s/.%s", m->path, c->mailbox_done);
		if (mkdirs(to, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	buf_init(&msg, INBOUND_RAW_MAX + 1);
	while (n < MAILBOX_BATCH && (e = readdir(d)) != NULL) {
		size_t size = 0;
		int kind;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof name, "%s", e->d_name);
		snprintf(from, sizeof from, "%s/%s", dir, name);
		if (read_head(from, &msg, &size) < 0)
			continue;
		if ((kind = sink->take(sink->arg, msg.data ? msg.data : "", msg.len, size, NULL,
		    NULL)) < 0)
			break;	/* not stored: this one and the rest wait for the next pass */
		n++;
		/* other: stays in this mailbox, unread; the rest: done */
		if (kind == KIND_OTHER)
			snprintf(to, sizeof to, "%s/cur/%s:2,", m->path, name);
		else if (c->mailbox_delete) {
			if (unlink(from) < 0)
				log_error("inbound: %s: %s", from, strerror(errno));
			continue;
		} else if (*c->mailbox_done)
			snprintf(to, sizeof to, "%s/.%s/cur/%s:2,S", m->path, c->mailbox_done, name);
		else
			snprintf(to, sizeof to, "%s/cur/%s:2,S", m->path, name);
		if (rename(from, to) < 0)
			log_error("inbound: %s -> %s: %s (it will be read again)", from, to,
			    strerror(errno));
	}
	closedir(d);
	buf_free(&msg);
	return n;
}

/* --- IMAP ------------------------------------------------------------------- */

/* tls_check - the certificate the server sent on stream: pinned, or
 * verified for the host (IMAP and POP3 alike) */
static int
tls_check(mailbox_t *m, mailstream *stream, buf_t *err)
{
	const conf_t *c = m->conf;
	carray *chain = mailstream_get_certificate_chain(stream);
	gnutls_x509_crt_t crt[CHAIN_MAX];
	gnutls_x509_trust_list_t tl = NULL;
	unsigned n = 0, status = 1;
	int rc = -1;

	if (chain == NULL || carray_count(chain) == 0) {
		buf_notef(err, "inbound.mailbox: %s: no certificate from the server", m->host);
		goto out;
	}
	if (*c->mailbox_tls_sha256) {
		MMAPString *der = carray_get(chain, 0);
		unsigned char h[crypto_hash_sha256_BYTES];
		char hex[sizeof h * 2 + 1];

		crypto_hash_sha256(h, (const unsigned char *)der->str, der->len);
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		if (strcasecmp(hex, c->mailbox_tls_sha256) != 0) {
			buf_notef(err, "inbound.mailbox: %s: the certificate's SHA-256 is %s, not the"
			    " pinned inbound.mailbox_tls_sha256", m->host, hex);
			goto out;
		}
		rc = 0;
		goto out;
	}
	for (unsigned i = 0; i < carray_count(chain) && n < CHAIN_MAX; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t dt = { (unsigned char *)der->str, (unsigned)der->len };

		if (gnutls_x509_crt_init(&crt[n]) < 0)
			break;
		if (gnutls_x509_crt_import(crt[n], &dt, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt[n]);
			break;
		}
		n++;
	}
	if (n == 0 || gnutls_x509_trust_list_init(&tl, 0) < 0 ||
	    (*c->mailbox_ca_file ? gnutls_x509_trust_list_add_trust_file(tl, c->mailbox_ca_file,
	    NULL, GNUTLS_X509_FMT_PEM, 0, 0) : gnutls_x509_trust_list_add_system_trust(tl, 0,
	    0)) <= 0 || gnutls_x509_trust_list_verify_crt(tl, crt, n, 0, &status, NULL) < 0 ||
	    status != 0 || !gnutls_x509_crt_check_hostname(crt[0], m->host)) {
		buf_notef(err, "inbound.mailbox: %s: the certificate does not verify for this host"
		    " (inbound.mailbox_ca_file, or pin it with inbound.mailbox_tls_sha256)", m->host);
		goto out;
	}
	rc = 0;
out:
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crt[i]);
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	if (chain) {
		for (unsigned i = 0; i < carray_count(chain); i++)
			mmap_string_free(carray_get(chain, i));
		carray_free(chain);
	}
	return rc;
}

/* credentials - the login of inbound.mailbox_auth_file: *user (the URL's
 * when it names one) and *pass, new strings (pass: wipe it) */
static int
credentials(mailbox_t *m, char **user, char **pass, buf_t *err)
{
	const conf_t *c = m->conf;

	if (!*c->mailbox_auth_file) {
		buf_notef(err, "inbound.mailbox: %.*s needs inbound.mailbox_auth_file",
		    (int)strcspn(m->scheme->prefix, ":"), m->scheme->prefix);
		return -1;
	}
	if (auth_file_load("inbound.mailbox_auth_file", c->mailbox_auth_file, user, pass,
	    err) < 0)
		return -1;
	if (*m->user) {
		free(*user);
		*user = xstrdup(m->user);
	}
	return 0;
}

static void
forget(char *pass)
{
	if (pass) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
	}
}

/* secure_login - IMAP or POP3 (m->type) over TLS: connect (and, on a
 * plain port, STARTTLS or STLS: a server that will not is left before
 * anything else is said), check the certificate, and only then send the
 * password, the one way it leaves.
 * *user the login's (free it); 0, or -1 with err (the session may be
 * half open: the caller closes it) */
static int
secure_login(mailbox_t *m, char **user, buf_t *err)
{
	mailstream *stream;
	char *pass = NULL;
	int starttls = m->scheme->starttls, r, tls = 0, rc = -1;

	if (credentials(m, user, &pass, err) < 0)
		return -1;
	/* MAILIMAP_NO_ERROR and MAILPOP3_NO_ERROR are both 0 */
	if (m->type == M_IMAP) {
		m->imap = mailimap_new(0, NULL);
		mailimap_set_timeout(m->imap, SESSION_TIMEOUT_S);
		r = starttls ? mailimap_socket_connect(m->imap, m->host, m->port) :
		    mailimap_ssl_connect(m->imap, m->host, m->port);
		if (r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
			r = MAILIMAP_NO_ERROR;
		if (r == 0 && starttls && (tls = mailimap_socket_starttls(m->imap)) != 0)
			r = -1;
	} else {
		m->pop3 = mailpop3_new(0, NULL);
		mailpop3_set_timeout(m->pop3, SESSION_TIMEOUT_S);
		r = starttls ? mailpop3_socket_connect(m->pop3, m->host, m->port) :
		    mailpop3_ssl_connect(m->pop3, m->host, m->port);
		if (r == 0 && starttls && (tls = mailpop3_socket_starttls(m->pop3)) != 0)
			r = -1;
	}
	if (tls != 0) {
		buf_notef(err, "inbound.mailbox: %s:%u: the server would not start TLS (%s refused,"
		    " libetpan %d): left before the login, the password not sent", m->host, m->port,
		    m->type == M_IMAP ? "STARTTLS" : "STLS", tls);
		goto out;
	}
	if (r != 0) {
		buf_notef(err, "inbound.mailbox: %s:%u: cannot connect%s (libetpan %d)",
		    m->host, m->port, starttls ? "" : " over TLS", r);
		goto out;
	}
	stream = m->type == M_IMAP ? m->imap->imap_stream : m->pop3->pop3_stream;
	if (tls_check(m, stream, err) < 0)
		goto out;
	if (m->type == M_IMAP ? mailimap_login(m->imap, *user, pass) != MAILIMAP_NO_ERROR :
	    mailpop3_login(m->pop3, *user, pass) != MAILPOP3_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s: login refused for %s", m->host, *user);
		goto out;
	}
	rc = 0;
out:
	forget(pass);
	return rc;
}

static int
imap_open(mailbox_t *m, buf_t *err)
{
	const conf_t *c = m->conf;
	struct mailimap_capability_data *cap = NULL;
	char *u = NULL;
	int rc = -1;

	if (secure_login(m, &u, err) < 0)
		goto out;
	if (mailimap_capability(m->imap, &cap) == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
	m->idle = mailimap_has_idle(m->imap);
	m->move = mailimap_has_extension(m->imap, "MOVE");
	m->uidplus = mailimap_has_extension(m->imap, "UIDPLUS") ||
	    mailimap_has_extension(m->imap, "IMAP4rev2");
	if (*c->mailbox_done && !c->mailbox_delete)
		(void)mailimap_create(m->imap, c->mailbox_done);	/* "exists" is fine */
	if (mailimap_select(m->imap, m->folder) != MAILIMAP_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s: cannot select %s", m->host, m->folder);
		goto out;
	}
	log_info("inbound: %s:%u/%s: logged in%s%s%s", m->host, m->port, m->folder,
	    m->idle ? ", IDLE" : "", m->move ? ", MOVE" : "", m->uidplus ? ", UIDPLUS" : "");
	rc = 0;
out:
	free(u);
	return rc;
}

/* flag - +FLAGS.SILENT; fl is taken (freed with the store attribute) */
static int
flag(mailbox_t *m, struct mailimap_set *set, struct mailimap_flag_list *fl)
{
	struct mailimap_store_att_flags *sa = mailimap_store_att_flags_new_add_flags_silent(fl);
	int r = mailimap_uid_store(m->imap, set, sa);

	mailimap_store_att_flags_free(sa);
	return r == MAILIMAP_NO_ERROR ? 0 : -1;
}

/* imap_done - what becomes of a message once stored */
static int
imap_done(mailbox_t *m, uint32_t uid, int kind)
{
	const conf_t *c = m->conf;
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	int rc = -1;

	if (kind == KIND_OTHER) {
		mailimap_flag_list_add(fl, mailimap_flag_new_flag_keyword(xstrdup(KEPT_KEYWORD)));
		rc = flag(m, set, fl);
	} else if (c->mailbox_delete || *c->mailbox_done == '\0') {
		/* marked first, so a pass after a failed delete does not take it again */
		mailimap_flag_list_add(fl, mailimap_flag_new_flag_keyword(xstrdup(DONE_KEYWORD)));
		mailimap_flag_list_add(fl, mailimap_flag_new_seen());
		if (c->mailbox_delete)
			mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
		rc = flag(m, set, fl);
		/* UID EXPUNGE is UIDPLUS's (RFC 4315); a server without it
		 * has only EXPUNGE, which also removes what another client
		 * marked \Deleted in this folder */
		if (rc == 0 && c->mailbox_delete && (m->uidplus ?
		    mailimap_uid_expunge(m->imap, set) : mailimap_expunge(m->imap)) !=
		    MAILIMAP_NO_ERROR)
			rc = -1;
	} else {
		mailimap_flag_list_add(fl, mailimap_flag_new_flag_keyword(xstrdup(DONE_KEYWORD)));
		mailimap_flag_list_add(fl, mailimap_flag_new_seen());
		/* marked, then moved: were the move to fail, it is not taken again */
		if ((rc = flag(m, set, fl)) == 0) {
			if (m->move)
				rc = mailimap_uid_move(m->imap, set, c->mailbox_done) ==
				    MAILIMAP_NO_ERROR ? 0 : -1;
			else
				rc = mailimap_uid_copy(m->imap, set, c->mailbox_done) ==
				    MAILIMAP_NO_ERROR ? 0 : -1;
		}
		/* without MOVE the copy stays where it was, marked $TiedoteDone:
		 * nothing is deleted unless inbound.mailbox_delete says so */
	}
	mailimap_set_free(set);
	return rc;
}

/* fetch - one message's first INBOUND_RAW_MAX bytes and its size: 0; 1
 * when the server has no such message (another client expunged it since
 * the SEARCH: a UID FETCH of it is answered OK with nothing); -1 */
static int
fetch(mailbox_t *m, uint32_t uid, buf_t *out, size_t *size)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_section *sec = mailimap_section_new(NULL);
	clist *res = NULL;
	int rc = -1;

	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section_partial(sec, 0, INBOUND_RAW_MAX));
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	buf_reset(out);
	*size = 0;
	if (mailimap_uid_fetch(m->imap, set, ft, &res) == MAILIMAP_NO_ERROR) {
		if (clist_isempty(res))
			rc = 1;
		for (clistiter *i = clist_begin(res); i; i = clist_next(i)) {
			struct mailimap_msg_att *ma = clist_content(i);

			for (clistiter *j = clist_begin(ma->att_list); j; j = clist_next(j)) {
				struct mailimap_msg_att_item *it = clist_content(j);
				struct mailimap_msg_att_static *st;

				if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
					continue;
				st = it->att_data.att_static;
				if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
					*size = st->att_data.att_rfc822_size;
				else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
				    st->att_data.att_body_section->sec_body_part && buf_add(out,
				    st->att_data.att_body_section->sec_body_part,
				    st->att_data.att_body_section->sec_length) == 0)
					rc = 0;
			}
		}
		mailimap_fetch_list_free(res);
	}
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (*size < out->len)
		*size = out->len;
	return rc;
}

static int
imap_poll(mailbox_t *m, const mailbox_sink_t *sink, buf_t *err)
{
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	clist *uids = NULL;
	buf_t msg;
	int n = 0;

	mailimap_search_key_multiple_add(key, mailimap_search_key_new_unkeyword(
	    xstrdup(KEPT_KEYWORD)));
	mailimap_search_key_multiple_add(key, mailimap_search_key_new_unkeyword(
	    xstrdup(DONE_KEYWORD)));
	if (mailimap_uid_search(m->imap, NULL, key, &uids) != MAILIMAP_NO_ERROR) {
		mailimap_search_key_free(key);
		buf_notef(err, "inbound.mailbox: %s: SEARCH failed", m->host);
		return -1;
	}
	mailimap_search_key_free(key);
	buf_init(&msg, INBOUND_RAW_MAX + 1);
	for (clistiter *i = clist_begin(uids); i && n < MAILBOX_BATCH; i = clist_next(i)) {
		uint32_t uid = *(uint32_t *)clist_content(i);
		size_t size;
		int kind, got;

		if ((got = fetch(m, uid, &msg, &size)) < 0) {
			buf_notef(err, "inbound.mailbox: %s: FETCH of UID %u failed", m->host, uid);
			n = -1;
			break;
		}
		if (got == 1)
			continue;
		if ((kind = sink->take(sink->arg, msg.data ? msg.data : "", msg.len, size, NULL,
		    NULL)) < 0)
			break;
		n++;
		if (imap_done(m, uid, kind) < 0) {
			/* stored, but not marked: the next pass stores it again */
			buf_notef(err, "inbound.mailbox: %s: UID %u stored but not marked or moved",
			    m->host, uid);
			n = -1;
			break;
		}
	}
	mailimap_search_result_free(uids);
	buf_free(&msg);
	return n;
}

/* --- POP3 -------------------------------------------------------------------- */

/* pop3_end - QUIT (the server applies the DELEs now) and drop the session:
 * a POP3 session sees the mailbox as it was at login, so each pass logs
 * in again */
static void
pop3_end(mailbox_t *m)
{
	if (m->pop3 == NULL)
		return;
	if (m->pop3->pop3_stream && mailpop3_quit(m->pop3) != MAILPOP3_NO_ERROR)
		log_warn("inbound: %s: QUIT failed: messages marked for deletion stay (the next"
		    " pass deletes them)", m->ident);
	mailpop3_free(m->pop3);
	m->pop3 = NULL;
}

static int
pop3_open(mailbox_t *m, buf_t *err)
{
	char *u = NULL;
	int rc = -1;

	if (secure_login(m, &u, err) < 0)
		goto out;
	if (m->ident == NULL) {
		buf_t id;

		buf_init(&id, INBOUND_MAILBOX_MAX);
		if (buf_printf(&id, "%s%s@%s:%u", m->scheme->prefix, u, m->host, m->port) < 0 ||
		    !utf8_valid(buf_str(&id), id.len)) {
			buf_free(&id);
			buf_notef(err, "inbound.mailbox: the user and host make a name over %d bytes"
			    " or not UTF-8", INBOUND_MAILBOX_MAX);
			goto out;
		}
		m->ident = xstrdup(buf_str(&id));
		buf_free(&id);
		log_info("inbound: %s: logged in", m->ident);
	}
	rc = 0;
out:
	if (rc < 0 && m->pop3) {
		mailpop3_free(m->pop3);
		m->pop3 = NULL;
	}
	free(u);
	return rc;
}

/* pop3_dele - a message taken as kind (not other) goes with
 * inbound.mailbox_delete; a failure is logged: the next pass tries again */
static void
pop3_dele(mailbox_t *m, const struct mailpop3_msg_info *info, int kind)
{
	if (kind == KIND_OTHER || !m->conf->mailbox_delete)
		return;
	if (mailpop3_dele(m->pop3, info->msg_index) != MAILPOP3_NO_ERROR)
		log_warn("inbound: %s: DELE %u refused (the next pass tries again)", m->ident,
		    info->msg_index);
}

/* pop3_retr - one message, whole; over MAILBOX_MSG_MAX its top; free with
 * mailpop3_retr_free() */
static int
pop3_retr(mailbox_t *m, const struct mailpop3_msg_info *info, char **msg, size_t *len)
{
	int r = info->msg_size > MAILBOX_MSG_MAX ?
	    mailpop3_top(m->pop3, info->msg_index, POP3_TOP_LINES, msg, len) :
	    mailpop3_retr(m->pop3, info->msg_index, msg, len);

	return r == MAILPOP3_NO_ERROR ? 0 : -1;
}

/* pop3_poll - one session: LIST and UIDL, the record asked which UIDLs
 * were taken (and what it holds of the rest pruned), each new message
 * taken, then DELE (with inbound.mailbox_delete) once it is committed,
 * and QUIT */
static int
pop3_poll(mailbox_t *m, const mailbox_sink_t *sink, buf_t *err)
{
	struct mailpop3_msg_info **infos = NULL;
	const char **uidls = NULL;
	carray *tab = NULL;
	size_t count, nl = 0;
	int *kinds = NULL, n = -1;

	if (m->pop3 == NULL && pop3_open(m, err) < 0)
		return -1;
	if (mailpop3_list(m->pop3, &tab) != MAILPOP3_NO_ERROR || tab == NULL) {
		buf_notef(err, "inbound.mailbox: %s: LIST failed", m->ident);
		goto out;
	}
	count = carray_count(tab);
	infos = xcalloc(count + 1, sizeof *infos);
	uidls = xcalloc(count + 1, sizeof *uidls);
	kinds = xcalloc(count + 1, sizeof *kinds);
	for (size_t i = 0; i < count; i++) {
		struct mailpop3_msg_info *info = carray_get(tab, i);

		if (info == NULL || info->msg_deleted)
			continue;
		if (info->msg_uidl == NULL) {
			/* without UIDL nothing says which message was taken */
			buf_notef(err, "inbound.mailbox: %s: the server does not answer UIDL"
			    " (RFC 1939): cannot read it", m->ident);
			goto out;
		}
		if (!inbound_uidl_ok(info->msg_uidl)) {
			log_warn("inbound: %s: message %u: its UIDL is not 1 to %d printable"
			    " characters: left on the server, not read", m->ident, info->msg_index,
			    INBOUND_UIDL_MAX);
			continue;
		}
		infos[nl] = info;
		uidls[nl++] = info->msg_uidl;
	}
	/* looked up INBOUND_UIDLS_MAX at a time, so that a mailbox whose mail
	 * is never deleted is read to its newest message however long it
	 * grows; only a list that went in one piece is whole, and only a
	 * whole list prunes the record */
	for (size_t off = 0; off < nl || off == 0; off += INBOUND_UIDLS_MAX) {
		size_t part = nl - off < INBOUND_UIDLS_MAX ? nl - off : INBOUND_UIDLS_MAX;

		if (sink->sync(sink->arg, m->ident, uidls + off, part,
		    count <= INBOUND_UIDLS_MAX, kinds + off) < 0) {
			buf_notef(err, "inbound.mailbox: %s: the record of UIDLs taken cannot"
			    " be read", m->ident);
			goto out;
		}
	}
	n = 0;
	for (size_t i = 0; i < nl; i++) {
		char *msg = NULL;
		size_t len = 0;
		int kind;

		if (kinds[i] >= 0) {
			/* taken before: deleted now if a DELE or QUIT was lost */
			pop3_dele(m, infos[i], kinds[i]);
			continue;
		}
		if (n == MAILBOX_BATCH)
			continue;	/* the rest next pass; the taken ones still go */
		if (pop3_retr(m, infos[i], &msg, &len) < 0) {
			buf_notef(err, "inbound.mailbox: %s: RETR %u failed", m->ident,
			    infos[i]->msg_index);
			n = -1;
			break;
		}
		kind = sink->take(sink->arg, msg, len > INBOUND_RAW_MAX ? INBOUND_RAW_MAX : len,
		    infos[i]->msg_size > len ? infos[i]->msg_size : len, m->ident, uidls[i]);
		mailpop3_retr_free(msg);
		if (kind < 0)
			break;	/* not stored: it and the rest wait for the next pass */
		n++;
		pop3_dele(m, infos[i], kind);
	}
out:
	pop3_end(m);	/* also after an error: the DELEs of what was stored go */
	free(infos);
	free(uidls);
	free(kinds);
	return n;
}

/* --- the interface ------------------------------------------------------------ */

/* parse_url - SCHEME://[USER@]HOST[:PORT][/FOLDER] into m (host, port,
 * user, folder); folders: whether the scheme has them */
static int
parse_url(mailbox_t *m, const char *url, size_t scheme, long port, int folders, buf_t *err)
{
	const char *h = url + scheme, *at = NULL, *slash, *colon;
	char *end;

	slash = strchr(h, '/');
	for (const char *p = h; *p && p != slash; p++)
		if (*p == '@')
			at = p;
	if (at) {
		snprintf(m->user, sizeof m->user, "%.*s", (int)(at - h), h);
		h = at + 1;
	}
	colon = strchr(h, ':');
	if (colon && (!slash || colon < slash)) {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && *end != '/') || port < 1 || port > 65535) {
			buf_notef(err, "inbound.mailbox: %s: a bad port", url);
			return -1;
		}
	} else
		colon = slash;
	if (slash && !folders && slash[1]) {
		buf_notef(err, "inbound.mailbox: %s: POP3 has no folders", url);
		return -1;
	}
	m->host = colon ? xstrndup(h, (size_t)(colon - h)) : xstrdup(h);
	for (char *p = m->host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	m->folder = xstrdup(slash && slash[1] ? slash + 1 : "INBOX");
	m->port = (uint16_t)port;
	if (*m->host == '\0') {
		buf_notef(err, "inbound.mailbox: %s: no host", url);
		return -1;
	}
	return 0;
}

mailbox_t *
mailbox_open(const conf_t *c, buf_t *err)
{
	const char *url = c->mailbox;
	mailbox_t *m = xcalloc(1, sizeof *m);

	m->conf = c;
	if (strncmp(url, "maildir:", 8) == 0 && url[8]) {
		m->type = M_MAILDIR;
		m->path = xstrdup(url + 8);
		if (mkdirs(m->path, err) < 0)
			goto fail;
		return m;
	}
	for (size_t i = 0; i < NELEM(schemes); i++) {
		size_t n = strlen(schemes[i].prefix);

		if (strncmp(url, schemes[i].prefix, n) != 0)
			continue;
		m->scheme = &schemes[i];
		m->type = schemes[i].type;
		/* POP3 is connected now too, so that a bad certificate or
		 * login shows at once; its first pass uses this session */
		if (parse_url(m, url, n, schemes[i].port, m->type == M_IMAP, err) < 0 ||
		    (m->type == M_IMAP ? imap_open(m, err) : pop3_open(m, err)) < 0)
			goto fail;
		return m;
	}
	buf_notef(err, "inbound.mailbox: %s: not maildir:/PATH, imaps://USER@HOST[:PORT][/FOLDER],"
	    " imap://..., pop3s://USER@HOST[:PORT] or pop3://... (plain IMAP and POP3 only"
	    " after STARTTLS or STLS)", *url ? url : "(empty)");
fail:
	mailbox_close(m);
	return NULL;
}

int
mailbox_poll(mailbox_t *m, const mailbox_sink_t *sink, buf_t *err)
{
	switch (m->type) {
	case M_MAILDIR: return maildir_poll(m, sink, err);
	case M_IMAP: return imap_poll(m, sink, err);
	case M_POP3: return pop3_poll(m, sink, err);
	}
	return -1;
}

int
mailbox_wait(mailbox_t *m, int timeout_s, buf_t *err)
{
	struct pollfd p;

	if (m->type == M_POP3) {
		/* no IDLE in POP3, and no session between passes */
		sleep((unsigned)timeout_s);	/* the poll interval, not a synchronisation */
		return 0;
	}
	if (m->type == M_MAILDIR || !m->idle) {
		sleep((unsigned)timeout_s);	/* the poll interval, not a synchronisation */
		if (m->type == M_IMAP && mailimap_noop(m->imap) != MAILIMAP_NO_ERROR) {
			buf_notef(err, "inbound.mailbox: %s: the session is gone", m->host);
			return -1;
		}
		return 0;
	}
	if (mailimap_idle(m->imap) != MAILIMAP_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s: IDLE refused", m->host);
		return -1;
	}
	p.fd = mailimap_idle_get_fd(m->imap);
	p.events = POLLIN;
	/* any untagged response (EXISTS, EXPUNGE) ends the wait: a pass follows */
	if (poll(&p, 1, timeout_s * 1000) < 0 && errno != EINTR)
		log_warn("inbound: IDLE: poll: %s", strerror(errno));
	if (mailimap_idle_done(m->imap) != MAILIMAP_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s: the session ended during IDLE", m->host);
		return -1;
	}
	return 0;
}

void
mailbox_close(mailbox_t *m)
{
	if (m == NULL)
		return;
	if (m->imap) {
		/* a connect that failed left no stream, and libetpan's
		 * logout would close the NULL one */
		if (m->imap->imap_stream != NULL)
			(void)mailimap_logout(m->imap);
		mailimap_free(m->imap);
	}
	pop3_end(m);
	free(m->ident);
	free(m->path);
	free(m->host);
	free(m->folder);
	free(m);
}
