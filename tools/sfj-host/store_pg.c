/* The fleet store: terminal records in PostgreSQL through libpq.
 *
 * Schema (version 1, created on first use under an advisory lock so that
 * gateways starting together do not race; a newer version is refused):
 *   sfj_schema(version)                         one row
 *   sfj_head(journal_id PK, terminal_id, pubkey, seq, chain, ckpt, claim)
 *   sfj_entry(journal_id, seq, rec, PRIMARY KEY (journal_id, seq))
 *   sfj_terminal(journal_id PK, terminal_id, link_key, pubkey)
 *     link_key = nonce (24) || XChaCha20-Poly1305(host key, link key,
 *     ad = LINK_KEY_AD || journal_id): never in clear, and a row's key
 *     does not open under another journal's id
 *
 * One put is one transaction for the whole group: lock the journals'
 * head rows (SELECT ... FOR UPDATE: two sessions of one terminal on two
 * gateways wait for each other, so the copy never forks), check each
 * record against its head with sfj__record_extends, INSERT (the primary
 * key keeps (journal, seq) once even against a bug in the check), move
 * the heads, COMMIT: five statements however many terminals. The
 * session acknowledges only after COMMIT returned success; any error, a
 * lost connection, or a COMMIT whose wait for synchronous replication was
 * cancelled, is SFJ_ELINK and nothing is acknowledged: the terminal
 * resends and finds the identical copy.
 *
 * `claim` counts authenticated sessions per journal across every gateway;
 * a put on behalf of an older claim is refused (SFJ_ECLOSED): the newest
 * session wins wherever it landed.
 *
 * sfj-host never cancels a statement (no PQcancel, no statement_timeout):
 * a backend waiting for synchronous replication that is cancelled
 * commits locally and returns success without the standby, and an ACK
 * sent then could be lost with the primary. A stuck database stalls the
 * gateway instead; TCP keepalives in the connection string bound how long
 * a dead server goes unnoticed. */
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_progress.h"
#include "cli_text.h"
#include "host.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

#define PG_SCHEMA_VERSION 1
#define PG_LOCK_KEY       "7378066912" /* advisory lock for schema changes */
#define LINK_KEY_AD       "sfj-host link key v1"
#define SEALED_KEY_BYTES                                                       \
    (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + SFJ_KEY_BYTES +            \
     crypto_aead_xchacha20poly1305_ietf_ABYTES)

typedef struct pg_store {
    host_store base;
    PGconn *conn;
    int sync_cancelled; /* a notice said the sync-rep wait was cancelled */
    char err[256];
} pg_store;

static const char *schema_sql =
    "CREATE TABLE IF NOT EXISTS sfj_head ("
    " journal_id bytea PRIMARY KEY, terminal_id text NOT NULL,"
    " pubkey bytea NOT NULL, seq bigint NOT NULL, chain bytea NOT NULL,"
    " ckpt bigint NOT NULL, claim bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sfj_entry ("
    " journal_id bytea NOT NULL, seq bigint NOT NULL, rec bytea NOT NULL,"
    " PRIMARY KEY (journal_id, seq));"
    "CREATE TABLE IF NOT EXISTS sfj_terminal ("
    " journal_id bytea PRIMARY KEY, terminal_id text NOT NULL,"
    " link_key bytea NOT NULL, pubkey bytea NOT NULL);"
    "INSERT INTO sfj_schema (version) VALUES (1);";

static void on_notice(void *arg, const PGresult *res)
{
    pg_store *p = arg;
    const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (m != NULL && strstr(m, "synchronous replication") != NULL)
        p->sync_cancelled = 1;
}

static uint64_t get_u64(const PGresult *r, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t x = 0;
    int i;

    for (i = 0; i < 8; i++)
        x = x << 8 | v[i];
    return x;
}

static void put_u64(uint64_t x, char *out)
{
    int i;

    for (i = 7; i >= 0; i--, x >>= 8)
        out[i] = (char)(x & 0xff);
}

/* Run `sql` with binary parameters and results; NULL on failure with the
 * reason in p->err. `expect` is the status that counts as success. */
static PGresult *run(pg_store *p, const char *sql, int n, const char *const *v,
                     const int *l, ExecStatusType expect)
{
    static const int bin[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    PGresult *r = PQexecParams(p->conn, sql, n, NULL, v, l, bin, 1);

    if (r != NULL && PQresultStatus(r) == expect)
        return r;
    snprintf(p->err, sizeof p->err, "%s",
             r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
    p->err[strcspn(p->err, "\n")] = '\0';
    PQclear(r);
    return NULL;
}

static int exec_ok(pg_store *p, const char *sql)
{
    PGresult *r = run(p, sql, 0, NULL, NULL, PGRES_COMMAND_OK);

    PQclear(r);
    return r != NULL ? SFJ_OK : SFJ_ELINK;
}

/* An ACK means "on the standby too" only when commits wait for it. */
static void check_sync_commit(pg_store *p)
{
    PGresult *r = PQexec(p->conn, "SHOW synchronous_commit");
    const char *v =
        PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "on";

    if (strcmp(v, "off") == 0 || strcmp(v, "local") == 0 ||
        strcmp(v, "remote_write") == 0) {
        host_log("database has synchronous_commit=%s: using on for sfj-host's "
                 "commits",
                 v);
        PQclear(r);
        r = PQexec(p->conn, "SET synchronous_commit = on");
    }
    PQclear(r);
}

/* A broken connection is re-established before the next use; a session
 * that met the failure has already been told nothing is acknowledged. */
static int ensure_conn(pg_store *p)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return SFJ_OK;
    PQreset(p->conn);
    if (PQstatus(p->conn) == CONNECTION_OK) {
        host_log("database connection re-established");
        check_sync_commit(p);
        return SFJ_OK;
    }
    snprintf(p->err, sizeof p->err, "database unavailable: %s",
             PQerrorMessage(p->conn));
    p->err[strcspn(p->err, "\n")] = '\0';
    return SFJ_ELINK;
}

static void rollback(pg_store *p)
{
    PGresult *r;

    if (PQstatus(p->conn) != CONNECTION_OK ||
        PQtransactionStatus(p->conn) == PQTRANS_IDLE)
        return;
    r = PQexec(p->conn, "ROLLBACK");
    PQclear(r);
}

/* COMMIT and say whether it surely holds: a commit whose wait for the
 * synchronous standby was cancelled is on the primary only. */
static int commit(pg_store *p)
{
    int rc;

    p->sync_cancelled = 0;
    rc = exec_ok(p, "COMMIT");
    if (rc == SFJ_OK && p->sync_cancelled) {
        snprintf(p->err, sizeof p->err,
                 "COMMIT returned without the synchronous standby");
        rc = SFJ_ELINK;
    }
    return rc;
}

/* The head row of `t`, created when missing; locked with FOR UPDATE
 * when `lock` (inside a transaction). */
static int read_head(pg_store *p, host_terminal *t, int lock, uint64_t *last,
                     uint8_t *chain, uint64_t *ckpt, uint64_t *claim)
{
    uint8_t gen[SFJ_HASH_BYTES];
    const char *v[4] = {(const char *)t->journal_id, t->terminal_id,
                        (const char *)t->pubkey, (const char *)gen};
    int l[4] = {SFJ_JOURNAL_ID_BYTES, (int)strlen(t->terminal_id), 32,
                SFJ_HASH_BYTES};
    PGresult *r;

    sfj__chain_genesis(t->journal_id, gen);
    r = run(p,
            "INSERT INTO sfj_head (journal_id, terminal_id, pubkey, seq, "
            "chain, ckpt, claim) VALUES ($1, convert_from($2, 'UTF8'), $3, "
            "0, $4, 0, 0) ON CONFLICT (journal_id) DO NOTHING",
            4, v, l, PGRES_COMMAND_OK);
    if (r == NULL)
        return SFJ_ELINK;
    PQclear(r);
    r = run(p,
            lock ? "SELECT seq, chain, ckpt, claim FROM sfj_head WHERE "
                   "journal_id = $1 FOR UPDATE"
                 : "SELECT seq, chain, ckpt, claim FROM sfj_head WHERE "
                   "journal_id = $1",
            1, v, l, PGRES_TUPLES_OK);
    if (r == NULL)
        return SFJ_ELINK;
    if (PQntuples(r) != 1 || PQgetlength(r, 0, 1) != SFJ_HASH_BYTES) {
        snprintf(p->err, sizeof p->err, "head row of %s is damaged",
                 t->terminal_id);
        PQclear(r);
        return SFJ_EIO;
    }
    *last = get_u64(r, 0, 0);
    if (chain != NULL)
        memcpy(chain, PQgetvalue(r, 0, 1), SFJ_HASH_BYTES);
    if (ckpt != NULL)
        *ckpt = get_u64(r, 0, 2);
    if (claim != NULL)
        *claim = get_u64(r, 0, 3);
    PQclear(r);
    return SFJ_OK;
}

static int pg_head(host_store *st, host_terminal *t, uint64_t *last,
                   uint8_t *chain, uint64_t *ckpt)
{
    pg_store *p = (pg_store *)st;
    int rc = ensure_conn(p);

    *last = 0;
    if (rc == SFJ_OK)
        rc = read_head(p, t, 0, last, chain, ckpt, NULL);
    return rc;
}

static int pg_claim(host_store *st, host_terminal *t, uint64_t *claim)
{
    pg_store *p = (pg_store *)st;
    const char *v[1] = {(const char *)t->journal_id};
    int l[1] = {SFJ_JOURNAL_ID_BYTES}, rc;
    uint64_t last = 0;
    PGresult *r = NULL;

    *claim = 0;
    rc = ensure_conn(p);
    if (rc == SFJ_OK)
        rc = exec_ok(p, "BEGIN");
    if (rc == SFJ_OK)
        rc = read_head(p, t, 1, &last, NULL, NULL, NULL);
    if (rc == SFJ_OK) {
        r = run(p,
                "UPDATE sfj_head SET claim = claim + 1 WHERE journal_id = $1 "
                "RETURNING claim",
                1, v, l, PGRES_TUPLES_OK);
        if (r == NULL || PQntuples(r) != 1)
            rc = SFJ_ELINK;
        else
            *claim = get_u64(r, 0, 0);
        PQclear(r);
    }
    if (rc == SFJ_OK)
        rc = commit(p);
    if (rc != SFJ_OK)
        rollback(p);
    return rc;
}

/* Is the record at `seq`, below the head, identical to `rec`? */
static int same_as_held(pg_store *p, host_terminal *t, uint64_t seq,
                        const uint8_t *rec, size_t len)
{
    char s8[8];
    const char *v[2] = {(const char *)t->journal_id, s8};
    int l[2] = {SFJ_JOURNAL_ID_BYTES, 8}, rc = SFJ_OK;
    PGresult *r;

    put_u64(seq, s8);
    r = run(p, "SELECT rec FROM sfj_entry WHERE journal_id = $1 AND seq = $2",
            2, v, l, PGRES_TUPLES_OK);
    if (r == NULL)
        return SFJ_ELINK;
    if (PQntuples(r) == 1 && ((size_t)PQgetlength(r, 0, 0) != len ||
                              memcmp(PQgetvalue(r, 0, 0), rec, len) != 0)) {
        snprintf(p->err, sizeof p->err,
                 "seq %llu differs from the copy already held",
                 (unsigned long long)seq);
        rc = SFJ_EAUTH;
    }
    PQclear(r);
    return rc;
}

/* ---- the group put: five round trips, however many terminals ----
 *
 * BEGIN; one SELECT ... ORDER BY journal_id FOR UPDATE locks every head
 * row of the group in one order (two gateways committing the same
 * terminals never deadlock); the records are checked against those heads
 * here; one multi-row INSERT of every record that extends its chain; one
 * UPDATE of every head that moved; COMMIT. A statement per record and
 * per head was a round trip each: on a loaded machine the gateway and
 * its backend spent their time waiting for each other, not working
 * (docs/FLEET.md, "Sizing"). */

#define ROWS_PER_STMT 1000 /* 3 or 4 parameters a row, under libpq's 65535 */

/* Parameters of one multi-row statement being built: `width` per row. */
typedef struct rows {
    const char **v;
    int *l, *fmt;
    char (*num)[8]; /* two 8-byte numbers per row */
    size_t n, cap, width;
    char *sql;
} rows;

static int rows_init(rows *q, size_t cap, size_t width)
{
    memset(q, 0, sizeof *q);
    q->cap = cap;
    q->width = width;
    q->v = calloc(cap * width + 1, sizeof *q->v);
    q->l = calloc(cap * width + 1, sizeof *q->l);
    q->fmt = calloc(cap * width + 1, sizeof *q->fmt);
    q->num = calloc(2 * cap + 1, sizeof *q->num);
    /* Per row "($NNNNN::bigint," and so on: 20 bytes a parameter. */
    q->sql = malloc(512 + (width * 20 + 4) *
                              (cap < ROWS_PER_STMT ? cap : ROWS_PER_STMT));
    return q->v && q->l && q->fmt && q->num && q->sql ? SFJ_OK : SFJ_ENOMEM;
}

static void rows_free(rows *q)
{
    free(q->v);
    free(q->l);
    free(q->fmt);
    free(q->num);
    free(q->sql);
}

/* The public key in force for a terminal: the head row's, which follows
 * the terminal's signed key rotations (provisioning gives the first). */
static int head_pubkey(pg_store *p, host_terminal *t, uint8_t *pk)
{
    const char *v[1] = {(const char *)t->journal_id};
    int l[1] = {SFJ_JOURNAL_ID_BYTES};
    PGresult *r = run(p, "SELECT pubkey FROM sfj_head WHERE journal_id = $1", 1,
                      v, l, PGRES_TUPLES_OK);

    if (r == NULL)
        return SFJ_ELINK;
    if (PQntuples(r) != 1 || PQgetlength(r, 0, 0) != 32) {
        snprintf(p->err, sizeof p->err, "head row of %s is damaged",
                 t->terminal_id);
        PQclear(r);
        return SFJ_EIO;
    }
    memcpy(pk, PQgetvalue(r, 0, 0), 32);
    PQclear(r);
    return SFJ_OK;
}

/* Parameter `col` of the row being added. */
static void rows_set(rows *q, size_t col, const void *v, size_t len)
{
    q->v[q->n * q->width + col] = v;
    q->l[q->n * q->width + col] = (int)len;
    q->fmt[q->n * q->width + col] = 1;
}

static char *rows_u64(rows *q, int k, uint64_t x)
{
    put_u64(x, q->num[2 * q->n + (size_t)k]);
    return q->num[2 * q->n + (size_t)k];
}

/* Run `head` VALUES (...),(...) `tail` over rows [from, from + k). */
static int rows_exec(pg_store *p, rows *q, size_t from, size_t k,
                     const char *head, const char *const *cast,
                     const char *tail)
{
    size_t i, c, len;
    PGresult *r;

    len = (size_t)sprintf(q->sql, "%s", head);
    for (i = 0; i < k; i++) {
        len += (size_t)sprintf(q->sql + len, "%s(", i ? "," : "");
        for (c = 0; c < q->width; c++)
            len += (size_t)sprintf(q->sql + len, "%s$%zu%s", c ? "," : "",
                                   i * q->width + c + 1, cast[c]);
        q->sql[len++] = ')';
    }
    sprintf(q->sql + len, "%s", tail);
    r = PQexecParams(p->conn, q->sql, (int)(k * q->width), NULL,
                     q->v + from * q->width, q->l + from * q->width,
                     q->fmt + from * q->width, 1);
    if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        return SFJ_OK;
    }
    snprintf(p->err, sizeof p->err, "%s",
             r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
    p->err[strcspn(p->err, "\n")] = '\0';
    PQclear(r);
    return SFJ_ELINK;
}

static int rows_flush(pg_store *p, rows *q, const char *head,
                      const char *const *cast, const char *tail)
{
    size_t from, k;
    int rc = SFJ_OK;

    for (from = 0; from < q->n && rc == SFJ_OK; from += k) {
        k = q->n - from < ROWS_PER_STMT ? q->n - from : ROWS_PER_STMT;
        rc = rows_exec(p, q, from, k, head, cast, tail);
    }
    return rc;
}

/* The locked head of one terminal of the group. */
typedef struct head {
    uint64_t seq, ckpt, claim;
    uint8_t chain[SFJ_HASH_BYTES];
    uint8_t pk[32]; /* the public key in force (follows rotations) */
    int found;
} head;

static int by_journal(const void *a, const void *b)
{
    const host_put *x = *(host_put *const *)a, *y = *(host_put *const *)b;

    return memcmp(x->t->journal_id, y->t->journal_id, SFJ_JOURNAL_ID_BYTES);
}

/* Lock and read the head rows of `ord` (sorted, distinct journals) in
 * one statement; a terminal without a row gets it created and locked on
 * its own (read_head). */
static int lock_heads(pg_store *p, host_put **ord, size_t n, head *h)
{
    size_t i, j, len = 0, cap = 16 + n * (2 * SFJ_JOURNAL_ID_BYTES + 6);
    char *arr = malloc(cap);
    const char *v[1];
    PGresult *r = NULL;
    int rc = SFJ_OK, rows_n;

    if (arr == NULL)
        return SFJ_ENOMEM;
    /* A bytea[] in text form: {"\\x0011...",...}. */
    arr[len++] = '{';
    for (i = 0; i < n; i++) {
        len += (size_t)sprintf(arr + len, "%s\"\\\\x", i ? "," : "");
        sfj__cli_hex(ord[i]->t->journal_id, SFJ_JOURNAL_ID_BYTES, arr + len);
        len += 2 * SFJ_JOURNAL_ID_BYTES;
        arr[len++] = '"';
    }
    arr[len++] = '}';
    arr[len] = '\0';
    v[0] = arr;
    r = PQexecParams(p->conn,
                     "SELECT journal_id, seq, chain, ckpt, claim, pubkey FROM "
                     "sfj_head "
                     "WHERE journal_id = ANY($1::bytea[]) ORDER BY journal_id "
                     "FOR UPDATE",
                     1, NULL, v, NULL, NULL, 1);
    if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(p->err, sizeof p->err, "%s",
                 r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
        p->err[strcspn(p->err, "\n")] = '\0';
        rc = SFJ_ELINK;
        goto done;
    }
    rows_n = PQntuples(r);
    /* Both lists are in journal id order: walk them together. */
    for (i = 0, j = 0; i < (size_t)rows_n && rc == SFJ_OK; i++) {
        if (PQgetlength(r, (int)i, 0) != SFJ_JOURNAL_ID_BYTES ||
            PQgetlength(r, (int)i, 2) != SFJ_HASH_BYTES ||
            PQgetlength(r, (int)i, 5) != 32) {
            snprintf(p->err, sizeof p->err, "a head row is damaged");
            rc = SFJ_EIO;
            break;
        }
        while (j < n && memcmp(ord[j]->t->journal_id, PQgetvalue(r, (int)i, 0),
                               SFJ_JOURNAL_ID_BYTES) < 0)
            j++;
        if (j == n)
            break;
        if (memcmp(ord[j]->t->journal_id, PQgetvalue(r, (int)i, 0),
                   SFJ_JOURNAL_ID_BYTES) != 0)
            continue;
        h[j].seq = get_u64(r, (int)i, 1);
        memcpy(h[j].chain, PQgetvalue(r, (int)i, 2), SFJ_HASH_BYTES);
        h[j].ckpt = get_u64(r, (int)i, 3);
        h[j].claim = get_u64(r, (int)i, 4);
        memcpy(h[j].pk, PQgetvalue(r, (int)i, 5), 32);
        h[j].found = 1;
    }
    for (j = 0; j < n && rc == SFJ_OK; j++) {
        if (!h[j].found)
            rc = read_head(p, ord[j]->t, 1, &h[j].seq, h[j].chain, &h[j].ckpt,
                           &h[j].claim);
        if (!h[j].found && rc == SFJ_OK)
            rc = head_pubkey(p, ord[j]->t, h[j].pk);
    }
done:
    PQclear(r);
    free(arr);
    return rc;
}

/* One terminal's batch against its locked head: the records that extend
 * the chain are queued in `ins`, the head that moves in `upd`. A
 * refusal writes nothing more and stays this batch's; a database error
 * (looking up a duplicate) fails the group. */
static int check_one(pg_store *p, host_put *it, head *h, rows *ins, rows *upd)
{
    host_terminal *t = it->t;
    uint64_t seq, ckpt = h->ckpt, last = h->seq;
    uint8_t pk[32], rot_pk[32];
    size_t i, added = 0;
    int rc = SFJ_OK, is_ckpt;

    it->rc = SFJ_OK;
    memcpy(it->chain, h->chain, SFJ_HASH_BYTES);
    memcpy(pk, h->pk, sizeof pk);
    if (h->claim != it->claim && it->n > 0) {
        snprintf(p->err, sizeof p->err,
                 "a newer session of this terminal holds the journal");
        it->rc = SFJ_ECLOSED;
        it->last = last;
        return SFJ_OK;
    }
    for (i = 0; rc == SFJ_OK && it->rc == SFJ_OK && i < it->n; i++) {
        seq = it->first + i;
        if (seq <= last) {
            it->rc = seq <= h->seq
                         ? same_as_held(p, t, seq, it->recs[i], it->lens[i])
                         : SFJ_ESTATE; /* a resend of one queued here */
            if (it->rc == SFJ_ELINK)
                rc = it->rc;
        } else if (seq != last + 1) {
            snprintf(p->err, sizeof p->err, "seq %llu leaves a gap after %llu",
                     (unsigned long long)seq, (unsigned long long)last);
            it->rc = SFJ_ESTATE;
        } else {
            it->rc = sfj__record_extends(t->journal_id, pk, it->chain, seq,
                                         it->recs[i], it->lens[i], it->chain,
                                         &is_ckpt, rot_pk);
            if (it->rc == SFJ_OK) {
                rows_set(ins, 0, t->journal_id, SFJ_JOURNAL_ID_BYTES);
                rows_set(ins, 1, rows_u64(ins, 0, seq), 8);
                rows_set(ins, 2, it->recs[i], it->lens[i]);
                ins->n++;
                last = seq;
                ckpt = is_ckpt == 1 ? seq : ckpt;
                /* Signed by the key in force: the next one takes over,
                 * committed with the record (in the head's UPDATE). */
                if (is_ckpt == 2)
                    memcpy(pk, rot_pk, sizeof pk);
                added++;
            } else {
                snprintf(p->err, sizeof p->err, "seq %llu: %s",
                         (unsigned long long)seq,
                         it->rc == SFJ_ESTATE  ? "does not extend the chain"
                         : it->rc == SFJ_EAUTH ? "checkpoint signature is "
                                                 "invalid"
                                               : "damaged record");
                if (it->rc == SFJ_ESTATE)
                    it->rc = SFJ_EPROTO;
            }
        }
        if (rc == SFJ_OK && it->rc == SFJ_OK)
            it->stored++;
    }
    if (added > 0) {
        memcpy(h->pk, pk, sizeof pk); /* lives until the UPDATE is sent */
        rows_set(upd, 0, t->journal_id, SFJ_JOURNAL_ID_BYTES);
        rows_set(upd, 1, rows_u64(upd, 0, last), 8);
        rows_set(upd, 2, it->chain, SFJ_HASH_BYTES);
        rows_set(upd, 3, rows_u64(upd, 1, ckpt), 8);
        rows_set(upd, 4, h->pk, sizeof h->pk);
        upd->n++;
    }
    it->last = last;
    return rc;
}

static void pg_put(host_store *st, host_put *items, size_t n)
{
    static const char *const ins_cast[3] = {"::bytea", "::bigint", "::bytea"};
    static const char *const upd_cast[5] = {"::bytea", "::bigint", "::bytea",
                                            "::bigint", "::bytea"};
    pg_store *p = (pg_store *)st;
    host_put **ord = malloc((n + 1) * sizeof *ord);
    head *h = calloc(n + 1, sizeof *h);
    rows ins, upd;
    size_t i, total = 0;
    int rc;

    memset(&ins, 0, sizeof ins);
    memset(&upd, 0, sizeof upd);
    for (i = 0; i < n; i++) {
        items[i].stored = 0;
        items[i].last = 0;
        total += items[i].n;
    }
    rc = ord != NULL && h != NULL && rows_init(&ins, total, 3) == SFJ_OK &&
                 rows_init(&upd, n, 5) == SFJ_OK
             ? ensure_conn(p)
             : SFJ_ENOMEM;
    if (rc == SFJ_OK)
        rc = exec_ok(p, "BEGIN");
    if (rc == SFJ_OK) {
        for (i = 0; i < n; i++)
            ord[i] = &items[i];
        qsort(ord, n, sizeof *ord, by_journal);
        rc = lock_heads(p, ord, n, h);
    }
    for (i = 0; i < n && rc == SFJ_OK; i++)
        rc = check_one(p, ord[i], &h[i], &ins, &upd);
    /* The primary key keeps (journal, seq) once even against a bug in
     * the checks above. */
    if (rc == SFJ_OK)
        rc = rows_flush(p, &ins,
                        "INSERT INTO sfj_entry (journal_id, seq, rec) VALUES ",
                        ins_cast, "");
    if (rc == SFJ_OK)
        rc = rows_flush(p, &upd,
                        "UPDATE sfj_head AS h SET seq = v.seq, chain = "
                        "v.chain, ckpt = v.ckpt, pubkey = v.pubkey FROM "
                        "(VALUES ",
                        upd_cast,
                        ") AS v(journal_id, seq, chain, ckpt, pubkey) WHERE "
                        "h.journal_id = v.journal_id");
    if (rc == SFJ_OK)
        rc = commit(p);
    if (rc != SFJ_OK) {
        rollback(p);
        for (i = 0; i < n; i++) {
            items[i].stored = 0;
            items[i].last = 0;
            items[i].rc = rc;
        }
    }
    rows_free(&ins);
    rows_free(&upd);
    free(h);
    free(ord);
}

static void link_key_ad(const uint8_t *jid, uint8_t *ad)
{
    memcpy(ad, LINK_KEY_AD, sizeof LINK_KEY_AD - 1);
    memcpy(ad + sizeof LINK_KEY_AD - 1, jid, SFJ_JOURNAL_ID_BYTES);
}

static int pg_lookup(host_store *st, const uint8_t *jid, host_terminal **out)
{
    pg_store *p = (pg_store *)st;
    uint8_t ad[sizeof LINK_KEY_AD - 1 + SFJ_JOURNAL_ID_BYTES];
    const char *v[1] = {(const char *)jid};
    int l[1] = {SFJ_JOURNAL_ID_BYTES}, rc = SFJ_ECORRUPT;
    const uint8_t *sealed;
    host_terminal *t = NULL;
    unsigned long long n = 0;
    PGresult *r = NULL;
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1];
    int tl;

    *out = NULL;
    sfj__cli_hex(jid, SFJ_JOURNAL_ID_BYTES, hex);
    if (ensure_conn(p) != SFJ_OK)
        return SFJ_ELINK;
    r = run(p,
            "SELECT terminal_id, link_key, pubkey FROM sfj_terminal WHERE "
            "journal_id = $1",
            1, v, l, PGRES_TUPLES_OK);
    if (r == NULL)
        return SFJ_ELINK;
    if (PQntuples(r) != 1) {
        rc = SFJ_ENOTFOUND;
        goto done;
    }
    tl = PQgetlength(r, 0, 0);
    t = calloc(1, sizeof *t);
    if (t == NULL || (t->link_key = sodium_malloc(SFJ_KEY_BYTES)) == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    if (tl < 1 || tl > SFJ_TERMINAL_ID_MAX || PQgetlength(r, 0, 2) != 32 ||
        PQgetlength(r, 0, 1) != (int)SEALED_KEY_BYTES) {
        host_log("provisioning row of journal %s is malformed (terminal id, "
                 "link key or public key of the wrong length)",
                 hex);
        goto done;
    }
    sealed = (const uint8_t *)PQgetvalue(r, 0, 1);
    link_key_ad(jid, ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            t->link_key, &n, NULL,
            sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            SEALED_KEY_BYTES - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad,
            sizeof ad, sealed, st->cfg->host_key) != 0 ||
        n != SFJ_KEY_BYTES) {
        host_log("provisioning row of journal %s: the link key does not open "
                 "under the host key (another host key, or a damaged row)",
                 hex);
        goto done;
    }
    sodium_mprotect_readonly(t->link_key);
    memcpy(t->journal_id, jid, SFJ_JOURNAL_ID_BYTES);
    memcpy(t->terminal_id, PQgetvalue(r, 0, 0), (size_t)tl);
    t->terminal_id[tl] = '\0';
    memcpy(t->pubkey, PQgetvalue(r, 0, 2), 32);
    *out = t;
    t = NULL;
    rc = SFJ_OK;
done:
    PQclear(r);
    if (t != NULL) {
        if (t->link_key != NULL)
            sodium_free(t->link_key);
        free(t);
    }
    return rc;
}

static const char *pg_errmsg(host_store *st, host_terminal *t)
{
    (void)t;
    return ((pg_store *)st)->err;
}

static void pg_free(host_store *st)
{
    pg_store *p = (pg_store *)st;

    if (p == NULL)
        return;
    PQfinish(p->conn);
    free(p);
}

static int pg_import(host_store *st, const host_terminal *terms, size_t n);

static const host_store_ops pg_ops = {pg_head,   pg_claim,  pg_put, pg_lookup,
                                      pg_import, pg_errmsg, pg_free};

/* Create the schema on first use; refuse a newer one. */
static int prepare_schema(pg_store *p)
{
    PGresult *r;
    int rc = HOST_EXIT_DBDOWN, ver;

    if (exec_ok(p, "BEGIN") != SFJ_OK)
        goto done;
    r = run(p, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", 0, NULL, NULL,
            PGRES_TUPLES_OK);
    if (r == NULL)
        goto done;
    PQclear(r);
    if (exec_ok(p, "CREATE TABLE IF NOT EXISTS sfj_schema "
                   "(version integer NOT NULL)") != SFJ_OK)
        goto done;
    r = PQexec(p->conn, "SELECT coalesce(max(version), 0) FROM sfj_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(p->err, sizeof p->err, "%s", PQerrorMessage(p->conn));
        PQclear(r);
        goto done;
    }
    ver = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (ver > PG_SCHEMA_VERSION) {
        host_log("database schema version %d is newer than this sfj-host's "
                 "(%d): upgrade sfj-host",
                 ver, PG_SCHEMA_VERSION);
        rc = HOST_EXIT_SCHEMA;
        goto done;
    }
    if (ver == 0) {
        r = PQexec(p->conn, schema_sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(p->err, sizeof p->err, "%s", PQerrorMessage(p->conn));
            PQclear(r);
            goto done;
        }
        PQclear(r);
    }
    if (commit(p) != SFJ_OK)
        goto done;
    rc = HOST_EXIT_OK;
done:
    if (rc == HOST_EXIT_DBDOWN) {
        p->err[strcspn(p->err, "\n")] = '\0';
        host_log("cannot prepare the database schema: %s", p->err);
    }
    rollback(p);
    return rc;
}

int host_store_pg_open(host_config *cfg, host_store **out)
{
    return host_store_pg_open_url(cfg, cfg->store_url, out);
}

int host_store_pg_open_url(host_config *cfg, const char *url, host_store **out)
{
    pg_store *p = calloc(1, sizeof *p);
    int rc = HOST_EXIT_DBDOWN;

    if (p == NULL) {
        host_log("out of memory");
        return HOST_EXIT_UNAVAIL;
    }
    p->base.ops = &pg_ops;
    p->base.cfg = cfg;
    p->conn = PQconnectdb(url);
    if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
        snprintf(p->err, sizeof p->err, "%s",
                 p->conn != NULL ? PQerrorMessage(p->conn) : "out of memory");
        p->err[strcspn(p->err, "\n")] = '\0';
        host_log("database unreachable: %s", p->err);
        goto done;
    }
    PQsetNoticeReceiver(p->conn, on_notice, p);
    check_sync_commit(p);
    rc = prepare_schema(p);
done:
    if (rc != HOST_EXIT_OK) {
        pg_free(&p->base);
        return rc;
    }
    *out = &p->base;
    return HOST_EXIT_OK;
}

/* Copy the entries after `from` in pages into mirror `m`. */
static int export_entries(pg_store *p, const uint8_t *jid, sfj_journal *m,
                          sfj__progress *pr, uint64_t *count)
{
    const uint8_t *recs[256];
    size_t lens[256], stored = 0;
    uint64_t from = 0;
    char s8[8];
    const char *v[2] = {(const char *)jid, s8};
    int l[2] = {SFJ_JOURNAL_ID_BYTES, 8}, i, n, rc = SFJ_OK;
    PGresult *r;

    for (;;) {
        put_u64(from, s8);
        r = run(p,
                "SELECT seq, rec FROM sfj_entry WHERE journal_id = $1 AND "
                "seq > $2 ORDER BY seq LIMIT 256",
                2, v, l, PGRES_TUPLES_OK);
        if (r == NULL)
            return SFJ_ELINK;
        n = PQntuples(r);
        for (i = 0; i < n; i++) {
            recs[i] = (const uint8_t *)PQgetvalue(r, i, 1);
            lens[i] = (size_t)PQgetlength(r, i, 1);
        }
        if (n > 0)
            rc = sfj__mirror_put_batch(m, get_u64(r, 0, 0), recs, lens,
                                       (size_t)n, &stored);
        if (n > 0)
            from = get_u64(r, n - 1, 0);
        PQclear(r);
        *count += stored;
        sfj__progress_step(pr, *count);
        if (rc != SFJ_OK || n < 256)
            return rc;
    }
}

int host_export(const char *url, const char *journal_hex, const char *to)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    const char *v[1] = {(const char *)jid};
    int l[1] = {SFJ_JOURNAL_ID_BYTES}, rc = HOST_EXIT_DBDOWN, src;
    char tid[SFJ_TERMINAL_ID_MAX + 1];
    host_config cfg;
    host_store *st = NULL;
    sfj_journal *m = NULL;
    uint64_t count = 0;
    PGresult *r = NULL;
    sfj__progress pr;
    pg_store *p;

    if (sfj__cli_unhex(journal_hex, jid, sizeof jid) != 0) {
        host_log("--journal wants %d hex digits", 2 * SFJ_JOURNAL_ID_BYTES);
        return HOST_EXIT_USAGE;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.store_url = url;
    rc = host_store_pg_open(&cfg, &st);
    if (rc != HOST_EXIT_OK)
        return rc;
    p = (pg_store *)st;
    rc = HOST_EXIT_DBDOWN;
    r = run(p,
            "SELECT terminal_id, pubkey, seq FROM sfj_head WHERE "
            "journal_id = $1",
            1, v, l, PGRES_TUPLES_OK);
    if (r == NULL) {
        host_log("cannot read journal %s: %s", journal_hex, p->err);
        goto done;
    }
    if (PQntuples(r) != 1 || PQgetlength(r, 0, 1) != 32 ||
        (size_t)PQgetlength(r, 0, 0) > SFJ_TERMINAL_ID_MAX) {
        host_log("journal %s is not in the database", journal_hex);
        rc = HOST_EXIT_NOINPUT;
        goto done;
    }
    memcpy(tid, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    tid[PQgetlength(r, 0, 0)] = '\0';
    src = sfj__mirror_open(&m, to, jid, tid,
                           (const uint8_t *)PQgetvalue(r, 0, 1), 0);
    if (src != SFJ_OK) {
        host_log("cannot create mirror %s: %s (%s)", to, sfj_strerror(src),
                 sfj_journal_errmsg(NULL));
        rc = HOST_EXIT_CANTCREAT;
        goto done;
    }
    /* The head's seq: the entries held, unless pruned before export. */
    sfj__progress_start(&pr, "sfj-host", "exporting", "entries",
                        PQgetlength(r, 0, 2) == 8 ? get_u64(r, 0, 2) : 0);
    src = export_entries(p, jid, m, &pr, &count);
    sfj__progress_end(&pr);
    if (src == SFJ_ELINK) {
        host_log("database unavailable during export: %s", p->err);
        goto done;
    }
    if (src != SFJ_OK) {
        host_log("export of %s stopped after %llu entries: %s (%s)",
                 journal_hex, (unsigned long long)count, sfj_strerror(src),
                 sfj_journal_errmsg(m));
        rc = sfj__cli_exit_for(src);
        goto done;
    }
    printf("exported %llu entries of journal %s (terminal %s) to %s\n",
           (unsigned long long)count, journal_hex, tid, to);
    rc = HOST_EXIT_OK;
done:
    PQclear(r);
    if (m != NULL && sfj_journal_close(m) != SFJ_OK && rc == HOST_EXIT_OK)
        rc = HOST_EXIT_IOERR;
    pg_free(st);
    return rc;
}

/* The provisioning table of this cluster: one transaction. */
static int pg_import(host_store *st, const host_terminal *terms, size_t n)
{
    uint8_t ad[sizeof LINK_KEY_AD - 1 + SFJ_JOURNAL_ID_BYTES];
    uint8_t sealed[SEALED_KEY_BYTES];
    pg_store *p = (pg_store *)st;
    const char *v[4];
    int l[4], rc;
    size_t i;
    PGresult *r;

    rc = ensure_conn(p);
    if (rc == SFJ_OK)
        rc = exec_ok(p, "BEGIN");
    for (i = 0; i < n && rc == SFJ_OK; i++) {
        const host_terminal *t = &terms[i];

        randombytes_buf(sealed, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        link_key_ad(t->journal_id, ad);
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL,
            t->link_key, SFJ_KEY_BYTES, ad, sizeof ad, NULL, sealed,
            st->cfg->host_key);
        v[0] = (const char *)t->journal_id;
        v[1] = t->terminal_id;
        v[2] = (const char *)sealed;
        v[3] = (const char *)t->pubkey;
        l[0] = SFJ_JOURNAL_ID_BYTES;
        l[1] = (int)strlen(t->terminal_id);
        l[2] = (int)sizeof sealed;
        l[3] = 32;
        r = run(p,
                "INSERT INTO sfj_terminal (journal_id, terminal_id, link_key, "
                "pubkey) VALUES ($1, convert_from($2, 'UTF8'), $3, $4) "
                "ON CONFLICT (journal_id) DO UPDATE SET terminal_id = "
                "excluded.terminal_id, link_key = excluded.link_key, pubkey = "
                "excluded.pubkey",
                4, v, l, PGRES_COMMAND_OK);
        rc = r != NULL ? SFJ_OK : SFJ_ELINK;
        PQclear(r);
    }
    if (rc == SFJ_OK)
        rc = commit(p);
    if (rc != SFJ_OK)
        rollback(p);
    return rc;
}
