/* Stand-in for the <setjmp.h> wasi-libc lacks (WASI preview 1 has no way to unwind the stack).
 * Lua's ldo.c includes this header before it defines its error-unwinding macros, so defining them
 * here turns every Lua error into a message on stderr and abort(). Scripts that raise no errors run
 * unchanged; pcall, error() and coroutine.yield (which unwinds too) do not work. */
#ifndef VMSTACK_WASI_SETJMP_H
#define VMSTACK_WASI_SETJMP_H

#include <stdio.h>
#include <stdlib.h>

#define luai_jmpbuf int
#define LUAI_TRY(L, c, a) \
    {                     \
        a                 \
    }
#define LUAI_THROW(L, c)                                                                    \
    (fprintf(stderr, "lua: unrecoverable error (status %d): %s\n", (c)->status,             \
             lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object)"),      \
     abort())

#endif
