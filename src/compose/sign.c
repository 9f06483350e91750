/*
 * sign - DKIM signing with a key kept parsed; contract in sign.h.
 *
 * A message: its fields found once (struct field), the relaxed body
 * hashed once (bh= is the same for both keys), then per key the
 * DKIM-Signature field written with an empty b=, the fields h= names
 * canonicalised in the order a verifier takes them (RFC 6376 5.4.2: for a
 * name listed again, the next instance up from the bottom) followed by
 * that field itself without its CRLF, and signed: RSA with
 * EVP_DigestSign() and SHA-256 (RSASSA-PKCS1-v1_5), Ed25519 over the
 * SHA-256 digest of that text (RFC 8463 3: PureEdDSA of the hash).
 */
#include <ctype.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "canon.h"
#include "log.h"
#include "secret.h"
#include "sign.h"
#include "util.h"

#define SIGN_FIELD	"DKIM-Signature: "
#define SIGN_HDR_MAX	8192	/* one DKIM-Signature field, folded */
#define SIGN_FIELDS_MAX	64	/* header fields in one of our messages */
#define SIGN_LINE	72	/* a folded signature field's lines, about */
#define SIGN_BYTES_MAX	512	/* a signature: 256 for RSA-2048 .. 512 for 4096 */
#define TXT_CHUNK	250	/* a TXT record's strings are at most 255 bytes */

/* the fields h= covers when the message has them (sign.h), each instance */
static const char *const signed_fields[] = {
	"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
	"list-id", "list-unsubscribe", "list-unsubscribe-post", NULL
};
/* listed once more in h= than they occur: nothing can add one unseen */
static const char *const oversigned_fields[] = { "from", NULL };

struct key {
	char	*selector;	/* a copy: SIGHUP may change the conf's */
	sign_type_t type;
	EVP_PKEY *pkey;		/* parsed once, at sign_open() */
};

struct sign {
	char	*domain;	/* a copy */
	struct key keys[2];	/* Ed25519 first when there is one, then RSA */
	int	nkeys;
};

/* one header field of the message being signed */
struct field {
	const char *p;		/* "Name: value", continuation lines included */
	size_t	len;		/* without its last CRLF */
	size_t	namelen;
	int	used;		/* taken by a name of h= already */
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

/* key_load - the key file, parsed and checked as a key of the wanted kind
 * and size; kept in k->pkey */
static int
key_load(struct key *k, sign_type_t type, const char *selector, const char *path,
    const char *what, buf_t *err)
{
	buf_t pem;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = -1;

	k->selector = xstrdup(selector);
	k->type = type;
	buf_init(&pem, SIGN_KEY_MAX);
	if (secret_read(path, what, SIGN_KEY_MAX, &pem, err) < 0)
		goto out;
	bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (pkey == NULL)
		buf_notef(err, "%s %s: not a PEM private key", what, path);
	else if (type == SIGN_RSA && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		buf_notef(err, "%s %s: not an RSA key", what, path);
	else if (type == SIGN_RSA && EVP_PKEY_get_bits(pkey) < SIGN_RSA_BITS)
		buf_notef(err, "%s %s: an RSA key of %d bits; at least %d are needed",
		    what, path, EVP_PKEY_get_bits(pkey), SIGN_RSA_BITS);
	else if (type == SIGN_RSA && EVP_PKEY_get_size(pkey) > SIGN_BYTES_MAX)
		buf_notef(err, "%s %s: an RSA key of %d bits; at most %d are used",
		    what, path, EVP_PKEY_get_bits(pkey), SIGN_BYTES_MAX * 8);
	else if (type == SIGN_ED25519 && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
		buf_notef(err, "%s %s: not an Ed25519 key", what, path);
	else {
		k->pkey = pkey;
		pkey = NULL;
		rc = 0;
	}
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	secret_wipe(&pem);
	return rc;
}

int
sign_open(const conf_t *c, sign_t **out, buf_t *err)
{
	sign_t *s = NULL;
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
	s->domain = xstrdup(c->dkim_domain);
	if (*c->dkim_ed25519_key_file &&
	    key_load(&s->keys[s->nkeys++], SIGN_ED25519, c->dkim_ed25519_selector,
	    c->dkim_ed25519_key_file, "dkim.ed25519_key_file", err) < 0)
		goto out;
	if (key_load(&s->keys[s->nkeys++], SIGN_RSA, c->dkim_selector, c->dkim_key_file,
	    "dkim.key_file", err) < 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	sign_close(s);
	return rc;
}

void
sign_log(const sign_t *s, const conf_t *c)
{
	const char *at = strrchr(c->from_address, '@');

	/* DMARC passes only when d= is the From domain or a parent of it */
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
}

void
sign_close(sign_t *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nkeys; i++) {
		EVP_PKEY_free(s->keys[i].pkey);
		free(s->keys[i].selector);
	}
	free(s->domain);
	free(s);
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

/* fields - the header fields of eml (up to the empty line), in order; the
 * number found, or -1 when there are more than max or a line is not a
 * field; *body is where the body starts (eml->len when there is none) */
static int
fields(const buf_t *eml, struct field *f, int max, size_t *body)
{
	const char *p = eml->data, *end = p + eml->len;
	int n = 0;

	while (p < end) {
		const char *q = p, *colon;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			*body = (size_t)(p + 2 - eml->data);
			return n;
		}
		/* one field: its line and every continuation line after it */
		for (;;) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			q = nl ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		colon = memchr(p, ':', (size_t)(q - p));
		if (n == max || colon == NULL || colon == p)
			return -1;
		f[n].p = p;
		f[n].len = (size_t)(q - p) - (q - p >= 2 && q[-2] == '\r' && q[-1] == '\n' ? 2 : 0);
		f[n].namelen = (size_t)(colon - p);
		while (f[n].namelen > 0 && (p[f[n].namelen - 1] == ' ' || p[f[n].namelen - 1] == '\t'))
			f[n].namelen--;
		f[n].used = 0;
		n++;
		p = q;
	}
	*body = eml->len;
	return n;
}

static int
field_is(const struct field *f, const char *name)
{
	return strlen(name) == f->namelen && strncasecmp(f->p, name, f->namelen) == 0;
}

/* h_list - h= (sign.h): each instance of a signed field in the message's
 * order, then the oversigned names once more; ':'-separated into h */
static int
h_list(const struct field *f, int nf, buf_t *h)
{
	for (int i = 0; i < nf; i++)
		for (int k = 0; signed_fields[k]; k++)
			if (field_is(&f[i], signed_fields[k]) &&
			    (buf_printf(h, "%s%s", h->len ? ":" : "", signed_fields[k]) < 0))
				return -1;
	for (int k = 0; oversigned_fields[k]; k++)
		if (buf_printf(h, "%s%s", h->len ? ":" : "", oversigned_fields[k]) < 0)
			return -1;
	return 0;
}

/* fold - text appended to field, a CRLF and a tab first when the line
 * would pass SIGN_LINE; *col is the current line's length */
static int
fold(buf_t *field, size_t *col, const char *text, size_t n)
{
	if (*col + n > SIGN_LINE && *col > 1) {
		if (buf_add(field, "\r\n\t", 3) < 0)
			return -1;
		*col = 1;
	}
	*col += n;
	return buf_add(field, text, n);
}

/* sig_field - "DKIM-Signature: v=1; ...; b=" for key k, folded, b= empty */
static int
sig_field(const sign_t *s, const struct key *k, int64_t now, const buf_t *h,
    const buf_t *bh, buf_t *field)
{
	char tag[256];
	size_t col = 0;
	int n;

	if (fold(field, &col, SIGN_FIELD, strlen(SIGN_FIELD)) < 0)
		return -1;
	n = snprintf(tag, sizeof tag, "v=1; a=%s; c=relaxed/relaxed;",
	    k->type == SIGN_RSA ? "rsa-sha256" : "ed25519-sha256");
	if (fold(field, &col, tag, (size_t)n) < 0)
		return -1;
	n = snprintf(tag, sizeof tag, " d=%s;", s->domain);
	if (n < 0 || (size_t)n >= sizeof tag || fold(field, &col, tag, (size_t)n) < 0)
		return -1;
	n = snprintf(tag, sizeof tag, " s=%s;", k->selector);
	if (n < 0 || (size_t)n >= sizeof tag || fold(field, &col, tag, (size_t)n) < 0)
		return -1;
	n = snprintf(tag, sizeof tag, " t=%lld;", (long long)(now > 0 ? now : 1));
	if (fold(field, &col, tag, (size_t)n) < 0)
		return -1;
	/* h= folds at its colons: FWS may stand around them (RFC 6376 3.5) */
	for (size_t i = 0; i < h->len;) {
		const char *c = memchr(h->data + i, ':', h->len - i);
		size_t end = c ? (size_t)(c - h->data) + 1 : h->len;

		if ((i == 0 && fold(field, &col, " h=", 3) < 0) ||
		    fold(field, &col, h->data + i, end - i) < 0)
			return -1;
		i = end;
	}
	if (fold(field, &col, ";", 1) < 0 || fold(field, &col, " bh=", 4) < 0 ||
	    fold(field, &col, bh->data, bh->len) < 0 || fold(field, &col, ";", 1) < 0 ||
	    fold(field, &col, " b=", 3) < 0)
		return -1;
	return 0;
}

/* sig_value - b=: the signature of data with k, base64 */
static int
sig_value(const struct key *k, const buf_t *data, buf_t *b, buf_t *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[SIGN_BYTES_MAX], digest[32];
	size_t siglen = sizeof sig;
	unsigned dlen = sizeof digest;
	int ok;

	if (ctx == NULL) {
		buf_note(err, "dkim: OpenSSL could not make a signing context");
		return -1;
	}
	if (k->type == SIGN_RSA)
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data->data,
		    data->len) == 1;
	else	/* RFC 8463 3: Ed25519 signs the SHA-256 digest, not the text */
		ok = EVP_Digest(data->data, data->len, digest, &dlen, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, digest, dlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		buf_notef(err, "dkim: s=%s: OpenSSL could not sign", k->selector);
		return -1;
	}
	return b64(b, sig, siglen);
}

/* sign_one - one key's DKIM-Signature field for the message, appended to
 * hdrs; f and bh are the message's fields and body hash */
static int
sign_one(const sign_t *s, const struct key *k, struct field *f, int nf, const buf_t *h,
    const buf_t *bh, int64_t now, buf_t *hdrs, buf_t *err)
{
	buf_t field, data, b;
	const char *nl;
	size_t col;
	int rc = -1;

	buf_init(&field, SIGN_HDR_MAX);
	buf_init(&data, SIGN_HDR_MAX * 4);
	buf_init(&b, SIGN_BYTES_MAX * 2);
	if (sig_field(s, k, now, h, bh, &field) < 0)
		goto toolong;
	/* RFC 6376 5.4.2: each name of h= takes the last instance not yet
	 * taken; a name with none left (the oversigned From) adds nothing */
	for (int i = 0; i < nf; i++)
		f[i].used = 0;
	for (size_t i = 0; i < h->len;) {
		const char *c = memchr(h->data + i, ':', h->len - i);
		size_t end = c ? (size_t)(c - h->data) : h->len;

		for (int j = nf - 1; j >= 0; j--)
			if (!f[j].used && f[j].namelen == end - i &&
			    strncasecmp(f[j].p, h->data + i, end - i) == 0) {
				f[j].used = 1;
				if (canon_header(f[j].p, f[j].len, &data) < 0 ||
				    buf_add(&data, "\r\n", 2) < 0)
					goto toolong;
				break;
			}
		i = end + 1;
	}
	if (canon_header(field.data, field.len, &data) < 0 || sig_value(k, &data, &b, err) < 0)
		goto toolong_or_err;
	/* b= folded in lines; a verifier drops b='s value with its spaces */
	nl = memrchr(field.data, '\n', field.len);
	col = field.len - (nl ? (size_t)(nl - field.data) : 0);
	for (size_t i = 0; i < b.len; i += SIGN_LINE - 8)
		if (fold(&field, &col, b.data + i, b.len - i < SIGN_LINE - 8 ?
		    b.len - i : SIGN_LINE - 8) < 0)
			goto toolong;
	if (buf_add(hdrs, field.data, field.len) < 0 || buf_add(hdrs, "\r\n", 2) < 0)
		goto toolong;
	rc = 0;
	goto out;
toolong_or_err:
	if (err->len > 0)
		goto out;
toolong:
	buf_note(err, "dkim: a signature field longer than its limit");
out:
	buf_free(&b);
	buf_free(&data);
	buf_free(&field);
	return rc;
}

int
sign_message(sign_t *s, buf_t *eml, int64_t now, buf_t *err)
{
	struct field f[SIGN_FIELDS_MAX];
	unsigned char digest[32];
	unsigned dlen = sizeof digest;
	size_t body;
	int nf, rc = -1;
	buf_t canon, bh, h, hdrs, whole;

	buf_init(&canon, eml->max);
	buf_init(&bh, 64);
	buf_init(&h, SIGN_HDR_MAX);
	buf_init(&hdrs, SIGN_HDR_MAX * 2);
	buf_init(&whole, eml->max);
	if ((nf = fields(eml, f, SIGN_FIELDS_MAX, &body)) < 0) {
		buf_notef(err, "dkim: the message's header is not %d fields or fewer",
		    SIGN_FIELDS_MAX);
		goto out;
	}
	(void)buf_reserve(&canon, eml->len - body);	/* a hint: about its size */
	if (canon_body(eml->data + body, eml->len - body, &canon) < 0 ||
	    EVP_Digest(canon.data, canon.len, digest, &dlen, EVP_sha256(), NULL) != 1 ||
	    b64(&bh, digest, dlen) < 0 || h_list(f, nf, &h) < 0) {
		buf_note(err, "dkim: the body or h= could not be hashed");
		goto out;
	}
	for (int i = 0; i < s->nkeys; i++)
		if (sign_one(s, &s->keys[i], f, nf, &h, &bh, now, &hdrs, err) < 0)
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
	buf_free(&h);
	buf_free(&bh);
	buf_free(&canon);
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
