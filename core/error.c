#include "error.h"

#include <stdarg.h>

int husk_error_set(struct husk_error *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EIO;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int husk_error_sys(struct husk_error *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EIO;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof err->message)
			snprintf(err->message + n, sizeof err->message - (size_t)n, ": %s",
				 strerror(-code));
		err->code = -EIO;
	}
	return -EIO;
}

void husk_error_prefix(struct husk_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[512], old[sizeof err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof old);
	snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
}
