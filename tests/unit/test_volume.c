/* core/volume.c: Docker's checks of a volume create, the records in a temporary store, who uses
 * a volume, removal (in use, missing, forced), attaching a container's mount points, and the
 * volume events. */
#include "test.h"
#include "testutil.h"

#include "core/fs.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/volume.h"

#include <dirent.h>
#include <sys/stat.h>

static char *dir;
static struct husk_store store;

#define INVALID(n)                                                                                 \
	"create " n ": \"" n "\" includes invalid characters for a local volume name, only "      \
	"\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "    \
	"use absolute path"

static void test_names(void)
{
	static const char *const good[] = {"ab", "a1", "A-b_c.d", "0a", "my_app-data.1"};
	static const char *const bad[] = {"",	   "a",	  "_a", ".a",  "-a", "a/b",
					  "a b",   "a:b", "é1", "a\n", NULL};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(husk_volume_name_valid(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!husk_volume_name_valid(bad[i]));
	char long_name[300];
	memset(long_name, 'a', sizeof long_name);
	long_name[255] = 0;
	CHECK(husk_volume_name_valid(long_name));
	long_name[255] = 'a';
	long_name[256] = 0;
	CHECK(!husk_volume_name_valid(long_name));
}

static void check_fails(const char *name, const char *driver, const char *opts, int code,
			const char *message)
{
	json_t *o = opts ? test_json(opts) : NULL;
	struct husk_error err = {0};
	int r = husk_volume_check(name, driver, o, &err);
	if (r != code || !streq(err.message, message)) {
		fprintf(stderr, "  check %s %s: %d \"%s\", expected %d \"%s\"\n", name, driver, r,
			err.message, code, message);
		test_failures++;
	}
	json_decref(o);
}

static void test_check(void)
{
	struct husk_error err = {0};
	CHECK_EQ(husk_volume_check("v1", NULL, NULL, &err), 0);
	json_t *none = json_object();
	CHECK_EQ(husk_volume_check("v1", "local", none, &err), 0);
	json_decref(none);
	CHECK_EQ(husk_volume_check("", "", NULL, &err), 0);
	CHECK_EQ(husk_volume_check(NULL, NULL, NULL, &err), 0);
	check_fails("a", NULL, NULL, -EINVAL, INVALID("a"));
	check_fails("./x", "local", NULL, -EINVAL, INVALID("./x"));
	check_fails("v1", "nfs", NULL, -ENOENT,
		    "create v1: error looking up volume plugin nfs: plugin \"nfs\" not found");
	check_fails("", "nfs", NULL, -ENOENT,
		    "create: error looking up volume plugin nfs: plugin \"nfs\" not found");
	check_fails("v1", NULL, "{'x':'1'}", -EINVAL, "create v1: invalid option: \"x\"");
	check_fails("v1", NULL, "{'size':'1g'}", -EINVAL,
		    "create v1: quota size requested but no quota support");
	check_fails("v1", NULL, "{'type':'tmpfs'}", -EINVAL,
		    "create v1: missing required option: \"device\"");
	check_fails("v1", NULL, "{'device':'tmpfs'}", -EINVAL,
		    "create v1: missing required option: \"type\"");
	check_fails("v1", NULL, "{'o':'size=1m'}", -EINVAL,
		    "create v1: missing required option: \"device\"");
	check_fails("v1", NULL, "{'type':'tmpfs','device':'tmpfs','o':'size=1m'}", -EOPNOTSUPP,
		    "create v1: volumes that mount a file system (type, device, o) are not "
		    "supported by rootless husk");
}

/* The volume events in the log, as "action:name" joined by "|". */
static char *events(void)
{
	_cleanup_free_ char *p = husk_store_data_path(&store, "events.log");
	_cleanup_free_ char *log = test_read_file(p);
	char *out = xstrdup("");
	for (char *save = NULL, *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *e = json_loads(l, 0, NULL);
		if (streq(jstr(e, "Type"), "volume")) {
			char *n = xasprintf("%s%s%s:%s", out, *out ? "|" : "", jstr(e, "Action"),
					    jstr(jobj(e, "Actor"), "ID"));
			free(out);
			out = n;
		}
		json_decref(e);
	}
	unlink(p);
	return out;
}

static void test_create_load(void)
{
	struct husk_volume *v = NULL;
	struct husk_error err = {0};
	bool created;
	json_t *labels = test_json("{'a':'1'}");
	CHECK_EQ(husk_volume_create(&store, "v1", "local", labels, NULL, &v, &created, &err), 0);
	CHECK(created);
	CHECK_STREQ(v->name, "v1");
	_cleanup_free_ char *mp = husk_store_data_path(&store, "volumes/v1/_data");
	CHECK_STREQ(v->mountpoint, mp);
	CHECK(path_exists(mp));
	CHECK(!husk_volume_anonymous(v));
	json_t *j = husk_volume_json(v);
	CHECK_STREQ(jstr(j, "Name"), "v1");
	CHECK_STREQ(jstr(j, "Driver"), "local");
	CHECK_STREQ(jstr(j, "Scope"), "local");
	CHECK_STREQ(jstr(j, "Mountpoint"), mp);
	CHECK_JSON(jobj(j, "Labels"), "{'a':'1'}");
	CHECK(json_is_null(json_object_get(j, "Options")));
	const char *at = jstr(j, "CreatedAt");
	CHECK(at && strlen(at) == 20 && at[10] == 'T' && at[19] == 'Z');
	int64_t when = v->created_ns;
	json_decref(j);
	husk_volume_free(v);

	/* the same name again: the existing volume, as it was */
	json_t *other = test_json("{'b':'2'}");
	CHECK_EQ(husk_volume_create(&store, "v1", NULL, other, NULL, &v, &created, &err), 0);
	CHECK(!created);
	CHECK_EQ(v->created_ns, when);
	CHECK_JSON(v->labels, "{'a':'1'}");
	husk_volume_free(v);
	json_decref(other);
	json_decref(labels);
	_cleanup_free_ char *ev = events();
	CHECK_STREQ(ev, "create:v1");

	/* anonymous: a generated name and Docker's label */
	CHECK_EQ(husk_volume_create(&store, NULL, NULL, NULL, NULL, &v, &created, &err), 0);
	CHECK(created && husk_is_full_id(v->name) && husk_volume_anonymous(v));
	CHECK_JSON(v->labels, "{'com.docker.volume.anonymous':''}");
	_cleanup_free_ char *anon = xstrdup(v->name);
	husk_volume_free(v);

	/* bad requests change nothing */
	v = NULL;
	CHECK_EQ(husk_volume_create(&store, "x", NULL, NULL, NULL, &v, &created, &err), -EINVAL);
	CHECK_EQ(husk_volume_create(&store, "v2", "nfs", NULL, NULL, &v, &created, &err), -ENOENT);
	CHECK(v == NULL);

	/* the list: sorted, without what is being made or removed, nor files */
	_cleanup_free_ char *tmpdir = husk_store_data_path(&store, "volumes/.creating-zz");
	mkdir(tmpdir, 0700);
	_cleanup_free_ char *vols = husk_store_data_path(&store, "volumes");
	free(test_write_file(vols, "afile", "x"));
	_cleanup_strv_ char **names = NULL;
	CHECK_EQ(husk_volume_list(&store, &names), 0);
	_cleanup_free_ char *joined = test_join(names);
	_cleanup_free_ char *want = strcmp(anon, "v1") < 0 ? xasprintf("%s|v1", anon)
							    : xasprintf("v1|%s", anon);
	CHECK_STREQ(joined, want);

	/* a directory without its record (made by hand): a volume all the same */
	_cleanup_free_ char *bare = husk_store_data_path(&store, "volumes/bare/_data");
	mkdir_p(bare, 0755);
	CHECK_EQ(husk_volume_load(&store, "bare", &v, &err), 0);
	CHECK(v->created_ns > 0 && json_object_size(v->labels) == 0 && !v->options);
	husk_volume_free(v);

	CHECK_EQ(husk_volume_load(&store, "nope", &v, &err), -ENOENT);
	CHECK_STREQ(err.message, "get nope: no such volume");
	CHECK_EQ(husk_volume_load(&store, "../volumes", &v, &err), -ENOENT);
	CHECK_STREQ(err.message, "get ../volumes: no such volume");
	free(events());
}

/* A container record using volumes (MountPoints written with '). */
static void add_container(const char *id, const char *points)
{
	_cleanup_free_ char *cdir = husk_store_data_path(&store, "containers/%s", id);
	mkdir_p(cdir, 0700);
	char *doc = xasprintf("{'Id':'%s','MountPoints':%s}", id, points);
	char *q = test_quotes(doc);
	free(test_write_file(cdir, "config.json", q));
	free(q);
	free(doc);
}

#define C1 "1111111111111111111111111111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222222222222222222222222222"
#define C3 "3333333333333333333333333333333333333333333333333333333333333333"

static void test_long_name(void)
{
	char n[256];
	memset(n, 'x', 255);
	n[255] = 0;
	struct husk_volume *v = NULL;
	struct husk_error err = {0};
	bool created;
	CHECK_EQ(husk_volume_create(&store, n, NULL, NULL, NULL, &v, &created, &err), 0);
	CHECK(created);
	husk_volume_free(v);
	CHECK_EQ(husk_volume_remove(&store, NULL, n, false, NULL, &err), 0);
	CHECK_EQ(husk_volume_load(&store, n, &v, &err), -ENOENT);
	free(events());
}

static void test_users_remove(void)
{
	struct husk_volume *v = NULL;
	struct husk_error err = {0};
	bool created;
	CHECK_EQ(husk_volume_create(&store, "used", NULL, NULL, NULL, &v, &created, &err), 0);
	husk_volume_free(v);
	CHECK_EQ(husk_volume_create(&store, "free", NULL, NULL, NULL, &v, &created, &err), 0);
	_cleanup_free_ char *data = xstrdup(v->mountpoint);
	husk_volume_free(v);
	free(test_write_file(data, "f", "12345"));
	_cleanup_free_ char *sub = xasprintf("%s/d", data);
	mkdir(sub, 0755);
	free(test_write_file(sub, "g", "123"));
	add_container(C1, "[{'Type':'volume','Name':'used'},{'Type':'bind','Name':'free'}]");
	add_container(C2, "[{'Type':'volume','Name':'used'},{'Type':'volume','Name':''}]");
	json_t *users = husk_volume_users(&store);
	CHECK_EQ(json_object_size(users), 1);
	CHECK_EQ(json_array_size(json_object_get(users, "used")), 2);
	json_decref(users);

	CHECK_EQ(husk_volume_remove(&store, NULL, "used", false, NULL, &err), -EBUSY);
	CHECK(str_startswith(err.message, "remove used: volume is in use - ["));
	CHECK(strstr(err.message, C1) && strstr(err.message, C2) && strstr(err.message, ", "));
	CHECK_EQ(husk_volume_remove(&store, NULL, "used", true, NULL, &err), -EBUSY); /* even so */
	CHECK_EQ(husk_volume_remove(&store, NULL, "nope", false, NULL, &err), -ENOENT);
	CHECK_STREQ(err.message, "get nope: no such volume");
	CHECK_EQ(husk_volume_remove(&store, NULL, "nope", true, NULL, &err), 0);
	int64_t size = -1;
	CHECK_EQ(husk_volume_remove(&store, NULL, "free", false, &size, &err), 0);
	CHECK_EQ(size, 8);
	_cleanup_free_ char *gone = husk_store_data_path(&store, "volumes/free");
	CHECK(!path_exists(gone));
	/* nothing left aside either: only the volumes that stay */
	_cleanup_free_ char *vols = husk_store_data_path(&store, "volumes");
	DIR *d = opendir(vols);
	struct dirent *e;
	while (d && (e = readdir(d)))
		CHECK(!str_startswith(e->d_name, ".removing-"));
	if (d)
		closedir(d);
	_cleanup_free_ char *ev = events();
	CHECK_STREQ(ev, "create:used|create:free|destroy:free");
}

static void test_attach(void)
{
	json_t *points = test_json(
		"[{'Type':'bind','Source':'/h','Destination':'/b'},"
		"{'Type':'volume','Name':'used','Source':'','Destination':'/u','Driver':''},"
		"{'Type':'volume','Name':'fresh','Source':'','Destination':'/f','Driver':'',"
		"'VolumeLabels':{'x':'y'}},"
		"{'Type':'volume','Name':'','Source':'','Destination':'/a','Driver':'',"
		"'Anonymous':true}]");
	json_t *made = json_array();
	struct husk_error err = {0};
	CHECK_EQ(husk_volumes_attach(&store, points, made, &err), 0);
	CHECK_EQ(json_array_size(made), 2);
	CHECK_STREQ(json_string_value(json_array_get(made, 0)), "fresh");
	const char *anon = json_string_value(json_array_get(made, 1));
	CHECK(husk_is_full_id(anon));
	json_t *f = json_array_get(points, 2);
	_cleanup_free_ char *fsrc = husk_store_data_path(&store, "volumes/fresh/_data");
	CHECK_STREQ(jstr(f, "Source"), fsrc);
	CHECK_STREQ(jstr(f, "Driver"), "local");
	CHECK(!json_object_get(f, "VolumeLabels"));
	struct husk_volume *v = NULL;
	CHECK_EQ(husk_volume_load(&store, "fresh", &v, &err), 0);
	CHECK_JSON(v->labels, "{'x':'y'}");
	husk_volume_free(v);
	CHECK_STREQ(jstr(json_array_get(points, 3), "Name"), anon);
	CHECK_STREQ(jstr(json_array_get(points, 0), "Source"), "/h");

	/* mount events, then rm -v: the anonymous volume goes, the named ones stay; the record of
	 * the container being removed is still there, and does not count */
	_cleanup_free_ char *recorded = test_dump(points);
	add_container(C3, recorded);
	json_t *doc = json_pack("{s:s, s:O}", "Id", C3, "MountPoints", points);
	free(events());
	husk_volume_mount_events(&store, doc, "mount");
	husk_volume_mount_events(&store, doc, "unmount");
	_cleanup_free_ char *ev = events();
	_cleanup_free_ char *want = xasprintf("mount:used|mount:fresh|mount:%s|unmount:used|"
					      "unmount:fresh|unmount:%s",
					      anon, anon);
	CHECK_STREQ(ev, want);
	/* used by another container too: it stays */
	_cleanup_free_ char *anon_only = xasprintf("[{'Type':'volume','Name':'%s'}]", anon);
	add_container(C1, anon_only);
	husk_volumes_remove_anonymous(&store, NULL, doc);
	CHECK_EQ(husk_volume_load(&store, anon, &v, &err), 0);
	husk_volume_free(v);
	add_container(C1, "[]");
	husk_volumes_remove_anonymous(&store, NULL, doc);
	CHECK_EQ(husk_volume_load(&store, anon, &v, &err), -ENOENT);
	CHECK_EQ(husk_volume_load(&store, "fresh", &v, &err), 0);
	husk_volume_free(v);
	json_decref(doc);
	json_decref(made);
	json_decref(points);

	/* a bad one stops the attach */
	points = test_json("[{'Type':'volume','Name':'x','Source':'','Destination':'/x'}]");
	made = json_array();
	CHECK_EQ(husk_volumes_attach(&store, points, made, &err), -EINVAL);
	CHECK_STREQ(err.message, INVALID("x"));
	CHECK_EQ(json_array_size(made), 0);
	json_decref(made);
	json_decref(points);
}

int main(void)
{
	dir = test_tmpdir();
	test_store(&store, dir);
	_cleanup_free_ char *vols = husk_store_data_path(&store, "volumes");
	mkdir(vols, 0700);
	RUN(test_names);
	RUN(test_check);
	RUN(test_create_load);
	RUN(test_long_name);
	RUN(test_users_remove);
	RUN(test_attach);
	husk_store_close(&store);
	test_tmpdir_remove(dir);
	return test_result();
}
