/* Included at the end of lua.h in the wasm32-wasi build (LUA_USER_H): WASI has no shell and no
 * temporary files, so os.execute, os.tmpname and io.tmpfile fail cleanly with an error message. */
#ifndef VMSTACK_LUA_WASI_H
#define VMSTACK_LUA_WASI_H

#include <errno.h>
#include <stdio.h>

#define system(command) ((command) ? (errno = ENOSYS, -1) : 0)
#define tmpfile() (errno = ENOSYS, (FILE *)NULL)
#define LUA_TMPNAMBUFSIZE 32
#define lua_tmpnam(buffer, error) ((void)(buffer), (error) = 1)

#endif
