/* sfj's own raw deflate encoder (deflate_enc.h): LZ77 over one window of
 * dictionary || input with hash chains, greedy with one step of lazy
 * evaluation as zlib's levels 4 to 9 do, then one final block with fixed
 * or dynamic Huffman codes, whichever is shorter (RFC 1951, 3.2.5 to
 * 3.2.7). The window is never built: the dictionary's chains and bytes
 * are read where they lie, the input's chains fall through to them, and
 * a match from the dictionary's last bytes runs on into the input. */
#include "journal/format/deflate_enc.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define MIN_MATCH  3
#define MAX_MATCH  258
#define MAX_CHAIN  16   /* candidates tried per position */
#define NICE_MATCH 128  /* long enough: stop looking */
#define LAZY_MATCH 32   /* a pending match this long is taken as it is */
#define FAR_3      4096 /* a 3-byte match this far costs its literals */
#define MAX_SKIP   16   /* other hashes passed over in an input bucket */

#define LITLEN_CODES 286
#define DIST_CODES   30
#define CLEN_CODES   19
#define END_BLOCK    256
#define MAX_BITS     15 /* longest literal/length or distance code */
#define MAX_CLEN     7  /* longest code length code */

/* A symbol: a literal byte, or a match as length << 16 | distance (a
 * length is at least 3, so every match is above 0xffff). */
#define MATCH(len, dist) ((uint32_t)(len) << 16 | (uint32_t)(dist))

static inline uint32_t hash3(const uint8_t *p)
{
    uint32_t v =
        (uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24;

    return (v * 2654435761u) >> (32 - SFJ__ENC_HASH_BITS);
}

/* hash3 of in[j..j + 3) with one load where in[j + 3] is there to read. */
static inline uint32_t hash_at(const uint8_t *in, size_t j, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (j + 4 <= n) {
        uint32_t v;

        memcpy(&v, in + j, 4);
        return ((v << 8) * 2654435761u) >> (32 - SFJ__ENC_HASH_BITS);
    }
#else
    (void)n;
#endif
    return hash3(in + j);
}

void sfj__enc_dict_init(sfj__enc_dict *d, const uint8_t *bytes, size_t len,
                        uint16_t *prev)
{
    size_t i;

    d->bytes = bytes;
    d->len = len;
    d->prev = prev;
    memset(d->head, 0, sizeof d->head);
    memset(prev, 0, len * sizeof *prev);
    /* The last two positions start no 3-byte string of the dictionary's
     * own (theirs run into the input): they are no candidates. */
    for (i = 0; i + MIN_MATCH <= len; i++) {
        uint32_t h = hash3(bytes + i);

        prev[i] = d->head[h];
        d->head[h] = (uint16_t)(i + 1);
    }
}

int sfj__enc_fits(const sfj__enc_dict *d, size_t in_len)
{
    return in_len > 0 && in_len < SFJ__ENC_WINDOW - d->len;
}

/* The working memory: symbols and the input's own hash chains. The
 * dictionary's chains and bytes are read where they are, never copied:
 * the memory a record's plaintext reaches (which the caller wipes) grows
 * with the record only. */
typedef struct work {
    uint32_t *syms;
    /* in_len entries: the position's hash << 16 | the input position
     * before it in its bucket + 1 */
    uint32_t *link;
    uint16_t *head; /* 1 << bits entries: the newest input position + 1 */
    unsigned shift; /* hash3 >> shift picks the input's bucket */
} work;

/* Input buckets: at least one per input byte (so few hold positions of
 * other hashes), at most one per hash. */
static unsigned input_bits(size_t in_len)
{
    unsigned bits = 0;

    while (bits < SFJ__ENC_HASH_BITS && ((size_t)1 << bits) < in_len)
        bits++;
    return bits;
}

static void work_layout(size_t in_len, void *mem, work *w)
{
    unsigned bits = input_bits(in_len);

    w->syms = mem;
    w->link = w->syms + in_len + 1;
    w->head = (uint16_t *)(w->link + in_len);
    w->shift = SFJ__ENC_HASH_BITS - bits;
    memset(w->head, 0, ((size_t)1 << bits) * sizeof *w->head);
}

size_t sfj__enc_work_bytes(size_t in_len)
{
    return (2 * in_len + 1) * sizeof(uint32_t) +
           ((size_t)1 << input_bits(in_len)) * sizeof(uint16_t);
}

/* ---- LZ77 ---- */

static inline size_t match_len(const uint8_t *a, const uint8_t *b, size_t max)
{
    size_t l = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (l + 8 <= max) { /* the lowest differing byte comes first */
        uint64_t x, y;

        memcpy(&x, a + l, 8);
        memcpy(&y, b + l, 8);
        if (x != y)
            return l + (size_t)(__builtin_ctzll(x ^ y) >> 3);
        l += 8;
    }
#endif
    while (l < max && a[l] == b[l])
        l++;
    return l;
}

/* The window is the dictionary followed by the input: positions below
 * d->len are the dictionary's, the others the input's (j is input
 * position d->len + j). */
typedef struct parser {
    work w;
    const sfj__enc_dict *d;
    const uint8_t *in;
    size_t n;       /* input bytes */
    size_t nsym;    /* symbols so far */
    uint64_t fixed; /* their bits in the fixed codes (extra bits aside) */
    uint32_t lfreq[LITLEN_CODES];
    uint32_t dfreq[DIST_CODES];
} parser;

static inline unsigned length_code(unsigned len, unsigned *extra,
                                   unsigned *bits)
{
    unsigned l = len - MIN_MATCH, n;

    if (len == MAX_MATCH) { /* 285, not 284 with all extra bits set */
        *bits = *extra = 0;
        return 285;
    }
    if (l < 8) {
        *bits = *extra = 0;
        return 257 + l;
    }
    n = 31 - (unsigned)__builtin_clz(l); /* 3 to 7 */
    *bits = n - 2;
    *extra = l & ((1u << (n - 2)) - 1);
    return 257 + 4 * (n - 1) + ((l >> (n - 2)) & 3);
}

static inline unsigned dist_code(unsigned dist, unsigned *extra, unsigned *bits)
{
    unsigned x = dist - 1, n;

    if (x < 4) {
        *bits = *extra = 0;
        return x;
    }
    n = 31 - (unsigned)__builtin_clz(x); /* 2 to 14 */
    *bits = n - 1;
    *extra = x & ((1u << (n - 1)) - 1);
    return 2 * n + ((x >> (n - 1)) & 1);
}

/* Input positions [from, to) into the chains, those that start 3 bytes
 * (the last two do not). */
static void insert(parser *p, size_t from, size_t to)
{
    const uint8_t *in = p->in;
    uint32_t *link = p->w.link;
    uint16_t *head = p->w.head;
    unsigned shift = p->w.shift;
    size_t j;

    if (p->n < MIN_MATCH)
        return;
    if (to > p->n - (MIN_MATCH - 1))
        to = p->n - (MIN_MATCH - 1);
    for (j = from; j < to; j++) {
        uint32_t h = hash_at(in, j, p->n);

        link[j] = h << 16 | head[h >> shift];
        head[h >> shift] = (uint16_t)(j + 1);
    }
}

static inline void emit_literal(parser *p, uint8_t c)
{
    p->w.syms[p->nsym++] = c;
    p->lfreq[c]++;
    p->fixed += c < 144 ? 8 : 9;
}

static inline void emit_match(parser *p, size_t len, size_t dist)
{
    unsigned e, b, code = length_code((unsigned)len, &e, &b);

    p->w.syms[p->nsym++] = MATCH(len, dist);
    p->lfreq[code]++;
    p->dfreq[dist_code((unsigned)dist, &e, &b)]++;
    p->fixed += (code < 280 ? 7 : 8) + 5;
}

/* The match of dictionary position c and input position j, up to max
 * bytes: past the dictionary's end it runs on into the input, as the
 * window does. */
static inline size_t dict_match(const parser *p, size_t c, size_t j, size_t max)
{
    size_t room = p->d->len - c, l;

    if (room >= max)
        return match_len(p->d->bytes + c, p->in + j, max);
    l = match_len(p->d->bytes + c, p->in + j, room);
    if (l < room)
        return l;
    return room + match_len(p->in, p->in + j + room, max - room);
}

/* The longest match for input position j (0 if none), trying at most
 * MAX_CHAIN earlier positions with its hash, nearest first: the input's,
 * then the dictionary's (whose chains end where they did when it was
 * hashed); inserts j. */
static size_t longest_match(parser *p, size_t j, size_t *dist)
{
    const uint8_t *in = p->in, *cur = in + j, *dict = p->d->bytes;
    const uint16_t *dprev = p->d->prev;
    const uint32_t *link = p->w.link;
    size_t max = p->n - j, best = 0, dlen = p->d->len;
    unsigned cand, chain = MAX_CHAIN, skip = MAX_SKIP;
    uint32_t h, b;

    if (max > MAX_MATCH)
        max = MAX_MATCH;
    if (max < MIN_MATCH)
        return 0;
    h = hash_at(in, j, p->n);
    b = h >> p->w.shift;
    for (cand = p->w.head[b]; cand != 0 && chain > 0;) {
        size_t c = cand - 1, l;
        uint32_t e = link[c];

        cand = e & 0xffff;
        /* A bucket holds several hashes: the others are not this chain's
         * and cost no candidate (past MAX_SKIP of them, the dictionary's
         * turn comes early). */
        if (e >> 16 != h) {
            if (skip-- == 0)
                break;
            continue;
        }
        chain--;
        /* Differing at byte `best`, it is no longer; differing earlier (a
         * string of the same hash), it comes out under 3 bytes. */
        if (in[c + best] != cur[best])
            continue;
        l = match_len(in + c, cur, max);
        if (l > best) {
            best = l;
            *dist = j - c;
            if (l >= NICE_MATCH || l == max)
                goto done;
        }
    }
    for (cand = p->d->head[h]; cand != 0 && chain-- > 0;
         cand = dprev[cand - 1]) {
        size_t c = cand - 1, l;
        /* Its byte `best`: in the input for the dictionary's last `best`
         * positions. */
        uint8_t at = c + best < dlen ? dict[c + best] : in[c + best - dlen];

        if (at != cur[best])
            continue;
        l = dict_match(p, c, j, max);
        if (l > best) {
            best = l;
            *dist = dlen + j - c;
            if (l >= NICE_MATCH || l == max)
                break;
        }
    }
done:
    p->w.link[j] = h << 16 | p->w.head[b];
    p->w.head[b] = (uint16_t)(j + 1);
    if (best < MIN_MATCH || (best == MIN_MATCH && *dist > FAR_3))
        return 0;
    return best;
}

static void parse(parser *p)
{
    size_t j = 0, pend_len = 0, pend_dist = 0;

    while (j < p->n) {
        size_t dist = 0, len;

        /* A pending match from j - 1 this long is not worth bettering. */
        len = pend_len >= LAZY_MATCH ? 0 : longest_match(p, j, &dist);
        if (pend_len >= LAZY_MATCH)
            insert(p, j, j + 1);
        if (pend_len > 0 && len <= pend_len) {
            /* Take the match at j - 1; positions j + 1 on that it covers
             * go into the chains. */
            size_t from = j - 1;

            emit_match(p, pend_len, pend_dist);
            insert(p, j + 1, from + pend_len);
            j = from + pend_len;
            pend_len = 0;
            continue;
        }
        if (pend_len > 0) /* the match at j is longer: j - 1 a literal */
            emit_literal(p, p->in[j - 1]);
        if (len > 0) {
            pend_len = len;
            pend_dist = dist;
        } else {
            emit_literal(p, p->in[j]);
        }
        j++;
    }
    /* A match pending here would start within 2 bytes of the end. */
}

/* ---- Huffman codes ---- */

typedef struct sym_freq {
    uint32_t key; /* frequency, then (in place) a code length */
    uint16_t sym;
} sym_freq;

/* Code lengths of a minimum-redundancy code for A[0..n) sorted by
 * ascending frequency, in place (Moffat and Katajainen, "In-place
 * calculation of minimum-redundancy codes", 1995). */
static void min_redundancy(sym_freq *A, int n)
{
    int root, leaf, next, avail, used, depth;

    if (n == 1) {
        A[0].key = 1;
        return;
    }
    A[0].key += A[1].key;
    root = 0;
    leaf = 2;
    for (next = 1; next < n - 1; next++) {
        if (leaf >= n || A[root].key < A[leaf].key) {
            A[next].key = A[root].key;
            A[root++].key = (uint32_t)next;
        } else {
            A[next].key = A[leaf++].key;
        }
        if (leaf >= n || (root < next && A[root].key < A[leaf].key)) {
            A[next].key += A[root].key;
            A[root++].key = (uint32_t)next;
        } else {
            A[next].key += A[leaf++].key;
        }
    }
    A[n - 2].key = 0;
    for (next = n - 3; next >= 0; next--)
        A[next].key = A[A[next].key].key + 1;
    avail = 1;
    used = depth = 0;
    root = n - 2;
    next = n - 1;
    while (avail > 0) {
        while (root >= 0 && (int)A[root].key == depth) {
            used++;
            root--;
        }
        while (avail > used) {
            A[next--].key = (uint32_t)depth;
            avail--;
        }
        avail = 2 * used;
        depth++;
        used = 0;
    }
}

/* Code lengths for freq[0..n), none longer than max_bits. Every code has
 * at least two symbols (zlib's rule: a lone code still costs a bit, and
 * a complete code is one every inflater takes). Returns the bits the
 * symbols take in it. */
static uint64_t code_lengths(const uint32_t *freq, int n, unsigned max_bits,
                             uint8_t *len)
{
    uint64_t bits = 0;
    sym_freq a[LITLEN_CODES], t;
    int count[33] = {0}, m = 0, i, j, l;
    uint32_t kraft = 0;

    for (i = 0; i < n; i++) {
        len[i] = 0;
        if (freq[i] != 0) {
            a[m].key = freq[i];
            a[m++].sym = (uint16_t)i;
        }
    }
    for (i = 0; m < 2; i++) {
        if (freq[i] == 0) {
            a[m].key = 1;
            a[m++].sym = (uint16_t)i;
        }
    }
    for (i = 1; i < m; i++) { /* at most 286, mostly a few dozen */
        t = a[i];
        for (j = i; j > 0 && a[j - 1].key > t.key; j--)
            a[j] = a[j - 1];
        a[j] = t;
    }
    {
        sym_freq b[LITLEN_CODES];

        memcpy(b, a, (size_t)m * sizeof *b);
        min_redundancy(b, m);
        /* Frequencies sum to under 2^15: no code reaches 32 bits. */
        for (i = 0; i < m; i++)
            count[b[i].key < 32 ? b[i].key : 32]++;
        sodium_memzero(b, (size_t)m * sizeof *b);
    }
    /* Fold codes past max_bits into it, then lengthen shorter codes until
     * the Kraft sum is exactly one again. */
    for (i = (int)max_bits + 1; i <= 32; i++) {
        count[max_bits] += count[i];
        count[i] = 0;
    }
    for (i = (int)max_bits; i > 0; i--)
        kraft += (uint32_t)count[i] << (max_bits - (unsigned)i);
    while (kraft != 1u << max_bits) {
        count[max_bits]--;
        for (i = (int)max_bits - 1; i > 0; i--) {
            if (count[i] != 0) {
                count[i]--;
                count[i + 1] += 2;
                break;
            }
        }
        kraft--;
    }
    /* The rarest symbols take the longest codes. */
    for (i = 0, l = (int)max_bits; l > 0; l--) {
        for (j = count[l]; j > 0; j--, i++) {
            len[a[i].sym] = (uint8_t)l;
            bits += (uint64_t)freq[a[i].sym] * (unsigned)l;
        }
    }
    sodium_memzero(a, (size_t)m * sizeof *a);
    sodium_memzero(count, sizeof count);
    return bits;
}

static const uint8_t REV8[256] = {
#define R2(n) n, n + 2 * 64, n + 1 * 64, n + 3 * 64
#define R4(n) R2(n), R2(n + 2 * 16), R2(n + 1 * 16), R2(n + 3 * 16)
#define R6(n) R4(n), R4(n + 2 * 4), R4(n + 1 * 4), R4(n + 3 * 4)
    R6(0), R6(2), R6(1), R6(3)};

/* Canonical codes for len[0..n), bit-reversed: deflate sends a code's
 * most significant bit first into a stream filled from the low bit. */
static void canonical_codes(const uint8_t *len, int n, uint16_t *code)
{
    unsigned count[MAX_BITS + 1] = {0}, next[MAX_BITS + 1], c = 0, b;
    int i;

    for (i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    for (b = 1; b <= MAX_BITS; b++) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (i = 0; i < n; i++) {
        if (len[i] != 0) {
            unsigned v = next[len[i]]++;

            code[i] = (uint16_t)(((unsigned)REV8[v & 255] << 8 |
                                  REV8[(v >> 8) & 255]) >>
                                 (16 - len[i]));
        } else {
            code[i] = 0;
        }
    }
    sodium_memzero(count, sizeof count);
    sodium_memzero(next, sizeof next);
}

/* The fixed codes (RFC 1951, 3.2.6). */
static uint8_t fixed_len[288];
static const uint8_t fixed_dist_len[DIST_CODES] = {
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
static uint16_t fixed_code[288], fixed_dist_code[DIST_CODES];
static pthread_once_t fixed_once = PTHREAD_ONCE_INIT;

static void fixed_codes_init(void)
{
    int k;

    for (k = 0; k < 288; k++)
        fixed_len[k] = k < 144 ? 8 : k < 256 ? 9 : k < 280 ? 7 : 8;
    canonical_codes(fixed_len, 288, fixed_code);
    canonical_codes(fixed_dist_len, DIST_CODES, fixed_dist_code);
}

/* ---- output ---- */

typedef struct bits {
    uint8_t *out, *end;
    uint64_t acc;
    unsigned n;
    int full; /* ran out of room: the stream is not kept */
} bits;

static inline void put(bits *b, uint32_t v, unsigned n)
{
    b->acc |= (uint64_t)v << b->n;
    b->n += n;
    while (b->n >= 8) {
        if (b->out == b->end) {
            b->full = 1;
            b->acc = 0;
            b->n = 0;
            return;
        }
        *b->out++ = (uint8_t)b->acc;
        b->acc >>= 8;
        b->n -= 8;
    }
}

static const uint8_t CLEN_ORDER[CLEN_CODES] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* The literal/length and distance code lengths, run-length coded with
 * codes 16 (repeat the last 3 to 6 times), 17 (3 to 10 zeros) and 18 (11
 * to 138 zeros). */
typedef struct header {
    int hlit, hdist, hclen, n;
    uint8_t sym[LITLEN_CODES + DIST_CODES];
    uint8_t extra[LITLEN_CODES + DIST_CODES];
    uint32_t freq[CLEN_CODES];
    uint8_t len[CLEN_CODES];
    uint16_t code[CLEN_CODES];
} header;

static void header_add(header *h, int sym, int extra)
{
    h->sym[h->n] = (uint8_t)sym;
    h->extra[h->n++] = (uint8_t)extra;
    h->freq[sym]++;
}

static uint64_t header_build(header *h, const uint8_t *ll, const uint8_t *dl)
{
    uint8_t all[LITLEN_CODES + DIST_CODES];
    uint64_t cost;
    int k, total;

    memset(h, 0, sizeof *h);
    for (h->hlit = LITLEN_CODES; h->hlit > 257 && ll[h->hlit - 1] == 0;)
        h->hlit--;
    for (h->hdist = DIST_CODES; h->hdist > 1 && dl[h->hdist - 1] == 0;)
        h->hdist--;
    memcpy(all, ll, (size_t)h->hlit);
    memcpy(all + h->hlit, dl, (size_t)h->hdist);
    total = h->hlit + h->hdist;
    for (k = 0; k < total;) {
        int v = all[k], run = 1, r;

        while (k + run < total && all[k + run] == v)
            run++;
        if (v == 0 && run >= 3) {
            r = run > 138 ? 138 : run;
            if (r >= 11)
                header_add(h, 18, r - 11);
            else
                header_add(h, 17, r - 3);
            k += r;
        } else if (v != 0 && run >= 4) {
            header_add(h, v, 0);
            k++;
            for (run--; run >= 3; run -= r, k += r) {
                r = run > 6 ? 6 : run;
                header_add(h, 16, r - 3);
            }
        } else {
            header_add(h, v, 0);
            k++;
        }
    }
    (void)code_lengths(h->freq, CLEN_CODES, MAX_CLEN, h->len);
    for (h->hclen = CLEN_CODES;
         h->hclen > 4 && h->len[CLEN_ORDER[h->hclen - 1]] == 0;)
        h->hclen--;
    cost = 5 + 5 + 4 + 3 * (uint64_t)h->hclen;
    for (k = 0; k < h->n; k++) {
        int s = h->sym[k];

        cost += h->len[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
    }
    sodium_memzero(all, (size_t)total);
    return cost;
}

static void header_put(bits *b, header *h)
{
    int k;

    canonical_codes(h->len, CLEN_CODES, h->code);
    put(b, (uint32_t)(h->hlit - 257), 5);
    put(b, (uint32_t)(h->hdist - 1), 5);
    put(b, (uint32_t)(h->hclen - 4), 4);
    for (k = 0; k < h->hclen; k++)
        put(b, h->len[CLEN_ORDER[k]], 3);
    for (k = 0; k < h->n; k++) {
        int s = h->sym[k];

        put(b, h->code[s], h->len[s]);
        if (s >= 16)
            put(b, h->extra[k], s == 16 ? 2 : s == 17 ? 3 : 7);
    }
}

static void symbols_put(bits *b, const parser *p, const uint8_t *ll,
                        const uint16_t *lc, const uint8_t *dl,
                        const uint16_t *dc)
{
    size_t i;

    for (i = 0; i < p->nsym && !b->full; i++) {
        uint32_t s = p->w.syms[i];
        unsigned e, n, c;

        if (s <= 0xff) {
            put(b, lc[s], ll[s]);
            continue;
        }
        c = length_code(s >> 16, &e, &n);
        put(b, lc[c], ll[c]);
        if (n != 0)
            put(b, e, n);
        c = dist_code(s & 0xffff, &e, &n);
        put(b, dc[c], dl[c]);
        if (n != 0)
            put(b, e, n);
    }
    put(b, lc[END_BLOCK], ll[END_BLOCK]);
}

/* Load a byte of each 64-byte line of [p, p + len). The loads do not
 * wait on each other, so the lines arrive together. */
static void touch(const void *p, size_t len)
{
    const volatile uint8_t *b = p;
    size_t off;

    for (off = 0; off < len; off += 64)
        (void)b[off];
    if (len > 0)
        (void)b[len - 1];
}

int sfj__enc_deflate(const sfj__enc_dict *d, const uint8_t *in, size_t in_len,
                     void *mem, uint8_t *out, size_t cap, size_t *out_len)
{
    parser p;
    uint8_t ll[LITLEN_CODES], dl[DIST_CODES];
    uint16_t lc[LITLEN_CODES], dc[DIST_CODES];
    header h;
    uint64_t fixed, dynamic;
    bits b = {out, out + cap, 0, 0, 0};

    pthread_once(&fixed_once, fixed_codes_init);
    memset(&p, 0, sizeof p);
    work_layout(in_len, mem, &p.w);
    p.d = d;
    p.in = in;
    p.n = in_len;
    /* The chains visit the dictionary's tables at random, one candidate
     * after another: when an fsync has left them out of the caches, a
     * miss on each costs more than reading them in first (software
     * prefetches did less well here). */
    touch(d->head, sizeof d->head);
    touch(d->prev, d->len * sizeof *d->prev);
    touch(d->bytes, d->len);
    parse(&p);
    p.lfreq[END_BLOCK] = 1;

    /* Extra bits cost the same either way: only the codes are compared. */
    fixed = p.fixed + fixed_len[END_BLOCK];
    dynamic = code_lengths(p.lfreq, LITLEN_CODES, MAX_BITS, ll);
    dynamic += code_lengths(p.dfreq, DIST_CODES, MAX_BITS, dl);
    dynamic += header_build(&h, ll, dl);
    if (fixed <= dynamic) {
        put(&b, 1 | 1 << 1, 3); /* BFINAL, fixed codes */
        symbols_put(&b, &p, fixed_len, fixed_code, fixed_dist_len,
                    fixed_dist_code);
    } else {
        put(&b, 1 | 2 << 1, 3); /* BFINAL, dynamic codes */
        header_put(&b, &h);
        canonical_codes(ll, LITLEN_CODES, lc);
        canonical_codes(dl, DIST_CODES, dc);
        symbols_put(&b, &p, ll, lc, dl, dc);
    }
    if (b.n > 0)
        put(&b, 0, 8 - b.n);
    /* The counts and the codes made from them describe the record: they
     * go the way of its working memory. */
    sodium_memzero(&p, sizeof p);
    sodium_memzero(&h, sizeof h);
    sodium_memzero(ll, sizeof ll);
    sodium_memzero(dl, sizeof dl);
    sodium_memzero(lc, sizeof lc);
    sodium_memzero(dc, sizeof dc);
    if (b.full)
        return 0;
    *out_len = (size_t)(b.out - out);
    return 1;
}
