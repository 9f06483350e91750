/*
 * build - every kind of message, one table: a claimed outbox row in, its
 * message (RFC 5322, ready for DATA) out.
 *
 * Each kind of outbox row (outbox_kind_t) has one builder with the same
 * signature, registered in build.c's table beside the state a row takes
 * when its builder finds nothing to send:
 *   bulletin      bulletin_message()   empty -> skipped
 *   draft         bulletin_message()   empty -> skipped
 *   reminder      remind_message()     empty -> cancelled
 *   announcement  announce_message()   empty -> cancelled
 *   confirm       confirm_message()    empty -> cancelled
 *   welcome       welcome_message()    empty -> cancelled
 * A bulletin or announcement row of a subscriber whose pause (read at the
 * claim, with the language and regions) runs past now is not built:
 * build_row() returns 1 and it is skipped; a row the claim found stopped
 * (row.stopped: its issue cancelled, its reader gone, its contact opted
 * out while it was in flight) is cancelled the same way.  Adding a kind
 * is one enum value (outbox.h), one name (outbox.c), one builder and one
 * row here.
 *
 * A builder returns 0 with the message in eml; 1 when the row is not to
 * be sent (nothing in it for the reader, or its reason is gone), with the
 * reason in err; -1 on an error, in err (the row fails).  It may keep what
 * many rows share (an issue loaded once for all its readers) in *cache,
 * which build.c frees with the kind's cache_free when the builder is done
 * with.  build_t is one sender's: it borrows the store, conf and message
 * context, which must outlive it.  Threads: one.
 */
#ifndef TIEDOTE_BUILD_H
#define TIEDOTE_BUILD_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "message.h"
#include "outbox.h"
#include "store.h"

typedef struct build_env {
	store_t	*store;
	const conf_t *conf;
	message_ctx_t *msg;
} build_env_t;

typedef int build_fn(const build_env_t *, void **cache, const outbox_row_t *,
    int64_t now, buf_t *eml, buf_t *err);

typedef struct build build_t;

build_t	*build_new(store_t *, const conf_t *, message_ctx_t *);
void	 build_free(build_t *);
/* build_row - the row's message into eml, as its kind's builder: 0, or
 * 1 and *empty the state the row takes (reason in err), or -1 (err) */
int	 build_row(build_t *, const outbox_row_t *, int64_t now, buf_t *eml,
	    outbox_state_t *empty, buf_t *err);

#endif
