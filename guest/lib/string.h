// The C string and memory functions, for the kernel and the user programs.
// extern "C" because GCC emits calls to memset, memcpy and memmove for
// aggregate initialisation and copies even with -fno-builtin.
#pragma once

#include <stddef.h>

extern "C" {
void* memset(void* dst, int c, size_t n);
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
}
