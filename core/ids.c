#include "ids.h"

#include <ctype.h>
#include <sys/random.h>

void husk_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = 0;
}

static void random_bytes(void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom((char *)buf + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		got += (size_t)n;
	}
}

void husk_id_new(char out[HUSK_ID_LEN + 1])
{
	unsigned char b[32];
	/* Docker never hands out an id that parses as a number (it would be ambiguous with a
	 * short id of digits); redraw when the first 12 characters are all digits. */
	for (;;) {
		random_bytes(b, sizeof b);
		husk_hex(b, sizeof b, out);
		for (int i = 0; i < 12; i++)
			if (!isdigit((unsigned char)out[i]))
				return;
	}
}

bool husk_is_hex(const char *s, size_t min_len, size_t max_len)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n >= min_len && n <= max_len;
}

bool husk_is_full_id(const char *s)
{
	return husk_is_hex(s, HUSK_ID_LEN, HUSK_ID_LEN);
}

bool husk_name_valid(const char *name)
{
	if (*name == '/')
		name++;
	size_t n = strlen(name);
	if (n < 2 || n > 255)
		return false;
	if (!isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-') || c > 127)
			return false;
	}
	return true;
}

/* A selection of the lists in moby's pkg/namesgenerator. */
static const char *const adjectives[] = {
	"admiring", "adoring",	  "affectionate", "agitated",  "amazing",   "angry",
	"awesome",  "beautiful",  "blissful",	  "bold",      "boring",    "brave",
	"busy",	    "charming",	  "clever",	  "compassionate", "competent", "condescending",
	"confident", "cool",	  "cranky",	  "crazy",     "dazzling",  "determined",
	"distracted", "dreamy",	  "eager",	  "ecstatic",  "elastic",   "elated",
	"elegant",  "eloquent",	  "epic",	  "exciting",  "fervent",   "festive",
	"flamboyant", "focused",  "friendly",	  "frosty",    "funny",     "gallant",
	"gifted",   "goofy",	  "gracious",	  "great",     "happy",     "hardcore",
	"heuristic", "hopeful",	  "hungry",	  "infallible", "inspiring", "intelligent",
	"interesting", "jolly",	  "jovial",	  "keen",      "kind",      "laughing",
	"loving",   "lucid",	  "magical",	  "modest",    "musing",    "mystifying",
	"naughty",  "nervous",	  "nice",	  "nifty",     "nostalgic", "objective",
	"optimistic", "peaceful", "pedantic",	  "pensive",   "practical", "priceless",
	"quirky",   "quizzical",  "recursing",	  "relaxed",   "reverent",  "romantic",
	"sad",	    "serene",	  "sharp",	  "silly",     "sleepy",    "stoic",
	"strange",  "stupefied",  "suspicious",	  "sweet",     "tender",    "thirsty",
	"trusting", "unruffled",  "upbeat",	  "vibrant",   "vigilant",  "vigorous",
	"wizardly", "wonderful",  "xenodochial",  "youthful",  "zealous",   "zen",
};

static const char *const surnames[] = {
	"agnesi",    "albattani", "allen",	"almeida",   "archimedes", "ardinghelli",
	"aryabhata", "austin",	  "babbage",	"banach",    "bardeen",    "bartik",
	"bassi",     "bell",	  "benz",	"bhabha",    "black",	   "blackwell",
	"bohr",	     "booth",	  "borg",	"bose",	     "boyd",	   "brahmagupta",
	"brattain",  "brown",	  "burnell",	"cannon",    "carson",	   "cartwright",
	"cerf",	     "chandrasekhar", "chaplygin", "chatelet", "chatterjee", "chebyshev",
	"clarke",    "curie",	  "darwin",	"davinci",   "dijkstra",   "dubinsky",
	"easley",    "edison",	  "einstein",	"elion",     "engelbart",  "euclid",
	"euler",     "faraday",	  "feistel",	"fermat",    "fermi",	   "feynman",
	"franklin",  "gagarin",	  "galileo",	"gates",     "gauss",	   "germain",
	"goldberg",  "goldstine", "goldwasser", "golick",    "goodall",	   "haibt",
	"hamilton",  "hawking",	  "heisenberg", "hermann",   "hodgkin",	   "hofstadter",
	"hopper",    "hugle",	  "hypatia",	"jackson",   "jang",	   "jennings",
	"jepsen",    "johnson",	  "joliot",	"jones",     "kalam",	   "kapitsa",
	"keller",    "kepler",	  "khorana",	"kilby",     "kirch",	   "knuth",
	"kowalevski", "lalande",  "lamarr",	"lamport",   "leakey",	   "leavitt",
	"lederberg", "lehmann",	  "lewin",	"lichterman", "liskov",	   "lovelace",
	"lumiere",   "mahavira",  "margulis",	"matsumoto", "maxwell",	   "mayer",
	"mccarthy",  "mcclintock", "mclean",	"meitner",   "mendel",	   "mestorf",
	"minsky",    "mirzakhani", "morse",	"murdock",   "napier",	   "nash",
	"newton",    "nightingale", "nobel",	"noether",   "northcutt",  "noyce",
	"pare",	     "pascal",	  "pasteur",	"payne",     "perlman",	   "pike",
	"poincare",  "poitras",	  "ptolemy",	"raman",     "ramanujan",  "ride",
	"ritchie",   "robinson",  "roentgen",	"rosalind",  "rubin",	   "saha",
	"sammet",    "satoshi",	  "shamir",	"shannon",   "shaw",	   "shirley",
	"shockley",  "sinoussi",  "snyder",	"spence",    "stallman",   "stonebraker",
	"swanson",   "swartz",	  "swirles",	"taussig",   "tesla",	   "thompson",
	"torvalds",  "turing",	  "varahamihira", "villani", "visvesvaraya", "volhard",
	"wescoff",   "wilbur",	  "wiles",	"williams",  "wilson",	   "wing",
	"wozniak",   "wright",	  "wu",		"yalow",     "yonath",	   "zhukovsky",
};

char *husk_name_generate(unsigned attempt)
{
	uint32_t r[2];
	random_bytes(r, sizeof r);
	const char *a = adjectives[r[0] % ARRAY_SIZE(adjectives)];
	const char *s = surnames[r[1] % ARRAY_SIZE(surnames)];
	if (attempt == 0)
		return xasprintf("%s_%s", a, s);
	return xasprintf("%s_%s%u", a, s, r[0] % 10);
}
