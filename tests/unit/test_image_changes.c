/* docker import -c: each instruction, quoting, expansion, and the error messages. */
#include "test.h"

#include "core/image_changes.h"
#include "core/json.h"

/* Applies changes to a config holding start (JSON) and returns it compact, or the error. */
static char *apply(const char *start, char *const *changes, struct husk_error *err)
{
	json_t *cfg = json_loads(start, 0, NULL);
	char *out = NULL;
	if (husk_image_apply_changes(cfg, changes, err) == 0)
		out = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	return out;
}

static void check(const char *start, char *const *changes, const char *expect)
{
	struct husk_error err = {0};
	char *got = apply(start, changes, &err);
	if (!got)
		fprintf(stderr, "  error: %s\n", err.message);
	CHECK_STREQ(got, expect);
	free(got);
}

static void check_err(char *const *changes, const char *message)
{
	struct husk_error err = {0};
	char *got = apply("{}", changes, &err);
	CHECK(got == NULL);
	CHECK(err.code == -EINVAL);
	CHECK_STREQ(err.message, message);
	free(got);
}

static void test_cmd_entrypoint(void)
{
	check("{}", (char *[]){"CMD [\"sh\"]", NULL}, "{\"Cmd\":[\"sh\"]}");
	check("{}", (char *[]){"cmd echo hi there", NULL},
	      "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi there\"]}");
	check("{}", (char *[]){"CMD [bad json", NULL},
	      "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[bad json\"]}");
	/* ENTRYPOINT resets a Cmd it does not come after in the same changes. */
	check("{\"Cmd\":[\"x\"]}", (char *[]){"ENTRYPOINT [\"/e\"]", NULL},
	      "{\"Cmd\":null,\"Entrypoint\":[\"/e\"]}");
	check("{}", (char *[]){"CMD [\"a\"]", "ENTRYPOINT [\"/e\"]", NULL},
	      "{\"Cmd\":[\"a\"],\"Entrypoint\":[\"/e\"]}");
}

static void test_env_label(void)
{
	check("{\"Env\":[\"PATH=/bin\"]}",
	      (char *[]){"ENV A=1 B=\"two words\" PATH=$PATH:/x", NULL},
	      "{\"Env\":[\"PATH=/bin:/x\",\"A=1\",\"B=two words\"]}");
	check("{}", (char *[]){"ENV K some value  here", NULL},
	      "{\"Env\":[\"K=some value  here\"]}");
	check("{\"Env\":[\"H=/h\"]}",
	      (char *[]){"ENV X=${H}/a Y=${NOPE:-dflt} Z=${H:+set} W='$H'", NULL},
	      "{\"Env\":[\"H=/h\",\"X=/h/a\",\"Y=dflt\",\"Z=set\",\"W=$H\"]}");
	check("{}", (char *[]){"ENV A=a\\ b", NULL}, "{\"Env\":[\"A=a b\"]}");
	check("{}", (char *[]){"LABEL a=b \"c d\"=e", NULL},
	      "{\"Labels\":{\"a\":\"b\",\"c d\":\"e\"}}");
}

static void test_others(void)
{
	check("{}", (char *[]){"WORKDIR /a", "WORKDIR b/../c", NULL}, "{\"WorkingDir\":\"/a/c\"}");
	check("{}", (char *[]){"WORKDIR rel", NULL}, "{\"WorkingDir\":\"/rel\"}");
	check("{}", (char *[]){"USER 1000:1000", NULL}, "{\"User\":\"1000:1000\"}");
	check("{}", (char *[]){"EXPOSE 80 53/UDP 8000-8001", NULL},
	      "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}}");
	check("{}", (char *[]){"VOLUME [\"/data\", \"/x\"]", "VOLUME /y", NULL},
	      "{\"Volumes\":{\"/data\":{},\"/x\":{},\"/y\":{}}}");
	check("{}", (char *[]){"STOPSIGNAL SIGINT", NULL}, "{\"StopSignal\":\"SIGINT\"}");
	check("{}", (char *[]){"ONBUILD run echo x", NULL}, "{\"OnBuild\":[\"run echo x\"]}");
	check("{}", (char *[]){"HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f x", NULL},
	      "{\"Healthcheck\":{\"Interval\":90000000000,\"Retries\":3,\"Test\":[\"CMD-SHELL\","
	      "\"curl -f x\"]}}");
	check("{}", (char *[]){"HEALTHCHECK CMD [\"true\"]", NULL},
	      "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"]}}");
	check("{}", (char *[]){"healthcheck none", NULL},
	      "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}");
	check("{}", (char *[]){"", "  ", "CMD [\"a\"]\nUSER u", NULL},
	      "{\"Cmd\":[\"a\"],\"User\":\"u\"}");
	check("{}", NULL, "{}");
}

static void test_errors(void)
{
	check_err((char *[]){"RUN echo", NULL}, "run is not a valid change command");
	check_err((char *[]){"FROM x", NULL}, "from is not a valid change command");
	check_err((char *[]){"ENV A=1 B", NULL},
		  "Syntax error - can't find = in \"B\". Must be of the form: name=value");
	check_err((char *[]){"ENV =x", NULL}, "ENV names can not be blank");
	check_err((char *[]){"ENV", NULL}, "ENV requires at least one argument");
	check_err((char *[]){"ENV A=\"x", NULL},
		  "unexpected end of statement while looking for matching double-quote");
	check_err((char *[]){"EXPOSE 70000", NULL}, "invalid containerPort: 70000");
	check_err((char *[]){"EXPOSE 80/xyz", NULL}, "invalid proto: xyz");
	check_err((char *[]){"VOLUME [\"\"]", NULL}, "VOLUME specified can not be an empty string");
	check_err((char *[]){"ONBUILD FROM x", NULL}, "FROM isn't allowed as an ONBUILD trigger");
	check_err((char *[]){"HEALTHCHECK --interval=x CMD a", NULL},
		  "time: invalid duration \"x\"");
	check_err((char *[]){"HEALTHCHECK --bogus=1 CMD a", NULL}, "Unknown flag: bogus");
	check_err((char *[]){"USER", NULL}, "USER requires exactly one argument");
}

int main(void)
{
	RUN(test_cmd_entrypoint);
	RUN(test_env_label);
	RUN(test_others);
	RUN(test_errors);
	return TEST_EXIT();
}
