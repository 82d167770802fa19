/* Capabilities: names, Docker's --cap-add/--cap-drop arithmetic, and applying a set. */
#pragma once

#include "error.h"

/* "CAP_NET_ADMIN", "NET_ADMIN", "net_admin" → its number; -EINVAL when unknown. */
int husk_cap_from_name(const char *name);
/* "CAP_NET_ADMIN" (static storage); NULL when unknown. */
const char *husk_cap_name(int cap);
/* Every capability this kernel knows. */
uint64_t husk_caps_all(void);
/* Docker's rules (moby's TweakCapabilities): ALL in add gives every capability but those in
 * drop; else ALL in drop gives only those in add; else base without drop, plus add. -EINVAL with
 * Docker's message (unknown capability: "CAP_X") for an unknown name. */
int husk_caps_adjust(uint64_t base, char *const *add, char *const *drop, uint64_t *out,
		     struct husk_error *err);
/* In the container, before the credentials change: limits the bounding set to caps. */
int husk_caps_bound(uint64_t caps, struct husk_error *err);
/* After the credentials change: effective and permitted = caps for root, nothing for other
 * users (as Docker: a non-root process only keeps the bounding set); inheritable and ambient
 * empty. */
int husk_caps_set(uint64_t caps, bool root, struct husk_error *err);
