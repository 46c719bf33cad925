/* The fleet store: terminal records in PostgreSQL through libpq.
 *
 * Schema (version 2, created on first use under an advisory lock so that
 * gateways starting together do not race; version 1 is migrated under
 * the same lock, a newer version is refused):
 *   sfj_schema(version)                         one row
 *   sfj_head(journal_id PK, terminal_id, pubkey, seq, chain, ckpt, claim)
 *     fillfactor 50 (version 2): the head updates stay HOT
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
 * the heads, COMMIT: five statements however many terminals, prepared
 * once per connection and sent in two pipelines (two round trips). The
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
#include "pg_array.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

#define PG_SCHEMA_VERSION 2
#define PG_LOCK_KEY       "7378066912" /* advisory lock for schema changes */
#define LINK_KEY_AD       "sfj-host link key v1"
#define SEALED_KEY_BYTES                                                       \
    (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + SFJ_KEY_BYTES +            \
     crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* The arrays of one group put (pg_store.arr). */
enum {
    A_LOCK,    /* sfj_lock: the journals */
    A_INS_JID, /* sfj_ins: journal, seq, record */
    A_INS_SEQ,
    A_INS_REC,
    A_UPD_JID, /* sfj_upd: journal, seq, chain, checkpoint, key */
    A_UPD_SEQ,
    A_UPD_CHAIN,
    A_UPD_CKPT,
    A_UPD_PK,
    A_COUNT
};

typedef struct pg_store {
    host_store base;
    PGconn *conn;
    int sync_cancelled; /* a notice said the sync-rep wait was cancelled */
    int reset;          /* a pipeline was left unread: reconnect first */
    sfj__pg_array arr[A_COUNT]; /* the group put's parameters, reused */
    char err[256];
} pg_store;

static int prepare_stmts(pg_store *p);

/* The head rows are updated by every group put: with room left on their
 * pages (fillfactor) the new row version goes to the same page and the
 * update is HOT (the updated columns are not indexed), so the primary
 * key gets no new entry and the pages do not bloat between vacuums. */
#define HEAD_FILLFACTOR "50"

static const char *schema_sql =
    "CREATE TABLE IF NOT EXISTS sfj_head ("
    " journal_id bytea PRIMARY KEY, terminal_id text NOT NULL,"
    " pubkey bytea NOT NULL, seq bigint NOT NULL, chain bytea NOT NULL,"
    " ckpt bigint NOT NULL, claim bigint NOT NULL)"
    " WITH (fillfactor = " HEAD_FILLFACTOR ");"
    "CREATE TABLE IF NOT EXISTS sfj_entry ("
    " journal_id bytea NOT NULL, seq bigint NOT NULL, rec bytea NOT NULL,"
    " PRIMARY KEY (journal_id, seq));"
    "CREATE TABLE IF NOT EXISTS sfj_terminal ("
    " journal_id bytea PRIMARY KEY, terminal_id text NOT NULL,"
    " link_key bytea NOT NULL, pubkey bytea NOT NULL);"
    "INSERT INTO sfj_schema (version) VALUES (2);";

/* Version 1 to 2: the head rows' fillfactor. Only the storage parameter
 * changes (a SHARE UPDATE EXCLUSIVE lock: gateways already running go
 * on); pages written from now on keep the room. */
static const char *migrate_v2_sql =
    "ALTER TABLE sfj_head SET (fillfactor = " HEAD_FILLFACTOR ");"
    "UPDATE sfj_schema SET version = 2;";

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

/* Run a statement that returns no rows: SFJ_OK, or SFJ_ELINK with the
 * reason in p->err. */
static int exec_params_ok(pg_store *p, const char *sql, int n,
                          const char *const *v, const int *l)
{
    PGresult *r = run(p, sql, n, v, l, PGRES_COMMAND_OK);

    PQclear(r);
    return r != NULL ? SFJ_OK : SFJ_ELINK;
}

static int exec_ok(pg_store *p, const char *sql)
{
    return exec_params_ok(p, sql, 0, NULL, NULL);
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
 * that met the failure has already been told nothing is acknowledged.
 * A new connection gets the group put's statements prepared again. */
static int ensure_conn(pg_store *p)
{
    if (PQstatus(p->conn) == CONNECTION_OK && !p->reset)
        return SFJ_OK;
    PQreset(p->conn); /* also ends a pipeline left unread */
    if (PQstatus(p->conn) == CONNECTION_OK) {
        host_log("database connection re-established");
        check_sync_commit(p);
        if (prepare_stmts(p) == SFJ_OK) {
            p->reset = 0;
            return SFJ_OK;
        }
        p->reset = 1;
        return SFJ_ELINK;
    }
    snprintf(p->err, sizeof p->err, "database unavailable: %s",
             PQerrorMessage(p->conn));
    p->err[strcspn(p->err, "\n")] = '\0';
    return SFJ_ELINK;
}

static void rollback(pg_store *p)
{
    PGresult *r;

    /* A connection to be reset ends its transaction by closing. */
    if (PQstatus(p->conn) != CONNECTION_OK || p->reset ||
        PQtransactionStatus(p->conn) == PQTRANS_IDLE)
        return;
    r = PQexec(p->conn, "ROLLBACK");
    PQclear(r);
}

/* Does the result of a COMMIT say it surely holds? Only a COMMIT that
 * committed: a COMMIT of a failed transaction answers ROLLBACK, and one
 * whose wait for the synchronous standby was cancelled is on the
 * primary only (a WARNING, caught by on_notice). */
static int commit_held(pg_store *p, const PGresult *r)
{
    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK ||
        strcmp(PQcmdStatus((PGresult *)r), "COMMIT") != 0) {
        snprintf(p->err, sizeof p->err, "COMMIT did not commit: %s",
                 r != NULL ? PQcmdStatus((PGresult *)r) : "no result");
        return SFJ_ELINK;
    }
    if (p->sync_cancelled) {
        snprintf(p->err, sizeof p->err,
                 "COMMIT returned without the synchronous standby");
        return SFJ_ELINK;
    }
    return SFJ_OK;
}

/* COMMIT and say whether it surely holds (commit_held). */
static int commit(pg_store *p)
{
    PGresult *r;
    int rc;

    p->sync_cancelled = 0;
    r = run(p, "COMMIT", 0, NULL, NULL, PGRES_COMMAND_OK);
    rc = r != NULL ? commit_held(p, r) : SFJ_ELINK;
    PQclear(r);
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

/* A session takes the journal over: its claim moves on. Only while this
 * database holds the journal's shard hash (table sfj_shard; none
 * recorded: all of them): a gateway started before `sfj-host shards
 * record` moved the hash elsewhere would otherwise write a second copy of
 * the journal here. The check rides in the claim's own UPDATE. */
static int pg_claim(host_store *st, host_terminal *t, uint64_t *claim)
{
    pg_store *p = (pg_store *)st;
    unsigned h = host_shard_hash(t->journal_id);
    char b4[4] = {0, 0, (char)(h >> 8), (char)h}; /* int4, network order */
    const char *v[2] = {(const char *)t->journal_id, b4};
    int l[2] = {SFJ_JOURNAL_ID_BYTES, 4}, rc;
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
                "AND (NOT EXISTS (SELECT 1 FROM sfj_shard) OR EXISTS (SELECT "
                "1 FROM sfj_shard WHERE lo <= $2::integer AND hi >= "
                "$2::integer)) RETURNING claim",
                2, v, l, PGRES_TUPLES_OK);
        if (r == NULL) {
            rc = SFJ_ELINK;
        } else if (PQntuples(r) != 1) {
            /* The head row is there (read_head made it): the hash is not. */
            snprintf(p->err, sizeof p->err,
                     "the database no longer holds this journal's shard "
                     "hash %u (its ranges were recorded anew: restart this "
                     "gateway with the new shard map)",
                     h);
            rc = SFJ_ESTATE;
        } else {
            *claim = get_u64(r, 0, 0);
        }
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

/* ---- the group put: two round trips, however many terminals ----
 *
 * Round one: BEGIN and one SELECT ... ORDER BY journal_id FOR UPDATE
 * that locks every head row of the group in one order (two gateways
 * committing the same terminals never deadlock), sent together in
 * libpq's pipeline mode. The records are checked against those heads
 * here. Round two: one INSERT of every record that extends its chain,
 * one UPDATE of every head that moved, and COMMIT, again in one
 * pipeline: the server runs them in order and, after an error, skips the
 * rest up to the pipeline's end, so a COMMIT behind a failed statement
 * is never executed. The session acknowledges only after the COMMIT's
 * own result said COMMIT.
 *
 * The SELECT, INSERT and UPDATE are prepared once per connection, with
 * the group's values as binary arrays (journal_id = ANY($1), unnest of
 * $1..$5): the database parses and plans them once, not once per group
 * with thousands of parameters, and reads the records as bytes, not hex.
 * A statement per record and per head was a round trip each: on a
 * loaded machine the gateway and its backend spent their time waiting
 * for each other (docs/PERFORMANCE.md, "The upstream at fleet scale"). */

/* The heads are joined with the array, not filtered by journal_id =
 * ANY($1): a generic plan that scans the table with ANY compares each row
 * with every element of a parameter array (no hashed lookup for a
 * parameter), which took 40% of the database's CPU once the table had
 * grown. LockRows sits above the Sort: rows are locked in journal_id
 * order whatever the join. */
static const char *const lock_sql =
    "SELECT h.journal_id, h.seq, h.chain, h.ckpt, h.claim, h.pubkey FROM "
    "sfj_head AS h JOIN unnest($1::bytea[]) AS k(journal_id) ON "
    "h.journal_id = k.journal_id ORDER BY h.journal_id FOR UPDATE OF h";
static const char *const ins_sql =
    "INSERT INTO sfj_entry (journal_id, seq, rec) SELECT * FROM "
    "unnest($1::bytea[], $2::bigint[], $3::bytea[])";
static const char *const upd_sql =
    "UPDATE sfj_head AS h SET seq = v.seq, chain = v.chain, ckpt = v.ckpt, "
    "pubkey = v.pubkey FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], "
    "$4::bigint[], $5::bytea[]) AS v(journal_id, seq, chain, ckpt, pubkey) "
    "WHERE h.journal_id = v.journal_id";

/* The statements of a group put, prepared on every new connection. The
 * generic plan is forced: the arrays' lengths change with every group,
 * and a custom plan per group would be planning again what the prepared
 * statement saves. */
static int prepare_stmts(pg_store *p)
{
    static const Oid lock_t[1] = {SFJ__PG_OID_BYTEA_ARRAY};
    static const Oid ins_t[3] = {SFJ__PG_OID_BYTEA_ARRAY,
                                 SFJ__PG_OID_INT8_ARRAY,
                                 SFJ__PG_OID_BYTEA_ARRAY};
    static const Oid upd_t[5] = {
        SFJ__PG_OID_BYTEA_ARRAY, SFJ__PG_OID_INT8_ARRAY,
        SFJ__PG_OID_BYTEA_ARRAY, SFJ__PG_OID_INT8_ARRAY,
        SFJ__PG_OID_BYTEA_ARRAY};
    const struct {
        const char *name, *sql;
        int n;
        const Oid *types;
    } s[3] = {{"sfj_lock", lock_sql, 1, lock_t},
              {"sfj_ins", ins_sql, 3, ins_t},
              {"sfj_upd", upd_sql, 5, upd_t}};
    PGresult *r;
    int i;

    if (exec_ok(p, "SET plan_cache_mode = force_generic_plan") != SFJ_OK)
        return SFJ_ELINK;
    for (i = 0; i < 3; i++) {
        r = PQprepare(p->conn, s[i].name, s[i].sql, s[i].n, s[i].types);
        if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(p->err, sizeof p->err, "%s",
                     r != NULL ? PQresultErrorMessage(r)
                               : PQerrorMessage(p->conn));
            p->err[strcspn(p->err, "\n")] = '\0';
            PQclear(r);
            return SFJ_ELINK;
        }
        PQclear(r);
    }
    return SFJ_OK;
}

/* One statement of a pipeline: prepared `name` with the `n` arrays from
 * `arg` as its binary parameters, or `sql` without parameters. */
typedef struct pstmt {
    const char *name, *sql;
    int arg, n;
    ExecStatusType expect;
    PGresult *res; /* its result, when `keep` */
    int keep;
} pstmt;

static void pipe_err(pg_store *p, const PGresult *r)
{
    snprintf(p->err, sizeof p->err, "%s",
             r != NULL && PQresultErrorMessage(r)[0] != '\0'
                 ? PQresultErrorMessage(r)
             : PQerrorMessage(p->conn)[0] != '\0'
                 ? PQerrorMessage(p->conn)
                 : "the database ended a statement without a result");
    p->err[strcspn(p->err, "\n")] = '\0';
}

/* Send the `k` statements in one pipeline and one sync, then read every
 * result in order. SFJ_OK only when each had its expected status; a
 * statement the server skipped after an earlier error
 * (PGRES_PIPELINE_ABORTED) counts as failed. The pipeline is read to its
 * end; when it cannot be (a broken connection), the connection is reset
 * before its next use. */
static int pipeline(pg_store *p, pstmt *s, int k)
{
    static const int fmt[5] = {1, 1, 1, 1, 1};
    const char *v[5];
    int l[5], i, j, sent = 0, rc = SFJ_OK;
    PGresult *r;

    for (i = 0; i < k; i++)
        s[i].res = NULL;
    if (PQenterPipelineMode(p->conn) != 1) {
        pipe_err(p, NULL);
        p->reset = 1;
        return SFJ_ELINK;
    }
    for (i = 0; i < k; i++) {
        int ok;

        for (j = 0; j < s[i].n; j++) {
            v[j] = (const char *)p->arr[s[i].arg + j].b;
            l[j] = (int)p->arr[s[i].arg + j].len;
        }
        ok = s[i].name != NULL
                 ? PQsendQueryPrepared(p->conn, s[i].name, s[i].n, v, l, fmt, 1)
                 : PQsendQueryParams(p->conn, s[i].sql, 0, NULL, NULL, NULL,
                                     NULL, 1);
        if (!ok)
            break;
        sent++;
    }
    if (sent < k)
        rc = SFJ_ELINK;
    if (PQpipelineSync(p->conn) != 1)
        goto broken;
    if (rc != SFJ_OK)
        pipe_err(p, NULL);
    for (i = 0; i < sent; i++) {
        r = PQgetResult(p->conn);
        if (r == NULL) { /* no result at all: only a broken connection */
            if (PQstatus(p->conn) != CONNECTION_OK)
                goto broken;
            if (rc == SFJ_OK)
                pipe_err(p, NULL);
            rc = SFJ_ELINK;
            continue;
        }
        if (PQresultStatus(r) != s[i].expect) {
            if (rc == SFJ_OK)
                pipe_err(p, r);
            rc = SFJ_ELINK;
        } else if (s[i].keep) {
            s[i].res = r;
            r = NULL;
        }
        PQclear(r);
        while ((r = PQgetResult(p->conn)) != NULL)
            PQclear(r);
    }
    r = PQgetResult(p->conn);
    if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        PQclear(r);
        goto broken;
    }
    PQclear(r);
    if (PQexitPipelineMode(p->conn) != 1)
        goto broken;
    return rc;
broken:
    if (rc == SFJ_OK)
        pipe_err(p, NULL);
    for (i = 0; i < k; i++) {
        PQclear(s[i].res);
        s[i].res = NULL;
    }
    p->reset = 1;
    return SFJ_ELINK;
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

/* BEGIN, then lock and read the head rows of `ord` (sorted, distinct
 * journals) in one statement: one round trip. A terminal without a row
 * gets it created and locked on its own (read_head). */
static int lock_heads(pg_store *p, host_put **ord, size_t n, head *h)
{
    pstmt s[2] = {{NULL, "BEGIN", 0, 0, PGRES_COMMAND_OK, NULL, 0},
                  {"sfj_lock", NULL, A_LOCK, 1, PGRES_TUPLES_OK, NULL, 1}};
    PGresult *r;
    size_t i, j;
    int rc = sfj__pg_array_start(&p->arr[A_LOCK], SFJ__PG_OID_BYTEA), rows_n;

    for (i = 0; i < n && rc == SFJ_OK; i++)
        rc = sfj__pg_array_add(&p->arr[A_LOCK], ord[i]->t->journal_id,
                               SFJ_JOURNAL_ID_BYTES);
    if (rc != SFJ_OK)
        return rc;
    rc = pipeline(p, s, 2);
    r = s[1].res;
    if (rc != SFJ_OK)
        goto done;
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
    return rc;
}

/* One terminal's batch against its locked head: the records that extend
 * the chain are queued in the INSERT's arrays, the head that moves in
 * the UPDATE's. A refusal writes nothing more and stays this batch's; a
 * database error (looking up a duplicate) fails the group. */
static int check_one(pg_store *p, host_put *it, head *h)
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
                if (sfj__pg_array_add(&p->arr[A_INS_JID], t->journal_id,
                                      SFJ_JOURNAL_ID_BYTES) != SFJ_OK ||
                    sfj__pg_array_add_u64(&p->arr[A_INS_SEQ], seq) != SFJ_OK ||
                    sfj__pg_array_add(&p->arr[A_INS_REC], it->recs[i],
                                      it->lens[i]) != SFJ_OK)
                    rc = SFJ_ENOMEM;
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
    if (added > 0 && rc == SFJ_OK &&
        (sfj__pg_array_add(&p->arr[A_UPD_JID], t->journal_id,
                           SFJ_JOURNAL_ID_BYTES) != SFJ_OK ||
         sfj__pg_array_add_u64(&p->arr[A_UPD_SEQ], last) != SFJ_OK ||
         sfj__pg_array_add(&p->arr[A_UPD_CHAIN], it->chain, SFJ_HASH_BYTES) !=
             SFJ_OK ||
         sfj__pg_array_add_u64(&p->arr[A_UPD_CKPT], ckpt) != SFJ_OK ||
         sfj__pg_array_add(&p->arr[A_UPD_PK], pk, sizeof pk) != SFJ_OK))
        rc = SFJ_ENOMEM;
    it->last = last;
    return rc;
}

/* INSERT the queued records, UPDATE the heads that moved, COMMIT: one
 * round trip. SFJ_OK only when COMMIT itself succeeded (commit_held). */
static int write_group(pg_store *p)
{
    pstmt s[3];
    int k = 0, rc;

    memset(s, 0, sizeof s);
    if (p->arr[A_INS_JID].count > 0) {
        s[k].name = "sfj_ins";
        s[k].arg = A_INS_JID;
        s[k].n = 3;
        s[k++].expect = PGRES_COMMAND_OK;
    }
    if (p->arr[A_UPD_JID].count > 0) {
        s[k].name = "sfj_upd";
        s[k].arg = A_UPD_JID;
        s[k].n = 5;
        s[k++].expect = PGRES_COMMAND_OK;
    }
    s[k].sql = "COMMIT";
    s[k].expect = PGRES_COMMAND_OK;
    s[k++].keep = 1;
    p->sync_cancelled = 0;
    rc = pipeline(p, s, k);
    if (rc == SFJ_OK)
        rc = commit_held(p, s[k - 1].res);
    PQclear(s[k - 1].res);
    return rc;
}

static void pg_put(host_store *st, host_put *items, size_t n)
{
    static const uint32_t elem[A_COUNT] = {
        SFJ__PG_OID_BYTEA, SFJ__PG_OID_BYTEA, SFJ__PG_OID_INT8,
        SFJ__PG_OID_BYTEA, SFJ__PG_OID_BYTEA, SFJ__PG_OID_INT8,
        SFJ__PG_OID_BYTEA, SFJ__PG_OID_INT8,  SFJ__PG_OID_BYTEA};
    pg_store *p = (pg_store *)st;
    host_put **ord = malloc((n + 1) * sizeof *ord);
    head *h = calloc(n + 1, sizeof *h);
    size_t i;
    int rc = ord != NULL && h != NULL ? SFJ_OK : SFJ_ENOMEM;

    for (i = 0; i < n; i++) {
        items[i].stored = 0;
        items[i].last = 0;
    }
    for (i = A_INS_JID; i < A_COUNT && rc == SFJ_OK; i++)
        rc = sfj__pg_array_start(&p->arr[i], elem[i]);
    if (rc == SFJ_OK)
        rc = ensure_conn(p);
    if (rc == SFJ_OK) {
        for (i = 0; i < n; i++)
            ord[i] = &items[i];
        qsort(ord, n, sizeof *ord, by_journal);
        rc = lock_heads(p, ord, n, h);
    }
    for (i = 0; i < n && rc == SFJ_OK; i++)
        rc = check_one(p, ord[i], &h[i]);
    /* The primary key keeps (journal, seq) once even against a bug in
     * the checks above. */
    if (rc == SFJ_OK)
        rc = write_group(p);
    if (rc != SFJ_OK) {
        rollback(p);
        for (i = 0; i < n; i++) {
            items[i].stored = 0;
            items[i].last = 0;
            items[i].rc = rc;
        }
    }
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
    int i;

    if (p == NULL)
        return;
    PQfinish(p->conn);
    for (i = 0; i < A_COUNT; i++)
        sfj__pg_array_free(&p->arr[i]);
    free(p);
}

static int pg_import(host_store *st, const host_terminal *terms, size_t n);

static const host_store_ops pg_ops = {pg_head,   pg_claim,  pg_put, pg_lookup,
                                      pg_import, pg_errmsg, pg_free};

/* BEGIN under the schema lock, with `table_sql` (a CREATE TABLE IF NOT
 * EXISTS) done: SFJ_OK, or SFJ_ELINK with the reason in p->err. */
static int begin_locked(pg_store *p, const char *table_sql)
{
    PGresult *r;

    if (exec_ok(p, "BEGIN") != SFJ_OK)
        return SFJ_ELINK;
    r = run(p, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", 0, NULL, NULL,
            PGRES_TUPLES_OK);
    if (r == NULL)
        return SFJ_ELINK;
    PQclear(r);
    return exec_ok(p, table_sql);
}

/* Create the schema on first use; refuse a newer one. */
static int prepare_schema(pg_store *p)
{
    PGresult *r;
    int rc = HOST_EXIT_DBDOWN, ver;

    if (begin_locked(p, "CREATE TABLE IF NOT EXISTS sfj_schema "
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
    if (ver < PG_SCHEMA_VERSION) {
        /* None yet: create it. Version 1 (the same tables): migrate. */
        r = PQexec(p->conn, ver == 0 ? schema_sql : migrate_v2_sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(p->err, sizeof p->err, "%s", PQerrorMessage(p->conn));
            PQclear(r);
            goto done;
        }
        PQclear(r);
    }
    if (commit(p) != SFJ_OK)
        goto done;
    if (ver > 0 && ver < PG_SCHEMA_VERSION)
        host_log("database schema migrated from version %d to %d (the head "
                 "rows' fillfactor " HEAD_FILLFACTOR ")",
                 ver, PG_SCHEMA_VERSION);
    if (prepare_stmts(p) != SFJ_OK)
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

/* Is shard hash `h` in one of the `n` sorted ranges? */
static int in_ranges(unsigned h, const unsigned (*r)[2], size_t n)
{
    size_t i;

    for (i = 0; i < n && r[i][0] <= h; i++) {
        if (h <= r[i][1])
            return 1;
    }
    return 0;
}

/* Journals held here whose hash the new ranges `want` give away: their
 * claim moves on, so that a session online since before (on a gateway
 * with the old map) has its next put refused (SFJ_ECLOSED) and its
 * terminal meets holds_hash at the next claim. Inside the caller's
 * transaction. */
static int fence_moved(pg_store *p, const unsigned (*want)[2], size_t n)
{
    sfj__pg_array a = {0};
    const char *v[1];
    int l[1], rc, i, rows;
    PGresult *r = run(p, "SELECT journal_id FROM sfj_head", 0, NULL, NULL,
                      PGRES_TUPLES_OK);

    if (r == NULL)
        return SFJ_ELINK;
    rc = sfj__pg_array_start(&a, SFJ__PG_OID_BYTEA);
    rows = PQntuples(r);
    for (i = 0; i < rows && rc == SFJ_OK; i++) {
        const uint8_t *jid = (const uint8_t *)PQgetvalue(r, i, 0);

        if (PQgetlength(r, i, 0) == SFJ_JOURNAL_ID_BYTES &&
            !in_ranges(host_shard_hash(jid), want, n))
            rc = sfj__pg_array_add(&a, jid, SFJ_JOURNAL_ID_BYTES);
    }
    PQclear(r);
    if (rc == SFJ_OK && a.count > 0) {
        v[0] = (const char *)a.b;
        l[0] = (int)a.len;
        rc = exec_params_ok(p,
                            "UPDATE sfj_head SET claim = claim + 1 WHERE "
                            "journal_id = ANY($1::bytea[])",
                            1, v, l);
        if (rc == SFJ_OK)
            host_log("journals held here outside the new shard ranges: %u "
                     "(their sessions end)",
                     (unsigned)a.count);
    } else if (rc != SFJ_OK) {
        snprintf(p->err, sizeof p->err, "out of memory");
    }
    sfj__pg_array_free(&a);
    return rc;
}

/* The shard hash ranges this database holds (docs/FLEET.md, "Sharding"):
 * recorded by the first gateway or import that writes to it, replaced by
 * `sfj-host shards record`, compared by every other. A database that
 * served hashes recorded for another would hold a second copy of their
 * journals. Under the schema lock, so that two gateways starting with
 * two maps cannot both record theirs. */
int host_store_pg_ranges(host_store *st, const unsigned (*want)[2], size_t n,
                         int replace, char *held, size_t cap, int *recorded)
{
    pg_store *p = (pg_store *)st;
    unsigned(*have)[2] = NULL;
    PGresult *r;
    char *sql = NULL;
    size_t i, rows = 0, len;
    int rc = HOST_EXIT_DBDOWN, same;

    *recorded = 0;
    held[0] = '\0';
    if (begin_locked(p,
                     "CREATE TABLE IF NOT EXISTS sfj_shard "
                     "(lo integer PRIMARY KEY, hi integer NOT NULL)") != SFJ_OK)
        goto done;
    r = PQexec(p->conn, "SELECT lo, hi FROM sfj_shard ORDER BY lo");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(p->err, sizeof p->err, "%s", PQerrorMessage(p->conn));
        PQclear(r);
        goto done;
    }
    rows = (size_t)PQntuples(r);
    have = rows > 0 ? calloc(rows, sizeof *have) : NULL;
    for (i = 0; i < rows && have != NULL; i++) {
        have[i][0] = (unsigned)strtoul(PQgetvalue(r, (int)i, 0), NULL, 10);
        have[i][1] = (unsigned)strtoul(PQgetvalue(r, (int)i, 1), NULL, 10);
    }
    PQclear(r);
    if (rows > 0 && have == NULL) {
        snprintf(p->err, sizeof p->err, "out of memory");
        goto done;
    }
    host_ranges_text((const unsigned(*)[2])have, rows, held, cap);
    same = rows == n && (n == 0 || memcmp(have, want, n * sizeof want[0]) == 0);
    if (!same && rows > 0 && !replace) {
        rc = HOST_EXIT_SHARDMAP;
        goto done;
    }
    if (!same) {
        /* Numbers only: no parameter needs quoting. */
        len = 64 + n * 26;
        sql = malloc(len);
        if (sql == NULL) {
            snprintf(p->err, sizeof p->err, "out of memory");
            goto done;
        }
        i = (size_t)snprintf(sql, len,
                             "INSERT INTO sfj_shard (lo, hi) VALUES ");
        for (size_t k = 0; k < n; k++)
            i += (size_t)snprintf(sql + i, len - i, "%s(%u, %u)",
                                  k > 0 ? ", " : "", want[k][0], want[k][1]);
        if (exec_ok(p, "DELETE FROM sfj_shard") != SFJ_OK ||
            exec_ok(p, sql) != SFJ_OK || fence_moved(p, want, n) != SFJ_OK)
            goto done;
        *recorded = 1;
    }
    if (commit(p) != SFJ_OK)
        goto done;
    rc = HOST_EXIT_OK;
done:
    if (rc == HOST_EXIT_DBDOWN)
        host_log("cannot read the shard ranges the database holds: %s", p->err);
    rollback(p);
    free(sql);
    free(have);
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
        rc = exec_params_ok(
            p,
            "INSERT INTO sfj_terminal (journal_id, terminal_id, link_key, "
            "pubkey) VALUES ($1, convert_from($2, 'UTF8'), $3, $4) "
            "ON CONFLICT (journal_id) DO UPDATE SET terminal_id = "
            "excluded.terminal_id, link_key = excluded.link_key, pubkey = "
            "excluded.pubkey",
            4, v, l);
    }
    if (rc == SFJ_OK)
        rc = commit(p);
    if (rc != SFJ_OK)
        rollback(p);
    return rc;
}
