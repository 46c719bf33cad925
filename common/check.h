/* State checks in the manner of SQLite's assert(assert_pager_state(p)).
 *
 * A stateful file documents its states and invariants in its opening note
 * and checks them with an assert_*_state() helper called as
 * assert(assert_x_state(x)) at each transition. The checks are live in
 * Debug builds and whenever SFJ_DEBUG_ASSERTS is defined (every sanitizer
 * build defines it, whatever its build type); otherwise NDEBUG removes
 * them and the helpers, guarded by SFJ_CHECKS, are not compiled. Include
 * this header instead of <assert.h>, before anything that includes it. */
#ifndef SFJ_COMMON_CHECK_H
#define SFJ_COMMON_CHECK_H

#if defined(SFJ_DEBUG_ASSERTS) && defined(NDEBUG)
#undef NDEBUG
#endif
#include <assert.h>

#ifndef NDEBUG
#define SFJ_CHECKS 1
#endif

#endif
