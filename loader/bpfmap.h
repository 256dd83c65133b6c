/* Small helpers over map fds (pinned or from an object), for what libbpf
 * leaves to the caller: identity, layout, reading every entry. */
#ifndef RAMPART_BPFMAP_H
#define RAMPART_BPFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/bpf.h>

/* The map's info.  0 or -errno. */
int bpfmap_info(int fd, struct bpf_map_info *info);
/* The map's id (0 when fd is not a map). */
uint32_t bpfmap_id(int fd);
/* Both fds are the same kernel map. */
bool bpfmap_same(int a, int b);
/* Key and value sizes are these. */
bool bpfmap_layout_is(int fd, uint32_t key_size, uint32_t value_size);
/* Every entry (at most max): keys and values into arrays allocated here
 * (free both).  The count, or -errno. */
int bpfmap_read_all(int fd, size_t key_size, size_t value_size, int max, void **keys, void **values);

#endif
