/* The one mapping from husk's error kinds (negative errno, see core/error.h) to Docker's HTTP
 * status codes; shared by husk-api and husk-helper. */
#include "http.h"

unsigned http_status_for(int code)
{
	switch (code) {
	case -ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case -EEXIST:
	case -EBUSY:
		return MHD_HTTP_CONFLICT;
	case -EINVAL:
	case -ERANGE:
	case -E2BIG:
		return MHD_HTTP_BAD_REQUEST;
	case -EALREADY:
		return MHD_HTTP_NOT_MODIFIED;
	case -EACCES:
		return MHD_HTTP_FORBIDDEN;
	case -EOPNOTSUPP:
		return MHD_HTTP_NOT_IMPLEMENTED;
	case -EAGAIN:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}
