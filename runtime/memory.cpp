// The memory functions freestanding code must bring itself, since the
// compiler calls them on its own (copies, aggregate initialisation): one copy
// for the guest kernel, its user programs and the in-place VMM image.
#include <stddef.h>
#include <stdint.h>

// GCC's loop-pattern recognition would turn these very loops into calls to
// memset, memcpy and memcmp, that is, into themselves.
#pragma GCC optimize("no-tree-loop-distribute-patterns")

extern "C" {

void* memset(void* dst, int c, size_t n) {
    void* d = dst;
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void* memcpy(void* dst, const void* src, size_t n) {
    void* d = dst;
    asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (reinterpret_cast<uintptr_t>(d) - reinterpret_cast<uintptr_t>(s) >= n) return memcpy(dst, src, n);
    while (n-- > 0) d[n] = s[n];  // overlapping with d above s: copy from the end
    return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

}  // extern "C"
