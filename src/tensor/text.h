/* UTF-8 for outputs: the one validity rule every writer (JSON, CSV, SVG)
 * uses. */
#ifndef MRNET_TENSOR_TEXT_H
#define MRNET_TENSOR_TEXT_H
#include <mrnet/common.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s[0] does not
 * start one (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
int text_utf8_sequence(const unsigned char *s);

#endif
