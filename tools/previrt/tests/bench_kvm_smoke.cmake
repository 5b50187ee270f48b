# Runs `previrt bench --on kvm --runs 1 --cmdline-extra short` with its outputs
# and checks what users rely on: the JSON holds the four configurations, each
# with every exitbench row; the exits per operation that any KVM host
# reproduces (a UART access is one exit pure and none in place; device memory
# is one exit everywhere); instructions per operation for the stepped
# configurations; the Markdown file's marked section replaced.
# usage: cmake -DPREVIRT=FILE -DWORK=DIR -P bench_kvm_smoke.cmake
#    or: cmake -DRESULTS=DIR/NAME -P bench_kvm_smoke.cmake, which checks a run
#        made elsewhere (on AMD-V KVM, testing/amdv): NAME.out its output,
#        NAME.status its status, NAME/ its bench.json and bench.md
#    -DSECTION=NAME: the Markdown section's name (--section; default kvm)
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED RESULTS AND NOT EXISTS /dev/kvm)
    message("SKIP: no /dev/kvm")
    return()
endif()
set(rows port_read port_write pit_read console_line mmio_read hlt_wakeup loop_baseline)
if(NOT DEFINED SECTION)
    set(SECTION kvm)
endif()
set(begin "<!-- bench:${SECTION}:begin -->")
set(end "<!-- bench:${SECTION}:end -->")

if(DEFINED RESULTS)
    set(json ${RESULTS}/bench.json)
    set(md ${RESULTS}/bench.md)
    if(NOT EXISTS ${RESULTS}.status)
        message(FATAL_ERROR "no results at ${RESULTS}: the run did not happen")
    endif()
    file(READ ${RESULTS}.out err)
    file(STRINGS ${RESULTS}.status status)
    set(out "")
    message("-- output:\n${err}-- exit status ${status}")
else()
    file(REMOVE_RECURSE ${WORK})
    file(MAKE_DIRECTORY ${WORK})
    set(json ${WORK}/bench.json)
    set(md ${WORK}/bench.md)
    file(WRITE ${md} "# Notes\n\n${begin}\nstale figures\n${end}\n\nAfter the section.\n")
    # Each boot's own limit well inside the test's, so that a boot that hangs is
    # reported with its output rather than killed with the test.
    execute_process(COMMAND ${PREVIRT} bench --on kvm --runs 1 --cmdline-extra short --timeout 150 --json ${json}
                            --markdown ${md} --section ${SECTION}
                    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
    message("-- stdout:\n${out}-- stderr:\n${err}-- exit status ${status}")
endif()
if(err MATCHES "no usable /dev/kvm|cannot open /dev/kvm")
    message("SKIP: no usable /dev/kvm")
    return()
endif()
if(NOT status EQUAL 0)
    message(FATAL_ERROR "previrt bench --on kvm exited with status ${status}")
endif()

file(READ ${json} j)
string(JSON kvm GET "${j}" host kvm)
if(NOT kvm MATCHES "^KVM ")
    message(FATAL_ERROR "the JSON does not name the kind of KVM ('${kvm}')")
endif()
function(figure config row what out)
    string(JSON value ERROR_VARIABLE error GET "${j}" configurations ${config} rows ${row} ${what} ${ARGN})
    if(error OR NOT value MATCHES "^[0-9.]+$")
        message(FATAL_ERROR "${config} ${row} ${what} ${ARGN}: '${value}' ${error}")
    endif()
    set(${out} ${value} PARENT_SCOPE)
endfunction()
foreach(config pure pure_own pre para)
    foreach(row ${rows})
        figure(${config} ${row} exits_per_op e median)
        figure(${config} ${row} cycles_per_op c median)
        if(NOT config STREQUAL "pure")
            figure(${config} ${row} instructions_per_op i)
        endif()
    endforeach()
endforeach()
foreach(check "pure_own port_read 1" "pure_own port_write 1" "pure_own mmio_read 1" "pre port_read 0"
              "pre port_write 0" "pre console_line 0" "pre mmio_read 1" "para port_read 0" "para port_write 0"
              "para mmio_read 1")
    separate_arguments(check)
    list(GET check 0 config)
    list(GET check 1 row)
    list(GET check 2 want)
    figure(${config} ${row} exits_per_op e median)
    if(NOT e EQUAL want)
        message(FATAL_ERROR "${config} ${row}: ${e} exits per operation, not ${want}")
    endif()
endforeach()
# A port access answered in place runs a device model: hundreds of the VMM's
# instructions. A handful means the single steps did not follow the guest into
# the VMM (as when the VMM's return dropped the trap flag, on hardware KVM).
foreach(config pre para)
    figure(${config} port_read instructions_in_vmm_per_op v)
    if(v LESS 50)
        message(FATAL_ERROR "${config} port_read: ${v} instructions in the in-place VMM per access, not the model's")
    endif()
endforeach()
if(DEFINED RESULTS AND NOT kvm MATCHES "hardware virtualization")
    message(FATAL_ERROR "the run was meant for KVM on hardware virtualization, and ran on '${kvm}'")
endif()
# On AMD-V as QEMU emulates it the host says so, and its times are named as TCG's.
if(DEFINED RESULTS AND NOT kvm MATCHES "AMD-V emulated by QEMU TCG")
    message(FATAL_ERROR "the run on testing/amdv's L1 does not name its host as AMD-V emulated by QEMU TCG ('${kvm}')")
endif()
string(JSON met GET "${j}" goals pre_10x_fewer_exits_than_pure_on_device_rows met)
if(NOT met)
    message(FATAL_ERROR "the device rows' goal is not met:\n${j}")
endif()

file(READ ${md} text)
if(text MATCHES "stale figures" OR NOT text MATCHES "After the section" OR NOT text MATCHES "\\| console_line \\|"
   OR NOT text MATCHES "Goal: Pre-virtualized makes at least 10x fewer exits" OR NOT text MATCHES "${begin}")
    message(FATAL_ERROR "${md}: the section was not replaced as expected:\n${text}")
endif()
