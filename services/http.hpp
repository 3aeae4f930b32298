// cpp-httplib, included the one way every translation unit must include it.
// Debian's cpp-httplib is a compiled library (libcpp-httplib.so) built with
// these features, and its classes' layout depends on them: every unit that
// includes httplib.h must define them as the library was built
// (`pkg-config --cflags cpp-httplib`; CMake's PkgConfig::HTTPLIB passes them
// too, this keeps a unit built without that target right).
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT 1
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT 1
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT 1
#endif
#include <httplib.h>
