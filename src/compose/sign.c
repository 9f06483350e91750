/*
 * sign - DKIM signing with libopendkim; contract in sign.h.
 *
 * libopendkim takes the private key as PEM text on every dkim_sign() call
 * and parses it there; the signer keeps that text (checked once with
 * OpenSSL at start) and one library handle, set up with the fields to
 * sign and to oversign.  A message goes through a fresh signing handle
 * per key: chunk, end of chunks, end of message, then the header value.
 */
#include <ctype.h>
#include <string.h>

#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "secret.h"
#include "sign.h"
#include "util.h"

#define SIGN_FIELD	"DKIM-Signature: "
#define SIGN_HDR_MAX	8192	/* one DKIM-Signature field, folded */
#define TXT_CHUNK	250	/* a TXT record's strings are at most 255 bytes */

/* the fields h= covers when the message has them (sign.h); libopendkim
 * signs every occurrence of a listed field */
static const char *const signed_fields[] = {
	"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
	"list-id", "list-unsubscribe", "list-unsubscribe-post", NULL
};
/* listed once more in h= than they occur: nothing can add one unseen */
static const char *const oversigned_fields[] = { "from", NULL };

struct key {
	const char *selector;	/* borrowed from the conf */
	dkim_alg_t alg;
	buf_t	pem;		/* the key file's text, NUL-terminated */
};

struct sign {
	DKIM_LIB *lib;
	const char *domain;	/* borrowed from the conf */
	struct key keys[2];	/* Ed25519 first when there is one, then RSA */
	int	nkeys;
};

int
sign_dns_name(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && !(s[i] == '-' && label > 0) &&
		    !(s[i] == '_'))	/* selectors may use _ (RFC 6376 3.1) */
			return 0;
		label++;
	}
	return 1;
}

/* key_check - the PEM text parses as a key of the wanted kind and size */
static int
key_check(const buf_t *pem, sign_type_t type, const char *what, const char *path, buf_t *err)
{
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	int rc = -1;

	if (pkey == NULL)
		buf_notef(err, "%s %s: not a PEM private key", what, path);
	else if (type == SIGN_RSA && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		buf_notef(err, "%s %s: not an RSA key", what, path);
	else if (type == SIGN_RSA && EVP_PKEY_get_bits(pkey) < SIGN_RSA_BITS)
		buf_notef(err, "%s %s: an RSA key of %d bits; at least %d are needed",
		    what, path, EVP_PKEY_get_bits(pkey), SIGN_RSA_BITS);
	else if (type == SIGN_ED25519 && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
		buf_notef(err, "%s %s: not an Ed25519 key", what, path);
	else
		rc = 0;
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

static int
key_load(struct key *k, sign_type_t type, const char *selector, const char *path,
    const char *what, buf_t *err)
{
	k->selector = selector;
	k->alg = type == SIGN_RSA ? DKIM_SIGN_RSASHA256 : DKIM_SIGN_ED25519SHA256;
	buf_init(&k->pem, SIGN_KEY_MAX);
	if (secret_read(path, what, SIGN_KEY_MAX, &k->pem, err) < 0)
		return -1;
	return key_check(&k->pem, type, what, path, err);
}

int
sign_open(const conf_t *c, sign_t **out, buf_t *err)
{
	sign_t *s = NULL;
	uint32_t flags = DKIM_LIBFLAGS_NONE;
	const char *at;
	int rc = -1;

	*out = NULL;
	if (*c->dkim_domain == '\0') {
		if (*c->dkim_key_file || *c->dkim_ed25519_key_file) {
			buf_note(err, "dkim.domain: a key file is set but no domain to sign for");
			return -1;
		}
		return 0;
	}
	if (!sign_dns_name(c->dkim_domain)) {
		buf_notef(err, "dkim.domain: \"%s\" is not a DNS name", c->dkim_domain);
		return -1;
	}
	if (!sign_dns_name(c->dkim_selector) || *c->dkim_key_file == '\0') {
		buf_note(err, "dkim.selector and dkim.key_file: both needed with dkim.domain "
		    "(the selector a DNS label)");
		return -1;
	}
	if (*c->dkim_ed25519_key_file && (!sign_dns_name(c->dkim_ed25519_selector) ||
	    strcmp(c->dkim_ed25519_selector, c->dkim_selector) == 0)) {
		buf_note(err, "dkim.ed25519_selector: needed with dkim.ed25519_key_file, "
		    "a DNS label other than dkim.selector (each key has its own TXT record)");
		return -1;
	}
	s = xcalloc(1, sizeof *s);
	s->domain = c->dkim_domain;
	if (*c->dkim_ed25519_key_file &&
	    key_load(&s->keys[s->nkeys++], SIGN_ED25519, c->dkim_ed25519_selector,
	    c->dkim_ed25519_key_file, "dkim.ed25519_key_file", err) < 0)
		goto out;
	if (key_load(&s->keys[s->nkeys++], SIGN_RSA, c->dkim_selector, c->dkim_key_file,
	    "dkim.key_file", err) < 0)
		goto out;
	if ((s->lib = dkim_init(NULL, NULL)) == NULL) {
		buf_note(err, "dkim: libopendkim could not start");
		goto out;
	}
	if (*c->dkim_ed25519_key_file && !dkim_libfeature(s->lib, DKIM_FEATURE_ED25519)) {
		buf_note(err, "dkim.ed25519_key_file: this libopendkim was built without "
		    "ed25519-sha256");
		goto out;
	}
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
	    DKIM_STAT_OK ||
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)signed_fields,
	    sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)oversigned_fields, sizeof(char **)) != DKIM_STAT_OK) {
		buf_note(err, "dkim: libopendkim refused the list of fields to sign");
		goto out;
	}
	/* DMARC passes only when d= is the From domain or a parent of it */
	at = strrchr(c->from_address, '@');
	if (at == NULL || (strcasecmp(at + 1, s->domain) != 0 &&
	    (strlen(at + 1) <= strlen(s->domain) ||
	    strcasecmp(at + 1 + strlen(at + 1) - strlen(s->domain), s->domain) != 0 ||
	    at[strlen(at + 1) - strlen(s->domain)] != '.')))
		log_warn("dkim: d=%s is not the domain of message.from_address %s nor a "
		    "parent of it: DMARC will not count the signature", s->domain,
		    c->from_address);
	log_info("dkim: signing as d=%s with s=%s (rsa-sha256)%s%s%s", s->domain,
	    c->dkim_selector, s->nkeys > 1 ? " and s=" : "",
	    s->nkeys > 1 ? c->dkim_ed25519_selector : "",
	    s->nkeys > 1 ? " (ed25519-sha256)" : "");
	*out = s;
	s = NULL;
	rc = 0;
out:
	sign_close(s);
	return rc;
}

void
sign_close(sign_t *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < 2; i++)
		secret_wipe(&s->keys[i].pem);
	if (s->lib)
		dkim_close(s->lib);
	free(s);
}

/* add_field - "DKIM-Signature: " and the value libopendkim folded with
 * bare LFs, as CRLF lines */
static int
add_field(buf_t *out, const unsigned char *v, size_t n)
{
	if (buf_adds(out, SIGN_FIELD) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\r')
			continue;
		if (v[i] == '\n' ? buf_add(out, "\r\n", 2) < 0 : buf_addc(out, (char)v[i]) < 0)
			return -1;
	}
	return buf_add(out, "\r\n", 2);
}

/* sign_one - one key's DKIM-Signature field for eml, appended to hdrs */
static int
sign_one(sign_t *s, struct key *k, const buf_t *eml, buf_t *hdrs, buf_t *err)
{
	DKIM_STAT st;
	DKIM *d;
	unsigned char *v = NULL;
	size_t n = 0;
	int rc = -1;

	d = dkim_sign(s->lib, (const unsigned char *)"tiedote", NULL,
	    (dkim_sigkey_t)k->pem.data, (const unsigned char *)k->selector,
	    (const unsigned char *)s->domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    k->alg, -1, &st);
	if (d == NULL) {
		buf_notef(err, "dkim: %s", dkim_getresultstr(st));
		return -1;
	}
	if ((st = dkim_chunk(d, (unsigned char *)eml->data, eml->len)) != DKIM_STAT_OK ||
	    (st = dkim_chunk(d, NULL, 0)) != DKIM_STAT_OK ||
	    (st = dkim_eom(d, NULL)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr_d(d, strlen(SIGN_FIELD), &v, &n)) != DKIM_STAT_OK) {
		const char *why = dkim_geterror(d);

		buf_notef(err, "dkim: s=%s: %s", k->selector, why && *why ? why :
		    dkim_getresultstr(st));
		goto out;
	}
	if (add_field(hdrs, v, n) < 0) {
		buf_note(err, "dkim: a signature field longer than its limit");
		goto out;
	}
	rc = 0;
out:
	dkim_free(d);
	return rc;
}

int
sign_message(sign_t *s, buf_t *eml, int64_t now, buf_t *err)
{
	uint64_t t = now > 0 ? (uint64_t)now : 1;
	buf_t hdrs, whole;
	int rc = -1;

	buf_init(&hdrs, SIGN_HDR_MAX * 2);
	buf_init(&whole, eml->max);
	/* t= from the one clock, as Date is */
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &t, sizeof t) !=
	    DKIM_STAT_OK) {
		buf_note(err, "dkim: libopendkim refused the signing time");
		goto out;
	}
	for (int i = 0; i < s->nkeys; i++)
		if (sign_one(s, &s->keys[i], eml, &hdrs, err) < 0)
			goto out;
	if (buf_reserve(&whole, hdrs.len + eml->len) < 0 ||
	    buf_add(&whole, hdrs.data, hdrs.len) < 0 || buf_add(&whole, eml->data, eml->len) < 0) {
		buf_note(err, "dkim: the signed message is over its size limit");
		goto out;
	}
	buf_free(eml);
	*eml = whole;
	buf_init(&whole, 0);
	rc = 0;
out:
	buf_free(&whole);
	buf_free(&hdrs);
	return rc;
}

/* b64 - the DER or raw bytes as one base64 line, appended to out */
static int
b64(buf_t *out, const unsigned char *p, size_t n)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	unsigned char *text = xmalloc(need);
	int len = EVP_EncodeBlock(text, p, (int)n), rc;

	rc = len < 0 ? -1 : buf_add(out, text, (size_t)len);
	free(text);
	return rc;
}

int
sign_keygen(sign_type_t type, const char *path, const char *domain, const char *selector,
    buf_t *record, buf_t *err)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	unsigned char *der = NULL, raw[32];
	size_t rawlen = sizeof raw;
	char *pem;
	long pemlen;
	int derlen, rc = -1;
	buf_t value;

	buf_init(&value, 4096);
	if (!sign_dns_name(domain) || !sign_dns_name(selector)) {
		buf_note(err, "--domain and --selector must be DNS names");
		goto out;
	}
	pkey = type == SIGN_RSA ? EVP_RSA_gen(SIGN_RSA_BITS) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ||
	    (pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		buf_note(err, "OpenSSL could not make the key");
		goto out;
	}
	/* RFC 6376 3.6.1: p= is the SubjectPublicKeyInfo for RSA; RFC 8463:
	 * the 32 bytes of the Ed25519 public key themselves */
	if (type == SIGN_RSA) {
		if ((derlen = i2d_PUBKEY(pkey, &der)) <= 0) {
			buf_note(err, "OpenSSL could not write the public key");
			goto out;
		}
		if (buf_adds(&value, "v=DKIM1; k=rsa; p=") < 0 || b64(&value, der, (size_t)derlen) < 0)
			goto toolong;
	} else {
		if (!EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen)) {
			buf_note(err, "OpenSSL could not write the public key");
			goto out;
		}
		if (buf_adds(&value, "v=DKIM1; k=ed25519; p=") < 0 || b64(&value, raw, rawlen) < 0)
			goto toolong;
	}
	if (buf_printf(record, "%s._domainkey.%s. IN TXT (", selector, domain) < 0)
		goto toolong;
	for (size_t i = 0; i < value.len; i += TXT_CHUNK)
		if (buf_printf(record, " \"%.*s\"", (int)(value.len - i < TXT_CHUNK ?
		    value.len - i : TXT_CHUNK), value.data + i) < 0)
			goto toolong;
	if (buf_adds(record, " )\n") < 0)
		goto toolong;
	rc = secret_write(path, "--out", 0600, pem, (size_t)pemlen, err);
	goto out;
toolong:
	buf_note(err, "the TXT record is longer than its buffer");
out:
	if (bio) {
		if ((pemlen = BIO_get_mem_data(bio, &pem)) > 0)
			OPENSSL_cleanse(pem, (size_t)pemlen);
		BIO_free(bio);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	buf_free(&value);
	return rc;
}
