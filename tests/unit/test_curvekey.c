/*
 * test_curvekey - CurveZMQ key files (curvekey.h) and secret files
 * (secret.h): what pyzmq writes is read, what is malformed is refused
 * with the line, a secret file others can read is refused.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "curvekey.h"
#include "test.h"

static char dir[] = "/tmp/test-curvekey-XXXXXX";

/* pyzmq's zmq.auth.create_certificates() output, keys from
 * zmq_curve_keypair() */
static const char pyzmq_secret[] =
    "#   ****  Generated on 2024-01-01 00:00:00.000000 by pyzmq  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
    "\n"
    "metadata\n"
    "curve\n"
    "    public-key = \"%s\"\n"
    "    secret-key = \"%s\"\n";

TEST(reads_pyzmq_certificates)
{
	char pub[41], sec[41], text[1024];
	curvekey_t k;
	buf_t err;

	buf_init(&err, 1024);
	CHECK(zmq_curve_keypair(pub, sec) == 0);
	snprintf(text, sizeof text, pyzmq_secret, pub, sec);
	CHECK(curvekey_parse(text, strlen(text), &k, &err) == 0);
	CHECK_STR(k.public_key, pub);
	CHECK_STR(k.secret_key, sec);
	/* CRLF line ends and single quotes are ZPL too */
	snprintf(text, sizeof text, "curve\r\n    public-key = '%s'\r\n", pub);
	CHECK(curvekey_parse(text, strlen(text), &k, &err) == 0);
	CHECK_STR(k.public_key, pub);
	CHECK_STR(k.secret_key, "");
	buf_free(&err);
}

TEST(refuses_what_is_malformed)
{
	char pub[41], sec[41], other[41], osec[41], text[1024];
	curvekey_t k;
	buf_t err;

	CHECK(zmq_curve_keypair(pub, sec) == 0);
	CHECK(zmq_curve_keypair(other, osec) == 0);
	static const struct { const char *fmt, *want; } bad[] = {
		{ "curve\n    public-key = \"%s\"\n    public-key = \"%s\"\n", "line 3: public-key given twice" },
		{ "metadata\n    public-key = \"%s\"\n", "line 2: public-key outside the curve section" },
		{ "curve\n    public-key = \"%.39s\"\n", "line 2: public-key is not 40 Z85 characters" },
		{ "curve\n    secret-key = \"%s\"\n", "no public-key in a curve section" },
		{ "curve\n    public-key = \"%s\"\x01\n", "line 2: a control character" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_init(&err, 1024);
		snprintf(text, sizeof text, bad[i].fmt, pub, pub);
		CHECK(curvekey_parse(text, strlen(text), &k, &err) < 0);
		CHECK_STR(buf_str(&err), bad[i].want);
		CHECK_STR(k.public_key, "");	/* wiped */
		buf_free(&err);
	}
	buf_init(&err, 1024);
	snprintf(text, sizeof text, pyzmq_secret, pub, osec);
	CHECK(curvekey_parse(text, strlen(text), &k, &err) < 0);
	CHECK_STR(buf_str(&err), "secret-key does not belong to public-key");
	buf_free(&err);
}

TEST(generate_and_load)
{
	char base[300], path[320];
	curvekey_t k, got;
	struct stat st;
	buf_t err;

	buf_init(&err, 1024);
	snprintf(base, sizeof base, "%s/w", dir);
	CHECK(curvekey_generate(base, &k, &err) == 0);
	CHECK(curvekey_generate(base, &got, &err) < 0);	/* never over a file */
	snprintf(path, sizeof path, "%s.key_secret", base);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(curvekey_load(path, 1, &got, &err) == 0);
	CHECK_STR(got.secret_key, k.secret_key);
	buf_reset(&err);
	CHECK(curvekey_load(path, 0, &got, &err) < 0);	/* a secret among public keys */
	CHECK(strstr(buf_str(&err), "only public keys") != NULL);
	buf_reset(&err);
	chmod(path, 0640);
	CHECK(curvekey_load(path, 1, &got, &err) < 0);
	CHECK(strstr(buf_str(&err), "mode 0640") != NULL);
	snprintf(path, sizeof path, "%s.key", base);
	buf_reset(&err);
	CHECK(curvekey_load(path, 0, &got, &err) == 0);
	CHECK_STR(got.public_key, k.public_key);
	buf_reset(&err);
	CHECK(curvekey_load(path, 1, &got, &err) < 0);	/* 0644 and no secret */
	buf_free(&err);
}

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(reads_pyzmq_certificates);
	RUN(refuses_what_is_malformed);
	RUN(generate_and_load);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
