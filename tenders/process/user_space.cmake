# Guest user mode in a separate host process (user_space.h): the API and its
# ptrace loop (user_space.cpp), what the child's stops mean (user_events.cpp),
# and the stub the child runs (user_stub.cpp). Included from this folder's
# CMakeLists.
set(PREVIRT_USER_SPACE_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(PREVIRT_USER_SPACE_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

add_library(previrt_user_space STATIC
    ${PREVIRT_USER_SPACE_DIR}/user_space.cpp
    ${PREVIRT_USER_SPACE_DIR}/user_events.cpp
    ${PREVIRT_USER_SPACE_DIR}/user_stub.cpp
)
target_include_directories(previrt_user_space PUBLIC ${PREVIRT_USER_SPACE_ROOT} ${PREVIRT_USER_SPACE_ROOT}/abi)
target_compile_features(previrt_user_space PUBLIC cxx_std_20)
target_compile_options(previrt_user_space PRIVATE ${PREVIRT_HOST_WARNINGS})

add_executable(previrt_user_space_tests ${PREVIRT_USER_SPACE_DIR}/tests/user_space_test.cpp)
target_link_libraries(previrt_user_space_tests PRIVATE previrt_user_space GTest::gtest_main)
target_compile_options(previrt_user_space_tests PRIVATE ${PREVIRT_HOST_WARNINGS})
gtest_discover_tests(previrt_user_space_tests)
