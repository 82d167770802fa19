/* Identifiers and names: 64-hex ids, Docker's container-name rules, generated names. */
#pragma once

#include "util.h"

#define HUSK_ID_LEN 64

/* A new random 64-hex id. */
void husk_id_new(char out[HUSK_ID_LEN + 1]);
bool husk_is_hex(const char *s, size_t min_len, size_t max_len);
bool husk_is_full_id(const char *s);
/* Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ after an optional leading "/",
 * and at most 255 characters. */
bool husk_name_valid(const char *name);
/* A "adjective_surname" name as Docker makes them; attempt > 0 appends a digit as Docker does. */
char *husk_name_generate(unsigned attempt);
/* Lower-case hex of len bytes into out (2*len+1). */
void husk_hex(const unsigned char *in, size_t len, char *out);
