/* A stand-in libmsquic.so.2 with the `msquic` version node, used only to link test programs
 * the way they would be linked against Microsoft's library. It is never run. */
#include <stdint.h>

unsigned int MsQuicOpenVersion(uint32_t Version, const void** QuicApi);
void MsQuicClose(const void* QuicApi);

unsigned int MsQuicOpenVersion(uint32_t Version, const void** QuicApi) {
    (void)Version;
    (void)QuicApi;
    return 95;
}

void MsQuicClose(const void* QuicApi) {
    (void)QuicApi;
}
