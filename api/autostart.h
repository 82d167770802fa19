/* After a reboot: Docker's daemon starts, when it comes up, the containers whose restart
 * policy asks for it. husk has no daemon, so the first husk-api of a boot does it. */
#pragma once

#include "api.h"

/* Once per boot (run/autostart.boot keeps the boot id it was done for): starts, in the
 * background, each container that ran in an earlier boot and whose policy is "always", or
 * "unless-stopped" when the user had not stopped it (core/restart_policy.c). */
void autostart_after_boot(struct api *api);
