/*
 * curvekey - CurveZMQ certificate files; contract in curvekey.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "curvekey.h"
#include "secret.h"
#include "util.h"

/* z85_key - 40 Z85 characters that decode to 32 bytes */
static int
z85_key(const char *v, size_t n)
{
	uint8_t raw[32];
	char text[CURVEKEY_Z85 + 1];

	if (n != CURVEKEY_Z85)
		return 0;
	memcpy(text, v, n);
	text[n] = '\0';
	return zmq_z85_decode(raw, text) != NULL;
}

/* value - the value after '=', without spaces and one pair of quotes */
static void
value(const char *p, const char *end, const char **v, size_t *n)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - p >= 2 && (*p == '"' || *p == '\'') && end[-1] == *p) {
		p++;
		end--;
	}
	*v = p;
	*n = (size_t)(end - p);
}

int
curvekey_parse(const char *text, size_t len, curvekey_t *k, buf_t *err)
{
	const char *p = text, *end = text + len, *eol, *s, *eq, *v;
	int line = 0, in_curve = 0;
	size_t n, vlen;

	memset(k, 0, sizeof *k);
	if (len > CURVEKEY_FILE_MAX) {
		buf_notef(err, "longer than %d bytes", CURVEKEY_FILE_MAX);
		return -1;
	}
	for (; p < end; p = eol + (eol < end)) {
		line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (eol - p > CURVEKEY_LINE_MAX) {
			buf_notef(err, "line %d: longer than %d bytes", line, CURVEKEY_LINE_MAX);
			goto bad;
		}
		for (s = p; s < eol; s++)
			if ((unsigned char)*s < 0x20 && *s != '\t' && !(*s == '\r' && s + 1 == eol)) {
				buf_notef(err, "line %d: a control character", line);
				goto bad;
			}
		for (s = p; s < eol && (*s == ' ' || *s == '\t'); s++)
			;
		if (s == eol || *s == '#' || *s == '\r')
			continue;
		eq = memchr(s, '=', (size_t)(eol - s));
		if (s == p) {	/* a top-level name: a section */
			n = (size_t)((eq ? eq : eol) - s);
			while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
				n--;
			in_curve = n == 5 && memcmp(s, "curve", 5) == 0;
			continue;
		}
		if (eq == NULL)
			continue;	/* a subsection of something else */
		n = (size_t)(eq - s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		char *dst = n == 10 && memcmp(s, "public-key", 10) == 0 ? k->public_key :
		    n == 10 && memcmp(s, "secret-key", 10) == 0 ? k->secret_key : NULL;
		if (dst == NULL)
			continue;
		if (!in_curve) {
			buf_notef(err, "line %d: %.*s outside the curve section", line, (int)n, s);
			goto bad;
		}
		if (*dst) {
			buf_notef(err, "line %d: %.*s given twice", line, (int)n, s);
			goto bad;
		}
		value(eq + 1, eol > eq + 1 && eol[-1] == '\r' ? eol - 1 : eol, &v, &vlen);
		if (!z85_key(v, vlen)) {
			buf_notef(err, "line %d: %.*s is not %d Z85 characters", line, (int)n, s,
			    CURVEKEY_Z85);
			goto bad;
		}
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
	}
	if (*k->public_key == '\0') {
		buf_note(err, "no public-key in a curve section");
		goto bad;
	}
	if (*k->secret_key) {
		char derived[CURVEKEY_Z85 + 1];

		if (zmq_curve_public(derived, k->secret_key) != 0 ||
		    strcmp(derived, k->public_key) != 0) {
			buf_note(err, "secret-key does not belong to public-key");
			goto bad;
		}
	}
	return 0;
bad:
	curvekey_wipe(k);
	return -1;
}

int
curvekey_load(const char *path, int secret, curvekey_t *k, buf_t *err)
{
	buf_t text, why;
	int rc = -1;

	buf_init(&text, CURVEKEY_FILE_MAX + 1);
	buf_init(&why, 512);
	memset(k, 0, sizeof *k);
	if (secret) {
		if (secret_read(path, "key file", CURVEKEY_FILE_MAX, &text, err) < 0)
			goto out;
	} else {
		FILE *fp = fopen(path, "re");
		char chunk[4096];
		size_t n;

		if (fp == NULL) {
			buf_notef(err, "key file %s: %s", path, strerror(errno));
			goto out;
		}
		while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
			if (buf_add(&text, chunk, n) < 0)
				break;
		if (ferror(fp) || !feof(fp)) {
			buf_notef(err, "key file %s: %s", path, ferror(fp) ? strerror(errno) :
			    "too large");
			fclose(fp);
			goto out;
		}
		fclose(fp);
	}
	if (curvekey_parse(text.data ? text.data : "", text.len, k, &why) < 0) {
		buf_notef(err, "key file %s: %s", path, buf_str(&why));
		goto out;
	}
	if (secret && *k->secret_key == '\0') {
		buf_notef(err, "key file %s: no secret-key (the secret file is NAME%s)", path,
		    CURVEKEY_SECRET_EXT);
		goto out;
	}
	if (!secret && *k->secret_key) {
		buf_notef(err, "key file %s: holds a secret-key; only public keys belong here",
		    path);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		curvekey_wipe(k);
	secret_wipe(&text);
	buf_free(&why);
	return rc;
}

/* cert - the text of a certificate, as pyzmq and CZMQ write them */
static int
cert(buf_t *out, const curvekey_t *k, int secret)
{
	char when[64];

	clock_format(clock_now(), when);
	return buf_printf(out, "#   ****  Generated on %s by tiedote  ****\n"
	    "#   ZeroMQ CURVE %s Certificate\n%s\nmetadata\ncurve\n"
	    "    public-key = \"%s\"\n", when, secret ? "**Secret**" : "Public",
	    secret ? "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
	    "permissions.\n" : "#   Exchange securely, or use a secure mechanism to verify "
	    "the contents\n#   of this file after exchange.\n", k->public_key) < 0 ||
	    (secret && buf_printf(out, "    secret-key = \"%s\"\n", k->secret_key) < 0) ? -1 : 0;
}

int
curvekey_generate(const char *base, curvekey_t *k, buf_t *err)
{
	buf_t pub, sec, path;
	int rc = -1;

	buf_init(&pub, 4096);
	buf_init(&sec, 4096);
	buf_init(&path, 4096);
	memset(k, 0, sizeof *k);
	if (zmq_curve_keypair(k->public_key, k->secret_key) != 0) {
		buf_notef(err, "zmq_curve_keypair: %s (a libzmq without CURVE?)",
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	if (cert(&pub, k, 0) < 0 || cert(&sec, k, 1) < 0 ||
	    buf_printf(&path, "%s%s", base, CURVEKEY_SECRET_EXT) < 0) {
		buf_note(err, "a key file longer than its buffer");
		goto out;
	}
	if (secret_write(buf_str(&path), "key file", 0600, sec.data, sec.len, err) < 0)
		goto out;
	buf_reset(&path);
	if (buf_printf(&path, "%s%s", base, CURVEKEY_PUBLIC_EXT) < 0 ||
	    secret_write(buf_str(&path), "key file", 0644, pub.data, pub.len, err) < 0) {
		buf_reset(&path);
		if (buf_printf(&path, "%s%s", base, CURVEKEY_SECRET_EXT) == 0)
			unlink(buf_str(&path));	/* both or neither */
		goto out;
	}
	rc = 0;
out:
	secret_wipe(&sec);
	buf_free(&pub);
	buf_free(&path);
	return rc;
}

void
curvekey_wipe(curvekey_t *k)
{
	explicit_bzero(k, sizeof *k);
}
