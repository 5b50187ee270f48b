// What abstract classes' vtables name, for the in-place VMM image (the memory
// functions GCC may call are runtime/memory.cpp's).

extern "C" {

void __cxa_pure_virtual() { asm volatile("ud2"); }
}
