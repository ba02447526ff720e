/* The shared library libsio.so is every layer's static library linked whole; CMake needs one
 * source of its own for the target, and this is it. */
#include "sio/core.h"
