# Debian's armhf (32-bit ARM, hard float) or arm64 (AArch64), as
# SFJ_EMULATED_ARCH says, for tools/emulated.sh: the cross compiler of
# gcc-<triple>, its C library from libc6-dev-<arch>-cross, and the
# packages of sfj's dependencies for that architecture unpacked (not
# installed) into SFJ_EMULATED_SYSROOT. Tests run under qemu-user.
foreach(var SFJ_EMULATED_ARCH SFJ_EMULATED_SYSROOT)
  if(NOT ${var})
    set(${var} $ENV{${var}})
  endif()
endforeach()
if(SFJ_EMULATED_ARCH STREQUAL "armhf")
  set(triple arm-linux-gnueabihf)
  set(qemu qemu-arm)
  set(CMAKE_SYSTEM_PROCESSOR arm)
elseif(SFJ_EMULATED_ARCH STREQUAL "arm64")
  set(triple aarch64-linux-gnu)
  set(qemu qemu-aarch64)
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
else()
  message(FATAL_ERROR "SFJ_EMULATED_ARCH must be armhf or arm64, not '${SFJ_EMULATED_ARCH}'")
endif()
if(NOT IS_DIRECTORY "${SFJ_EMULATED_SYSROOT}/usr/include")
  message(FATAL_ERROR "SFJ_EMULATED_SYSROOT (${SFJ_EMULATED_SYSROOT}) holds no unpacked ${SFJ_EMULATED_ARCH} packages: run tools/emulated.sh")
endif()
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${triple}-gcc)
# try_compile projects see the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SFJ_EMULATED_ARCH
     SFJ_EMULATED_SYSROOT)

# zlib1g keeps its library in /lib, the others in /usr/lib.
set(libdir ${SFJ_EMULATED_SYSROOT}/usr/lib/${triple})
set(rootlibdir ${SFJ_EMULATED_SYSROOT}/lib/${triple})
set(link "-L${libdir} -L${rootlibdir} -Wl,-rpath-link,${libdir} -Wl,-rpath-link,${rootlibdir}")

set(CMAKE_FIND_ROOT_PATH ${SFJ_EMULATED_SYSROOT} /usr/${triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} ${libdir}/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${SFJ_EMULATED_SYSROOT})
set(CMAKE_C_FLAGS_INIT "-I${SFJ_EMULATED_SYSROOT}/usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${link}")
# The emulator takes its settings from the environment, so that a test
# that starts a program (sfj_test_execv) starts the emulator the same way.
set(CMAKE_CROSSCOMPILING_EMULATOR env QEMU_LD_PREFIX=/usr/${triple}
    QEMU_SET_ENV=LD_LIBRARY_PATH=${libdir}:${rootlibdir}
    SFJ_TEST_EMULATOR=${qemu} ${qemu})
