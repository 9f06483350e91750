/*
 * addr - is this string an e-mail address we can send to?
 *
 * The checks a production list needs at its edge, not the full RFC 5322
 * grammar: at most 254 octets in all, a local part of 1-64 octets and a
 * domain of at most 255 with labels of 1-63; exactly one '@'; no spaces,
 * control characters, quotes or comments; dot-atom local part (RFC 5322
 * atext, plus UTF-8 as RFC 6531 allows); a domain of at least two labels,
 * each letters, digits and hyphens (not at either end), UTF-8 labels
 * accepted for internationalised domains; no address literals; no
 * character a reader cannot see or tell from another's place (a no-break
 * or other Unicode space, a zero-width or other format character, a bidi
 * control: "anu\u200b@thl.fi" would pass for anu@thl.fi).
 * addr_check() returns 0, or -1 with a static reason in *why.
 * addr_name_check() is the same for a display name (a subscriber's
 * name): valid UTF-8, at most ADDR_NAME_MAX bytes, one line (no control
 * character), no bidirectional embedding, override or isolate control
 * (U+202A-U+202E, U+2066-U+2069), which would reorder the From/To line or
 * the page it is shown in; empty is allowed.
 * addr_redact() is an address as a log may show it: a local part's
 * "+detail" (our VERP and mailto tokens, which are capabilities: whoever
 * holds one can suppress or unsubscribe a reader) becomes "+...".
 */
#ifndef TIEDOTE_ADDR_H
#define TIEDOTE_ADDR_H

#include <stddef.h>

#define ADDR_NAME_MAX	200	/* bytes in a display name */

int	addr_check(const char *, const char **why);
int	addr_name_check(const char *, const char **why);
/* addr_redact - addr into out (size bytes, truncated to fit) with what
 * follows a '+' before the '@' replaced by "..."; returns out */
const char *addr_redact(const char *addr, char *out, size_t size);

#endif
