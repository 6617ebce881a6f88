// xxHash (Debian's libxxhash-dev header), compiled inline: XXH3 is on every read path and
// inlining lets the compiler specialise it; it also makes the streaming state type complete.
#pragma once
#define XXH_INLINE_ALL
#include <xxhash.h>
