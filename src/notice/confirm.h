/*
 * confirm - the double opt-in message: one outbox row of kind confirm per
 * pending confirmation (subscribe.h), whose ref is the confirmation's id.
 *
 * confirm_message() is its builder in build.c's table: the confirm
 * template in the requested language, links.confirm the signed
 * base_url/c/TOKEN (subject the confirmation's id); 1 (the row is
 * cancelled) when the confirmation is gone, already confirmed or past its
 * time.  It is list mail like the rest (List-Unsubscribe names the
 * address's subscriber, if there is one; else a token that matches
 * nobody, which the page answers as not subscribed).
 *
 * welcome_message() builds the welcome (kind welcome, ref the
 * subscriber's id), queued by web.confirm when an address confirms: the
 * welcome template in the subscriber's language as it is when the row is
 * built; 1 (cancelled) when the subscriber is gone or no longer active.
 * One per address ever (the outbox's UNIQUE (kind, ref, recipient)): an
 * address that leaves and confirms again is not welcomed twice.
 * Threads: the sender's.
 */
#ifndef TIEDOTE_CONFIRM_H
#define TIEDOTE_CONFIRM_H

#include "build.h"

build_fn confirm_message;
build_fn welcome_message;

#endif
