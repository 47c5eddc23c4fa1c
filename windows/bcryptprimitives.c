/*
 * A stand-in for Windows' bcryptprimitives.dll, for running Rust test executables under
 * wine versions that lack it (Debian bookworm's wine 8).
 *
 * Rust's standard library on Windows draws its randomness (HashMap seeds and the like)
 * from ProcessPrng, exported by bcryptprimitives.dll since Windows 10. This DLL exports
 * the same function on top of RtlGenRandom (advapi32's SystemFunction036), which every
 * wine version has. Put it beside the .exe; it is for tests only, never shipped.
 */
#include <windows.h>

/* RtlGenRandom's real export name; declared here because ntsecapi.h wants extra macros. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData): always succeeds on Windows. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
    while (size > 0) {
        ULONG chunk = size > 0x40000000 ? 0x40000000 : (ULONG)size;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        size -= chunk;
    }
    return TRUE;
}
