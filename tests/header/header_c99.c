/* Compiled with -std=c99 -pedantic -Werror: the public header must be
 * plain C99. */
#include <sfj/sfj.h>

int sfj_header_c99_check(void);
int sfj_header_c99_check(void)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    sfj_query q = SFJ_QUERY_INIT;
    return (int)opts.version + (int)q.version;
}
