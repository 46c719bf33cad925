/* Journals with a dictionary and their upstream copies; see dictcopy.h. */
#define _GNU_SOURCE
#include "support/dictcopy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "journal/format/compress.h"
#include "journal/format/record.h"
#include "sfj/sys/internal.h"
#include "support/testutil.h"

const char sfj_test_sales_dict[] =
    "MTI=0200|MERCHANT=SFJ-DEMO-STORE-0042|TERMINAL=|STAN=|AMOUNT=|"
    "CURRENCY=978|POS_ENTRY=051|MCC=5411|MTI=0210|RESPONSE=00|AUTH=";

sfj_journal *sfj_test_dict_journal(const char *path, const char *tid,
                                   const char *keyfile, sfj_keys **keys)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;

    assert_int_equal(sfj_keys_generate_file(keyfile), SFJ_OK);
    assert_int_equal(sfj_keys_load_file(keyfile, keys), SFJ_OK);
    o.terminal_id = tid;
    o.dictionary = sfj_test_sales_dict;
    o.dictionary_len = sizeof sfj_test_sales_dict - 1;
    assert_int_equal(sfj_journal_open(path, *keys, &o, &j), SFJ_OK);
    return j;
}

void sfj_test_append_sales(sfj_journal *j, int first, int n)
{
    sfj_event ev = SFJ_EVENT_INIT;
    char txn[16], pl[256];
    int i, k;

    for (i = first; i < first + n; i++) {
        snprintf(txn, sizeof txn, "DS-%05d", i);
        for (k = 0; k < 2; k++) {
            snprintf(
                pl, sizeof pl,
                "MTI=%s|MERCHANT=SFJ-DEMO-STORE-0042|TERMINAL=%s|STAN=%06d|"
                "AMOUNT=%012d|CURRENCY=978|POS_ENTRY=051|MCC=5411%s",
                k == 0 ? "0200" : "0210", sfj__journal_terminal_id(j), i,
                1000 + i, k == 0 ? "" : "|RESPONSE=00|AUTH=A00042");
            ev.kind = k == 0 ? SFJ_EV_TXN_INTENT : SFJ_EV_TXN_OUTCOME;
            ev.status = k == 0 ? SFJ_ST_NONE : SFJ_ST_APPROVED;
            ev.txn_id = txn;
            ev.amount = 1000 + i;
            ev.currency = "EUR";
            ev.auth_code = k == 0 ? NULL : "A00042";
            ev.payload = pl;
            ev.payload_len = strlen(pl);
            assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
        }
    }
}

int sfj_test_dump(const char *scratch, const char *out, ...)
{
    char *o = sfj_test_path(scratch, out);
    char *e = sfj_test_path(scratch, "dump.err");
    va_list ap;
    int rc;

    va_start(ap, out);
    rc = sfj_test_run_toolv("sfj-dump", o, e, ap);
    va_end(ap);
    if (rc != 0) {
        char *text = sfj_test_slurp(e);

        print_message("sfj-dump exit %d: %s", rc, text);
        free(text);
    }
    free(o);
    free(e);
    return rc;
}

/* Occurrences of `needle` in `hay`. */
static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (; (hay = strstr(hay, needle)) != NULL; hay++)
        n++;
    return n;
}

/* Seq 1 is the DICTIONARY record, meta `dict` opens to the dictionary,
 * and the first sale was compressed against it. */
static void check_records(const char *copy, const char *keyfile)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    uint8_t id[SFJ__DICT_ID_BYTES], *rec = NULL;
    const sfj__dict *d;
    sfj_keys *keys = NULL;
    sfj_journal *m = NULL;
    sfj_entry h;
    uint64_t seq;
    size_t len = 0;

    assert_int_equal(sfj_keys_load_file(keyfile, &keys), SFJ_OK);
    o.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    assert_int_equal(sfj_journal_open(copy, keys, &o, &m), SFJ_OK);
    assert_int_equal(sfj__journal_read_sealed(m, 1, &rec, &len), SFJ_OK);
    assert_int_equal(sfj__record_peek(rec, len, &h), SFJ_OK);
    assert_int_equal(h.kind, SFJ_EV_DICTIONARY);
    free(rec);
    d = sfj__journal_dict(m);
    assert_non_null(d);
    crypto_generichash(id, sizeof id, (const uint8_t *)sfj_test_sales_dict,
                       sizeof sfj_test_sales_dict - 1, NULL, 0);
    assert_memory_equal(d->id, id, sizeof id);
    assert_true(d->len > sizeof sfj_test_sales_dict - 1);
    assert_memory_equal(d->bytes + d->len - (sizeof sfj_test_sales_dict - 1),
                        sfj_test_sales_dict, sizeof sfj_test_sales_dict - 1);
    /* The first sale's INTENT, after the checkpoints (clear records). */
    for (seq = 2;; seq++) {
        assert_int_equal(sfj__journal_read_sealed(m, seq, &rec, &len), SFJ_OK);
        assert_int_equal(sfj__record_peek(rec, len, &h), SFJ_OK);
        if (h.kind != SFJ_EV_CHECKPOINT)
            break;
        free(rec);
    }
    assert_int_equal(h.kind, SFJ_EV_TXN_INTENT);
    assert_int_equal(rec[SFJ_REC_OFF_FLAGS] &
                         (SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ),
                     SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ);
    free(rec);
    assert_int_equal(sfj_journal_close(m), SFJ_OK);
    sfj_keys_free(keys);
}

void sfj_test_dict_copy_check(const char *copy, const char *term_dir,
                              const char *keyfile, int n, const char *scratch)
{
    char want[64], *out, *path;
    int i;

    check_records(copy, keyfile);
    /* Every sale, decrypted from records that only open with the
     * dictionary the copy carries. */
    assert_int_equal(sfj_test_dump(scratch, "dump.csv", copy, "--key", keyfile,
                                   "-o", "csv", NULL),
                     0);
    path = sfj_test_path(scratch, "dump.csv");
    out = sfj_test_slurp(path);
    for (i = 1; i <= n; i++) {
        snprintf(want, sizeof want, ",DS-%05d,%d,EUR,", i, 1000 + i);
        if (count(out, want) != 2)
            fail_msg("%s: %d rows with %s, not 2", copy, count(out, want),
                     want);
    }
    assert_int_equal(count(out, ",approved,1,"), n);
    /* The dictionary is listed as what it is, its bytes left out. */
    assert_int_equal(count(out, ",dictionary,10,1,true,none,0,"), 1);
    snprintf(want, sizeof want, ",,0,,,0,%zu,,",
             sizeof sfj_test_sales_dict - 1);
    assert_int_equal(count(out, want), 1);
    free(out);
    free(path);
    assert_int_equal(sfj_test_dump(scratch, "verify.out", copy, "--verify",
                                   "--key", keyfile, NULL),
                     0);
    path = sfj_test_path(scratch, "verify.out");
    out = sfj_test_slurp(path);
    if (strstr(out, "every record decrypted and authenticated") == NULL ||
        strstr(out, "result      OK") == NULL)
        fail_msg("%s: --verify --key says:\n%s", copy, out);
    free(out);
    free(path);
    assert_int_equal(sfj_test_dump(scratch, "verify.out", term_dir, "--verify",
                                   "--key", keyfile, NULL),
                     0);
}
