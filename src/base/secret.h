/*
 * secret - "user:password" from the first line of a file only its owner
 * can read (mode 0600 or stricter; fstat of the open file, so what is
 * checked is what is read): the relay's smtp.auth_file and the mailbox's
 * inbound.mailbox_auth_file.
 *
 * auth_file_load() returns 0 with *user and *pass new strings (free()),
 * or -1 with the reason in err, prefixed by what (e.g. "smtp: auth_file").
 * The read buffer is wiped.  Threads: any.
 */
#ifndef TIEDOTE_SECRET_H
#define TIEDOTE_SECRET_H

#include "buf.h"

int	auth_file_load(const char *what, const char *path, char **user, char **pass,
	    buf_t *err);

#endif
