/* Symbol visibility and checking attributes for the sfj public API. */
#ifndef SFJ_EXPORT_H
#define SFJ_EXPORT_H

#if defined(SFJ_STATIC)
#define SFJ_EXTERN
#elif defined(__GNUC__)
#define SFJ_EXTERN __attribute__((visibility("default")))
#else
#define SFJ_EXTERN
#endif

/** On a function whose result decides correctness (open, append, ack,
 *  verify, ...): ignoring it is a compiler warning. */
#if defined(__GNUC__)
#define SFJ_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SFJ_WARN_UNUSED
#endif

#endif
