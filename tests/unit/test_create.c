/* core/create.c: Docker's merge of the image's config into the container's (moby's
 * daemon/commit.go merge) and the type checks of a create request. */
#include "test.h"
#include "testutil.h"

#include "core/create.h"
#include "core/image.h"

/* create.c's husk_create_container uses the image store, which these tests do not reach:
 * weak stand-ins let the test link without core/image.c and give way to it when it is there. */
__attribute__((weak)) int husk_image_find(const struct husk_store *s, const char *ref,
					  struct husk_image **out, struct husk_error *err)
{
	abort();
}

__attribute__((weak)) void husk_image_free(struct husk_image *img)
{
	abort();
}

/* The merge of image into user must give want (all three written with '). */
static void check_merge(const char *user, const char *image, const char *want)
{
	json_t *u = test_json(user);
	json_t *i = image ? test_json(image) : NULL;
	_cleanup_free_ char *image_before = test_dump(i);
	husk_merge_image_config(u, i);
	CHECK_JSON(u, want);
	_cleanup_free_ char *image_after = test_dump(i);
	CHECK_STREQ(image_after, image_before); /* the image's config is left alone */
	json_decref(u);
	json_decref(i);
}

static void test_merge_env(void)
{
	/* the user's variables first, then the image's the user did not name */
	check_merge("{'Env':['A=1','B']}", "{'Env':['A=img','C=3','B=2','PATH=/p']}",
		    "{'Env':['A=1','B','C=3','PATH=/p'],'Entrypoint':null}");
	check_merge("{'Env':['AB=1','A=']}", "{'Env':['A=2','ABC=3','AB']}",
		    "{'Env':['AB=1','A=','ABC=3'],'Entrypoint':null}");
	check_merge("{}", "{'Env':['A=1']}", "{'Env':['A=1'],'Entrypoint':null}");
	check_merge("{'Env':[]}", "{'Env':['A=1']}", "{'Env':['A=1'],'Entrypoint':null}");
	check_merge("{'Env':null}", "{'Env':['A=1']}", "{'Env':['A=1'],'Entrypoint':null}");
	check_merge("{'Env':['A=1']}", "{}", "{'Env':['A=1'],'Entrypoint':null}");
	check_merge("{'Env':['A=1']}", "{'Env':null}", "{'Env':['A=1'],'Entrypoint':null}");
	check_merge("{}", "{}", "{'Entrypoint':null}");
	check_merge("{'Env':['A=1']}", NULL, "{'Env':['A=1']}"); /* no image config: as is */
}

static void test_merge_maps(void)
{
	check_merge("{'Labels':{'a':'u','c':'u'}}", "{'Labels':{'a':'i','b':'i'}}",
		    "{'Labels':{'a':'u','b':'i','c':'u'},'Entrypoint':null}");
	check_merge("{}", "{'Labels':{'a':'i'}}", "{'Labels':{'a':'i'},'Entrypoint':null}");
	check_merge("{'Labels':{'a':'u'}}", "{}", "{'Labels':{'a':'u'},'Entrypoint':null}");
	check_merge("{'ExposedPorts':{'80/tcp':{}}}", "{'ExposedPorts':{'80/tcp':{},'443/tcp':{}}}",
		    "{'ExposedPorts':{'80/tcp':{},'443/tcp':{}},'Entrypoint':null}");
	check_merge("{}", "{'ExposedPorts':{'53/udp':{}}}",
		    "{'ExposedPorts':{'53/udp':{}},'Entrypoint':null}");
	check_merge("{'Volumes':{'/u':{}}}", "{'Volumes':{'/i':{}}}",
		    "{'Volumes':{'/i':{},'/u':{}},'Entrypoint':null}");
	check_merge("{'Volumes':null}", "{'Volumes':{'/i':{}}}",
		    "{'Volumes':{'/i':{}},'Entrypoint':null}");
}

static void test_merge_command(void)
{
	const char *img = "{'Entrypoint':['/ie'],'Cmd':['ic']}";
	check_merge("{}", img, "{'Entrypoint':['/ie'],'Cmd':['ic']}");
	check_merge("{'Entrypoint':null,'Cmd':null}", img, "{'Entrypoint':['/ie'],'Cmd':['ic']}");
	check_merge("{'Cmd':[]}", img, "{'Entrypoint':['/ie'],'Cmd':['ic']}");
	check_merge("{'Cmd':['uc']}", img, "{'Entrypoint':['/ie'],'Cmd':['uc']}");
	/* the user's entrypoint drops the image's Cmd */
	check_merge("{'Entrypoint':['/ue']}", img, "{'Entrypoint':['/ue']}");
	check_merge("{'Entrypoint':['/ue'],'Cmd':null}", img, "{'Entrypoint':['/ue'],'Cmd':null}");
	check_merge("{'Entrypoint':['/ue'],'Cmd':['uc']}", img,
		    "{'Entrypoint':['/ue'],'Cmd':['uc']}");
	/* --entrypoint "" clears the entrypoint, and the image's Cmd stays out */
	check_merge("{'Entrypoint':['']}", img, "{'Entrypoint':null}");
	check_merge("{'Entrypoint':[''],'Cmd':['uc']}", img, "{'Entrypoint':null,'Cmd':['uc']}");
	/* an empty (not null) entrypoint: not the image's, but the image's Cmd */
	check_merge("{'Entrypoint':[]}", img, "{'Entrypoint':[],'Cmd':['ic']}");
	check_merge("{'Entrypoint':['','x']}", img, "{'Entrypoint':['','x']}");
	check_merge("{}", "{'Cmd':['ic']}", "{'Entrypoint':null,'Cmd':['ic']}");
	check_merge("{'Cmd':['uc']}", "{'Entrypoint':null}", "{'Entrypoint':null,'Cmd':['uc']}");
}

static void test_merge_strings(void)
{
	const char *img = "{'User':'iu','WorkingDir':'/iw','StopSignal':'SIGQUIT'}";
	check_merge("{}", img,
		    "{'User':'iu','WorkingDir':'/iw','StopSignal':'SIGQUIT',"
		    "'Entrypoint':null}");
	check_merge("{'User':'','WorkingDir':null,'StopSignal':''}", img,
		    "{'User':'iu','WorkingDir':'/iw','StopSignal':'SIGQUIT','Entrypoint':null}");
	check_merge("{'User':'0','WorkingDir':'/w','StopSignal':'SIGINT'}", img,
		    "{'User':'0','WorkingDir':'/w','StopSignal':'SIGINT','Entrypoint':null}");
	check_merge("{'User':'u'}", "{'User':''}", "{'User':'u','Entrypoint':null}");
}

static void test_merge_healthcheck(void)
{
	const char *img = "{'Healthcheck':{'Test':['CMD','true'],'Interval':1,'Timeout':2,"
			  "'StartPeriod':3,'StartInterval':4,'Retries':5}}";
	check_merge("{}", img,
		    "{'Healthcheck':{'Test':['CMD','true'],'Interval':1,'Timeout':2,"
		    "'StartPeriod':3,'StartInterval':4,'Retries':5},'Entrypoint':null}");
	check_merge("{'Healthcheck':{'Test':['NONE']}}", "{}",
		    "{'Healthcheck':{'Test':['NONE']},'Entrypoint':null}");
	/* field by field: what the user left empty or zero comes from the image */
	check_merge("{'Healthcheck':{'Interval':50,'Retries':0}}", img,
		    "{'Healthcheck':{'Test':['CMD','true'],'Interval':50,'Timeout':2,"
		    "'StartPeriod':3,'StartInterval':4,'Retries':5},'Entrypoint':null}");
	check_merge("{'Healthcheck':{'Test':['NONE'],'Timeout':7}}", img,
		    "{'Healthcheck':{'Test':['NONE'],'Interval':1,'Timeout':7,"
		    "'StartPeriod':3,'StartInterval':4,'Retries':5},'Entrypoint':null}");
	check_merge("{'Healthcheck':{'Test':[]}}", "{'Healthcheck':{'Test':['CMD','x']}}",
		    "{'Healthcheck':{'Test':['CMD','x']},'Entrypoint':null}");
	check_merge("{'Healthcheck':{'Retries':2}}", "{'Healthcheck':{}}",
		    "{'Healthcheck':{'Retries':2},'Entrypoint':null}");
}

static void check_types(const char *body, const char *message)
{
	json_t *b = test_json(body);
	struct husk_error err = {0};
	int r = husk_check_create_types(b, &err);
	if (message) {
		CHECK_EQ(r, -EINVAL);
		CHECK_EQ(err.code, -EINVAL);
		_cleanup_free_ char *want = xasprintf("json: cannot unmarshal %s", message);
		CHECK_STREQ(err.message, want);
	} else {
		CHECK_EQ(r, 0);
	}
	json_decref(b);
}

#define FIELD " into Go struct field ContainerConfigWrapper."

static void test_create_types(void)
{
	check_types("{}", NULL);
	check_types("{'Hostname':'h','Tty':true,'StopTimeout':10,'Env':['A=1'],'Cmd':'sh',"
		    "'Entrypoint':['/e'],'Labels':{'a':'b'},'ExposedPorts':{},'Foo':1,"
		    "'HostConfig':{'Binds':['/a:/b'],'Privileged':false,'ShmSize':0,"
		    "'ConsoleSize':[1,2],'RestartPolicy':{'Name':'no','MaximumRetryCount':0}},"
		    "'NetworkingConfig':{'EndpointsConfig':{}}}",
		    NULL);
	/* null is Go's zero value for every type */
	check_types("{'Hostname':null,'Tty':null,'Env':null,'Cmd':null,'Labels':null,"
		    "'HostConfig':null,'StopTimeout':null}",
		    NULL);
	check_types("{'HostConfig':{'Binds':null,'RestartPolicy':null}}", NULL);

	check_types("{'Hostname':1}", "number" FIELD "Hostname of type string");
	check_types("{'User':false}", "bool" FIELD "User of type string");
	check_types("{'Image':['x']}", "array" FIELD "Image of type string");
	check_types("{'Tty':'yes'}", "string" FIELD "Tty of type bool");
	check_types("{'OpenStdin':0}", "number" FIELD "OpenStdin of type bool");
	check_types("{'StopTimeout':'10'}", "string" FIELD "StopTimeout of type int64");
	check_types("{'StopTimeout':true}", "bool" FIELD "StopTimeout of type int64");
	check_types("{'Env':'A=1'}", "string" FIELD "Env of type []string");
	check_types("{'Env':{}}", "object" FIELD "Env of type []string");
	check_types("{'Cmd':1}", "number" FIELD "Cmd of type strslice.StrSlice");
	check_types("{'Entrypoint':{}}", "object" FIELD "Entrypoint of type strslice.StrSlice");
	check_types("{'Labels':[]}", "array" FIELD "Labels of type map[string]string");
	check_types("{'Labels':'a=b'}", "string" FIELD "Labels of type map[string]string");
	check_types("{'ExposedPorts':[]}", "array" FIELD "ExposedPorts of type struct");
	check_types("{'HostConfig':[]}", "array" FIELD "HostConfig of type struct");
	check_types("{'HostConfig':{'Binds':'/a:/b'}}",
		    "string" FIELD "HostConfig.Binds of type []string");
	check_types("{'HostConfig':{'Privileged':1}}",
		    "number" FIELD "HostConfig.Privileged of type bool");
	check_types("{'HostConfig':{'ShmSize':'64m'}}",
		    "string" FIELD "HostConfig.ShmSize of type int64");
	check_types("{'HostConfig':{'ConsoleSize':{}}}",
		    "object" FIELD "HostConfig.ConsoleSize of type []");
	check_types("{'HostConfig':{'Tmpfs':['/t']}}",
		    "array" FIELD "HostConfig.Tmpfs of type map[string]string");
	check_types("{'HostConfig':{'RestartPolicy':'always'}}",
		    "string" FIELD "HostConfig.RestartPolicy of type struct");
	check_types("{'HostConfig':{'RestartPolicy':{'MaximumRetryCount':'3'}}}",
		    "string" FIELD "HostConfig.RestartPolicy.MaximumRetryCount of type int64");
	check_types("{'NetworkingConfig':{'EndpointsConfig':[]}}",
		    "array" FIELD "NetworkingConfig.EndpointsConfig of type struct");
	/* the first field in Docker's order is reported */
	check_types("{'Tty':'x','Hostname':1}", "number" FIELD "Hostname of type string");
	struct husk_error err = {0};
	json_t *b = test_json("{'Hostname':1}");
	CHECK_EQ(husk_check_create_types(b, NULL), -EINVAL); /* err may be NULL */
	json_decref(b);
	CHECK_EQ(husk_check_create_types(NULL, &err), 0);
}

int main(void)
{
	RUN(test_merge_env);
	RUN(test_merge_maps);
	RUN(test_merge_command);
	RUN(test_merge_strings);
	RUN(test_merge_healthcheck);
	RUN(test_create_types);
	return test_result();
}
