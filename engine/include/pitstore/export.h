// PITSTORE_EXPORT marks what the shared library exports: the public API of these headers and
// pitstore.h. Everything else is compiled with hidden visibility, so internal symbols (the
// index, the codecs, LMDB glue) never leak into a program's symbol space.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define PITSTORE_EXPORT [[gnu::visibility("default")]]
#else
#define PITSTORE_EXPORT
#endif
