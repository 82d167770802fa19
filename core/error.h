/* The error object: a callee fills it, the caller decides how to report it.
 *
 * code is a negative errno used as the error's kind; the API maps kinds to HTTP status in one
 * place (api/http.c):
 *   -ENOENT  not found (404)         -EEXIST, -EBUSY  conflict (409)
 *   -EINVAL  invalid parameter (400) -EALREADY        not modified (304)
 *   -EACCES  forbidden (403)         -EOPNOTSUPP      not implemented (501)
 *   anything else: a system failure (500).
 * husk_error_sys() is for failures of the system (a file that should be there, a mount): it
 * keeps strerror in the message but always reports as a system failure. */
#pragma once

#include "util.h"

struct husk_error {
	int code;
	char message[1024];
};

/* Sets err (may be NULL) and returns code (negative). */
int husk_error_set(struct husk_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Like husk_error_set, with ": strerror(-code)" appended and the kind forced to -EIO. */
int husk_error_sys(struct husk_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Prefixes the message already in err with "prefix: ". */
void husk_error_prefix(struct husk_error *err, const char *fmt, ...) _printf_(2, 3);
