# libFuzzer targets. libFuzzer ships with clang only, so PREVIRT_FUZZ needs the
# whole build configured with clang:
#   cmake -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPREVIRT_FUZZ=ON
# Each fuzzer is also a CTest test labelled `fuzz` that runs for a bounded time
# (PREVIRT_FUZZ_SECONDS) from its seed corpus.
if(PREVIRT_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PREVIRT_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "-DCMAKE_C_COMPILER=clang (the compiler is ${CMAKE_CXX_COMPILER_ID})")
endif()
set(PREVIRT_FUZZ_SECONDS 30 CACHE STRING "How long each fuzzer runs as a test")

# previrt_add_fuzzer(NAME SOURCES src... CORPUS dir... [LIBRARY_SOURCES src...])
# The library sources are compiled into the fuzzer so that they carry the
# coverage and sanitizer instrumentation.
function(previrt_add_fuzzer name)
    cmake_parse_arguments(FUZZ "" "" "SOURCES;CORPUS;LINK" ${ARGN})
    set(flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
    add_executable(${name} ${FUZZ_SOURCES})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/abi)
    target_compile_options(${name} PRIVATE ${PREVIRT_HOST_WARNINGS} ${flags} -g)
    target_link_options(${name} PRIVATE ${flags})
    target_link_libraries(${name} PRIVATE ${FUZZ_LINK})
    set(work ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus)
    add_test(NAME ${name}
             COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
                     $<TARGET_FILE:${name}> -max_total_time=${PREVIRT_FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048
                     -print_final_stats=1 ${work} ${FUZZ_CORPUS})
    set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 600
                         FIXTURES_REQUIRED ${name}-corpus)
    add_test(NAME ${name}-corpus COMMAND ${CMAKE_COMMAND} -E make_directory ${work})
    set_tests_properties(${name}-corpus PROPERTIES LABELS fuzz FIXTURES_SETUP ${name}-corpus)
endfunction()
