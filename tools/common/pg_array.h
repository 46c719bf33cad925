/* A one-dimensional array parameter in PostgreSQL's binary form, built
 * without libpq: what sfj-host's PostgreSQL store and sfj-bench's
 * database limit send as one parameter of `unnest($1::bytea[], ...)`. */
#ifndef SFJ_TOOLS_PG_ARRAY_H
#define SFJ_TOOLS_PG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Element types (pg_type.oid) and the array types over them. */
#define SFJ__PG_OID_BYTEA       17
#define SFJ__PG_OID_INT8        20
#define SFJ__PG_OID_BYTEA_ARRAY 1001
#define SFJ__PG_OID_INT8_ARRAY  1016

/* array_recv's input: number of dimensions 1, no NULLs, the element
 * type, the length and lower bound 1, then each element as a 4-byte
 * length and its bytes; all numbers big-endian. `b`/`len` is the
 * parameter's value; the buffer is reused from one start to the next. */
typedef struct sfj__pg_array {
    uint8_t *b;
    size_t len, cap;
    uint32_t count;
} sfj__pg_array;

/* Empties `a` for elements of type `elem_oid`. SFJ_OK or SFJ_ENOMEM. */
int sfj__pg_array_start(sfj__pg_array *a, uint32_t elem_oid);

/* Appends one element of `len` bytes. SFJ_OK or SFJ_ENOMEM. */
int sfj__pg_array_add(sfj__pg_array *a, const void *v, size_t len);

/* Appends an int8 element. SFJ_OK or SFJ_ENOMEM. */
int sfj__pg_array_add_u64(sfj__pg_array *a, uint64_t x);

void sfj__pg_array_free(sfj__pg_array *a);

#endif
