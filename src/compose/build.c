/*
 * build - the table of message kinds; contract in build.h.
 */
#include "announce.h"
#include "build.h"
#include "bulletin.h"
#include "confirm.h"
#include "remind.h"
#include "util.h"

static const struct kind {
	build_fn *build;
	void	(*cache_free)(void *);
	outbox_state_t empty;	/* what a row with nothing to send becomes */
	int	 pausable;	/* a subscriber's pause keeps it out */
} kinds[KINDS] = {
	[KIND_BULLETIN] = { bulletin_message, bulletin_cache_free, OUTBOX_SKIPPED, 1 },
	[KIND_DRAFT] = { bulletin_message, bulletin_cache_free, OUTBOX_SKIPPED, 0 },
	[KIND_REMINDER] = { remind_message, NULL, OUTBOX_CANCELLED, 0 },
	[KIND_ANNOUNCEMENT] = { announce_message, NULL, OUTBOX_CANCELLED, 1 },
	[KIND_CONFIRM] = { confirm_message, NULL, OUTBOX_CANCELLED, 0 },
	[KIND_WELCOME] = { welcome_message, NULL, OUTBOX_CANCELLED, 0 },
};

struct build {
	build_env_t env;
	void	*cache[KINDS];
};

build_t *
build_new(store_t *store, const conf_t *conf, message_ctx_t *msg)
{
	build_t *b = xcalloc(1, sizeof *b);

	b->env = (build_env_t){ store, conf, msg };
	return b;
}

void
build_free(build_t *b)
{
	if (b == NULL)
		return;
	for (int k = 0; k < KINDS; k++)
		if (b->cache[k] && kinds[k].cache_free)
			kinds[k].cache_free(b->cache[k]);
	free(b);
}

int
build_row(build_t *b, const outbox_row_t *row, int64_t now, buf_t *eml,
    outbox_state_t *empty, buf_t *err)
{
	int rc;

	if (row->kind >= KINDS || kinds[row->kind].build == NULL) {
		buf_note(err, "a kind of message this build does not know");
		return -1;
	}
	static const char *const stopped[] = {
		[OUTBOX_STOP_ISSUE] = "the issue was cancelled",
		[OUTBOX_STOP_READER] = "the reader is no longer subscribed",
		[OUTBOX_STOP_CONTACT] = "the contact opted out",
	};

	if (row->stopped != OUTBOX_GO) {
		buf_note(err, stopped[row->stopped]);
		*empty = OUTBOX_CANCELLED;
		return 1;
	}
	/* a pause set while the row waited (queued, deferred) is read at the
	 * claim like the language and regions: the row is skipped, not kept
	 * to be sent late */
	if (kinds[row->kind].pausable && row->subscriber_id && row->paused_until > now) {
		buf_note(err, "the reader has paused their mail");
		*empty = OUTBOX_SKIPPED;
		return 1;
	}
	rc = kinds[row->kind].build(&b->env, &b->cache[row->kind], row, now, eml, err);
	*empty = kinds[row->kind].empty;
	return rc;
}
