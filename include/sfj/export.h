/* Symbol visibility for the sfj public API. */
#ifndef SFJ_EXPORT_H
#define SFJ_EXPORT_H

#if defined(SFJ_STATIC)
#define SFJ_EXTERN
#elif defined(__GNUC__)
#define SFJ_EXTERN __attribute__((visibility("default")))
#else
#define SFJ_EXTERN
#endif

#endif
