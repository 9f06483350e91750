/*
 * curvekey - CurveZMQ key files: the certificates of the worker and of
 * the producers.
 *
 * The format is CZMQ's certificate, a small subset of ZPL (ZeroMQ RFC 4),
 * which pyzmq's zmq.auth.create_certificates() writes and
 * zmq.auth.load_certificate() reads, so a producer in Python (or C with
 * CZMQ) uses the same files:
 *     #   comment lines
 *     metadata
 *     curve
 *         public-key = "40 Z85 characters"
 *         secret-key = "40 Z85 characters"      (the secret file only)
 * A public file (NAME.key) holds public-key; a secret file
 * (NAME.key_secret) both.  Parsing (curvekey_parse, outside input: the
 * files come from producers) is strict where it matters and lenient where
 * ZPL is: blank and '#' lines, any sections and other name = value lines
 * are skipped; a line longer than CURVEKEY_LINE_MAX, a file longer than
 * CURVEKEY_FILE_MAX, a control character, public-key or secret-key given
 * twice or outside the curve section, a value that is not 40 Z85
 * characters, a file without public-key, or a secret-key whose public key
 * is not public-key, is an error naming the line.
 *
 * curvekey_load() reads a file: with secret set it must hold secret-key
 * and is read through secret_read() (refused when group- or
 * world-readable); without, a secret-key in it is an error (a secret
 * file put among public ones by mistake).  curvekey_generate() writes a
 * new pair, BASE.key (0644) and BASE.key_secret (0600), never over an
 * existing file.  Every function: 0, or -1 with one line in err.
 * Threads: any; no state.  The caller wipes a curvekey_t that held a
 * secret (curvekey_wipe).
 */
#ifndef TIEDOTE_CURVEKEY_H
#define TIEDOTE_CURVEKEY_H

#include <stddef.h>

#include "buf.h"

#define CURVEKEY_Z85	40	/* a 32-byte key in Z85 */
#define CURVEKEY_LINE_MAX 1024
#define CURVEKEY_FILE_MAX 65536
#define CURVEKEY_PUBLIC_EXT ".key"
#define CURVEKEY_SECRET_EXT ".key_secret"

typedef struct curvekey {
	char	public_key[CURVEKEY_Z85 + 1];	/* Z85, NUL-terminated */
	char	secret_key[CURVEKEY_Z85 + 1];	/* "" when the file has none */
} curvekey_t;

int	curvekey_parse(const char *text, size_t len, curvekey_t *, buf_t *err);
int	curvekey_load(const char *path, int secret, curvekey_t *, buf_t *err);
int	curvekey_generate(const char *base, curvekey_t *, buf_t *err);
void	curvekey_wipe(curvekey_t *);

#endif
