/* core/mount_spec.c: --mount entries (HostConfig.Mounts), the mount points a create request
 * makes (Binds, Mounts, the Config's Volumes) and what inspect shows of them. -v and --tmpfs
 * specs are in test_spec.c. */
#include "test.h"
#include "testutil.h"

#include "core/mount_spec.h"

#include <sys/mount.h>

#define TMPFS_DEFAULT (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static char *tmp; /* an existing directory, for bind sources */

static void test_path_clean(void)
{
	static const char *const cases[][2] = {
		{"/", "/"},	    {"//", "/"},	 {"/.", "/"},	       {"/a", "/a"},
		{"/a/", "/a"},	    {"//a//b//", "/a/b"}, {"/a/./b/.", "/a/b"}, {"/.a/b.", "/.a/b."},
		{"/a/..b", "/a/..b"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *c = husk_path_clean(cases[i][0]);
		CHECK_STREQ(c, cases[i][1]);
	}
}

/* The JSON document s, written with ' and with "@" for the temporary directory. */
static json_t *doc(const char *s)
{
	_cleanup_free_ char *q = test_quotes(s);
	char *at = strchr(q, '@');
	_cleanup_free_ char *t = at ? xasprintf("%.*s%s%s", (int)(at - q), q, tmp, at + 1)
				    : xstrdup(q);
	json_t *j = json_loads(t, JSON_DECODE_ANY, NULL);
	if (!j)
		abort();
	return j;
}

/* Parses the --mount entry; returns the result, m filled. */
static int parse(const char *mnt, struct husk_mount *m, struct husk_error *err)
{
	json_t *j = doc(mnt);
	int r = husk_parse_mount(j, m, err);
	json_decref(j);
	return r;
}

static void check_fails(const char *mnt, int code, const char *message)
{
	struct husk_mount m;
	struct husk_error err = {0};
	int r = parse(mnt, &m, &err);
	if (r != code || !streq(err.message, message)) {
		fprintf(stderr, "  mount %s: %d \"%s\", expected %d \"%s\"\n", mnt, r, err.message,
			code, message);
		test_failures++;
	}
	CHECK(m.source == NULL && m.target == NULL);
	husk_mount_clear(&m);
}

#define CONFIG(type, why) "invalid mount config for type \"" type "\": " why

static void test_parse_mount_bind(void)
{
	struct husk_mount m;
	struct husk_error err = {0};
	CHECK_EQ(parse("{'Type':'bind','Source':'@/','Target':'/d/','ReadOnly':true}", &m, &err), 0);
	CHECK_EQ(m.kind, HUSK_MOUNT_BIND);
	CHECK_STREQ(m.source, tmp);
	CHECK_STREQ(m.target, "/d");
	CHECK(m.readonly && m.recursive && !m.create_source && !m.copy_up);
	CHECK_STREQ(m.mode, "");
	CHECK_STREQ(m.propagation, "rprivate");
	husk_mount_clear(&m);
	CHECK_EQ(parse("{'Type':'bind','Source':'@/nope','Target':'/d','BindOptions':"
		       "{'CreateMountpoint':true,'NonRecursive':true,'Propagation':'rslave'}}",
		       &m, &err),
		 0);
	CHECK(m.create_source && !m.recursive);
	CHECK_STREQ(m.propagation, "rslave");
	husk_mount_clear(&m);
	CHECK_EQ(parse("{'Type':'bind','Source':'@','Target':'/d','BindOptions':{'Propagation':''},"
		       "'Consistency':'cached'}",
		       &m, &err),
		 0);
	CHECK_STREQ(m.propagation, "rprivate");
	husk_mount_clear(&m);

	_cleanup_free_ char *missing = xasprintf(CONFIG("bind", "bind source path does not exist: "
								"%s/nope"),
						 tmp);
	check_fails("{'Type':'bind','Source':'@/nope','Target':'/d'}", -EINVAL, missing);
	check_fails("{'Type':'bind','Target':'/d'}", -EINVAL,
		    CONFIG("bind", "field Source must not be empty"));
	check_fails("{'Type':'bind','Source':'rel','Target':'/d'}", -EINVAL,
		    CONFIG("bind", "invalid mount path: 'rel' mount path must be absolute"));
	check_fails("{'Type':'bind','Source':'@','Target':'/d','VolumeOptions':{}}", -EINVAL,
		    CONFIG("bind", "field VolumeOptions must not be specified"));
	check_fails("{'Type':'bind','Source':'@','Target':'/d','BindOptions':{'Propagation':'x'}}",
		    -EINVAL, CONFIG("bind", "invalid propagation mode: x"));
	/* the target first, whatever the type */
	check_fails("{'Type':'bind','Source':'@'}", -EINVAL,
		    CONFIG("bind", "field Target must not be empty"));
	check_fails("{'Type':'bind','Source':'@','Target':'/./'}", -EINVAL,
		    CONFIG("bind", "invalid specification: destination can't be '/'"));
	check_fails("{'Type':'bind','Source':'@','Target':'d'}", -EINVAL,
		    CONFIG("bind", "invalid mount path: 'd' mount path must be absolute"));
	check_fails("{'Type':'bind','Source':'@','Target':'/a/../b'}", -EINVAL,
		    CONFIG("bind", "invalid mount path: '/a/../b' mount path must be absolute"));
}

static void test_parse_mount_volume(void)
{
	struct husk_mount m;
	struct husk_error err = {0};
	CHECK_EQ(parse("{'Type':'volume','Source':'v1','Target':'/d','ReadOnly':true}", &m, &err),
		 0);
	CHECK_EQ(m.kind, HUSK_MOUNT_VOLUME);
	CHECK_STREQ(m.source, "v1");
	CHECK(m.readonly && m.copy_up && !m.create_source);
	CHECK_STREQ(m.propagation, "");
	husk_mount_clear(&m);
	CHECK_EQ(parse("{'Type':'volume','Target':'/d','VolumeOptions':{'NoCopy':true,"
		       "'Labels':{'a':'b'},'DriverConfig':{'Name':'local'}}}",
		       &m, &err),
		 0);
	CHECK(m.source == NULL && !m.copy_up && !m.readonly);
	husk_mount_clear(&m);

	check_fails("{'Type':'volume','Target':'/d','ReadOnly':true}", -EINVAL,
		    CONFIG("volume", "must not set ReadOnly mode when using anonymous volumes"));
	check_fails("{'Type':'volume','Source':'v','Target':'/d','BindOptions':{}}", -EINVAL,
		    CONFIG("volume", "field BindOptions must not be specified"));
	check_fails("{'Type':'volume','Source':'v','Target':'/d','VolumeOptions':{'Subpath':'x'}}",
		    -EOPNOTSUPP, "VolumeOptions.Subpath is not supported by this version of husk");
	check_fails("{'Type':'volume','Source':'v'}", -EINVAL,
		    CONFIG("volume", "field Target must not be empty"));
}

static void test_parse_mount_tmpfs(void)
{
	struct husk_mount m;
	struct husk_error err = {0};
	CHECK_EQ(parse("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'SizeBytes':1048576,"
		       "'Mode':1016}}",
		       &m, &err),
		 0);
	CHECK_EQ(m.kind, HUSK_MOUNT_TMPFS);
	CHECK_STREQ(m.options, "mode=1770,size=1m");
	CHECK_EQ(m.flags, TMPFS_DEFAULT);
	CHECK(!m.readonly && m.source == NULL);
	husk_mount_clear(&m);
	/* Docker's units: the largest that divides the size */
	static const struct {
		long long size;
		const char *data;
	} sizes[] = {{3LL << 30, "size=3g"}, {1536LL << 10, "size=1536k"}, {1000, "size=1000"},
		     {5LL << 20, "size=5m"}};
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *j = xasprintf("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'SizeBytes':%lld}}",
				    sizes[i].size);
		CHECK_EQ(parse(j, &m, &err), 0);
		CHECK_STREQ(m.options, sizes[i].data);
		husk_mount_clear(&m);
		free(j);
	}
	CHECK_EQ(parse("{'Type':'tmpfs','Target':'/t','ReadOnly':true,'TmpfsOptions':"
		       "{'Options':[['exec']]}}",
		       &m, &err),
		 0);
	CHECK(m.readonly);
	CHECK_EQ(m.flags, MS_NOSUID | MS_NODEV);
	CHECK_STREQ(m.options, "");
	husk_mount_clear(&m);

	check_fails("{'Type':'tmpfs','Source':'x','Target':'/t'}", -EINVAL,
		    CONFIG("tmpfs", "field Source must not be specified"));
	check_fails("{'Type':'tmpfs','Target':'/t','BindOptions':{}}", -EINVAL,
		    CONFIG("tmpfs", "field BindOptions must not be specified"));
	check_fails("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'Options':[['nosuid']]}}",
		    -EINVAL, CONFIG("tmpfs", "invalid option: nosuid"));
	check_fails("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'Options':[[]]}}", -EINVAL,
		    CONFIG("tmpfs", "invalid option array length"));
	check_fails("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'Options':[['a','b','c']]}}",
		    -EINVAL, CONFIG("tmpfs", "invalid option array length"));
	check_fails("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'SizeBytes':-1}}", -EINVAL,
		    CONFIG("tmpfs", "invalid tmpfs size: -1"));
	check_fails("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'Mode':4096}}", -EINVAL,
		    CONFIG("tmpfs", "invalid tmpfs mode: 4096"));
}

static void test_parse_mount_other(void)
{
	check_fails("{'Type':'npipe','Source':'x','Target':'/t'}", -EINVAL,
		    CONFIG("npipe", "mount type unknown"));
	check_fails("{'Target':'/t'}", -EINVAL, CONFIG("", "mount type unknown"));
	check_fails("{'Type':'image','Source':'x','Target':'/t'}", -EOPNOTSUPP,
		    "mounts of type \"image\" are not supported by this version of husk");
	check_fails("{'Type':5,'Target':'/t'}", -EINVAL,
		    "json: cannot unmarshal number into Go struct field Mount.HostConfig.Mounts.Type "
		    "of type string");
	check_fails("{'Type':'tmpfs','Target':'/t','TmpfsOptions':{'SizeBytes':'1m'}}", -EINVAL,
		    "json: cannot unmarshal string into Go struct field "
		    "Mount.HostConfig.Mounts.TmpfsOptions.SizeBytes of type int64");
	check_fails("{'Type':'volume','Target':'/t','VolumeOptions':{'Labels':{'a':1}}}", -EINVAL,
		    "json: cannot unmarshal object into Go struct field "
		    "Mount.HostConfig.Mounts.VolumeOptions.Labels of type map[string]string");
	check_fails("'x'", -EINVAL,
		    "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Mounts "
		    "of type mount.Mount");
}

/* The points of HostConfig hc and Config cfg (written with '; "@" is the temporary
 * directory) must be want, or fail with message. */
static void check_points(const char *hc, const char *cfg, const char *want, const char *message)
{
	json_t *hj = doc(hc), *cj = test_json(cfg), *points = NULL;
	struct husk_error err = {0};
	int r = husk_mount_points_build(hj, cj, &points, &err);
	if (want) {
		if (r < 0) {
			fprintf(stderr, "  points %s: %s\n", hc, err.message);
			test_failures++;
		} else {
			CHECK_JSON(points, want);
		}
	} else {
		CHECK(r < 0);
		CHECK_STREQ(err.message, message);
	}
	json_decref(points);
	json_decref(hj);
	json_decref(cj);
}

static void test_points(void)
{
	check_points("{}", "{}", "[]", NULL);
	check_points(
		"{'Binds':['/h:/b:ro','v1:/v','/anon'],'Tmpfs':{'/t':''}}", "{}",
		"[{'Type':'bind','Source':'/h','Destination':'/b','Mode':'ro','RW':false,"
		"'Propagation':'rprivate','Recursive':true,'CreateSource':true},"
		"{'Type':'volume','Name':'v1','Source':'','Destination':'/v','Driver':'','Mode':'z',"
		"'RW':true,'Propagation':'','CopyData':true,'Anonymous':false},"
		"{'Type':'volume','Name':'','Source':'','Destination':'/anon','Driver':'','Mode':'z',"
		"'RW':true,'Propagation':'','CopyData':true,'Anonymous':true}]",
		NULL);
	/* --mount, with the volume's labels and driver options kept for its creation */
	check_points("{'Mounts':[{'Type':'volume','Source':'v2','Target':'/v','VolumeOptions':"
		     "{'NoCopy':true,'Labels':{'l':'1'},'DriverConfig':{'Name':'local'}}},"
		     "{'Type':'tmpfs','Target':'/t','ReadOnly':true}]}",
		     "{}",
		     "[{'Type':'volume','Name':'v2','Source':'','Destination':'/v','Driver':'local',"
		     "'Mode':'z','RW':true,'Propagation':'','CopyData':false,'Anonymous':false,"
		     "'VolumeLabels':{'l':'1'}},"
		     "{'Type':'tmpfs','Source':'','Destination':'/t','Mode':'','RW':false,"
		     "'Propagation':'','Data':'','Flags':14}]",
		     NULL);
	/* the Config's Volumes (sorted) where nothing else is mounted; no mode */
	check_points("{'Binds':['/h:/b/']}", "{'Volumes':{'/z':{},'/b':{},'/a/':{}}}",
		     "[{'Type':'bind','Source':'/h','Destination':'/b','Mode':'','RW':true,"
		     "'Propagation':'rprivate','Recursive':true,'CreateSource':true},"
		     "{'Type':'volume','Name':'','Source':'','Destination':'/a','Driver':'','Mode':'',"
		     "'RW':true,'Propagation':'','CopyData':true,'Anonymous':true},"
		     "{'Type':'volume','Name':'','Source':'','Destination':'/z','Driver':'','Mode':'',"
		     "'RW':true,'Propagation':'','CopyData':true,'Anonymous':true}]",
		     NULL);

	check_points("{'Binds':['/h:/b','v:/b/']}", "{}", NULL, "Duplicate mount point: /b");
	check_points("{'Binds':['/h:/t'],'Tmpfs':{'/t/':''}}", "{}", NULL,
		     "Duplicate mount point: /t");
	check_points("{'Binds':['/h:/b'],'Mounts':[{'Type':'tmpfs','Target':'/b/'}]}", "{}", NULL,
		     "Duplicate mount point: /b/");
	check_points("{'Binds':['/h:b']}", "{}", NULL,
		     "invalid volume specification: '/h:b': invalid mount config for type "
		     "\"bind\": invalid mount path: 'b' mount path must be absolute");
	check_points("{}", "{'Volumes':{'rel':{}}}", NULL,
		     "invalid volume specification: 'rel': invalid mount config for type "
		     "\"volume\": invalid mount path: 'rel' mount path must be absolute");
	/* volume names and drivers, as Docker's volume create checks them */
	check_points("{'Binds':['./rel:/b']}", "{}", NULL,
		     "create ./rel: \"./rel\" includes invalid characters for a local volume name, "
		     "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
		     "directory, use absolute path");
	check_points("{'Binds':['v1:/b'],'VolumeDriver':'nfs'}", "{}", NULL,
		     "create v1: error looking up volume plugin nfs: plugin \"nfs\" not found");
	check_points("{}", "{'Volumes':{'/a':{}}}", "[{'Type':'volume','Name':'','Source':'',"
						   "'Destination':'/a','Driver':'','Mode':'','RW':true,"
						   "'Propagation':'','CopyData':true,'Anonymous':true}]",
		     NULL);
	check_points("{'VolumeDriver':'nfs'}", "{'Volumes':{'/a':{}}}", NULL,
		     "create: error looking up volume plugin nfs: plugin \"nfs\" not found");
	check_points("{'Mounts':[{'Type':'volume','Source':'v9','Target':'/v','VolumeOptions':"
		     "{'DriverConfig':{'Options':{'bogus':'1'}}}}]}",
		     "{}", NULL, "create v9: invalid option: \"bogus\"");
}

static void test_point_public(void)
{
	json_t *p = test_json("{'Type':'volume','Name':'v','Source':'/s','Destination':'/d',"
			      "'Driver':'local','Mode':'z','RW':true,'Propagation':'',"
			      "'CopyData':true,'Anonymous':false}");
	json_t *o = husk_mount_point_public(p);
	CHECK_JSON(o, "{'Type':'volume','Name':'v','Source':'/s','Destination':'/d',"
		      "'Driver':'local','Mode':'z','RW':true,'Propagation':''}");
	json_decref(o);
	json_decref(p);
	p = test_json("{'Type':'tmpfs','Source':'','Destination':'/t','Mode':'','RW':true,"
		      "'Propagation':'','Data':'size=1m','Flags':14}");
	o = husk_mount_point_public(p);
	CHECK_JSON(o, "{'Type':'tmpfs','Source':'','Destination':'/t','Mode':'','RW':true,"
		      "'Propagation':''}");
	json_decref(o);
	json_decref(p);
}

int main(void)
{
	tmp = test_tmpdir();
	RUN(test_path_clean);
	RUN(test_parse_mount_bind);
	RUN(test_parse_mount_volume);
	RUN(test_parse_mount_tmpfs);
	RUN(test_parse_mount_other);
	RUN(test_points);
	RUN(test_point_public);
	test_tmpdir_remove(tmp);
	return test_result();
}
