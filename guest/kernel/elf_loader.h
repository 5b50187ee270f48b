// Loading an embedded user program (a static ELF64 executable) into a fresh
// address space, with every header field checked against the image.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/paging.h"

namespace guest {

struct Program {
    const char* name;
    const uint8_t* start;
    const uint8_t* end;
};

// The programs linked into the kernel image (programs.S), ended by a null name.
const Program* find_program(const char* name);

// Maps the program's segments; returns 0 and the entry point, or a negative sys::Error.
int64_t load_program(const Program& program, paging::AddressSpace& space, uint64_t* entry);

}  // namespace guest
