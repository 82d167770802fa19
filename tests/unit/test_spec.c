/* core/spec.c: the command line, the environment, -v and --tmpfs specs, and the runtime spec
 * of a stored container. */
#include "test.h"
#include "testutil.h"

#include "core/caps.h"
#include "core/fs.h"
#include "core/spec.h"

#include <sys/mount.h>
#include <sys/resource.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DOCKER_CAPS UINT64_C(0xa80425fb)
#define DEFAULT_MASKED                                                                             \
	"/proc/asound|/proc/acpi|/proc/interrupts|/proc/kcore|/proc/keys|/proc/latency_stats|"     \
	"/proc/timer_list|/proc/timer_stats|/proc/sched_debug|/proc/scsi|/sys/firmware|"           \
	"/sys/devices/virtual/powercap"
#define DEFAULT_RO "/proc/bus|/proc/fs|/proc/irq|/proc/sys|/proc/sysrq-trigger"
#define TMPFS_DEFAULT (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* v joined by "|" must be want; consumes v. */
static void check_strv(char **v, const char *want)
{
	char *j = test_join(v);
	CHECK_STREQ(j, want);
	free(j);
	strv_free(v);
}

static char **argv_of(const char *config)
{
	json_t *c = test_json(config);
	char **v = husk_config_argv(c);
	json_decref(c);
	return v;
}

static void test_config_argv(void)
{
	check_strv(argv_of("{}"), "(null)");
	check_strv(argv_of("{'Entrypoint':null,'Cmd':null}"), "(null)");
	check_strv(argv_of("{'Entrypoint':[],'Cmd':[]}"), "(null)");
	check_strv(argv_of("{'Cmd':'sh'}"), "(null)"); /* strings are made arrays at create */
	check_strv(argv_of("{'Cmd':['sh','-c','echo hi']}"), "sh|-c|echo hi");
	check_strv(argv_of("{'Entrypoint':['/init']}"), "/init");
	check_strv(argv_of("{'Entrypoint':['/init','--'],'Cmd':['a','b']}"), "/init|--|a|b");
	check_strv(argv_of("{'Cmd':['a',1,null,'b']}"), "a|b");
}

/* A vector from "|"-separated items ("" for none). */
static char **vec(const char *items)
{
	char **v = xcalloc(1, sizeof(char *));
	_cleanup_free_ char *s = xstrdup(items);
	char *p = s;
	while (*items) {
		char *bar = strchr(p, '|');
		if (bar)
			*bar = 0;
		v = strv_push(v, p);
		if (!bar)
			break;
		p = bar + 1;
	}
	return v;
}

static void check_env(const char *config_env, const char *hostname, bool tty, const char *want)
{
	_cleanup_strv_ char **ce = config_env ? vec(config_env) : NULL;
	check_strv(husk_env_build(ce, hostname, tty), want);
}

#define P "PATH=" HUSK_DEFAULT_PATH

static void test_env_build(void)
{
	check_env(NULL, "h", false, P "|HOSTNAME=h");
	check_env("", "h", true, P "|HOSTNAME=h|TERM=xterm");
	check_env(NULL, NULL, false, P "|HOSTNAME=");
	check_env("A=1|B=2", "h", false, P "|HOSTNAME=h|A=1|B=2");
	/* replaced in place, by name */
	check_env("A=1|PATH=/x|B=2|A=3", "h", false, "PATH=/x|HOSTNAME=h|A=3|B=2");
	check_env("HOSTNAME=other|TERM=dumb", "h", true, P "|HOSTNAME=other|TERM=dumb");
	check_env("TERM=dumb", "h", false, P "|HOSTNAME=h|TERM=dumb");
	check_env("PATHX=1|PAT=2|A=", "h", false, P "|HOSTNAME=h|PATHX=1|PAT=2|A=");
	check_env("A=x=y|A==", "h", false, P "|HOSTNAME=h|A==");
	/* "NAME" without "=" unsets */
	check_env("A=1|A", "h", false, P "|HOSTNAME=h");
	check_env("A=1|B=2|C=3|B", "h", false, P "|HOSTNAME=h|A=1|C=3");
	check_env("PATH", "h", true, "HOSTNAME=h|TERM=xterm");
	check_env("TERM|HOSTNAME", "h", true, P);
	check_env("NOPE|PAT|PATHX", "h", false, P "|HOSTNAME=h");
	check_env("A|A=2", "h", false, P "|HOSTNAME=h|A=2");
	check_env("A=1|A|A=3", "h", false, P "|HOSTNAME=h|A=3");
	/* empty names are ignored */
	check_env("|=x|=|B=1", "h", false, P "|HOSTNAME=h|B=1");
}

static void test_env_finish_set(void)
{
	_cleanup_strv_ char **e = vec("A=1|HOMEX=2");
	check_strv(husk_env_finish(e, "/root"), "A=1|HOMEX=2|HOME=/root");
	check_strv(husk_env_finish(e, NULL), "A=1|HOMEX=2|HOME=/");
	check_strv(e, "A=1|HOMEX=2"); /* the input is not changed */
	e = vec("HOME=/mine|A=1");
	check_strv(husk_env_finish(e, "/root"), "HOME=/mine|A=1");
	check_strv(husk_env_finish(NULL, "/h"), "HOME=/h");

	char **v = husk_env_set(NULL, "A=1");
	v = husk_env_set(v, "B=2");
	v = husk_env_set(v, "A=3");
	v = husk_env_set(v, "AB=4");
	v = husk_env_set(v, "C");
	v = husk_env_set(v, "C=5");
	check_strv(v, "A=3|B=2|AB=4|C=5");
}

static void check_mount(const char *spec, enum husk_mount_kind kind, const char *source,
			const char *target, bool ro, bool recursive)
{
	struct husk_mount m;
	struct husk_error err = {0};
	int r = husk_parse_bind(spec, &m, &err);
	if (r != 0) {
		fprintf(stderr, "  bind \"%s\": %d %s\n", spec, r, err.message);
		test_failures++;
		return;
	}
	CHECK_EQ(m.kind, kind);
	CHECK_STREQ(str_or(m.source, "(null)"), source);
	CHECK_STREQ(m.target, target);
	CHECK_EQ(m.readonly, ro);
	CHECK_EQ(m.recursive, recursive);
	CHECK(m.options == NULL && m.flags == 0);
	CHECK_EQ(m.create_source, kind == HUSK_MOUNT_BIND);
	husk_mount_clear(&m);
	CHECK(m.source == NULL && m.target == NULL);
}

static void check_bind(const char *spec, const char *source, const char *target, bool ro,
		       bool recursive)
{
	check_mount(spec, HUSK_MOUNT_BIND, source, target, ro, recursive);
}

static void check_bind_fails(const char *spec, int code, const char *message)
{
	struct husk_mount m;
	struct husk_error err = {0};
	int r = husk_parse_bind(spec, &m, &err);
	if (r != code || !streq(err.message, message)) {
		fprintf(stderr, "  bind \"%s\": %d \"%s\", expected %d \"%s\"\n",
			spec ? spec : "(null)", r, err.message, code, message);
		test_failures++;
	}
	CHECK(m.source == NULL && m.target == NULL);
	husk_mount_clear(&m);
}

#define BAD_TARGET(spec, why)                                                                      \
	"invalid volume specification: '" spec "': invalid mount config for type \"bind\": " why
#define NOT_ABS(spec, target)                                                                      \
	BAD_TARGET(spec, "invalid mount path: '" target "' mount path must be absolute")

static void test_parse_bind(void)
{
	check_bind("/src:/dst", "/src", "/dst", false, true);
	check_bind("/src:/dst:ro", "/src", "/dst", true, true);
	check_bind("/src:/dst:rw", "/src", "/dst", false, true);
	check_bind("/src:/dst:", "/src", "/dst", false, true); /* an empty mode, as Docker */
	check_bind("/src:/dst:Z,ro", "/src", "/dst", true, true);
	check_bind("/src:/dst:rprivate,cached", "/src", "/dst", false, true);
	check_bind("/src:/dst:bind", "/src", "/dst", false, false);
	check_bind("/src:/dst:ro,bind", "/src", "/dst", true, false);
	check_bind("/:/host", "/", "/host", false, true);
	check_bind("/a b:/c d", "/a b", "/c d", false, true);
	check_bind("/s:/d/..x/x..", "/s", "/d/..x/x..", false, true);
	check_bind("/s:/d/", "/s", "/d", false, true); /* Go's path.Clean of both */
	check_bind("/s//x/./:/d//./e/", "/s/x", "/d/e", false, true);

	check_bind_fails(NULL, -EINVAL, "invalid volume specification: ''");
	check_bind_fails("", -EINVAL, "invalid volume specification: ''");
	check_bind_fails("/a:/b:ro:x", -EINVAL, "invalid volume specification: '/a:/b:ro:x'");
	check_bind_fails("/a:/b:ro:x:y", -EINVAL, "invalid volume specification: '/a:/b:ro:x:y'");
	check_bind_fails(":/b", -EINVAL, "invalid volume specification: ':/b'");
	check_bind_fails("::", -EINVAL, "invalid volume specification: '::'");
	/* an empty part is a part: no colons fold together (Docker checks the mode first) */
	check_bind_fails("/a::/b", -EINVAL, "invalid mode: /b");
	check_bind_fails("/a:", -EINVAL, "invalid volume specification: '/a:'");
	check_bind_fails("/a::", -EINVAL, BAD_TARGET("/a::", "field Target must not be empty"));
	/* a destination with a mode is a volume, not a bind */
	check_bind_fails("/a:rw", -EINVAL, "invalid volume specification: '/a:rw'");
	check_bind_fails("/a:ro,Z", -EINVAL, "invalid volume specification: '/a:ro,Z'");
	check_bind_fails("/a:b", -EINVAL, NOT_ABS("/a:b", "b"));
	check_bind_fails("/a:./b", -EINVAL, NOT_ABS("/a:./b", "./b"));
	check_bind_fails("/a:/b/../c", -EINVAL, NOT_ABS("/a:/b/../c", "/b/../c"));
	check_bind_fails("/a:/..", -EINVAL, NOT_ABS("/a:/..", "/.."));
	check_bind_fails("/a:/b/..", -EINVAL, NOT_ABS("/a:/b/..", "/b/.."));
	static const char *const roots[] = {"/a:/", "/a://", "/a:/.", "/a:/./", "/a:/././/"};
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		_cleanup_free_ char *want = xasprintf(
		    "invalid volume specification: '%s': invalid mount config for type \"bind\": "
		    "invalid specification: destination can't be '/'",
		    roots[i]);
		check_bind_fails(roots[i], -EINVAL, want);
	}
	check_bind("/a:/.x", "/a", "/.x", false, true);
	check_bind("/a:/x/.", "/a", "/x", false, true);
	/* Docker's modes: known words, at most one of each kind */
	check_bind_fails("/a:/b:ro,rw", -EINVAL, "invalid mode: ro,rw");
	check_bind_fails("/a:/b:ro,ro", -EINVAL, "invalid mode: ro,ro");
	check_bind_fails("/a:/b:z,Z", -EINVAL, "invalid mode: z,Z");
	check_bind_fails("/a:/b:private,rshared", -EINVAL, "invalid mode: private,rshared");
	check_bind_fails("/a:/b:cached,delegated", -EINVAL, "invalid mode: cached,delegated");
	check_bind_fails("/a:/b:bind,rbind", -EINVAL, "invalid mode: bind,rbind");
	check_bind_fails("/a:/b:ro,", -EINVAL, "invalid mode: ro,");
	check_bind_fails("/a:/b:,", -EINVAL, "invalid mode: ,");
	check_bind_fails("/a:/b:nocopy", -EINVAL,
			 BAD_TARGET("/a:/b:nocopy", "field VolumeOptions must not be specified"));
	check_bind("/a:/b:ro,Z,rslave,delegated,rbind", "/a", "/b", true, true);
	check_bind_fails("/a:/b:rx", -EINVAL, "invalid mode: rx");
	check_bind_fails("/a:/b:ro,bogus", -EINVAL, "invalid mode: ro,bogus");
	check_bind_fails("/a:/b:RO", -EINVAL, "invalid mode: RO");
	check_bind("/a:/b:rro", "/a", "/b", true, true);
	check_bind("/a:/b:ro-non-recursive", "/a", "/b", true, true);
	check_bind_fails("/a:/b:rro,ro", -EINVAL, "invalid mode: rro,ro");
	struct husk_mount m;
	CHECK_EQ(husk_parse_bind("/a:b", &m, NULL), -EINVAL); /* err may be NULL */
}

#define BAD_VOLUME(spec, why)                                                                      \
	"invalid volume specification: '" spec "': invalid mount config for type \"volume\": " why

static void test_parse_bind_volumes(void)
{
	/* a source that is no absolute path names a volume; no source: an anonymous one */
	check_mount("data:/b", HUSK_MOUNT_VOLUME, "data", "/b", false, true);
	check_mount("data:/b:ro", HUSK_MOUNT_VOLUME, "data", "/b", true, true);
	check_mount("./rel:/b/", HUSK_MOUNT_VOLUME, "./rel", "/b", false, true); /* checked later */
	check_mount("/b", HUSK_MOUNT_VOLUME, "(null)", "/b", false, true);
	check_mount("/b/c/", HUSK_MOUNT_VOLUME, "(null)", "/b/c", false, true);
	struct husk_mount m;
	struct husk_error err = {0};
	CHECK_EQ(husk_parse_bind("v1:/d:nocopy,z", &m, &err), 0);
	CHECK(!m.copy_up && !m.create_source);
	CHECK_STREQ(m.mode, "nocopy,z");
	CHECK_STREQ(m.propagation, "");
	husk_mount_clear(&m);
	CHECK_EQ(husk_parse_bind("v1:/d", &m, &err), 0);
	CHECK(m.copy_up);
	CHECK_STREQ(m.mode, "");
	husk_mount_clear(&m);
	CHECK_EQ(husk_parse_bind("/h:/d:rshared,ro", &m, &err), 0);
	CHECK_STREQ(m.propagation, "rshared");
	CHECK_STREQ(m.mode, "rshared,ro");
	CHECK(!m.copy_up && m.create_source && m.readonly);
	husk_mount_clear(&m);
	CHECK_EQ(husk_parse_bind("/h:/d", &m, &err), 0);
	CHECK_STREQ(m.propagation, "rprivate");
	husk_mount_clear(&m);

	check_bind_fails("v:/b:rshared", -EINVAL,
			 BAD_VOLUME("v:/b:rshared", "field BindOptions must not be specified"));
	check_bind_fails("v:b", -EINVAL,
			 BAD_VOLUME("v:b", "invalid mount path: 'b' mount path must be absolute"));
	check_bind_fails("v:/", -EINVAL,
			 BAD_VOLUME("v:/", "invalid specification: destination can't be '/'"));
	check_bind_fails("nocolon", -EINVAL,
			 BAD_VOLUME("nocolon",
				    "invalid mount path: 'nocolon' mount path must be absolute"));
	/* an anonymous volume can't be read-only, and "/b:ro" is no spec at all */
	check_bind_fails("/b:ro", -EINVAL, "invalid volume specification: '/b:ro'");
	check_bind_fails("v:/b:bogus", -EINVAL, "invalid mode: bogus");
}

static void check_tmpfs(const char *path, const char *options, unsigned long flags, bool ro,
			const char *data)
{
	struct husk_mount m;
	struct husk_error err = {0};
	int r = husk_parse_tmpfs(path, options, &m, &err);
	if (r != 0) {
		fprintf(stderr, "  tmpfs %s \"%s\": %d %s\n", path, options, r, err.message);
		test_failures++;
		return;
	}
	CHECK_EQ(m.kind, HUSK_MOUNT_TMPFS);
	CHECK(m.source == NULL);
	CHECK_STREQ(m.target, path);
	CHECK_EQ(m.flags, flags);
	CHECK_EQ(m.readonly, ro);
	CHECK_STREQ(m.options, data);
	husk_mount_clear(&m);
}

static void check_tmpfs_fails(const char *path, const char *options, const char *message)
{
	struct husk_mount m;
	struct husk_error err = {0};
	CHECK_EQ(husk_parse_tmpfs(path, options, &m, &err), -EINVAL);
	CHECK_STREQ(err.message, message);
	CHECK(m.target == NULL && m.options == NULL);
	husk_mount_clear(&m);
}

static void test_parse_tmpfs(void)
{
	check_tmpfs("/tmp", NULL, TMPFS_DEFAULT, false, "");
	check_tmpfs("/tmp", "", TMPFS_DEFAULT, false, "");
	check_tmpfs("/run/x", "size=64m,mode=1777", TMPFS_DEFAULT, false, "size=64m,mode=1777");
	check_tmpfs("/tmp", "exec", MS_NOSUID | MS_NODEV, false, "");
	check_tmpfs("/tmp", "ro,exec,suid,dev", 0, true, "");
	check_tmpfs("/tmp", "rw", TMPFS_DEFAULT, false, "");
	check_tmpfs("/tmp", "ro,rw", TMPFS_DEFAULT, false, "");
	check_tmpfs("/tmp", "rw,ro", TMPFS_DEFAULT, true, "");
	check_tmpfs("/tmp", "exec,noexec", TMPFS_DEFAULT, false, "");
	check_tmpfs("/tmp", "noatime,size=1m,uid=1000,gid=1000,nr_inodes=10,nr_blocks=5,relatime",
		    TMPFS_DEFAULT | MS_NOATIME | MS_RELATIME, false,
		    "size=1m,uid=1000,gid=1000,nr_inodes=10,nr_blocks=5");
	check_tmpfs("/tmp", "strictatime", TMPFS_DEFAULT | MS_STRICTATIME, false, "");
	check_tmpfs("/tmp", ",,size=1m,,mode=700,", TMPFS_DEFAULT, false, "size=1m,mode=700");

	check_tmpfs_fails("/tmp", "bogus", "invalid tmpfs option \"bogus\"");
	check_tmpfs_fails("/tmp", "size=1m,size", "invalid tmpfs option \"size\"");
	check_tmpfs_fails("/tmp", "SIZE=1m", "invalid tmpfs option \"SIZE=1m\"");
	check_tmpfs_fails("/tmp", "ro, exec", "invalid tmpfs option \" exec\"");
	check_tmpfs_fails("/tmp", "mpol=bind", "invalid tmpfs option \"mpol=bind\"");
	check_tmpfs("/tmp", "size=50%,mode=0755,nr_inodes=1k", TMPFS_DEFAULT, false,
		    "size=50%,mode=0755,nr_inodes=1k");
	/* values the kernel would refuse at start: a bad request at create */
	static const char *const bad[] = {"size=-1",  "size=",	  "size=1x",	 "size=1mm",
					  "mode=abc", "mode=8",	  "mode=1m",	 "uid=-1",
					  "gid=x",    "uid=1k",	  "nr_inodes=%", "size=99999999999999999999"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *want = xasprintf("invalid tmpfs option \"%s\"", bad[i]);
		check_tmpfs_fails("/tmp", bad[i], want);
		free(want);
	}
	check_tmpfs_fails("tmp", NULL,
			  "invalid tmpfs mount point \"tmp\": mount path must be absolute");
	check_tmpfs_fails("", NULL, "invalid tmpfs mount point \"\": mount path must be absolute");
	check_tmpfs_fails(NULL, NULL,
			  "invalid tmpfs mount point \"\": mount path must be absolute");
	check_tmpfs_fails("/", NULL,
			  "invalid tmpfs mount point \"/\": mount path must be absolute");
	check_tmpfs_fails("/a/../b", "",
			  "invalid tmpfs mount point \"/a/../b\": mount path must be absolute");
}

static struct husk_store store;

/* The spec of {"Id": ID, "Config": config, "HostConfig": host, "Layers": [...]}. */
static int spec_of(const char *config, const char *host, struct husk_spec *spec,
		   struct husk_error *err)
{
	json_t *doc = json_pack("{s:s, s:o, s:o, s:[s,s]}", "Id", ID, "Config", test_json(config),
				"HostConfig", test_json(host), "Layers", "aaa", "bbb");
	int r = husk_spec_from_config(&store, doc, spec, err);
	json_decref(doc);
	return r;
}

#define CMD "{'Cmd':['sh']}"

static void test_spec_defaults(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_of(CMD, "{}", &s, &err), 0);
	CHECK_STREQ(s.id, ID);
	check_strv(TAKE_PTR(s.argv), "sh");
	CHECK_STREQ(s.hostname, "0123456789ab");
	check_strv(TAKE_PTR(s.env), P "|HOSTNAME=0123456789ab");
	CHECK_STREQ(s.domainname, "");
	CHECK_STREQ(s.cwd, "");
	CHECK_STREQ(s.user, "");
	CHECK(!s.tty && !s.open_stdin && !s.privileged && !s.readonly_rootfs);
	CHECK_EQ(s.rows, 0);
	CHECK_EQ(s.cols, 0);
	CHECK_EQ(s.net, HUSK_NET_PRIVATE);
	_cleanup_free_ char *c = xasprintf("%s/containers/" ID, store.data);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c), *upper = xasprintf("%s/upper", c),
			    *work = xasprintf("%s/work", c), *hosts = xasprintf("%s/hosts", c),
			    *hn = xasprintf("%s/hostname", c), *rc = xasprintf("%s/resolv.conf", c),
			    *layers = xasprintf("%s/images/layers", store.data);
	CHECK_STREQ(s.rootfs, rootfs);
	CHECK_STREQ(s.upperdir, upper);
	CHECK_STREQ(s.workdir, work);
	CHECK_STREQ(s.hosts_file, hosts);
	CHECK_STREQ(s.hostname_file, hn);
	CHECK_STREQ(s.resolv_file, rc);
	CHECK_STREQ(s.layers_dir, layers);
	check_strv(TAKE_PTR(s.lowerdirs), "aaa/diff|bbb/diff");
	CHECK(s.shm_options == NULL);
	CHECK_EQ(s.caps, DOCKER_CAPS);
	CHECK(s.no_new_privs);
	CHECK(s.seccomp_profile == NULL);
	check_strv(TAKE_PTR(s.masked_paths), DEFAULT_MASKED);
	check_strv(TAKE_PTR(s.readonly_paths), DEFAULT_RO);
	check_strv(TAKE_PTR(s.extra_groups), "");
	CHECK_EQ(s.n_mounts, 0);
	husk_spec_free(&s);
	/* no HostConfig at all reads the same */
	json_t *doc = json_pack("{s:s, s:o}", "Id", ID, "Config", test_json(CMD));
	CHECK_EQ(husk_spec_from_config(&store, doc, &s, &err), 0);
	CHECK_EQ(s.caps, DOCKER_CAPS);
	CHECK_EQ(s.net, HUSK_NET_PRIVATE);
	check_strv(TAKE_PTR(s.lowerdirs), "");
	husk_spec_free(&s);
	json_decref(doc);
}

static void test_spec_config(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_of("{'Entrypoint':['/init'],'Cmd':['a'],'Hostname':'box','Domainname':'lan',"
			 "'Env':['A=1','HOSTNAME=x'],'Tty':true,'OpenStdin':true,"
			 "'WorkingDir':'/w','User':'1:2'}",
			 "{'ConsoleSize':[24,80],'ShmSize':1048576,'ReadonlyRootfs':true,"
			 "'GroupAdd':['audio','100']}",
			 &s, &err),
		 0);
	check_strv(TAKE_PTR(s.argv), "/init|a");
	CHECK_STREQ(s.hostname, "box");
	CHECK_STREQ(s.domainname, "lan");
	check_strv(TAKE_PTR(s.env), P "|HOSTNAME=x|TERM=xterm|A=1");
	CHECK(s.tty && s.open_stdin && s.readonly_rootfs);
	CHECK_STREQ(s.cwd, "/w");
	CHECK_STREQ(s.user, "1:2");
	CHECK_EQ(s.rows, 24);
	CHECK_EQ(s.cols, 80);
	CHECK_STREQ(s.shm_options, "mode=1777,size=1048576");
	check_strv(TAKE_PTR(s.extra_groups), "audio|100");
	husk_spec_free(&s);

	CHECK_EQ(spec_of(CMD, "{'ConsoleSize':[24]}", &s, &err), 0);
	CHECK(s.rows == 0 && s.cols == 0);
	husk_spec_free(&s);
	CHECK_EQ(spec_of("{'Cmd':['sh'],'Hostname':''}", "{'ShmSize':0}", &s, &err), 0);
	CHECK_STREQ(s.hostname, "0123456789ab");
	CHECK(s.shm_options == NULL);
	husk_spec_free(&s);

	static const struct {
		const char *mode;
		enum husk_netmode net;
	} nets[] = {{"host", HUSK_NET_HOST},	  {"none", HUSK_NET_NONE},
		    {"bridge", HUSK_NET_PRIVATE}, {"default", HUSK_NET_PRIVATE},
		    {"", HUSK_NET_PRIVATE},	  {"Host", HUSK_NET_PRIVATE}};
	for (size_t i = 0; i < ARRAY_SIZE(nets); i++) {
		char *host = xasprintf("{'NetworkMode':'%s'}", nets[i].mode);
		CHECK_EQ(spec_of(CMD, host, &s, &err), 0);
		CHECK_EQ(s.net, nets[i].net);
		husk_spec_free(&s);
		free(host);
	}
}

static uint64_t caps_of(const char *host)
{
	struct husk_spec s;
	struct husk_error err = {0};
	uint64_t caps = 0;
	if (spec_of(CMD, host, &s, &err) == 0)
		caps = s.caps;
	else
		fprintf(stderr, "  %s: %s\n", host, err.message);
	husk_spec_free(&s);
	return caps;
}

static void test_spec_security(void)
{
	CHECK_EQ(caps_of("{'CapAdd':['NET_ADMIN'],'CapDrop':['CHOWN']}"),
		 (DOCKER_CAPS | (1 << 12)) & ~UINT64_C(1));
	CHECK_EQ(caps_of("{'CapDrop':['ALL']}"), 0);
	CHECK_EQ(caps_of("{'CapDrop':['ALL'],'CapAdd':['KILL']}"), UINT64_C(1) << 5);
	uint64_t a = caps_of("{'CapAdd':['ALL']}");
	CHECK_EQ(a, husk_caps_all()); /* every capability the kernel has */
	CHECK_EQ(caps_of("{'CapAdd':['ALL'],'CapDrop':['SYS_ADMIN']}"), a & ~(UINT64_C(1) << 21));
	/* privileged: every capability, whatever else is asked */
	CHECK_EQ(caps_of("{'Privileged':true}"), a);
	CHECK_EQ(caps_of("{'Privileged':true,'CapDrop':['ALL'],'CapAdd':['junk']}"), a);

	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_of(CMD, "{'Privileged':true}", &s, &err), 0);
	CHECK(s.privileged);
	husk_spec_free(&s);
	CHECK_EQ(spec_of(CMD, "{'CapAdd':['junk']}", &s, &err), -EINVAL);
	CHECK_STREQ(err.message, "unknown capability: \"CAP_JUNK\"");
	husk_spec_free(&s);

	CHECK_EQ(spec_of(CMD, "{'SecurityOpt':['seccomp=unconfined','no-new-privileges=false']}",
			 &s, &err),
		 0);
	CHECK_STREQ(s.seccomp_profile, "unconfined");
	CHECK(!s.no_new_privs);
	husk_spec_free(&s);
	CHECK_EQ(spec_of(CMD,
			 "{'SecurityOpt':['seccomp:{}','no-new-privileges:false',"
			 "'no-new-privileges','label=disable',7]}",
			 &s, &err),
		 0);
	CHECK_STREQ(s.seccomp_profile, "{}");
	CHECK(s.no_new_privs);
	husk_spec_free(&s);
	CHECK_EQ(spec_of(CMD,
			 "{'SecurityOpt':['no-new-privileges:false','no-new-privileges:true',"
			 "'seccomp=a','seccomp=b']}",
			 &s, &err),
		 0);
	CHECK_STREQ(s.seccomp_profile, "b");
	CHECK(s.no_new_privs);
	husk_spec_free(&s);

	/* Each entry as dockerd's parseSecurityOpt takes it. */
	static const struct {
		const char *opt;
		int r, nnp;
		const char *seccomp, *message;
	} opts[] = {
	    {"no-new-privileges", 0, 1, NULL, NULL},
	    {"no-new-privileges=false", 0, 0, NULL, NULL},
	    {"no-new-privileges:0", 0, 0, NULL, NULL},
	    {"no-new-privileges=T", 0, 1, NULL, NULL},
	    {"seccomp=unconfined", 0, -1, "unconfined", NULL},
	    {"seccomp:{\"a\":1}", 0, -1, "{\"a\":1}", NULL},
	    {"label=disable", 0, -1, NULL, NULL},
	    {"label:type:x", 0, -1, NULL, NULL},
	    {"apparmor=unconfined", 0, -1, NULL, NULL},
	    {"disable", 0, -1, NULL, NULL},
	    {"writable-cgroups=false", 0, -1, NULL, NULL},
	    {"writable-cgroups=true", -EOPNOTSUPP, -1, NULL,
	     "--security-opt writable-cgroups=true is not supported by husk"},
	    {"no-new-privileges=maybe", -EINVAL, -1, NULL,
	     "invalid --security-opt 2: \"no-new-privileges=maybe\""},
	    {"no-new-privilegesX", -EINVAL, -1, NULL,
	     "invalid --security-opt 1: \"no-new-privilegesX\""},
	    {"bogus", -EINVAL, -1, NULL, "invalid --security-opt 1: \"bogus\""},
	    {"systempaths=unconfined", -EINVAL, -1, NULL,
	     "invalid --security-opt 2: \"systempaths=unconfined\""},
	    {"labels=x", -EINVAL, -1, NULL, "invalid --security-opt 2: \"labels=x\""},
	    {"=x", -EINVAL, -1, NULL, "invalid --security-opt 2: \"=x\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		int nnp = -1;
		const char *seccomp = NULL;
		err = (struct husk_error){0};
		int r = husk_parse_security_opt(opts[i].opt, &nnp, &seccomp, &err);
		if (r != opts[i].r || nnp != opts[i].nnp ||
		    (opts[i].seccomp ? !seccomp || strcmp(seccomp, opts[i].seccomp) : !!seccomp) ||
		    (opts[i].message && strcmp(err.message, opts[i].message))) {
			fprintf(stderr, "  security opt %s: %d nnp %d seccomp %s (%s)\n", opts[i].opt,
				r, nnp, seccomp ? seccomp : "-", err.message);
			test_failures++;
		}
	}
	CHECK_EQ(spec_of(CMD, "{'SecurityOpt':['no-new-privileges=maybe']}", &s, &err), -EINVAL);
	husk_spec_free(&s);

	/* MaskedPaths / ReadonlyPaths: absent is Docker's default, [] is none */
	CHECK_EQ(spec_of(CMD, "{'MaskedPaths':[],'ReadonlyPaths':['/proc/x']}", &s, &err), 0);
	check_strv(TAKE_PTR(s.masked_paths), "");
	check_strv(TAKE_PTR(s.readonly_paths), "/proc/x");
	husk_spec_free(&s);
	CHECK_EQ(spec_of(CMD, "{'MaskedPaths':null,'ReadonlyPaths':[]}", &s, &err), 0);
	check_strv(TAKE_PTR(s.masked_paths), DEFAULT_MASKED);
	check_strv(TAKE_PTR(s.readonly_paths), "");
	husk_spec_free(&s);
}

static void test_spec_mounts(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_of(CMD,
			 "{'Binds':['/h:/c:ro','/h2:/c2'],"
			 "'Tmpfs':{'/t':'size=1m','/u':''}}",
			 &s, &err),
		 0);
	CHECK_EQ(s.n_mounts, 4);
	if (s.n_mounts == 4) {
		CHECK_EQ(s.mounts[0].kind, HUSK_MOUNT_BIND);
		CHECK_STREQ(s.mounts[0].source, "/h");
		CHECK_STREQ(s.mounts[0].target, "/c");
		CHECK(s.mounts[0].readonly);
		CHECK_STREQ(s.mounts[1].target, "/c2");
		CHECK(!s.mounts[1].readonly);
		CHECK_EQ(s.mounts[2].kind, HUSK_MOUNT_TMPFS);
		CHECK_STREQ(s.mounts[2].target, "/t");
		CHECK_STREQ(s.mounts[2].options, "size=1m");
		CHECK_EQ(s.mounts[2].flags, TMPFS_DEFAULT);
		CHECK_STREQ(s.mounts[3].target, "/u");
		CHECK_STREQ(s.mounts[3].options, "");
	}
	husk_spec_free(&s);
	/* a bad one fails the spec; what was parsed before it is freed with the spec */
	CHECK_EQ(spec_of(CMD, "{'Binds':['/h:/c','/h:c']}", &s, &err), -EINVAL);
	CHECK_STREQ(err.message, NOT_ABS("/h:c", "c"));
	CHECK_EQ(s.n_mounts, 1);
	husk_spec_free(&s);
	CHECK_EQ(spec_of(CMD, "{'Binds':['/h:/c'],'Tmpfs':{'/t':'bad'}}", &s, &err), -EINVAL);
	CHECK_STREQ(err.message, "invalid tmpfs option \"bad\"");
	husk_spec_free(&s);
	/* a record of an older husk has no MountPoints: its Binds, which were host paths */
	CHECK_EQ(spec_of(CMD, "{'Binds':['vol:/c']}", &s, &err), -EINVAL);
	CHECK_STREQ(err.message, "volume vol: this container was made by an older husk: create it "
				 "again");
	husk_spec_free(&s);
}

/* The spec of a record with MountPoints (which then stand instead of the Binds). */
static int spec_with_points(const char *points, const char *host, struct husk_spec *spec,
			    struct husk_error *err)
{
	json_t *doc = json_pack("{s:s, s:o, s:o, s:o}", "Id", ID, "Config", test_json(CMD),
				"HostConfig", test_json(host), "MountPoints", test_json(points));
	int r = husk_spec_from_config(&store, doc, spec, err);
	json_decref(doc);
	return r;
}

static void test_spec_mount_points(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_with_points(
			 "[{'Type':'volume','Name':'v','Source':'/vol/v/_data','Destination':'/d',"
			 "'RW':false,'CopyData':true},"
			 "{'Type':'bind','Source':'/h','Destination':'/b','RW':true,"
			 "'Recursive':false,'CreateSource':true},"
			 "{'Type':'tmpfs','Source':'','Destination':'/t','RW':true,'Data':'size=1m',"
			 "'Flags':6}]",
			 "{'Binds':['/ignored:/x'],'Tmpfs':{'/u':''}}", &s, &err),
		 0);
	CHECK_EQ(s.n_mounts, 4);
	if (s.n_mounts == 4) {
		CHECK_EQ(s.mounts[0].kind, HUSK_MOUNT_VOLUME);
		CHECK_STREQ(s.mounts[0].source, "/vol/v/_data");
		CHECK_STREQ(s.mounts[0].target, "/d");
		CHECK(s.mounts[0].readonly && s.mounts[0].copy_up && s.mounts[0].recursive);
		CHECK_EQ(s.mounts[1].kind, HUSK_MOUNT_BIND);
		CHECK(!s.mounts[1].readonly && !s.mounts[1].recursive && s.mounts[1].create_source);
		CHECK_EQ(s.mounts[2].kind, HUSK_MOUNT_TMPFS);
		CHECK_STREQ(s.mounts[2].options, "size=1m");
		CHECK_EQ(s.mounts[2].flags, 6);
		CHECK_STREQ(s.mounts[3].target, "/u");
	}
	husk_spec_free(&s);
	static const char *const bad[] = {
		"[{'Type':'volume','Source':'','Destination':'/d'}]",
		"[{'Type':'bind','Source':'/h','Destination':'rel'}]",
		"[{'Type':'npipe','Source':'/h','Destination':'/d'}]",
		"[{'Type':'bind','Source':'/h'}]",
		"[7]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(spec_with_points(bad[i], "{}", &s, &err), -EINVAL);
		CHECK_STREQ(err.message, "invalid mount point in the container's configuration");
		husk_spec_free(&s);
	}
}

static void test_spec_ulimits(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_of(CMD,
			 "{'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':2048},"
			 "{'Name':'core','Soft':-1,'Hard':-1},{'Name':'nproc','Soft':0,'Hard':0}]}",
			 &s, &err),
		 0);
	CHECK_EQ(s.n_rlimits, 3);
	if (s.n_rlimits == 3) {
		CHECK_EQ(s.rlimits[0].resource, RLIMIT_NOFILE);
		CHECK_EQ(s.rlimits[0].soft, 1024);
		CHECK_EQ(s.rlimits[0].hard, 2048);
		CHECK_EQ(s.rlimits[1].resource, RLIMIT_CORE);
		CHECK(s.rlimits[1].soft == RLIM_INFINITY && s.rlimits[1].hard == RLIM_INFINITY);
		CHECK_EQ(s.rlimits[2].resource, RLIMIT_NPROC);
	}
	husk_spec_free(&s);
	static const struct {
		const char *host, *message;
	} bad[] = {
		{"{'Ulimits':[{'Name':'bogus','Soft':1,'Hard':1}]}", "invalid ulimit type: bogus"},
		{"{'Ulimits':[{'Name':'as','Soft':1,'Hard':1}]}", "invalid ulimit type: as"},
		{"{'Ulimits':[{'Soft':1,'Hard':1}]}", "invalid ulimit type: "},
		{"{'Ulimits':[{'Name':'nofile','Soft':2048,'Hard':1024}]}",
		 "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"},
		{"{'Ulimits':[{'Name':'nofile','Soft':-1,'Hard':1024}]}",
		 "ulimit soft limit must be less than or equal to hard limit: -1 > 1024"},
		{"{'Ulimits':[{'Name':'nofile','Soft':'1','Hard':1}]}",
		 "json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft "
		 "of type int64"},
		{"{'Ulimits':['nofile=1']}",
		 "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Ulimits "
		 "of type units.Ulimit"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(spec_of(CMD, bad[i].host, &s, &err), -EINVAL);
		CHECK_STREQ(err.message, bad[i].message);
		husk_spec_free(&s);
	}
	CHECK_STREQ(husk_rlimit_name(RLIMIT_MEMLOCK), "memlock");
	CHECK_STREQ(husk_rlimit_name(-5), "unknown");
}

static void test_spec_init(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	setenv("HUSK_INIT", "/x/husk-init", 1);
	CHECK_EQ(spec_of("{'Entrypoint':['/e'],'Cmd':['a','b']}", "{'Init':true}", &s, &err), 0);
	check_strv(TAKE_PTR(s.argv), HUSK_INIT_TARGET "|--|/e|a|b");
	CHECK_STREQ(s.init_path, "/x/husk-init");
	husk_spec_free(&s);
	CHECK_EQ(spec_of(CMD, "{'Init':false}", &s, &err), 0);
	check_strv(TAKE_PTR(s.argv), "sh");
	CHECK(s.init_path == NULL);
	husk_spec_free(&s);
	/* without $HUSK_INIT: beside the running program, or libexec */
	unsetenv("HUSK_INIT");
	_cleanup_free_ char *p = husk_find_tool("husk-init", "HUSK_INIT");
	CHECK(str_endswith(p, "/husk-init"));
}

static void test_spec_errors(void)
{
	struct husk_spec s;
	struct husk_error err = {0};
	CHECK_EQ(spec_of("{}", "{}", &s, &err), -EINVAL);
	CHECK_STREQ(err.message, "no command specified");
	husk_spec_free(&s);
	CHECK_EQ(spec_of("{'Entrypoint':[],'Cmd':null}", "{}", &s, &err), -EINVAL);
	husk_spec_free(&s);
	json_t *doc = test_json("{'Id':'" ID "'}");
	CHECK_EQ(husk_spec_from_config(&store, doc, &s, &err), -EINVAL);
	CHECK_STREQ(err.message, "container configuration is incomplete");
	husk_spec_free(&s);
	json_decref(doc);
	doc = test_json("{'Config':{'Cmd':['sh']}}");
	CHECK_EQ(husk_spec_from_config(&store, doc, &s, &err), -EINVAL);
	CHECK_STREQ(err.message, "container configuration is incomplete");
	husk_spec_free(&s);
	json_decref(doc);
}

int main(void)
{
	/* paths only: nothing is created under them */
	store.data = "/nonexistent/data";
	store.run = "/nonexistent/run";
	RUN(test_config_argv);
	RUN(test_env_build);
	RUN(test_env_finish_set);
	RUN(test_parse_bind);
	RUN(test_parse_bind_volumes);
	RUN(test_parse_tmpfs);
	RUN(test_spec_defaults);
	RUN(test_spec_config);
	RUN(test_spec_security);
	RUN(test_spec_mounts);
	RUN(test_spec_mount_points);
	RUN(test_spec_ulimits);
	RUN(test_spec_init);
	RUN(test_spec_errors);
	return test_result();
}
