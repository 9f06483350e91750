/*
 * secret - files that hold a secret (a password, a private key): reading
 * one that only its owner can read, and writing a new one.
 *
 * secret_read() opens the file and checks the open descriptor (what is
 * checked is what is read): a regular file whose mode gives group and
 * others nothing, else it is refused with the mode in the message.  The
 * contents go into out, NUL-terminated, up to max bytes (a larger file
 * is refused, not cut); the buffer is reserved at max at once, so no copy
 * of the secret is left behind by a reallocation.  what names the
 * setting in messages ("dkim.key_file").  0, or -1 with the reason in
 * err; out may hold a part of the file on -1, and the caller wipes it
 * either way (secret_wipe(): zero, then buf_free()).
 *
 * auth_file_load() reads "user:password" from the first line of such a
 * file: the relay's smtp.auth_file and the mailbox's
 * inbound.mailbox_auth_file.  0 with *user and *pass new strings
 * (free()), or -1 with the reason in err, prefixed by what (e.g. "smtp:
 * auth_file").  The read buffer is wiped.
 *
 * secret_write() creates path with mode (0600 for a secret; O_EXCL: an
 * existing file is never overwritten, so a key in use cannot be lost to
 * a typo), writes data and fsyncs; on any error the file is removed
 * again.  0 or -1 (err).
 *
 * Threads: any; no state.
 */
#ifndef TIEDOTE_SECRET_H
#define TIEDOTE_SECRET_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define SECRET_AUTH_MAX	4096	/* an auth file: one "user:password" line */

int	secret_read(const char *path, const char *what, size_t max, buf_t *out, buf_t *err);
int	auth_file_load(const char *what, const char *path, char **user, char **pass,
	    buf_t *err);
int	secret_write(const char *path, const char *what, mode_t mode, const void *data,
	    size_t len, buf_t *err);
void	secret_wipe(buf_t *);

#endif
