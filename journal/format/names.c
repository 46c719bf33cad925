/* Names of event kinds and statuses: the one table tools, examples and
 * logs share, so a kind is never spelt two ways. */
#include <string.h>

#include "sfj/errors.h"
#include "sfj/journal.h"

typedef struct name_entry {
    uint16_t code;
    const char *name;
} name_entry;

static const name_entry kinds[] = {
    {SFJ_EV_TXN_INTENT, "intent"},         {SFJ_EV_TXN_OUTCOME, "outcome"},
    {SFJ_EV_TXN_OFFLINE, "offline"},       {SFJ_EV_REVERSAL, "reversal"},
    {SFJ_EV_RECEIPT, "receipt"},           {SFJ_EV_SETTLEMENT, "settlement"},
    {SFJ_EV_CHECKPOINT, "checkpoint"},     {SFJ_EV_NOTE, "note"},
    {SFJ_EV_KEY_ROTATION, "key_rotation"}, {SFJ_EV_DICTIONARY, "dictionary"}};

static const name_entry statuses[] = {
    {SFJ_ST_NONE, "none"},           {SFJ_ST_APPROVED, "approved"},
    {SFJ_ST_DECLINED, "declined"},   {SFJ_ST_ERROR, "error"},
    {SFJ_ST_PRINTED, "printed"},     {SFJ_ST_PRINT_FAILED, "print_failed"},
    {SFJ_ST_REPRINTED, "reprinted"}, {SFJ_ST_REV_DECIDED, "rev_decided"},
    {SFJ_ST_REV_SENT, "rev_sent"}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const name_entry *t, size_t n, unsigned code)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (t[i].code == code)
            return t[i].name;
    }
    return NULL;
}

static int reverse(const name_entry *t, size_t n, const char *name,
                   unsigned *out)
{
    size_t i;

    if (name == NULL)
        return SFJ_EINVAL;
    for (i = 0; i < n; i++) {
        if (strcmp(t[i].name, name) == 0) {
            *out = t[i].code;
            return SFJ_OK;
        }
    }
    return SFJ_EINVAL;
}

const char *sfj_kind_name(unsigned kind)
{
    const char *s = lookup(kinds, COUNT(kinds), kind);

    if (s != NULL)
        return s;
    return kind >= SFJ_EV_APP && kind <= 0xffff ? "app" : "unknown";
}

const char *sfj_status_name(unsigned status)
{
    const char *s = lookup(statuses, COUNT(statuses), status);

    return s != NULL ? s : "unknown";
}

int sfj_kind_from_name(const char *name, sfj_kind *out)
{
    unsigned code = 0;
    int rc;

    if (out == NULL)
        return SFJ_EINVAL;
    rc = reverse(kinds, COUNT(kinds), name, &code);
    if (rc == SFJ_OK)
        *out = (sfj_kind)code;
    return rc;
}

int sfj_status_from_name(const char *name, sfj_status *out)
{
    unsigned code = 0;
    int rc;

    if (out == NULL)
        return SFJ_EINVAL;
    rc = reverse(statuses, COUNT(statuses), name, &code);
    if (rc == SFJ_OK)
        *out = (sfj_status)code;
    return rc;
}
