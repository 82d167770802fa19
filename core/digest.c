#include "digest.h"
#include "ids.h"


bool husk_digest_valid(const char *d)
{
	const char *hex = str_startswith(d, "sha256:");
	if (!hex || strlen(hex) != 64)
		return false;
	for (const char *p = hex; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}
