/* `libbundled.so.1`: the stand-in for a library a manylinux wheel ships in
 * `<pkg>.libs/` (as auditwheel does). The build tests compile it with gcc
 * (`-Wl,-soname,libbundled.so.1`) and put it in `bundler.libs/`; the RPM of
 * the wheel must neither require nor provide it. Like any real library it
 * uses libc (`volatile` keeps gcc from folding the call away). */
#include <stdlib.h>

static const char *volatile answer = "42";

int bundled_answer(void)
{
    return (int)strtol(answer, NULL, 10);
}
