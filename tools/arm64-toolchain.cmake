# Cross-compiling for Debian arm64 (aarch64) from amd64 with multiarch libraries
# (tools/cross_arm64.sh installs them). Tests run under qemu-aarch64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# The host's pkg-config, reading the arm64 .pc files (Debian 12 ships no cross wrapper by default).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Programs run at build time (flatc) are the host's; libraries and headers the target's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Run with the multiarch arm64 glibc (libc6:arm64, under /): the cross toolchain's own copy
# (/usr/aarch64-linux-gnu, another build of 2.36) mixed with multiarch libraries hangs any program
# that starts a thread.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
