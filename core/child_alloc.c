/* See husk_malloc_until_exec in libc_compat.h. */
#include "libc_compat.h"

#ifdef __GLIBC__
void husk_malloc_until_exec(void)
{
}
#else
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Linked with -Wl,--wrap=malloc,--wrap=free,--wrap=calloc,--wrap=realloc (monitor/meson.build,
 * for builds that are not glibc): every call of these, libc's own included, comes here, and
 * __real_* are musl's. */
void *__real_malloc(size_t n);
void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void __wrap_free(void *p);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

/* Blocks of 16 B << class, each after a 16-byte header holding its class; freed blocks wait
 * on their class's list for the next allocation of that class. Larger ones, and all once the
 * reservation is used up, are musl's. */
#define ARENA_BYTES ((size_t)32 << 20) /* reserved; only the pages used are ever touched */
#define CLASSES 13		       /* 16 B .. 64 KB */

struct header {
	size_t cls;
	size_t pad; /* 16-byte alignment, as malloc's */
};

static struct {
	char *base, *next, *end;
	void *free[CLASSES];
} arena;

void husk_malloc_until_exec(void)
{
	void *p = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return; /* musl's malloc it stays */
	arena.base = arena.next = p;
	arena.end = arena.base + ARENA_BYTES;
}

static bool in_arena(const void *p)
{
	return arena.base && (const char *)p >= arena.base && (const char *)p < arena.end;
}

static size_t block_size(const void *p)
{
	return (size_t)16 << ((const struct header *)p - 1)->cls;
}

static void *arena_alloc(size_t n)
{
	size_t cls = 0;
	while (cls < CLASSES && ((size_t)16 << cls) < n)
		cls++;
	if (!arena.base || cls == CLASSES)
		return NULL;
	void *p = arena.free[cls];
	if (p) {
		memcpy(&arena.free[cls], p, sizeof(void *));
		return p;
	}
	size_t need = sizeof(struct header) + ((size_t)16 << cls);
	if ((size_t)(arena.end - arena.next) < need)
		return NULL;
	struct header *h = (struct header *)(void *)arena.next;
	arena.next += need;
	h->cls = cls;
	return h + 1;
}

void *__wrap_malloc(size_t n)
{
	void *p = arena_alloc(n);
	return p ? p : __real_malloc(n);
}

void __wrap_free(void *p)
{
	if (!in_arena(p)) {
		__real_free(p);
		return;
	}
	size_t cls = ((struct header *)p - 1)->cls;
	memcpy(p, &arena.free[cls], sizeof(void *));
	arena.free[cls] = p;
}

/* Not musl's calloc, even for large blocks: it asks its malloc (here, this one) and then
 * reads that allocator's metadata of the block. */
void *__wrap_calloc(size_t k, size_t n)
{
	if (n && k > SIZE_MAX / n)
		return NULL;
	void *p = __wrap_malloc(k * n);
	if (p)
		memset(p, 0, k * n);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	if (!p)
		return __wrap_malloc(n);
	if (!in_arena(p))
		return __real_realloc(p, n); /* a block of before (or too large for) the arena */
	size_t had = block_size(p);
	if (n <= had)
		return p;
	void *q = __wrap_malloc(n);
	if (q) {
		memcpy(q, p, had);
		__wrap_free(p);
	}
	return q;
}
#endif
