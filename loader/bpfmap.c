/* Helpers over map fds (see bpfmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bpfmap.h"

int bpfmap_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

uint32_t bpfmap_id(int fd)
{
	struct bpf_map_info info;
	return fd >= 0 && bpfmap_info(fd, &info) == 0 ? info.id : 0;
}

bool bpfmap_same(int a, int b)
{
	uint32_t id = bpfmap_id(a);
	return id && id == bpfmap_id(b);
}

bool bpfmap_layout_is(int fd, uint32_t key_size, uint32_t value_size)
{
	struct bpf_map_info info;
	return bpfmap_info(fd, &info) == 0 && info.key_size == key_size && info.value_size == value_size;
}

int bpfmap_read_all(int fd, size_t key_size, size_t value_size, int max, void **keys, void **values)
{
	int cap = 64, n = 0;
	char *k = malloc(cap * key_size), *v = malloc(cap * value_size);
	char *cur = malloc(key_size), *next = malloc(key_size);
	bool first = true;
	int e = k && v && cur && next ? 0 : -ENOMEM;
	while (!e && n < max && bpf_map_get_next_key(fd, first ? NULL : cur, next) == 0) {
		first = false;
		memcpy(cur, next, key_size);
		if (n == cap) {
			char *nk = realloc(k, 2 * cap * key_size), *nv = nk ? realloc(v, 2 * cap * value_size) : NULL;
			k = nk ? nk : k;
			v = nv ? nv : v;
			if (!nk || !nv) {
				e = -ENOMEM;
				break;
			}
			cap *= 2;
		}
		/* an entry deleted meanwhile is skipped */
		if (bpf_map_lookup_elem(fd, cur, v + n * value_size) == 0)
			memcpy(k + n++ * key_size, cur, key_size);
	}
	free(cur);
	free(next);
	if (e) {
		free(k);
		free(v);
		return e;
	}
	*keys = k;
	*values = v;
	return n;
}
