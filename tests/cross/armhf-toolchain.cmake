# Debian's armhf (32-bit ARM, hard float) for tools/armhf.sh: the cross
# compiler of gcc-arm-linux-gnueabihf, its C library from
# libc6-dev-armhf-cross, and the armhf packages of sfj's dependencies
# unpacked (not installed) into SFJ_ARMHF_SYSROOT. Tests run under
# qemu-arm.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)

if(NOT SFJ_ARMHF_SYSROOT)
  set(SFJ_ARMHF_SYSROOT $ENV{SFJ_ARMHF_SYSROOT})
endif()
if(NOT IS_DIRECTORY "${SFJ_ARMHF_SYSROOT}/usr/include")
  message(FATAL_ERROR "SFJ_ARMHF_SYSROOT (${SFJ_ARMHF_SYSROOT}) holds no unpacked armhf packages: run tools/armhf.sh")
endif()
# try_compile projects see the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SFJ_ARMHF_SYSROOT)
# zlib1g keeps its library in /lib, the others in /usr/lib.
set(libdir ${SFJ_ARMHF_SYSROOT}/usr/lib/arm-linux-gnueabihf)
set(rootlibdir ${SFJ_ARMHF_SYSROOT}/lib/arm-linux-gnueabihf)
set(link "-L${libdir} -L${rootlibdir} -Wl,-rpath-link,${libdir} -Wl,-rpath-link,${rootlibdir}")

set(CMAKE_FIND_ROOT_PATH ${SFJ_ARMHF_SYSROOT} /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} ${libdir}/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${SFJ_ARMHF_SYSROOT})
set(CMAKE_C_FLAGS_INIT "-I${SFJ_ARMHF_SYSROOT}/usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${link}")
# The emulator takes its settings from the environment, so that a test
# that runs itself again (sfj_test_exec_self) starts it the same way.
set(CMAKE_CROSSCOMPILING_EMULATOR env QEMU_LD_PREFIX=/usr/arm-linux-gnueabihf
    QEMU_SET_ENV=LD_LIBRARY_PATH=${libdir}:${rootlibdir}
    SFJ_TEST_EMULATOR=qemu-arm qemu-arm)
