/* core/filters.c: Docker's ?filters= in its map and list forms, and label matching. */
#include "test.h"
#include "testutil.h"

#include "core/filters.h"

#include <malloc.h>

static const char *const allowed[] = {"label", "name", "status", NULL};

/* Parses arg (written with ' for ") and checks the resulting key → values map. */
static void check_parse(const char *arg, const char *want)
{
	struct husk_filters f = {0};
	struct husk_error err = {0};
	char *a = arg ? test_quotes(arg) : NULL;
	CHECK_EQ(husk_filters_parse(a, allowed, &f, &err), 0);
	CHECK_JSON(f.map, want);
	husk_filters_clear(&f);
	CHECK(f.map == NULL);
	free(a);
}

static void check_fails(const char *arg, const char *message)
{
	struct husk_filters f = {0};
	struct husk_error err = {0};
	char *a = test_quotes(arg);
	CHECK_EQ(husk_filters_parse(a, allowed, &f, &err), -EINVAL);
	CHECK_EQ(err.code, -EINVAL);
	if (!str_startswith(err.message, message)) {
		fprintf(stderr, "  %s: \"%s\", expected \"%s...\"\n", arg, err.message, message);
		test_failures++;
	}
	husk_filters_clear(&f);
	free(a);
}

static void test_parse(void)
{
	check_parse(NULL, "{}");
	check_parse("", "{}");
	check_parse("{}", "{}");
	/* map form: the docker CLI */
	check_parse("{'label':{'a=b':true}}", "{'label':['a=b']}");
	check_parse("{'label':{'a=b':true,'c':true}}", "{'label':['a=b','c']}");
	check_parse("{'label':{}}", "{'label':[]}");
	/* list form: docker-py, compose */
	check_parse("{'label':['a=b','c']}", "{'label':['a=b','c']}");
	check_parse("{'label':[]}", "{'label':[]}");
	/* a lone string */
	check_parse("{'name':'web'}", "{'name':['web']}");
	check_parse("{'label':['x'],'name':{'web':true},'status':'running'}",
		    "{'label':['x'],'name':['web'],'status':['running']}");

	check_fails("{'bogus':['x']}", "invalid filter 'bogus'");
	check_fails("{'label':['x'],'Label':['y']}", "invalid filter 'Label'");
	check_fails("{'label':1}", "invalid filter 'label': bad value");
	check_fails("{'label':true}", "invalid filter 'label': bad value");
	check_fails("{'label':null}", "invalid filter 'label': bad value");
	check_fails("{", "invalid filter: ");
	check_fails("{'label':", "invalid filter: ");
	check_fails("label=a", "invalid filter: ");
	check_fails("[]", "invalid filter: not a JSON object");
	check_fails("['label']", "invalid filter: not a JSON object");
	check_fails("'label'", "invalid filter: ");

	struct husk_filters f = {0};
	struct husk_error err = {0};
	CHECK_EQ(husk_filters_parse("{\"label\":[\"x\"]}", NULL, &f, &err), -EINVAL);
	CHECK_STREQ(err.message, "invalid filter 'label'");
	husk_filters_clear(&f);
}

static void test_get_has(void)
{
	struct husk_filters f = {0};
	struct husk_error err = {0};
	CHECK_EQ(husk_filters_parse("{\"label\":[\"a\",\"b\"],\"name\":[]}", allowed, &f, &err), 0);
	CHECK(husk_filters_has(&f, "label"));
	CHECK(!husk_filters_has(&f, "name")); /* present but empty */
	CHECK(!husk_filters_has(&f, "status"));
	CHECK(husk_filters_get(&f, "name") == NULL);
	json_t *v = husk_filters_get(&f, "label");
	CHECK_EQ(json_array_size(v), 2);
	CHECK_STREQ(json_string_value(json_array_get(v, 1)), "b");
	husk_filters_clear(&f);
	struct husk_filters none = {0};
	CHECK(!husk_filters_has(&none, "label"));
	CHECK(husk_filters_match_labels(&none, "label", NULL));
}

static bool matches(const char *filter, const char *labels)
{
	struct husk_filters f = {0};
	struct husk_error err = {0};
	json_t *fj = test_json(filter);
	char *arg = json_dumps(fj, JSON_COMPACT);
	json_t *l = labels ? test_json(labels) : NULL;
	bool m = husk_filters_parse(arg, allowed, &f, &err) == 0 &&
		 husk_filters_match_labels(&f, "label", l);
	husk_filters_clear(&f);
	json_decref(l);
	json_decref(fj);
	free(arg);
	return m;
}

static void test_match_labels(void)
{
	const char *labels = "{'a':'b','c':'','x':'1=2'}";
	CHECK(matches("{}", labels));
	CHECK(matches("{}", NULL));
	CHECK(matches("{'name':['n']}", labels)); /* other keys are not label filters */
	CHECK(matches("{'label':['a']}", labels));
	CHECK(matches("{'label':['a=b']}", labels));
	CHECK(matches("{'label':{'a=b':true}}", labels));
	CHECK(matches("{'label':['c']}", labels));
	CHECK(matches("{'label':['c=']}", labels));
	CHECK(matches("{'label':['x=1=2']}", labels));	      /* split at the first '=' */
	CHECK(matches("{'label':['a','c=','a=b']}", labels)); /* every one must match */
	CHECK(!matches("{'label':['a=c']}", labels));
	CHECK(!matches("{'label':['a=']}", labels));
	CHECK(!matches("{'label':['a=b ']}", labels));
	CHECK(!matches("{'label':['A']}", labels));
	CHECK(!matches("{'label':['b']}", labels));
	CHECK(!matches("{'label':['x=1']}", labels));
	CHECK(!matches("{'label':['a','d']}", labels));
	CHECK(!matches("{'label':['a']}", NULL));
	CHECK(!matches("{'label':['a']}", "{}"));
	CHECK(!matches("{'label':['a']}", "{'a':1}")); /* not a string */
}

int main(void)
{
	/* freed memory is scribbled over: a message made from freed JSON shows */
	mallopt(M_PERTURB, 0xa5);
	RUN(test_parse);
	RUN(test_get_has);
	RUN(test_match_labels);
	return test_result();
}
