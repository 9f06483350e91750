/*
 * region - the five university-hospital collaboration areas as a bit set.
 *
 * Events and subscribers name regions (HYKS, TYKS, TAYS, KYS, OYS, or
 * "all"); inside tiedote they are a bit mask, so "does this item concern
 * this subscriber" is one AND, in C and in SQL alike.
 */
#ifndef TIEDOTE_REGION_H
#define TIEDOTE_REGION_H

#include "buf.h"

#define REGION_ALL 0x1fu

/* region_bit - the bit of one name (case-insensitive), REGION_ALL for
 * "all", 0 if unknown */
unsigned region_bit(const char *);
/* region_parse_list - "KYS,OYS" or "KYS;OYS" or "all"; 0 or -1 (bad names
 * or "all" mixed with others, empty list) */
int	 region_parse_list(const char *, unsigned *mask);
/* region_format - "HYKS,KYS" or "all" appended to out; -1 at out's
 * ceiling */
int	 region_format(unsigned mask, buf_t *out);
const char *region_name(int index);	/* 0..4 */

#endif
