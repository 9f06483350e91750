/*
 * signq - DKIM signing off the loop's thread: a queue in, threads that
 * sign (sign.h), a queue out with an eventfd the loop waits on.
 *
 * Why threads: signing is CPU work of its own (an RSA-2048 signature is
 * about 0.25 ms, more than building the message), and on the loop's
 * thread every producer's reply would wait behind it.  When libopendkim
 * signed (it decoded the key on every message, 2 ms) it cut sending to a
 * tenth on the loop; sign.c now keeps the key parsed.  The sender builds a
 * message on the loop (as before), hands it here and submits it to SMTP
 * when it comes back signed; the loop only builds and sends.
 *
 * signq_open(): 0 with *out NULL when dkim.domain is empty; 0 with a
 * queue and SIGNQ_THREADS threads (at most the CPUs online), each with
 * its own signer (sign_open(): the keys are checked once per thread, at
 * start); -1 with one line in err.  signq_put() takes the message out of
 * eml (eml is left empty, as buf_take() leaves it) with the caller's tag
 * and the signing time; -1 only when SIGNQ_MAX messages are already in
 * the queue.  signq_fd() is readable while results wait; signq_get()
 * returns 1 with the next result (tag, ok, the signed message in eml, or
 * the reason in err when ok is 0), 0 when none waits.  signq_close()
 * stops the threads (each finishes the message in hand) and frees what
 * was never collected.
 *
 * signq_reload() (SIGHUP) opens a new signer per thread from conf (the
 * keys read and checked again, sign_open()); each thread takes its new
 * signer before its next message, so a message is signed wholly with the
 * old keys or wholly with the new.  0, or -1 with one line in err and the
 * keys in use kept (a key refused, or dkim.domain emptied: turning
 * signing off or on needs a restart).
 *
 * Threads: put/get/fd/close/reload from one thread (the loop's); the signing
 * threads touch nothing but the queue (a mutex and a condition variable)
 * and their own signer.
 */
#ifndef TIEDOTE_SIGNQ_H
#define TIEDOTE_SIGNQ_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"

#define SIGNQ_THREADS	2	/* signing threads, at most the CPUs online */
#define SIGNQ_MAX	256	/* messages in the queue, either way */

typedef struct signq signq_t;

int	signq_open(const conf_t *, signq_t **out, buf_t *err);
int	signq_reload(signq_t *, const conf_t *, buf_t *err);
int	signq_put(signq_t *, uint64_t tag, buf_t *eml, int64_t now);
int	signq_get(signq_t *, uint64_t *tag, int *ok, buf_t *eml, buf_t *err);
int	signq_fd(const signq_t *);
void	signq_close(signq_t *);

#endif
