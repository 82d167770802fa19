/* core/events.c: the events log written and read back, followed across a rotation, and the
 * last exit code of a container. */
#include "test.h"
#include "testutil.h"

#include "core/events.h"
#include "core/fs.h"
#include "core/json.h"

#include <fcntl.h>
#include <sys/stat.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *dir;
static struct husk_store store;

/* The next event, or NULL (with a failure) when there is none. */
static json_t *next(struct husk_events_reader *r)
{
	json_t *e = NULL;
	int k = husk_events_next(r, &e);
	CHECK_EQ(k, 1);
	return k == 1 ? e : NULL;
}

/* The next event must have value at key. */
static void check_next(struct husk_events_reader *r, const char *key, const char *value)
{
	json_t *e = next(r);
	if (e)
		CHECK_STREQ(jstr(e, key), value);
	json_decref(e);
}

static void check_end(struct husk_events_reader *r)
{
	json_t *e = NULL;
	CHECK_EQ(husk_events_next(r, &e), 0);
	CHECK(e == NULL);
}

static void append(const char *name, const char *s)
{
	_cleanup_free_ char *p = husk_store_data_path(&store, "%s", name);
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write_all(fd, s, strlen(s)), 0);
	close(fd);
}

static void reset(void)
{
	static const char *const names[] = {"events.log", "events.log.1", "events.lock"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *p = husk_store_data_path(&store, "%s", names[i]);
		unlink(p);
	}
}

static void test_container_attrs(void)
{
	json_t *doc = test_json("{'Name':'/web','Image':'busybox',"
				"'Config':{'Labels':{'l':'v','n':1,'name':'label'}}}");
	json_t *a = husk_event_container_attrs(doc);
	CHECK_JSON(a, "{'l':'v','image':'busybox','name':'web'}");
	json_decref(a);
	json_decref(doc);
	doc = test_json("{'Name':'plain'}");
	a = husk_event_container_attrs(doc);
	CHECK_JSON(a, "{'image':'','name':'plain'}");
	json_decref(a);
	json_decref(doc);
	a = husk_event_container_attrs(NULL);
	CHECK_JSON(a, "{'image':'','name':''}");
	json_decref(a);
}

static void test_emit_read(void)
{
	reset();
	struct husk_events_reader r;
	CHECK_EQ(husk_events_open(&r, &store), 0);
	check_end(&r);

	int64_t before = now_ns();
	json_t *doc = test_json("{'Name':'/web','Image':'busybox','Config':{'Labels':{'l':'v'}}}");
	husk_event_emit(&store, "container", "create", ID, husk_event_container_attrs(doc));
	json_decref(doc);
	husk_event_emit(&store, "image", "pull", "busybox:latest", NULL);
	husk_event_emit(&store, "container", "die", ID,
			json_pack("{s:s, s:s}", "exitCode", "3", "image", "busybox"));
	int64_t after = now_ns();

	json_t *e = next(&r);
	if (e) {
		int64_t t = jint(e, "timeNano", 0);
		CHECK(t >= before && t <= after);
		CHECK_EQ(jint(e, "time", 0), t / 1000000000);
		json_object_del(e, "timeNano");
		json_object_del(e, "time");
		CHECK_JSON(e, "{'Type':'container','Action':'create','Actor':{'ID':'" ID "',"
			      "'Attributes':{'l':'v','image':'busybox','name':'web'}},"
			      "'scope':'local','status':'create','id':'" ID "','from':'busybox'}");
		json_decref(e);
	}
	e = next(&r);
	if (e) { /* no status/id/from outside container events */
		CHECK(jint(e, "timeNano", 0) >= before);
		json_object_del(e, "timeNano");
		json_object_del(e, "time");
		CHECK_JSON(e, "{'Type':'image','Action':'pull','Actor':{'ID':'busybox:latest',"
			      "'Attributes':{}},'scope':'local'}");
		json_decref(e);
	}
	e = next(&r);
	if (e) {
		CHECK_STREQ(jstr(e, "status"), "die");
		CHECK_STREQ(jstr(jpath(e, "Actor.Attributes"), "exitCode"), "3");
		json_decref(e);
	}
	check_end(&r);
	/* following: what comes later is read */
	husk_event_emit(&store, "container", "start", ID, NULL);
	check_next(&r, "Action", "start");
	check_end(&r);
	/* malformed lines are skipped; a line without its newline yet is read once complete */
	append("events.log",
	       "not json\n[1,2]\n\n{\"Type\":\"x\",\"Action\":\"a\"}\n{\"Type\":\"y\"");
	check_next(&r, "Type", "x");
	check_end(&r);
	append("events.log", ",\"Action\":\"b\"}");
	check_end(&r);
	append("events.log", "\n");
	check_next(&r, "Action", "b");
	check_end(&r);
	husk_events_close(&r);
	CHECK(r.f == NULL && r.line == NULL);
}

static void test_last_exit(void)
{
	reset();
	CHECK_EQ(husk_event_last_exit(&store, ID), -1);
	husk_event_emit(&store, "container", "die", ID, json_pack("{s:s}", "exitCode", "3"));
	husk_event_emit(&store, "container", "die", "other", json_pack("{s:s}", "exitCode", "4"));
	CHECK_EQ(husk_event_last_exit(&store, ID), 3);
	husk_event_emit(&store, "container", "start", ID, NULL);
	husk_event_emit(&store, "container", "die", ID, json_pack("{s:s}", "exitCode", "137"));
	husk_event_emit(&store, "container", "destroy", ID, NULL);
	CHECK_EQ(husk_event_last_exit(&store, ID), 137);
	husk_event_emit(&store, "container", "die", ID, NULL); /* no code: the last one stands */
	CHECK_EQ(husk_event_last_exit(&store, ID), 137);
	husk_event_emit(&store, "container", "die", ID, json_pack("{s:s}", "exitCode", "0"));
	CHECK_EQ(husk_event_last_exit(&store, ID), 0);
	CHECK_EQ(husk_event_last_exit(&store, "other"), 4);
	CHECK_EQ(husk_event_last_exit(&store, "0123456789ab"), -1); /* full ids only */
	CHECK_EQ(husk_event_last_exit(&store, "none"), -1);
}

/* Fills events.log past the rotation bound with valid events of type "filler". */
static int fill(void)
{
	_cleanup_free_ char *pad = xmalloc(4001);
	memset(pad, 'p', 4000);
	pad[4000] = 0;
	_cleanup_free_ char *p = husk_store_data_path(&store, "events.log");
	_cleanup_fclose_ FILE *f = fopen(p, "ae");
	int n = 0;
	CHECK(f != NULL);
	for (long size = 0; f && size <= (long)HUSK_EVENTS_MAX_BYTES; n++)
		size +=
		    fprintf(f, "{\"Type\":\"filler\",\"Action\":\"%d\",\"pad\":\"%s\"}\n", n, pad);
	return n;
}

static int count_type(struct husk_events_reader *r, const char *type, const char **last_action)
{
	static char action[64];
	int n = 0;
	json_t *e;
	while (husk_events_next(r, &e) == 1) {
		if (streq(jstr(e, "Type"), type))
			n++;
		snprintf(action, sizeof action, "%s", str_or(jstr(e, "Action"), ""));
		json_decref(e);
	}
	if (last_action)
		*last_action = action;
	return n;
}

static void test_rotation(void)
{
	reset();
	_cleanup_free_ char *cur = husk_store_data_path(&store, "events.log");
	_cleanup_free_ char *old = husk_store_data_path(&store, "events.log.1");
	husk_event_emit(&store, "container", "first", ID, NULL);
	struct husk_events_reader follower;
	CHECK_EQ(husk_events_open(&follower, &store), 0);
	json_t *e = next(&follower);
	json_decref(e);
	check_end(&follower);

	int n = fill();
	/* the event that crosses the bound is written, then the file rotated */
	husk_event_emit(&store, "container", "crossing", ID, NULL);
	CHECK(path_exists(old));
	CHECK(!path_exists(cur));
	const char *last = NULL;
	CHECK_EQ(count_type(&follower, "filler", &last), n);
	CHECK_STREQ(last, "crossing");
	check_end(&follower);
	husk_event_emit(&store, "container", "after", ID, NULL);
	CHECK(path_exists(cur));
	/* a follower moves on to the new events.log */
	check_next(&follower, "Action", "after");
	check_end(&follower);

	/* a new reader reads events.log.1, then events.log */
	struct husk_events_reader r;
	CHECK_EQ(husk_events_open(&r, &store), 0);
	CHECK(r.on_rotated);
	check_next(&r, "Action", "first");
	CHECK_EQ(count_type(&r, "filler", &last), n);
	CHECK_STREQ(last, "after");
	CHECK(!r.on_rotated);
	check_end(&r);
	husk_event_emit(&store, "container", "later", ID, NULL);
	check_next(&r, "Action", "later");
	husk_events_close(&r);
	husk_events_close(&follower);
	CHECK_EQ(husk_event_last_exit(&store, ID), -1);

	/* a second rotation replaces events.log.1 */
	fill();
	husk_event_emit(&store, "container", "die", ID, json_pack("{s:s}", "exitCode", "9"));
	CHECK(!path_exists(cur));
	CHECK_EQ(husk_events_open(&r, &store), 0);
	check_next(&r, "Action", "after"); /* "first" went with the old file */
	husk_events_close(&r);
	CHECK_EQ(husk_event_last_exit(&store, ID), 9);
}

int main(void)
{
	dir = test_tmpdir();
	test_store(&store, dir);
	RUN(test_container_attrs);
	RUN(test_emit_read);
	RUN(test_last_exit);
	RUN(test_rotation);
	husk_store_close(&store);
	test_tmpdir_remove(dir);
	return test_result();
}
