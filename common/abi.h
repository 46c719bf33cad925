/* Versioned public structs (docs/HACKING.md, "Versioned structs").
 *
 * A struct the caller allocates or implements starts with `unsigned
 * version`. An entry point accepts every version from 1 to the one its
 * header names (a caller built against an older header) and refuses 0 (a
 * struct never initialised) and anything newer (a caller built against a
 * newer library than the one it runs with) with SFJ_EVERSION. Fields are
 * only ever added at the end, so an older struct is a prefix of the
 * current one. */
#ifndef SFJ_COMMON_ABI_H
#define SFJ_COMMON_ABI_H

#define SFJ__VERSION_OK(v, current) ((v) > 0 && (v) <= (current))

#endif
