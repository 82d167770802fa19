/* Docker's stdcopy framing for streams without a TTY: an 8-byte header (stream, three zero
 * bytes, big-endian length) before each piece of output. */
#pragma once

#include <stddef.h>
#include <stdint.h>

static inline void husk_stdcopy_header(unsigned char hdr[8], int stream, size_t len)
{
	uint32_t n = (uint32_t)len;
	hdr[0] = (unsigned char)stream;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hdr[4] = (unsigned char)(n >> 24);
	hdr[5] = (unsigned char)(n >> 16);
	hdr[6] = (unsigned char)(n >> 8);
	hdr[7] = (unsigned char)n;
}
