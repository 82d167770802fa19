/* What a container mounts, from its create request to its runtime spec: -v specs (Binds),
 * --mount entries (HostConfig.Mounts), --tmpfs, and the Config's Volumes, with Docker's rules
 * and messages (moby volume/mounts/linux_parser.go).
 *
 * At create, husk_mount_points_build turns the request into the container's mount points, the
 * list config.json keeps as "MountPoints": each in the shape of Docker's inspect Mounts (Type,
 * Name, Source, Destination, Driver, Mode, RW, Propagation) plus what the runtime needs
 * (CopyData, Anonymous, Recursive, CreateSource, Data). The volumes they name are made or
 * found by core/volume.c; the monitor turns each point back into a husk_mount. */
#pragma once

#include "runtime.h"

#include <jansson.h>

/* -v SRC:DST[:MODE] or -v DST: a bind when SRC is absolute, else a volume named SRC (source
 * NULL for an anonymous one). Docker's messages for bad specs (-EINVAL). */
int husk_parse_bind(const char *spec, struct husk_mount *m, struct husk_error *err);
/* --tmpfs PATH[:OPTIONS]: flags (ro, noexec, nosuid, nodev, ...) apart from tmpfs data. */
int husk_parse_tmpfs(const char *path, const char *options, struct husk_mount *m,
		     struct husk_error *err);
/* One HostConfig.Mounts entry (--mount type=bind|volume|tmpfs): a bind's source must exist
 * (unless BindOptions.CreateMountpoint). */
int husk_parse_mount(const json_t *mnt, struct husk_mount *m, struct husk_error *err);
void husk_mount_clear(struct husk_mount *m);

/* The mount points of a create request (HostConfig hc, the merged Config cfg): Binds, Mounts,
 * then an anonymous volume for each of the Config's Volumes nothing else is mounted on.
 * Checked against one another and HostConfig.Tmpfs ("Duplicate mount point"), volume names and
 * drivers checked; nothing is made. Volume points have Name "" when anonymous, no Source yet,
 * and the labels and driver options of their --mount in VolumeLabels / VolumeDriverOpts. */
int husk_mount_points_build(const json_t *hc, const json_t *cfg, json_t **out,
			    struct husk_error *err);
/* The runtime mount of a stored mount point. */
int husk_mount_from_point(const json_t *mp, struct husk_mount *m, struct husk_error *err);
/* A stored mount point as inspect shows it (the runtime's keys left out). */
json_t *husk_mount_point_public(const json_t *mp);
/* Go's path.Clean for an absolute path without ".." (which husk refuses anyway). */
char *husk_path_clean(const char *path);
