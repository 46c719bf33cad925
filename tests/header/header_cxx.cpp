// The public header must compile as C++ too.
#include <sfj/sfj.h>

int sfj_header_cxx_check();
int sfj_header_cxx_check()
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    sfj_event ev = SFJ_EVENT_INIT;
    return static_cast<int>(opts.version) + ev.kind;
}
