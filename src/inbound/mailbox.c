/*
 * mailbox - Maildir and IMAP over TLS for inbound mail; contract in
 * mailbox.h.  IMAP is libetpan's mailimap; the certificate is checked
 * here with GnuTLS (libetpan's TLS does not check it).
 */
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
#define IMAPS_PORT	993
#define CHAIN_MAX	16

enum mtype { M_MAILDIR, M_IMAP };

struct mailbox {
	const conf_t *conf;
	enum mtype type;
	char	*path;			/* Maildir */
	char	*host, *folder;		/* IMAP */
	uint16_t port;
	mailimap *imap;
	int	 idle, move;		/* the server's IDLE and MOVE */
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
	ssize_t n;
	int fd;

	buf_reset(out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	*size = (size_t)st.st_size;
	while (out->len < INBOUND_RAW_MAX && (n = read(fd, chunk, sizeof chunk)) > 0)
		if (buf_add(out, chunk, out->len + (size_t)n > INBOUND_RAW_MAX ?
		    INBOUND_RAW_MAX - out->len : (size_t)n) < 0)
			break;
	close(fd);
	return 0;
}

static int
maildir_poll(mailbox_t *m, mailbox_take_fn *take, void *arg, buf_t *err)
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
		if ((kind = take(arg, msg.data ? msg.data : "", msg.len, size)) < 0)
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

/* tls_check - the server's certificate: pinned, or verified for the host */
static int
tls_check(mailbox_t *m, buf_t *err)
{
	const conf_t *c = m->conf;
	carray *chain = mailstream_get_certificate_chain(m->imap->imap_stream);
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

static int
imap_open(mailbox_t *m, const char *user, buf_t *err)
{
	const conf_t *c = m->conf;
	struct mailimap_capability_data *cap = NULL;
	char *u = NULL, *pass = NULL;
	int r, rc = -1;

	if (!*c->mailbox_auth_file) {
		buf_notef(err, "inbound.mailbox: imaps needs inbound.mailbox_auth_file");
		return -1;
	}
	if (auth_file_load("inbound.mailbox_auth_file", c->mailbox_auth_file, &u, &pass,
	    err) < 0)
		return -1;
	m->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(m->imap, 60);
	r = mailimap_ssl_connect(m->imap, m->host, m->port);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s:%u: cannot connect over TLS (libetpan %d)",
		    m->host, m->port, r);
		goto out;
	}
	if (tls_check(m, err) < 0)
		goto out;
	/* the file's user, unless the URL names one */
	if (mailimap_login(m->imap, *user ? user : u, pass) != MAILIMAP_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s: login refused for %s", m->host,
		    *user ? user : u);
		goto out;
	}
	if (mailimap_capability(m->imap, &cap) == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
	m->idle = mailimap_has_idle(m->imap);
	m->move = mailimap_has_extension(m->imap, "MOVE");
	if (*c->mailbox_done && !c->mailbox_delete)
		(void)mailimap_create(m->imap, c->mailbox_done);	/* "exists" is fine */
	if (mailimap_select(m->imap, m->folder) != MAILIMAP_NO_ERROR) {
		buf_notef(err, "inbound.mailbox: %s: cannot select %s", m->host, m->folder);
		goto out;
	}
	log_info("inbound: %s:%u/%s: logged in%s%s", m->host, m->port, m->folder,
	    m->idle ? ", IDLE" : "", m->move ? ", MOVE" : "");
	rc = 0;
out:
	if (pass) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
	}
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
		if (rc == 0 && c->mailbox_delete && mailimap_uid_expunge(m->imap, set) !=
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

/* fetch - one message's first INBOUND_RAW_MAX bytes and its size */
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
imap_poll(mailbox_t *m, mailbox_take_fn *take, void *arg, buf_t *err)
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
		int kind;

		if (fetch(m, uid, &msg, &size) < 0) {
			buf_notef(err, "inbound.mailbox: %s: FETCH of UID %u failed", m->host, uid);
			n = -1;
			break;
		}
		if ((kind = take(arg, msg.data ? msg.data : "", msg.len, size)) < 0)
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

/* --- the interface ------------------------------------------------------------ */

mailbox_t *
mailbox_open(const conf_t *c, buf_t *err)
{
	const char *url = c->mailbox;
	mailbox_t *m = xcalloc(1, sizeof *m);
	char user[256] = "";

	m->conf = c;
	if (strncmp(url, "maildir:", 8) == 0 && url[8]) {
		m->type = M_MAILDIR;
		m->path = xstrdup(url + 8);
		if (mkdirs(m->path, err) < 0)
			goto fail;
		return m;
	}
	if (strncmp(url, "imaps://", 8) == 0) {
		const char *h = url + 8, *at = NULL, *slash, *colon;
		char *end;
		long port = IMAPS_PORT;

		slash = strchr(h, '/');
		for (const char *p = h; *p && p != slash; p++)
			if (*p == '@')
				at = p;
		if (at) {
			snprintf(user, sizeof user, "%.*s", (int)(at - h), h);
			h = at + 1;
		}
		colon = strchr(h, ':');
		if (colon && (!slash || colon < slash)) {
			port = strtol(colon + 1, &end, 10);
			if (end == colon + 1 || (*end && *end != '/') || port < 1 || port > 65535) {
				buf_notef(err, "inbound.mailbox: %s: a bad port", url);
				goto fail;
			}
		} else
			colon = slash;
		m->host = colon ? xstrndup(h, (size_t)(colon - h)) : xstrdup(h);
		m->folder = xstrdup(slash && slash[1] ? slash + 1 : "INBOX");
		m->port = (uint16_t)port;
		m->type = M_IMAP;
		if (*m->host == '\0') {
			buf_notef(err, "inbound.mailbox: %s: no host", url);
			goto fail;
		}
		if (imap_open(m, user, err) < 0)
			goto fail;
		return m;
	}
	buf_notef(err, "inbound.mailbox: %s: not maildir:/PATH or imaps://USER@HOST[:PORT]"
	    "[/FOLDER] (POP3 and plain IMAP are not supported)", *url ? url : "(empty)");
fail:
	mailbox_close(m);
	return NULL;
}

int
mailbox_poll(mailbox_t *m, mailbox_take_fn *take, void *arg, buf_t *err)
{
	return m->type == M_MAILDIR ? maildir_poll(m, take, arg, err) :
	    imap_poll(m, take, arg, err);
}

int
mailbox_wait(mailbox_t *m, int timeout_s, buf_t *err)
{
	struct pollfd p;

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
		(void)mailimap_logout(m->imap);
		mailimap_free(m->imap);
	}
	free(m->path);
	free(m->host);
	free(m->folder);
	free(m);
}
